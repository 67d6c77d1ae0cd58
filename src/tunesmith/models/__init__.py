"""Model families, one file each, registered by name. Modules load on first use.

Adding a family: one module defining `FAMILY = Family(...)` (the contract is in tunesmith.models.base), and one
line in `MODELS`. A plug-in or a test registers one at run time with `register_family`.
"""

from __future__ import annotations

import importlib
import importlib.util

from tunesmith.errors import TunesmithError
from tunesmith.models.base import Family, config_from_dict, config_to_dict

# name -> the module defining `FAMILY: Family`, or (registered at run time) the Family itself
MODELS: dict[str, str | Family] = {
    "rnn": "tunesmith.models.rnn",
    "transformer": "tunesmith.models.transformer",
    "vae": "tunesmith.models.vae",
    "gan": "tunesmith.models.gan",
    "polyphonic": "tunesmith.models.polyphonic",
}


def _present(entry: str | Family) -> bool:
    return isinstance(entry, Family) or importlib.util.find_spec(entry) is not None


def available_families() -> list[str]:
    """Names of the families whose module is present."""
    return [name for name, entry in MODELS.items() if _present(entry)]


def get_family(name: str) -> Family:
    """The Family registered as `name`, or a one-line error listing the known names."""
    entry = MODELS.get(name)
    if entry is None or not _present(entry):
        raise TunesmithError(f"unknown model {name!r} (choose from: {', '.join(available_families())})")
    family = entry if isinstance(entry, Family) else importlib.import_module(entry).FAMILY
    if family.name != name:  # runs save the family's own name and are loaded by it
        raise TunesmithError(f"the family registered as {name!r} calls itself {family.name!r}")
    return family


def register_family(name: str, family: Family | str) -> None:
    """Register `family` (a Family, or the name of a module defining `FAMILY`) as `name`, for training,
    loading and generating like the built-in ones; `unregister_family` takes it out again."""
    if name in MODELS:
        raise TunesmithError(f"a model family named {name!r} is registered already")
    if isinstance(family, Family) and family.name != name:
        raise TunesmithError(f"a family named {family.name!r} cannot be registered as {name!r}")
    MODELS[name] = family


def unregister_family(name: str) -> None:
    """Take out a family that `register_family` added."""
    if name not in MODELS:
        raise TunesmithError(f"no model family named {name!r} is registered")
    del MODELS[name]


__all__ = ["MODELS", "Family", "available_families", "config_from_dict", "config_to_dict", "get_family",
           "register_family", "unregister_family"]
