"""The run directory, below both training and generation: its files (config with library versions,
weights, the resumable checkpoint, metrics, split), the device, and loading a run back.

- directory.py: file names, `write_config`/`read_config`, `save_weights`/`load_weights`,
  `save_checkpoint`/`load_checkpoint`.
- load.py: `TrainedRun`, `load_trained(path, device)`, `resolve_device`.
- formats.py: config.json's format number and the migration from each older one.
"""

from tunesmith.runs.directory import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    SPLIT_FILE,
    load_checkpoint,
    load_weights,
    read_config,
    save_checkpoint,
    save_weights,
    write_config,
)
from tunesmith.runs.load import TrainedRun, load_trained, resolve_device

__all__ = ["CHECKPOINT_FILE", "CONFIG_FILE", "METRICS_FILE", "MODEL_FILE", "SPLIT_FILE", "TrainedRun",
           "load_checkpoint", "load_trained", "load_weights", "read_config", "resolve_device", "save_checkpoint",
           "save_weights", "write_config"]
