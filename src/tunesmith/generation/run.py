"""A trained run loaded for sampling: the family, its config, the model and the representation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tunesmith.generation.controls import Controls
from tunesmith.models import Family, config_from_dict, get_family
from tunesmith.piece import Piece
from tunesmith.representations import Representation, representation_from_dict
from tunesmith.training.checkpoint import MODEL_FILE, load_weights, read_config
from tunesmith.training.trainer import resolve_device


@dataclass
class Run:
    """Everything needed to sample again from a run directory."""

    path: Path
    family: Family
    config: dict[str, Any]
    model: torch.nn.Module
    representation: Representation
    device: torch.device

    def generate(self, controls: Controls | None = None, **kwargs: Any) -> list[Piece]:
        """New pieces under `controls` (or Controls(**kwargs))."""
        from tunesmith.generation.sample import generate

        return generate(self, controls or Controls(**kwargs))


def load_run(path: str | Path, device: str = "cpu") -> Run:
    """Load a run directory written by `tunesmith train` (one-line error if it is not one)."""
    path = Path(path)
    config = read_config(path)
    family = get_family(config["family"])
    representation = representation_from_dict(config["representation"], path)
    model_config = config_from_dict(family.config_class, config["model"], saved=True)
    model = family.build_model(model_config, representation)
    load_weights(path / MODEL_FILE, model)
    dev = resolve_device(device)
    model.to(dev).eval()
    return Run(path, family, config, model, representation, dev)
