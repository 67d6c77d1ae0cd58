"""Presets: named sets of controls and outputs for the uses people have (configs/presets/*.toml).

A preset file has an optional `description`, `requires` (controls the user must give, e.g. ["primer"]),
a [controls] table (any Controls field, plus `extra_bars`: bars to add after the primer) and an
[outputs] table (wav, png, musicxml). Unknown keys are errors. Values the user gives on the command line
win over the preset's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.config import read_settings_file, reject_unknown
from tunesmith.controls.controls import UNIVERSAL, Controls
from tunesmith.errors import ControlError
from tunesmith.models import Family
from tunesmith.runs.zoo import shipped_folder

PRESET_DIRS = [shipped_folder("configs") / "presets"]  # the source checkout's, or the installed package's copy
OUTPUT_KEYS = ("wav", "png", "musicxml", "score")  # score: STEM.musicxml and the engraved STEM.svg
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
    values = read_settings_file(path, ControlError, "preset file")
    known = {f.name for f in dataclasses.fields(Controls)} | {"extra_bars"}
    for part, names, allowed in ((str(path), values, TOP_KEYS), (f"{path} [controls]", values.get("controls", {}), known),
                                 (f"{path} [outputs]", values.get("outputs", {}), OUTPUT_KEYS),
                                 (f"{path} requires", values.get("requires", []), known)):
        reject_unknown(names, allowed, part, error=ControlError)
    return Preset(path.stem, values.get("description", ""), list(values.get("requires", [])),
                  dict(values.get("controls", {})), dict(values.get("outputs", {})))


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


def honoured_part(preset: Preset, family: Family) -> tuple[Preset, list[str]]:
    """The preset without the controls `family` cannot honour, and one line for each control left out (with the
    family's reason). A control the user gives is not the preset's: the family's refusal of it stands."""
    kept = UNIVERSAL | family.supported_controls | {"extra_bars"}
    left_out = [name for name in preset.controls if name not in kept]
    lines = []
    for name in left_out:
        why = family.refused.get(name)
        lines.append(f"the {preset.name} preset's --{name.replace('_', '-')} is left out: the {family.name} model "
                     f"cannot honour it" + (f" ({why})" if why else ""))
    return dataclasses.replace(preset, controls={k: v for k, v in preset.controls.items() if k in kept},
                               requires=[k for k in preset.requires if k in kept]), lines


def preset_controls(preset: Preset | None, asked: dict[str, Any], num: int = 4) -> Controls:
    """The Controls: what the user asked, over the preset's values, over the defaults (`num` pieces)."""
    return Controls(**{"num": num, **merge_preset(preset, asked)})


def preset_outputs(preset: Preset | None, asked: dict[str, bool | None]) -> dict[str, bool]:
    """Which files to write beside each .mid ({wav, png, musicxml, svg}): the defaults (WAV and piano-roll),
    the preset's, then what the user `asked` (None = not given; `score` is the MusicXML and its engraving)."""
    outputs: dict[str, bool] = {"wav": True, "png": True, "musicxml": False, **(preset.outputs if preset else {}),
                                **{k: v for k, v in asked.items() if v is not None and k != "score"}}
    score = asked.get("score")
    score = score if score is not None else outputs.pop("score", None)  # asked, else the preset's
    outputs.pop("score", None)
    outputs["svg"] = bool(score)
    if score is not None:  # a score writes the MusicXML too; no score drops it unless asked for
        outputs["musicxml"] = score or bool(asked.get("musicxml"))
    return outputs
