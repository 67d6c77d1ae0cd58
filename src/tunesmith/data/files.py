"""Reading one file into a Piece: MIDI and ABC through symusic (see data/abc.py), MusicXML/kern through music21."""

from __future__ import annotations

import logging
from pathlib import Path

import symusic

from tunesmith.data.abc import read_abc_tune, split_tunes
from tunesmith.data.scores import clean_score, score_from_music21
from tunesmith.errors import MusicFileError
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
SCORE_SUFFIXES = (".mxl", ".musicxml", ".xml", ".abc", ".krn")
MUSIC_SUFFIXES = MIDI_SUFFIXES + SCORE_SUFFIXES


def read_score(path: Path) -> symusic.Score:
    """Parse a file of any supported kind into a cleaned symusic Score."""
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:  # from bytes: symusic knows a format by its suffix, and not '.kar'
        return clean_score(symusic.Score.from_midi(path.read_bytes()))
    if suffix == ".abc":  # a tune or a book of tunes: its first tune
        text = path.read_text(encoding="utf-8", errors="replace")
        tunes = split_tunes(text)
        return read_abc_tune(tunes[0].text if tunes else text)
    import music21

    return score_from_music21(music21.converter.parse(str(path)))


def read_piece(path: str | Path) -> Piece:
    """Read one file into a Piece; a MusicFileError says why when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise MusicFileError(f"no such file: {path}")
    if path.is_dir():
        raise MusicFileError(f"{path} is a folder, not a music file")
    if path.suffix.lower() not in MUSIC_SUFFIXES:
        raise MusicFileError(f"{path}: unknown kind of file {path.suffix!r} (expected one of {', '.join(MUSIC_SUFFIXES)})")
    if path.stat().st_size == 0:
        raise MusicFileError(f"{path}: the file is empty")
    try:
        score = read_score(path)
    except MusicFileError:
        raise
    except Exception as exc:  # the parsers raise many kinds; the user needs the file and the reason
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MusicFileError(f"{path}: not readable as music ({reason})") from exc
    piece = Piece(score=score, name=path.stem, source=str(path))
    if piece.note_count == 0:
        raise MusicFileError(f"{path}: the file has no notes")
    return piece
