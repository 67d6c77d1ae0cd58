"""Reading one file into a Piece in this process: the cheap checks, the parsers (MIDI and ABC through symusic,
see data/abc.py; MusicXML and kern through music21) and the limits.

The parsers are native code that a damaged file can crash or hang, so nothing reads a user's file with
`parse_piece` directly: data/safe.py runs it in a worker process (`read_piece`, `read_pieces`). `check_file`
is the part that needs no process: it runs first, in the caller.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import symusic

from tunesmith.data.abc import read_abc_tune, split_tunes
from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits, past_limit
from tunesmith.data.midi_check import midi_bytes
from tunesmith.data.scores import clean_score, score_from_music21
from tunesmith.errors import MusicFileError
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi")  # .kar: karaoke MIDI; .rmi: RIFF-wrapped MIDI
SCORE_SUFFIXES = (".mxl", ".musicxml", ".xml", ".abc", ".krn")
MUSIC_SUFFIXES = MIDI_SUFFIXES + SCORE_SUFFIXES
MB = 1024 * 1024


def reader_name(path: Path) -> str:
    """Which reader a file goes to, as a user knows it: 'MIDI', 'ABC', 'MusicXML' or 'kern'."""
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return "MIDI"
    return {".abc": "ABC", ".krn": "kern"}.get(suffix, "MusicXML")


def check_file(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> bytes | None:
    """What can be checked without parsing (it exists, its kind, its size, a MIDI file's structure); a
    MusicFileError naming the file says what is wrong. A MIDI file's standard MIDI bytes (unwrapped from RIFF
    MIDI) are returned, to be parsed without reading the file again."""
    if not path.exists():
        raise MusicFileError(f"no such file: {path}")
    if path.is_dir():
        raise MusicFileError(f"{path} is a folder, not a music file")
    if path.suffix.lower() not in MUSIC_SUFFIXES:
        raise MusicFileError(f"{path}: unknown kind of file {path.suffix!r} (expected one of {', '.join(MUSIC_SUFFIXES)})")
    size = path.stat().st_size
    if size == 0:
        raise MusicFileError(f"{path}: the file is empty")
    if size > limits.file_mb * MB:
        raise MusicFileError(f"{path}: {past_limit(f'{size / MB:,.1f} MB ({size:,} bytes)', 'file_mb', limits)}")
    if path.suffix.lower() in MIDI_SUFFIXES:
        return midi_bytes(path.read_bytes(), str(path), limits)
    return None


def read_score(path: Path, limits: ReadLimits = DEFAULT_LIMITS, midi: bytes | None = None) -> symusic.Score:
    """Parse a file of any supported kind into a cleaned symusic Score (a MIDI file from `midi`, its checked
    bytes, when given)."""
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:  # from bytes: symusic knows a format by its suffix, and not '.kar' or '.rmi'
        if midi is None:
            midi = midi_bytes(path.read_bytes(), str(path), limits)
        return clean_score(symusic.Score.from_midi(midi))
    if suffix == ".abc":  # a tune or a book of tunes: its first tune
        text = path.read_text(encoding="utf-8", errors="replace")
        tunes = split_tunes(text)
        return read_abc_tune(tunes[0].text if tunes else text)
    import music21

    return score_from_music21(music21.converter.parse(str(path)))


def seconds_at(score: symusic.Score, tick: int) -> float:
    """Seconds from the start to `tick`, at the score's tempos (120 quarters a minute before the first)."""
    tpq = max(1, int(score.ticks_per_quarter))
    if len(score.tempos) <= 1:  # most files: no numpy needed
        first = score.tempos[0] if len(score.tempos) else None
        if first is None or first.time >= tick:
            return tick / tpq * 0.5
        return (first.time * 500_000 + (tick - first.time) * first.mspq) / 1e6 / tpq
    tempos = score.tempos.numpy()
    order = np.argsort(tempos["time"], kind="stable")
    times = np.concatenate([[0], tempos["time"][order].astype(np.float64)])
    mspq = np.concatenate([[500_000], tempos["mspq"][order].astype(np.float64)])
    before = times < tick
    starts = times[before]
    ends = np.append(starts[1:], tick)
    return float(np.sum((ends - starts) * mspq[before]) / 1e6 / tpq)


def score_past_limits(score: symusic.Score, limits: ReadLimits) -> str | None:
    """Why a read score is past one of the limits ('812,345 notes, more than ...'), or None."""
    tracks = sum(1 for t in score.tracks if len(t.notes))
    if tracks > limits.tracks:
        return past_limit(f"{tracks:,} tracks with notes", "tracks", limits)
    notes = sum(len(t.notes) for t in score.tracks)
    if notes > limits.notes:
        return past_limit(f"{notes:,} notes", "notes", limits)
    if len(score.tempos) > limits.tempos:
        return past_limit(f"{len(score.tempos):,} tempo changes", "tempos", limits)
    end = max((int(t.end()) for t in score.tracks), default=0)  # a track's last note (or pedal, or control)
    minutes = seconds_at(score, end) / 60
    if minutes > limits.minutes:
        return past_limit(f"{minutes:,.1f} minutes long", "minutes", limits)
    return None


def parse_piece(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> Piece:
    """Read one file into a Piece in this process; a MusicFileError says why when it cannot be read or is past
    a limit. A MemoryError goes up as it is (the caller names the memory limit)."""
    midi = check_file(path, limits)
    try:
        score = read_score(path, limits, midi)
    except (MusicFileError, MemoryError):
        raise
    except Exception as exc:  # the parsers raise many kinds; the user needs the file and the reason
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MusicFileError(f"{path}: not readable as music ({reason})") from exc
    piece = Piece(score=score, name=path.stem, source=str(path))
    if piece.note_count == 0:
        raise MusicFileError(f"{path}: the file has no notes")
    problem = score_past_limits(score, limits)
    if problem:
        raise MusicFileError(f"{path}: {problem}")
    return piece
