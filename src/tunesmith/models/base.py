"""What a model family is: a config dataclass, a module that computes its own loss, and how to
make its training data and sample from it. One training loop serves every family."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    import torch

    from tunesmith.controls.controls import Controls
    from tunesmith.piece import Piece
    from tunesmith.representations.base import Representation


class Trained(Protocol):
    """What a family's `generate` reads of a loaded run (`tunesmith.runs.TrainedRun` is one)."""

    path: Path
    config: dict[str, Any]
    model: torch.nn.Module
    representation: Representation
    device: torch.device


@dataclass
class Family:
    """A model family, registered by name in `tunesmith.models.MODELS`.

    - `config_class`: a @dataclass of the model's settings (all with defaults); `vocab_size`-like fields
      that come from the representation are filled by `build_model`.
    - `representation`: the default representation config, e.g. {"kind": "tokens", "tokenization": "REMI"}.
    - `build_model(config, representation) -> nn.Module` whose `loss(batch) -> (loss, {name: float})`.
    - `make_dataset(pieces, representation, config, seed) -> torch Dataset` of training examples;
      `collate` turns a list of examples into a batch (default: torch's default_collate).
    - `generate(run, controls) -> list[Piece]`: sampling, honouring `controls` or raising ControlError;
      None for token language models, which share the sampler in tunesmith.generation.sample.
    - `supported_controls`: names of Controls fields this family honours beyond the universal ones.
    - `train_step`: for families that need their own optimisation step (the GAN); None uses the loop's.
    - `fit_pieces(pieces, config) -> pieces`: the pieces as the family learns them, for fitting the
      representation (the GAN's, moved to one key); None: as they are.
    """

    name: str
    config_class: type
    representation: dict[str, Any]
    build_model: Callable[[Any, Representation], torch.nn.Module]
    make_dataset: Callable[[list[Piece], Representation, Any, int], Any]
    generate: Callable[[Trained, Controls], list[Piece]] | None = None
    supported_controls: frozenset[str] = frozenset()
    collate: Callable[[list], Any] | None = None
    train_step: Callable[..., dict[str, float]] | None = None
    fit_pieces: Callable[[list[Piece], Any], list[Piece]] | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def config_from_dict(config_class: type, values: dict[str, Any] | None, what: str = "model",
                     saved: bool = False) -> Any:
    """Build a config dataclass strictly: an unknown key is an error naming it and the known ones.

    `saved` values come from a run written earlier: a setting it lacks is one added since, and takes the
    value that keeps that run what it was (the class's `SAVED_BEFORE`), not the default of new runs.
    """
    values = dict(values or {})
    if saved:
        values = {**getattr(config_class, "SAVED_BEFORE", {}), **values}
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TunesmithError(f"unknown {what} setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    for f in dataclasses.fields(config_class):
        if f.name in values and not _same_kind(f.default, values[f.name]):
            raise TunesmithError(f"{what} setting {f.name} must be {_KINDS[type(f.default)]} "
                                 f"(got {values[f.name]!r})")
    return config_class(**values)


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _same_kind(default: Any, value: Any) -> bool:
    """Whether `value` can stand where `default` does (a number for a number, text for text...); settings
    whose default is None or a collection are not checked here."""
    if type(default) not in _KINDS:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a plain dict (for config.json)."""
    return dataclasses.asdict(config)
