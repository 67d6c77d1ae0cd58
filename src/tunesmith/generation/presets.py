"""Presets: named sets of controls and outputs for the uses people have (configs/presets/*.toml).

A preset file has an optional `description`, `requires` (controls the user must give, e.g. ["primer"]),
a [controls] table (any Controls field, plus `extra_bars`: bars to add after the primer) and an
[outputs] table (wav, png, musicxml). Unknown keys are errors. Values the user gives on the command line
win over the preset's.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError

PRESET_DIRS = [Path(__file__).resolve().parents[3] / "configs" / "presets"]
OUTPUT_KEYS = ("wav", "png", "musicxml")
TOP_KEYS = ("description", "requires", "controls", "outputs")


@dataclass
class Preset:
    """A named bundle of controls and output choices."""

    name: str
    description: str = ""
    requires: list[str] = field(default_factory=list)
    controls: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, bool] = field(default_factory=dict)


def available_presets() -> list[str]:
    """Names of the presets shipped in configs/presets."""
    return sorted({p.stem for d in PRESET_DIRS if d.is_dir() for p in d.glob("*.toml")})


def load_preset(name_or_path: str | Path) -> Preset:
    """A preset by name (configs/presets/NAME.toml) or from a TOML file the user wrote (strict)."""
    path = Path(name_or_path)
    if not path.suffix:
        found = [d / f"{name_or_path}.toml" for d in PRESET_DIRS if (d / f"{name_or_path}.toml").exists()]
        if not found:
            raise ControlError(f"unknown preset {str(name_or_path)!r} (choose from: {', '.join(available_presets())}, "
                               "or give a .toml file)")
        path = found[0]
    if not path.exists():
        raise ControlError(f"preset file not found: {path}")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ControlError(f"{path} is not valid TOML: {exc}") from exc
    _strict(values, TOP_KEYS, str(path))
    known = {f.name for f in dataclasses.fields(Controls)} | {"extra_bars"}
    _strict(values.get("controls", {}), known, f"{path} [controls]")
    _strict(values.get("outputs", {}), OUTPUT_KEYS, f"{path} [outputs]")
    _strict({k: None for k in values.get("requires", [])}, known, f"{path} requires")
    return Preset(path.stem, values.get("description", ""), list(values.get("requires", [])),
                  dict(values.get("controls", {})), dict(values.get("outputs", {})))


def _strict(values: dict[str, Any], known, where: str) -> None:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ControlError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def merge_preset(preset: Preset | None, given: dict[str, Any]) -> dict[str, Any]:
    """Controls values: the preset's, overridden by those the user `given` (None = not given)."""
    values = dict(preset.controls) if preset else {}
    values.update({k: v for k, v in given.items() if v is not None})
    if preset:
        missing = [k for k in preset.requires if values.get(k) in (None, False)]
        if missing:
            flags = ", ".join("--" + k.replace("_", "-") for k in missing)
            raise ControlError(f"the {preset.name} preset needs {flags}")
    extra = values.pop("extra_bars", None)
    if extra is not None and given.get("bars") is None and values.get("primer") is not None:
        from tunesmith.piece import Piece

        primer = values["primer"] if isinstance(values["primer"], Piece) else Piece.load(values["primer"])
        values["bars"] = primer.bars + int(extra)
    if isinstance(values.get("instruments"), str):
        values["instruments"] = [p.strip() for p in values["instruments"].split(",") if p.strip()]
    return values
