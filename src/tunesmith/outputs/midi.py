"""Standard MIDI files, written by symusic."""

from __future__ import annotations

from pathlib import Path

from tunesmith.fileio import write_bytes_atomic
from tunesmith.piece import Piece


def save_midi(piece: Piece, path: str | Path) -> Path:
    """Write `piece` as a Standard MIDI File (type 1, one track per voice; drums on channel 10).

    The file is made in memory and written by Python: symusic's own file writer does not check its writes,
    so on a full disk it would leave a cut-off file and no error."""
    return write_bytes_atomic(path, midi_bytes(piece))


def midi_bytes(piece: Piece) -> bytes:
    """The Standard MIDI File of `piece`, in memory."""
    return bytes(piece.score.dumps_midi())
