"""The run directory, below both training and generation: its files (config with library versions,
weights, the resumable checkpoint, metrics, split), the device, and loading a run back.

- directory.py: file names, `write_config`/`read_config`, `default_temperature`, `save_weights`/`load_weights`,
  `save_checkpoint`/`load_checkpoint`.
- load.py: `TrainedRun`, `load_trained(path, device)`, `resolve_device`.
- formats.py: config.json's format number and the migration from each older one.
- zoo.py: the trained runs shipped with tunesmith: `zoo_models`, `resolve_run(name_or_path)` (a run
  directory, else a zoo model's name; `load_trained` resolves), and `shipped_folder` (package data).
"""

from tunesmith.runs.directory import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SPLIT_FILE,
    default_temperature,
    load_checkpoint,
    load_weights,
    read_config,
    save_checkpoint,
    save_weights,
    write_config,
)
from tunesmith.runs.load import TrainedRun, load_trained, resolve_device
from tunesmith.runs.zoo import ZooModel, resolve_run, shipped_folder, zoo_folder, zoo_models

__all__ = ["CHECKPOINT_FILE", "CONFIG_FILE", "METRICS_FILE", "MODEL_FILE", "SPLIT_FILE", "TrainedRun", "ZooModel",
           "default_temperature", "load_checkpoint", "load_trained", "load_weights", "read_config", "resolve_device",
           "resolve_run", "save_checkpoint", "save_weights", "shipped_folder", "write_config", "zoo_folder",
           "zoo_models"]
