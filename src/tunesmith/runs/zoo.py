"""The zoo: trained runs that ship with tunesmith, used by name (`tunesmith generate polyphonic-jsb`).

The zoo is `pretrained/` of the source checkout, which the wheel carries as `tunesmith/_data/pretrained`
(pyproject.toml, [tool.hatch.build.targets.wheel.sources]); `shipped_folder` finds either, and the presets
(`configs/presets`) the same way. `pretrained/zoo.toml` is the index: one table per run directory beside it,
with the line of purpose `tunesmith models` shows and the command that trained the run (its model card
quotes it). A folder the index does not name is not a zoo model.

A zoo model is package data, perhaps read-only: loading one only reads it, and the commands that write into
a run (`train --resume`, `attributes`) do not take a zoo name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tunesmith.config import read_settings_file, reject_unknown
from tunesmith.errors import TunesmithError
from tunesmith.runs.files import CONFIG_FILE, MODEL_FILE

ZOO_INDEX = "zoo.toml"
ENTRY_KEYS = ("purpose", "command", "machine")  # machine: where it was trained (the model card says so)
REQUIRED_KEYS = ("purpose", "command")


def shipped_folder(name: str) -> Path:
    """A folder that ships with tunesmith ('pretrained', 'configs'): the installed package's copy
    (tunesmith/_data/NAME), else the source checkout's (NAME at the repository root)."""
    installed = resources.files("tunesmith") / "_data" / name
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[3] / name


def zoo_folder() -> Path:
    """The folder holding the zoo's run directories and its index."""
    return shipped_folder("pretrained")


@dataclass(frozen=True)
class ZooModel:
    """One zoo model: its run directory, what `tunesmith models` lists, and how it was trained."""

    name: str
    path: Path
    family: str
    corpus: str  # config.json's corpus source, as the run recorded it
    size_bytes: int
    purpose: str
    command: str
    machine: str | None = None

    @property
    def corpus_label(self) -> str:
        """The corpus in a word (`corpus_label`)."""
        return corpus_label(self.corpus)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (`tunesmith models --json`)."""
        return {"name": self.name, "path": str(self.path), "family": self.family, "corpus": self.corpus,
                "size_mb": round(self.size_bytes / 1e6, 1), "purpose": self.purpose, "command": self.command,
                "machine": self.machine}


def corpus_label(source: str) -> str:
    """A corpus in a word: a bundled name as it is, a path by its folder under `data/` (else its own name)."""
    parts = Path(source).parts
    after_data = [i + 1 for i, part in enumerate(parts[:-1]) if part == "data"]
    return parts[after_data[-1]] if after_data else Path(source).name or source


def zoo_index(zoo: Path | None = None) -> dict[str, dict[str, str]]:
    """zoo.toml: name -> its entry (purpose, command, optional machine), checked strictly."""
    path = (zoo or zoo_folder()) / ZOO_INDEX
    if not path.exists():
        return {}
    index = read_settings_file(path, what="zoo index")
    for name, entry in index.items():
        if not isinstance(entry, dict):
            raise TunesmithError(f"{path}: {name} must be a table ([{name}] with purpose and command)")
        reject_unknown(entry, ENTRY_KEYS, f"{path} [{name}]")
        missing = [key for key in REQUIRED_KEYS if not isinstance(entry.get(key), str) or not entry[key].strip()]
        if missing:
            raise TunesmithError(f"{path} [{name}] needs {' and '.join(missing)} (text)")
    return index


def _model(name: str, entry: dict[str, str], folder: Path) -> ZooModel | None:
    """The zoo model `name` whose run directory is `folder`, or None when the folder holds no trained run."""
    if not (folder / CONFIG_FILE).is_file() or not (folder / MODEL_FILE).is_file():
        return None
    config_path = folder / CONFIG_FILE
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TunesmithError(f"{config_path} is damaged ({exc})") from exc
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    corpus = config.get("corpus") or {}
    return ZooModel(name, folder, str(config.get("family", "?")), str(corpus.get("source", "?")), size,
                    entry["purpose"].strip(), entry["command"].strip(), entry.get("machine"))


def zoo_models(zoo: Path | None = None) -> list[ZooModel]:
    """The zoo's models, in the index's order (an entry whose folder holds no trained run is left out)."""
    zoo = zoo or zoo_folder()
    found = (_model(name, entry, zoo / name) for name, entry in zoo_index(zoo).items())
    return [model for model in found if model is not None]


def zoo_model(name: str, zoo: Path | None = None) -> ZooModel | None:
    """The zoo model called `name`, or None."""
    zoo = zoo or zoo_folder()
    entry = zoo_index(zoo).get(name)
    return _model(name, entry, zoo / name) if entry is not None else None


def resolve_run(name_or_path: str | Path, zoo: Path | None = None) -> Path:
    """The run directory a user named: an existing run directory wins, else the zoo model of that name. A bare
    name that is neither is a one-line error listing the zoo; a path is returned for the loader to judge."""
    path = Path(name_or_path)
    if (path / CONFIG_FILE).exists():
        return path
    if len(path.parts) != 1 or path.is_absolute():
        return path
    model = zoo_model(str(path), zoo)
    if model is not None:
        return model.path
    if path.exists():
        return path
    names = ", ".join(m.name for m in zoo_models(zoo)) or "none installed"
    raise TunesmithError(f"no run directory or zoo model named {str(path)!r} (zoo models: {names})")

