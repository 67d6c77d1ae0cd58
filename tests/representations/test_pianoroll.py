"""Piano-roll representation: exact on hand-made rolls and pieces, round trip of real chorales."""

from __future__ import annotations

import os

import numpy as np
import pytest
import symusic
import torch

from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.representations.base import representation_from_dict
from tunesmith.representations.pianoroll import (
    ONSET,
    SOUNDING,
    VELOCITY,
    PianoRollRepresentation,
    TrackSpec,
)

os.environ.setdefault("TUNESMITH_CACHE", "/tmp/tc")


def two_track_rep() -> PianoRollRepresentation:
    return PianoRollRepresentation(lowest=60, highest=64, beats_per_bar=4,
                                   tracks=[TrackSpec("Melody", 0), TrackSpec("Bass", 32)])


def notes_of(piece: Piece) -> list[tuple]:
    """(track, start, end, pitch, velocity) with times in 16th-note steps at 480 tpq."""
    step = piece.tpq // 4
    return sorted((i, n.time // step, n.end // step, n.pitch, n.velocity)
                  for i, t in enumerate(piece.score.tracks) for n in t.notes)


def hand_made_roll() -> np.ndarray:
    rep = two_track_rep()
    roll = np.zeros((2, 8, rep.pitches, 3), dtype=np.float32)
    # Melody, C4 (row 0): held for steps 0-3 at velocity 100
    roll[0, 0:4, 0, SOUNDING] = 1
    roll[0, 0, 0, ONSET] = 1
    roll[0, 0:4, 0, VELOCITY] = 100 / 127
    # Melody, E4 (row 4): struck at 0 (vel 64) and re-struck at 2 (vel 127) with no gap, then at 6 after a rest
    roll[0, 0:4, 4, SOUNDING] = 1
    roll[0, [0, 2], 4, ONSET] = 1
    roll[0, 0:2, 4, VELOCITY] = 64 / 127
    roll[0, 2:4, 4, VELOCITY] = 1.0
    roll[0, 6:8, 4, SOUNDING] = 1
    roll[0, 6:8, 4, VELOCITY] = 30 / 127  # no onset marked: a sounding step after silence starts a note
    # Bass, D4 (row 2): one step
    roll[1, 5, 2, [SOUNDING, ONSET]] = 1
    roll[1, 5, 2, VELOCITY] = 1 / 127
    return roll


EXPECTED = [(0, 0, 2, 64, 64), (0, 0, 4, 60, 100), (0, 2, 4, 64, 127), (0, 6, 8, 64, 30), (1, 5, 6, 62, 1)]


def test_decode_hand_made_roll_is_exact():
    piece = two_track_rep().decode(hand_made_roll())
    assert notes_of(piece) == EXPECTED
    assert [(t.name, t.program) for t in piece.score.tracks] == [("Melody", 0), ("Bass", 32)]
    assert piece.time_signature == (4, 4)


def test_encode_hand_made_piece_is_exact():
    rep = two_track_rep()
    score = symusic.Score(480)
    melody, bass = symusic.Track("Melody", 0, False), symusic.Track("Bass", 32, False)
    for _, a, b, pitch, vel in EXPECTED[:4]:
        melody.notes.append(symusic.Note(a * 120, (b - a) * 120, pitch, vel))
    bass.notes.append(symusic.Note(600, 120, 62, 1))
    score.tracks.extend([melody, bass])
    roll = rep.encode(Piece(score))
    expected = hand_made_roll()
    expected[0, 6, 4, ONSET] = 1  # encoding always marks onsets
    assert roll.shape == (2, 8, 5, 3) and roll.dtype == np.float32
    np.testing.assert_array_equal(roll, expected)


def test_probabilities_threshold_and_bernoulli():
    rep = two_track_rep()
    roll = hand_made_roll() * 0.8  # probabilities; velocity scaled too
    roll[..., VELOCITY] = hand_made_roll()[..., VELOCITY]
    assert notes_of(rep.decode(roll, sampling="threshold", threshold=0.5)) == EXPECTED
    assert notes_of(rep.decode(roll, sampling="threshold", threshold=0.9)) == []
    ones = hand_made_roll()  # probabilities of exactly 0 or 1: Bernoulli draws agree with the threshold
    assert notes_of(rep.decode(ones, sampling="bernoulli", generator=torch.Generator().manual_seed(1))) == EXPECTED
    half = np.zeros_like(ones)
    half[0, :, :, SOUNDING] = 0.5
    draws = [notes_of(rep.decode(half, sampling="bernoulli", generator=torch.Generator().manual_seed(s)))
             for s in (1, 1, 2)]
    assert draws[0] == draws[1] and draws[0] != draws[2] and len(draws[0]) > 0
    with pytest.raises(TunesmithError, match="roll sampling"):
        rep.decode(roll, sampling="argmax")


def test_a_track_keeps_its_likeliest_notes_up_to_its_voice_limit():
    rep = two_track_rep()
    rep.tracks[0].max_voices = 1
    roll = hand_made_roll()
    roll[0, :, 0, SOUNDING] *= 0.7  # C4 held at 0.7 under E4 at 1.0: the melody keeps E4 alone
    assert notes_of(rep.decode(roll)) == [e for e in EXPECTED if e[3] != 60]
    roll[0, 1, 0, SOUNDING], roll[0, 1, 4, SOUNDING] = 1.0, 0.9  # C4 the likelier while E4 is held on
    assert notes_of(rep.decode(roll)) == [e for e in EXPECTED if e[3] != 60]  # the held note is not cut
    roll[0, 2, 0, SOUNDING], roll[0, 2, 4, SOUNDING] = 1.0, 0.9  # E4 is struck again: the likelier C4 enters
    assert notes_of(rep.decode(roll)) == [(0, 0, 2, 64, 64), (0, 2, 4, 60, 100), (0, 6, 8, 64, 30), (1, 5, 6, 62, 1)]
    rep.tracks[0].max_voices = 0
    assert len(notes_of(rep.decode(roll))) == len(EXPECTED)


def test_voice_limit_and_velocity_are_fitted_to_the_corpus():
    score = symusic.Score(480)
    chords, line = symusic.Track("Piano", 0, False), symusic.Track("Bass", 32, False)
    for bar in range(4):
        for pitch in (60, 64, 67):  # three-note chords, a whole bar each
            chords.notes.append(symusic.Note(bar * 1920, 1920, pitch + bar, 80))
        line.notes.append(symusic.Note(bar * 1920, 960, 40 + bar, 40 + 10 * bar))
    score.tracks.extend([chords, line])
    rep = PianoRollRepresentation().fit([Piece(score)])
    assert rep.track_names == ["Piano", "Bass"]
    assert [t.max_voices for t in rep.tracks] == [3, 1]
    assert [t.velocity for t in rep.tracks] == [80.0, 55.0]  # mean velocities
    given = PianoRollRepresentation(tracks=[TrackSpec("Piano", 0, max_voices=2), TrackSpec("Bass", 32, max_voices=2)])
    given.fit([Piece(score)])  # voices the user gave stay; the velocities they did not give are fitted
    assert [(t.max_voices, t.velocity) for t in given.tracks] == [(2, 80.0), (2, 55.0)]


def test_out_of_range_notes_fold_by_octaves_and_shape_is_checked():
    rep = PianoRollRepresentation(lowest=48, highest=72, tracks=[TrackSpec("Solo")])
    score = symusic.Score(4)
    track = symusic.Track("Solo", 0, False)
    track.notes.append(symusic.Note(0, 4, 84, 90))  # C6 -> C5
    track.notes.append(symusic.Note(4, 4, 40, 90))  # E2 -> E3
    score.tracks.append(track)
    assert [n[3] for n in notes_of(rep.decode(rep.encode(Piece(score))))] == [72, 52]
    with pytest.raises(TunesmithError, match="roll must be"):
        rep.decode(np.zeros((2, 4, rep.pitches, 3)))


@pytest.fixture(scope="module")
def chorales() -> list[Piece]:
    from tunesmith.data import load_corpus

    return load_corpus("bach", progress=False).pieces


def test_fit_takes_the_chorale_layout_and_range(chorales):
    rep = PianoRollRepresentation().fit(chorales)
    assert rep.track_names == ["Soprano", "Alto", "Tenor", "Bass"]
    assert rep.steps_per_bar == 16
    lo = min(p.pitch_range[0] for p in chorales)
    hi = max(p.pitch_range[1] for p in chorales)
    assert (rep.lowest, rep.highest) == (lo - 2, hi + 2)
    again = representation_from_dict(rep.to_dict())
    assert again == rep and again.tracks[0] == TrackSpec("Soprano", 0, False, max_voices=1, velocity=90.0)
    assert [t.max_voices for t in rep.tracks] == [1, 1, 1, 1]  # each chorale voice sings one note at a time
    triplets = PianoRollRepresentation(steps_per_beat=6).fit(chorales[:5])
    assert triplets.steps_per_bar == 24


def test_rebuilding_is_strict():
    with pytest.raises(TunesmithError) as raised:
        representation_from_dict({"kind": "pianoroll", "lowestt": 30})
    assert str(raised.value) == ("unknown pianoroll setting(s) lowestt (known: beats_per_bar, density_edges, highest, "
                                 "lowest, max_tracks, pitch_margin, sampling, steps_per_beat, tempo, threshold, "
                                 "track_match, tracks)")
    with pytest.raises(TunesmithError) as raised:
        representation_from_dict({"kind": "pianoroll", "steps_per_beat": 4.0})
    assert str(raised.value) == "pianoroll setting steps_per_beat must be a whole number (got 4.0)"
    assert representation_from_dict({"kind": "pianoroll", "tempo": 90}).tempo == 90  # a whole number is a number


def test_chorales_round_trip_on_the_grid(chorales):
    rep = PianoRollRepresentation().fit(chorales)
    compared = 0
    for piece in chorales[:60]:
        grid = piece.score.resample(4, min_dur=1)
        if len(grid.tracks) != 4:
            continue
        expected = sorted((i, n.time, n.end, n.pitch, n.velocity) for i, t in enumerate(grid.tracks) for n in t.notes)
        if any(a[0] == b[0] and a[3] == b[3] and b[1] < a[2] for a, b in zip(expected, expected[1:], strict=False)):
            continue  # a voice overlapping itself on one pitch has no roll
        decoded = rep.decode(rep.encode(piece), name=piece.name)
        assert notes_of(decoded) == expected, piece.name
        compared += 1
    assert compared >= 50


def test_families_layout_groups_instruments_and_drums():
    pieces = []
    for programs in ((0, 1, 33), (4, 40), (0, 33)):
        score = symusic.Score(480)
        for p in programs:
            t = symusic.Track(f"p{p}", p, False)
            t.notes.append(symusic.Note(0, 480, 60, 80))
            score.tracks.append(t)
        drum = symusic.Track("kit", 0, True)
        drum.notes.append(symusic.Note(0, 120, 36, 100))
        score.tracks.append(drum)
        pieces.append(Piece(score))
    rep = PianoRollRepresentation().fit(pieces)
    assert rep.track_match == "families"
    assert rep.track_names == ["Piano", "Bass", "Strings", "Drums"]
    roll = rep.encode(pieces[0])
    assert roll[0, 0, 60 - rep.lowest, ONSET] == 1  # two piano programs merge into one track
    assert roll[3, :, :, SOUNDING].sum() == 0  # the kick drum at 36 lies below the fitted range: dropped


def test_fit_records_the_corpus_notes_per_bar_tertiles_in_the_grids_bars():
    def piece(notes: int, beats: int) -> Piece:  # four bars of `beats` quarter notes, `notes` notes in all
        score = symusic.Score(480)
        score.time_signatures.append(symusic.TimeSignature(0, beats, 4))
        track = symusic.Track(name="Piano", program=0)
        span = 4 * beats * 480
        track.notes.extend(symusic.Note(i * span // notes, 60, 60 + i % 12, 80) for i in range(notes))
        score.tracks.append(track)
        return Piece(score)

    # 8, 16, 24, 32, 40, 48 notes over 16 quarter notes: 2 to 12 notes per bar of 4 quarters
    pieces = [piece(n, 4) for n in (8, 16, 24, 32, 40, 48)]
    rep = PianoRollRepresentation(beats_per_bar=4).fit(pieces)
    assert rep.density_edges == pytest.approx([np.quantile([2, 4, 6, 8, 10, 12], q) for q in (1 / 3, 2 / 3)])
    # the same notes written in 2/4 are the same density on a 4/4 grid (not twice as many bars)
    halves = PianoRollRepresentation(beats_per_bar=4).fit([piece(n, 2) for n in (4, 8, 12, 16, 20, 24)])
    assert halves.density_edges == pytest.approx(rep.density_edges)
    again = representation_from_dict(rep.to_dict())
    assert again.density_edges == rep.density_edges
