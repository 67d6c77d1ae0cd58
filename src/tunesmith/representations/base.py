"""One interface for every representation: Pieces to arrays and back, and a dict that rebuilds it."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece

# kind -> "module:Class"
REPRESENTATIONS: dict[str, str] = {
    "tokens": "tunesmith.representations.tokens:TokenRepresentation",
    "pianoroll": "tunesmith.representations.pianoroll:PianoRollRepresentation",
    "frames": "tunesmith.representations.frames:FrameRepresentation",
    "voices": "tunesmith.representations.voices:VoiceRepresentation",
}


class Representation(ABC):
    """Turns Pieces into arrays a model reads, and arrays back into Pieces."""

    kind: ClassVar[str]

    @abstractmethod
    def encode(self, piece: Piece) -> Any:
        """A Piece as this representation's array (token ids, roll...)."""

    @abstractmethod
    def decode(self, encoded: Any, name: str = "generated") -> Piece:
        """An array back into a Piece."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this representation (must include 'kind')."""

    @classmethod
    @abstractmethod
    def from_dict(cls, values: dict[str, Any], run_dir: Path | None = None) -> Representation:
        """Rebuild from `to_dict()` output (and files saved in `run_dir`, if any)."""

    def fit(self, pieces: list[Piece]) -> Representation:
        """Adapt to a training corpus (e.g. trim the pitch range to it); returns self."""
        return self

    def save(self, run_dir: Path) -> None:  # noqa: B027 - most representations need no file of their own
        """Write any files beside config.json that `from_dict` needs (e.g. tokenizer.json)."""


def representation_from_dict(values: dict[str, Any], run_dir: Path | None = None) -> Representation:
    """Rebuild any representation from its dict, dispatching on 'kind'."""
    kind = values.get("kind")
    if kind not in REPRESENTATIONS:
        raise TunesmithError(f"unknown representation {kind!r} (choose from: {', '.join(REPRESENTATIONS)})")
    module, cls = REPRESENTATIONS[kind].split(":")
    return getattr(importlib.import_module(module), cls).from_dict(values, run_dir)
