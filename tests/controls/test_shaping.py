"""The controls of the grid families (controls/shaping.py) on hand-made pieces: which pitches may sound, and the
changes made to a finished piece, as exact notes and velocities."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from tunesmith.controls.controls import Controls
from tunesmith.controls.shaping import (
    allowed_pitches,
    apply_dynamics,
    cut_at,
    end_on_tonic,
    fit_velocities,
    grid_targets,
    home_shift,
    set_programs,
    shape,
)
from tunesmith.controls.targets import resolve_targets
from tunesmith.errors import ControlError
from tunesmith.piece import Piece
from tunesmith.theory import Key, parse_key

TPQ = 4
BAR = 4 * TPQ  # 4/4


def duet(velocities: tuple[int, ...] = (60, 70, 80, 90)) -> Piece:
    """Two tracks over two bars: a tune of four quarter-bar notes each bar (velocities cycling) over a bass."""
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    tune, bass = symusic.Track("Tune", program=0), symusic.Track("Bass", program=32)
    for i, pitch in enumerate((64, 65, 67, 69, 67, 65, 64, 67)):
        tune.notes.append(symusic.Note(i * 4, 4, pitch, velocities[i % len(velocities)]))
    bass.notes.append(symusic.Note(0, BAR, 48, 70))
    bass.notes.append(symusic.Note(BAR, BAR + 3, 43, 70))  # rings 3 ticks past the end of bar 2
    score.tracks.extend([tune, bass])
    return Piece(score=score, name="duet", source="test")


def tune(bars: int, velocity: int = 80) -> Piece:
    """One track of quarter notes (C4 up the scale and round again) over `bars` bars, all at `velocity`."""
    score = symusic.Score(TPQ)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Tune", program=0)
    for i in range(4 * bars):
        track.notes.append(symusic.Note(i * TPQ, TPQ, 60 + (0, 2, 4, 5, 7, 9, 11)[i % 7], velocity))
    score.tracks.append(track)
    return Piece(score=score, name="tune", source="test")


def velocities(piece: Piece) -> list[int]:
    return [int(n.velocity) for t in piece.score.tracks for n in t.notes]


def test_home_shift_moves_c_major_onto_the_asked_scale_the_near_way():
    assert [home_shift(parse_key(k)) for k in ("C major", "A minor", "D minor", "G major", "F# major", "B major")] \
        == [0, 0, 5, 0 - 5, -6, -1]
    assert home_shift(Key(2, "major")) == 2


def test_allowed_pitches_keep_the_scale_and_the_range_after_the_move():
    targets = resolve_targets(Controls(key="D minor", scale_lock=True, pitch_range="C4-C5"))
    allowed = allowed_pitches(targets, lowest=48, count=37, shift=5)  # a grid of C3..C6 moved up a fourth
    played = np.arange(48, 85)[allowed] + 5
    assert set(played % 12) <= {2, 4, 5, 7, 9, 10, 0, 1} and played.min() >= 60 and played.max() <= 72
    assert list(played) == [60, 61, 62, 64, 65, 67, 69, 70, 72]
    assert allowed_pitches(resolve_targets(Controls(key="D minor")), 48, 37) is None  # nothing restricted
    with pytest.raises(ControlError, match="no pitch of this model's range"):
        allowed_pitches(resolve_targets(Controls(pitch_range="C1-B1")), 48, 37)


def test_velocities_fit_the_range_keeping_every_accent_in_order():
    fitted = fit_velocities(duet(), (40, 50))
    assert min(velocities(fitted)) == 40 and max(velocities(fitted)) == 50
    order = np.argsort(velocities(duet()), kind="stable")
    assert list(np.array(velocities(fitted))[order]) == sorted(velocities(fitted))
    assert set(velocities(fit_velocities(duet((70,)), (40, 50)))) == {45}  # one level (the bass's too): the middle


@pytest.mark.parametrize("shape_name", ["crescendo", "diminuendo", "swell", "steady"])
def test_dynamics_curves_move_the_bars_the_asked_way(shape_name):
    from tunesmith.generation.checks import _dynamics_ok, velocity_per_bar

    shaped = apply_dynamics(tune(8), shape_name)
    assert _dynamics_ok(shape_name, velocity_per_bar(shaped))
    per_bar = velocity_per_bar(shaped)
    assert {"crescendo": per_bar == sorted(per_bar), "diminuendo": per_bar == sorted(per_bar, reverse=True),
            "swell": max(per_bar[3:5]) == max(per_bar) > per_bar[0],
            "steady": set(per_bar) == {80.0}}[shape_name]
    mixed = apply_dynamics(duet(), "steady")  # each of 60, 70, 80, 90 (and the bass's 70) halfway to the mean, 74
    assert sorted(set(velocities(mixed))) == [67, 72, 77, 82]


def test_the_last_onset_ends_on_the_tonic_by_moving_its_lowest_note_to_the_nearest():
    piece = duet()  # the last onset: the tune's G4 (67) at tick 28; the bass's G2 started before it
    ended = end_on_tonic(piece, parse_key("F major"))
    last = [n.pitch for t in ended.score.tracks for n in t.notes if n.time == 28]
    assert last == [65]  # G4 -> F4, the nearest F
    assert velocities(ended) == velocities(piece)
    assert end_on_tonic(piece, parse_key("C major")).score.tracks[0].notes[-1].pitch == 72  # G4 -> C5, 5 up
    in_range = end_on_tonic(piece, parse_key("F major"), pitch_range=(69, 80))
    assert in_range.score.tracks[0].notes[-1].pitch == 77  # the nearest F inside the range
    g = end_on_tonic(piece, parse_key("G major"))
    assert g.score.tracks[0].notes[-1].pitch == 67  # a G already: untouched


def test_programs_go_one_per_track_when_the_counts_agree_else_the_notes_are_revoiced():
    piece = duet()
    two = set_programs(piece, [73, 70])
    assert [(t.name, t.program, len(t.notes)) for t in two.score.tracks] == [("Flute", 73, 8), ("Bassoon", 70, 2)]
    one = set_programs(piece, [6])
    assert [(t.program, len(t.notes)) for t in one.score.tracks] == [(6, 10)]


def test_shape_applies_everything_asked_and_leaves_the_targets_for_the_checks():
    targets = resolve_targets(Controls(bars=2, tempo=90, velocity="50-60", loopable=True, instruments=["flute", "cello"],
                                       key="C major", end_on_tonic=True, dynamics="crescendo"))
    shaped = shape(duet(), targets)
    assert shaped.tempo == pytest.approx(90, abs=1e-3) and shaped.end_tick == 2 * BAR and shaped.tags["targets"] is targets
    assert 50 <= min(velocities(shaped)) and max(velocities(shaped)) <= 60
    assert [t.program for t in shaped.score.tracks] == [73, 42]
    assert cut_at(duet(), 1).end_tick == BAR


def test_grid_targets_hold_the_grids_metre_and_make_seconds_whole_bars_at_its_tempo():
    targets = grid_targets(Controls(seconds=12), None, "gan", (3, 4), tempo=100.0)
    assert (targets.bars, targets.tempo, targets.time_signature) == (7, 105.0, None)  # 6.7 bars of 1.8 s
    assert grid_targets(Controls(time_signature="3/4"), None, "gan", (3, 4), 100.0).time_signature == (3, 4)
    with pytest.raises(ControlError, match=r"^the vae run writes in 4/4 \(its grid holds one metre"):
        grid_targets(Controls(time_signature="6/8"), None, "vae", (4, 4), 120.0)
