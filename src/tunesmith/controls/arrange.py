"""Piece-level ways to honour controls, for every family: tempo, instruments, key by transposition,
and splicing generated bars into a primer. Each returns a new Piece and leaves its input alone."""

from __future__ import annotations

import logging

import numpy as np
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.instruments import DRUMS, instrument_name, program_number
from tunesmith.piece import Piece
from tunesmith.theory import Key

log = logging.getLogger(__name__)


def apply_tempo(piece: Piece, bpm: float) -> Piece:
    """The piece with one tempo, `bpm` quarter notes per minute, from its start."""
    score = piece.score.copy()
    score.tempos = symusic.core.TempoTickList([symusic.Tempo(0, qpm=float(bpm))])
    return piece.copy(score=score)


def set_time_signature(piece: Piece, meter: tuple[int, int]) -> Piece:
    """The piece with one time signature from its start (the notes stay where they are)."""
    score = piece.score.copy()
    score.time_signatures = symusic.core.TimeSignatureTickList([symusic.TimeSignature(0, *meter)])
    return piece.copy(score=score)


def _voices(notes: list[tuple[int, int, int, int]], count: int) -> list[list[int]]:
    """Split notes (time, duration, pitch, velocity) into `count` voices from the top down: the notes
    starting together are ranked by pitch and spread over the voices; fewer notes than voices double."""
    out: list[list[int]] = [[] for _ in range(count)]
    by_onset: dict[int, list[int]] = {}
    for i, n in enumerate(notes):
        by_onset.setdefault(n[0], []).append(i)
    for idx in by_onset.values():
        idx = sorted(idx, key=lambda i: -notes[i][2])
        k = len(idx)
        for j, i in enumerate(idx):
            first, last = j * count // k, max(j * count // k, (j + 1) * count // k - 1)
            for voice in range(first, last + 1):
                out[voice].append(i)
    return out


def set_instruments(piece: Piece, programs: list[int], names: list[str] | None = None) -> Piece:
    """The piece played by exactly these General MIDI programs (128 = drums), one track each.

    A piece whose tracks already have these programs (and these track names, when `names` are given) is
    unchanged. Otherwise every pitched note is re-voiced from the top down: the first program plays the
    highest voice, the last the lowest; the tracks are named `names`, else after their instruments.
    """
    if names is not None and len(names) != len(programs):
        raise TunesmithError(f"set_instruments: {len(names)} names for {len(programs)} programs")
    have = sorted(program_number(p, d) for _, p, d in piece.instruments)
    named = names is None or sorted((program_number(p, d), n) for n, p, d in piece.instruments) == sorted(
        zip(programs, names, strict=True))
    if have == sorted(programs) and named:
        return piece.copy()
    score = piece.score.copy()
    notes = [(int(n.time), int(n.duration), int(n.pitch), int(n.velocity))
             for t in score.tracks if not t.is_drum for n in t.notes]
    notes.sort()
    tracks = []
    for k, (program, voice) in enumerate(zip(programs, _voices(notes, len(programs)), strict=True)):
        name = names[k] if names is not None else instrument_name(program)
        track = symusic.Track(name=name, program=0 if program == DRUMS else program,
                              is_drum=program == DRUMS)
        for i in voice:
            t, d, p, v = notes[i]
            track.notes.append(symusic.Note(t, d, p, v))
        tracks.append(track)
    score.tracks = symusic.core.TrackTickList(tracks)
    log.info("re-voiced %d notes for %s", len(notes), ", ".join(instrument_name(p) for p in programs))
    return piece.copy(score=score)


def key_shift(piece: Piece, key: Key, pitch_range: tuple[int, int] | None = None) -> int:
    """Semitones (at most a tritone, the nearer way first) that move the piece's estimated tonic to `key`'s
    when the modes agree, else to the key sharing `key`'s scale (D minor -> F major); 0 when no way keeps
    the piece inside `pitch_range`."""
    found = piece.key
    tonic = key.tonic if found.mode == key.mode else (key.tonic + (3 if key.mode == "minor" else -3)) % 12
    shift = (tonic - found.tonic) % 12
    options = sorted((shift, shift - 12), key=abs)
    if pitch_range is not None and piece.pitch_range is not None:
        low, high = piece.pitch_range
        options = [s for s in options if low + s >= pitch_range[0] and high + s <= pitch_range[1]]
        if not options:
            log.info("no transposition to %s keeps the piece inside the pitch range: left in %s", key, found)
            return 0
    return options[0]


def transpose_to_key(piece: Piece, key: Key, pitch_range: tuple[int, int] | None = None) -> Piece:
    """The piece moved by `key_shift` (a copy, unmoved when no shift fits the pitch range)."""
    shift = key_shift(piece, key, pitch_range)
    return piece.transpose(shift) if shift else piece.copy()


def splice_bars(base: Piece, insert: Piece, start_bar: int, end_bar: int) -> Piece:
    """`base` with its notes starting in bars [start_bar, end_bar) replaced by `insert`'s notes there.

    Everything outside the gap stays exactly as it was. An inserted note joins the base track with its
    program whose notes around the gap are nearest in pitch (a new track when no program matches).
    """
    score = base.score.copy()
    bar = base.bar_ticks
    lo, hi = start_bar * bar, end_bar * bar
    for track in score.tracks:
        track.notes.filter(lambda n: not lo <= n.time < hi, inplace=True)
    scale = base.tpq / insert.tpq
    for track in insert.score.tracks:
        for note in track.notes:
            t = int(round(note.time * scale))
            if not lo <= t < hi:
                continue
            d = int(round(note.duration * scale))
            target = _nearest_track(score, int(track.program), bool(track.is_drum), int(note.pitch), lo, hi, bar)
            target.notes.append(symusic.Note(t, max(1, min(d, hi - t)), int(note.pitch), int(note.velocity)))
    for track in score.tracks:
        track.notes.sort(inplace=True)
    return base.copy(score=score)


def _nearest_track(score: symusic.Score, program: int, is_drum: bool, pitch: int, lo: int, hi: int, bar: int):
    candidates = [t for t in score.tracks if int(t.program) == program and bool(t.is_drum) == is_drum]
    if not candidates:
        track = symusic.Track(name=instrument_name(program_number(program, is_drum)), program=program, is_drum=is_drum)
        score.tracks.append(track)
        return score.tracks[-1]

    def distance(track) -> float:
        near = [n.pitch for n in track.notes if lo - bar <= n.time < hi + bar] or [n.pitch for n in track.notes]
        return abs(float(np.mean(near)) - pitch) if near else 1e9

    return min(candidates, key=distance)
