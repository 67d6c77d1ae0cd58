"""The run directory's files and its config.json: the names, `write_config` (with the library versions),
`read_config` (brought to the current format) and `default_temperature`. Nothing here needs torch, so the
studio and `tunesmith models` can read runs without importing it; the weights and checkpoints are in
directory.py."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_json_atomic
from tunesmith.runs.formats import FORMAT, migrate

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"
METRICS_FILE = "metrics.jsonl"
SPLIT_FILE = "split.json"
_JSON_KINDS = {list: "list", str: "string", int: "number", float: "number", bool: "true/false", type(None): "null"}


def library_versions() -> dict[str, str]:
    """Versions of the libraries a run depends on (recorded in config.json)."""
    out = {"python": platform.python_version()}
    for name in ("tunesmith", "torch", "symusic", "miditok", "music21", "numpy", "safetensors"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    """config.json, in the current format, with the library versions added."""
    config = {k: v for k, v in config.items() if k != "format"}
    write_json_atomic(Path(run_dir) / CONFIG_FILE, {"format": FORMAT, **config, "versions": library_versions()})


def default_temperature(config: dict[str, Any]) -> float:
    """The temperature a run samples at when none is asked: its config's `sampling.temperature` (set on a run
    whose measured pieces are better below 1, as the zoo's chorale models), else 1.0."""
    return float((config.get("sampling") or {}).get("temperature", 1.0))


def read_config(run_dir: Path) -> dict[str, Any]:
    """config.json of a run, brought to the current format (runs.formats), or a one-line error when `run_dir`
    is not a run."""
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise TunesmithError(f"run directory not found: {run_dir}")
    if not path.exists():
        raise TunesmithError(f"{run_dir} is not a tunesmith run (no {CONFIG_FILE})")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TunesmithError(f"{path} is damaged ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise TunesmithError(f"{path} is damaged (not text: byte {exc.start} is not UTF-8)") from exc
    if not isinstance(config, dict):
        raise TunesmithError(f"{path} is damaged (a JSON {_JSON_KINDS.get(type(config), 'value')}, not an "
                             f"object of settings)")
    return migrate(config, str(run_dir))
