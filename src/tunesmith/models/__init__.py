"""Model families, one file each, registered by name. Modules load on first use."""

from __future__ import annotations

import importlib

from tunesmith.errors import TunesmithError
from tunesmith.models.base import Family, config_from_dict, config_to_dict

# name -> module defining `FAMILY: Family`
MODELS: dict[str, str] = {
    "rnn": "tunesmith.models.rnn",
    "transformer": "tunesmith.models.transformer",
    "vae": "tunesmith.models.vae",
    "gan": "tunesmith.models.gan",
    "polyphonic": "tunesmith.models.polyphonic",
}


def available_families() -> list[str]:
    """Names of the families whose module is present."""
    names = []
    for name, module in MODELS.items():
        if importlib.util.find_spec(module) is not None:
            names.append(name)
    return names


def get_family(name: str) -> Family:
    """The Family registered as `name`, or a one-line error listing the known names."""
    if name not in MODELS or importlib.util.find_spec(MODELS[name]) is None:
        raise TunesmithError(f"unknown model {name!r} (choose from: {', '.join(available_families())})")
    return importlib.import_module(MODELS[name]).FAMILY


__all__ = ["MODELS", "Family", "available_families", "config_from_dict", "config_to_dict", "get_family"]
