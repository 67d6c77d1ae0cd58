"""config.json's format, and the migrations that bring a run written in an older format to the current one
before its settings are read (`read_config` runs them), one function per step.

- Format 1 (no "format" key): a family's settings in one flat [model] table; sizes read from the
  representation saved among them (the VAE's voices, events, velocity_bins, steps_per_bar; the token
  models' vocab_size, pad_id); runs saved before a setting existed lack it.
- Format 2: settings in sections where a family has them (the GAN's [model.critic]..., the VAE's
  [model.decoder]..., the polyphonic model's [model.tied]), no derived sizes; a run written in format 2
  holds every setting. (A setting that a migrated run still lacks takes its default, which is what it had.)
- Format 3: a token run records its corpus's voices (representation "voices": which Program token writes which
  named track, representations/voice_slots.py), so that tracks sharing a program stay apart. A run of an
  earlier format has no such table and keeps merging them, as it was trained to: the step from 2 changes
  nothing, and an older tunesmith refuses a format-3 run with "written by a newer tunesmith".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.models import get_family

FORMAT = 3

# format 1: settings that runs saved before they existed lack, with the value that keeps such a run what it
# was (format 1's SAVED_BEFORE); new runs have other defaults
FORMAT_1_MISSING: dict[str, dict[str, Any]] = {
    "gan": {"pitch_steps": 1, "track_gates": False, "key_normalize": False},
    "vae": {"fitted_prior": False},
    "transformer": {"pitch_features": False},
}
# format 1: sizes that come from the representation (rebuilt from it on loading), saved among the settings
FORMAT_1_DERIVED: dict[str, tuple[str, ...]] = {
    "vae": ("voices", "events", "velocity_bins", "steps_per_bar"),
    "rnn": ("vocab_size", "pad_id"),
    "transformer": ("vocab_size", "pad_id"),
}


def format_1_to_2(config: dict[str, Any], where: str) -> dict[str, Any]:
    """Format 1 -> 2: the missing settings filled in as they were, derived sizes dropped, settings that were
    removed checked (a run that used one cannot be rebuilt) and dropped, the others moved into their sections
    (the config class's `MOVED`, format 1 name -> where it is now)."""
    family = str(config.get("family"))
    model = {**FORMAT_1_MISSING.get(family, {}), **config.get("model", {})}
    for name in FORMAT_1_DERIVED.get(family, ()):
        model.pop(name, None)
    if family == "gan":  # settings that did nothing under others, which format 2 refuses, as they acted
        model["transpose"] = 0 if model.get("key_normalize") else model.get("transpose", 3)
        model["gate_steps"] = model.get("gate_steps", 1) if model.get("track_gates") else 1
    config_class = get_family(family).config_class
    for name, kept in getattr(config_class, "REMOVED", {}).items():
        value = model.pop(name, kept)
        if value != kept:
            raise TunesmithError(f"{where} was trained with {name} = {json.dumps(value)}, a setting tunesmith no "
                                 f"longer has (it did not help: docs/experiments.md); train it again")
    moved = getattr(config_class, "MOVED", {})
    sections: dict[str, Any] = {}
    for name, value in model.items():
        *path, leaf = moved.get(name, name).split(".")
        place = sections
        for part in path:
            place = place.setdefault(part, {})
        place[leaf] = value
    return {**config, "model": sections}


def format_2_to_3(config: dict[str, Any], where: str) -> dict[str, Any]:
    """Format 2 -> 3: nothing to change; a token representation without "voices" merges tracks that share a
    program, as format 2 did."""
    return config


MIGRATIONS: dict[int, Callable[[dict[str, Any], str], dict[str, Any]]] = {1: format_1_to_2, 2: format_2_to_3}


def migrate(config: dict[str, Any], where: str) -> dict[str, Any]:
    """`config` (read from `where`'s config.json) brought step by step to the current FORMAT."""
    version = config.get("format", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TunesmithError(f"{where}: config.json has no valid format number (got {version!r})")
    if version > FORMAT:
        raise TunesmithError(f"{where} was written by a newer tunesmith (config.json format {version}; this one "
                             f"reads up to {FORMAT}): update tunesmith to load it")
    while version < FORMAT:
        config = MIGRATIONS[version](config, where)
        version += 1
    return {"format": FORMAT, **{k: v for k, v in config.items() if k != "format"}}
