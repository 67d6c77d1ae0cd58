"""Piece helpers on hand-made pieces: instruments, tempo, meter, key and spliced bars, as exact notes."""

from __future__ import annotations

import symusic

from tunesmith.controls.arrange import (
    apply_tempo,
    key_shift,
    set_instruments,
    set_time_signature,
    splice_bars,
)
from tunesmith.piece import Piece
from tunesmith.theory import Key

TPQ = 4
BAR = 4 * TPQ  # 4/4


def make_piece(tracks: dict[int, list[tuple[int, int, int]]]) -> Piece:
    """{program: [(start, duration, pitch)]} in ticks at 4 a quarter, in 4/4 at 120 BPM."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for program, notes in tracks.items():
        track = symusic.Track(f"p{program}", program=program)
        for start, duration, pitch in notes:
            track.notes.append(symusic.Note(start, duration, pitch, 80))
        score.tracks.append(track)
    return Piece(score=score, name="take", source="test")


def notes(piece: Piece) -> list[tuple[int, bool, int, int, int]]:
    return sorted((t.program, t.is_drum, n.time, n.duration, n.pitch) for t in piece.score.tracks for n in t.notes)


def test_instruments_revoice_from_the_top_and_drums_are_a_drum_track():
    chords = make_piece({0: [(0, 4, 60), (0, 4, 67), (4, 4, 62), (4, 4, 65)]})
    played = set_instruments(chords, [40, 128])
    assert [(t.name, t.program, t.is_drum) for t in played.score.tracks] == [("Violin", 40, False),
                                                                             ("Drums", 0, True)]
    assert notes(played) == [(0, True, 0, 4, 60), (0, True, 4, 4, 62), (40, False, 0, 4, 67), (40, False, 4, 4, 65)]
    assert notes(chords) == [(0, False, 0, 4, 60), (0, False, 0, 4, 67), (0, False, 4, 4, 62), (0, False, 4, 4, 65)]
    assert set_instruments(played, [128, 40]).score.tracks[0].name == "Violin"  # already these: unchanged


def test_tempo_and_meter_are_one_event_from_the_start():
    piece = make_piece({0: [(0, 4, 60)]})
    assert [(t.time, t.mspq) for t in apply_tempo(piece, 90).score.tempos] == [(0, 666_667)]  # microseconds a quarter
    assert [(m.numerator, m.denominator) for m in set_time_signature(piece, (3, 4)).score.time_signatures] == [(3, 4)]
    assert notes(set_time_signature(piece, (3, 4))) == notes(piece)


def test_a_key_is_reached_the_nearer_way_within_the_pitch_range():
    c_major = make_piece({0: [(0, 4, 60), (4, 4, 64), (8, 4, 67), (12, 4, 72)]})
    assert key_shift(c_major, Key(7, "major")) == -5  # C to G: down a fourth, not up a fifth
    assert key_shift(c_major, Key(9, "minor")) == 0  # A minor shares C major's notes
    assert key_shift(c_major, Key(7, "major"), pitch_range=(60, 84)) == 7  # down would leave the range
    assert key_shift(c_major, Key(7, "major"), pitch_range=(60, 72)) == 0  # neither way fits


def test_spliced_bars_replace_only_the_gap():
    base = make_piece({0: [(0, 4, 60), (BAR, 4, 62), (2 * BAR, 4, 64)], 40: [(BAR, 8, 76)]})
    insert = make_piece({0: [(BAR, 2, 48), (2 * BAR, 4, 50)], 73: [(BAR + 4, 4, 84)]})
    spliced = splice_bars(base, insert, 1, 2)
    assert notes(spliced) == [(0, False, 0, 4, 60), (0, False, BAR, 2, 48), (0, False, 2 * BAR, 4, 64),
                              (73, False, BAR + 4, 4, 84)]
    assert [t.name for t in spliced.score.tracks] == ["p0", "p40", "Flute"]  # a new program gets its own track
