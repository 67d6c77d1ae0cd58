"""A run directory loaded: its family, config, model (weights in place) and representation, on a device."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.errors import TunesmithError
from tunesmith.models import Family, config_from_dict, get_family
from tunesmith.representations import Representation, representation_from_dict
from tunesmith.runs.directory import load_weights
from tunesmith.runs.files import MODEL_FILE, read_config
from tunesmith.runs.zoo import resolve_run

TOKENIZER_FILE = "tokenizer.json"  # the token representation's vocabulary, saved in the run directory


@dataclass
class TrainedRun:
    """Everything a run directory holds, loaded: what training resumes from and sampling reads."""

    path: Path
    family: Family
    config: dict[str, Any]
    model: torch.nn.Module
    representation: Representation
    device: torch.device


def resolve_device(device: str) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N', checked against what this machine has."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TunesmithError("--device cuda asked for, but this machine has no CUDA GPU (use --device cpu)")
    if device != "cpu" and not device.startswith("cuda"):
        raise TunesmithError(f"unknown device {device!r} (choose cpu or cuda)")
    return torch.device(device)


def load_trained(path: str | Path, device: str = "cpu") -> TrainedRun:
    """Load a run directory written by `tunesmith train`, or a zoo model by name (one-line error if it is
    neither)."""
    path = resolve_run(path)
    config = read_config(path)
    family = get_family(config["family"])
    try:
        representation = representation_from_dict(config["representation"], path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # the representation's own file (tokenizer.json)
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else f"byte {exc.start} is not UTF-8"
        raise TunesmithError(f"{path / TOKENIZER_FILE} is damaged ({reason})") from exc
    model_config = config_from_dict(family.config_class, config["model"])  # read_config migrated it
    model = family.build_model(model_config, representation)
    load_weights(path / MODEL_FILE, model)
    dev = resolve_device(device)
    model.to(dev).eval()
    return TrainedRun(path, family, config, model, representation, dev)
