"""Standard MIDI files, written by symusic."""

from __future__ import annotations

from pathlib import Path

from tunesmith.fileio import write_atomic
from tunesmith.piece import Piece


def save_midi(piece: Piece, path: str | Path) -> Path:
    """Write `piece` as a Standard MIDI File (type 1, one track per voice; drums on channel 10)."""
    return write_atomic(path, lambda tmp: piece.score.dump_midi(str(tmp)))


def midi_bytes(piece: Piece) -> bytes:
    """The Standard MIDI File of `piece`, in memory."""
    return bytes(piece.score.dumps_midi())
