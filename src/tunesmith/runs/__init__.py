"""The run directory, below both training and generation: its files (config with library versions,
weights, the resumable checkpoint, metrics, split), the device, and loading a run back.

- files.py: file names, `write_config`/`read_config`, `default_temperature` (no torch: the studio and
  `tunesmith models` read runs without it).
- directory.py: `save_weights`/`load_weights`, `save_checkpoint`/`load_checkpoint`.
- load.py: `TrainedRun`, `load_trained(path, device)`, `resolve_device`.
- formats.py: config.json's format number and the migration from each older one.
- zoo.py: the trained runs shipped with tunesmith: `zoo_models`, `resolve_run(name_or_path)` (a run
  directory, else a zoo model's name; `load_trained` resolves), and `shipped_folder` (package data).

The names that need torch (directory.py's and load.py's) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tunesmith.runs.files import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SPLIT_FILE,
    default_temperature,
    read_config,
    write_config,
)
from tunesmith.runs.zoo import ZooModel, resolve_run, shipped_folder, zoo_folder, zoo_models

if TYPE_CHECKING:
    from tunesmith.runs.directory import load_checkpoint, load_weights, save_checkpoint, save_weights
    from tunesmith.runs.load import TrainedRun, load_trained, resolve_device

_WITH_TORCH = {"load_checkpoint": "directory", "load_weights": "directory", "save_checkpoint": "directory",
               "save_weights": "directory", "TrainedRun": "load", "load_trained": "load", "resolve_device": "load"}

__all__ = ["CHECKPOINT_FILE", "CONFIG_FILE", "METRICS_FILE", "MODEL_FILE", "SPLIT_FILE", "TrainedRun", "ZooModel",
           "default_temperature", "load_checkpoint", "load_trained", "load_weights", "read_config", "resolve_device",
           "resolve_run", "save_checkpoint", "save_weights", "shipped_folder", "write_config", "zoo_folder",
           "zoo_models"]


def __getattr__(name: str) -> Any:
    module = _WITH_TORCH.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
