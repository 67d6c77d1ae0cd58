"""Reading one file into a Piece, safely: the cheap checks here, the parser in a process of its own (data/safe.py),
so that a file that crashes or hangs the parser is a MusicFileError with the reason, never a dead caller.
Primers, `render`, the evaluate sets and the VAE commands all read through `read_piece` (or `Piece.load`)."""

from __future__ import annotations

from pathlib import Path

from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits
from tunesmith.data.parse import MIDI_SUFFIXES, MUSIC_SUFFIXES, SCORE_SUFFIXES, check_file
from tunesmith.data.safe import Rejected, read_alone
from tunesmith.errors import MusicFileError
from tunesmith.piece import Piece

__all__ = ["MIDI_SUFFIXES", "MUSIC_SUFFIXES", "SCORE_SUFFIXES", "read_piece"]


def read_piece(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> Piece:
    """Read one file into a Piece; a MusicFileError says why when it cannot be read or is past a limit."""
    path = Path(path)
    check_file(path, limits)
    result = read_alone(path, limits)
    if isinstance(result, Rejected):
        raise MusicFileError(result.reason)
    return result
