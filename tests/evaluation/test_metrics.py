"""Every per-piece metric on hand-made pieces against values worked out by hand, and against MusPy."""

from __future__ import annotations

import math

import muspy
import numpy as np
import pytest

from tunesmith.evaluation import metrics, musegan
from tunesmith.evaluation.features import FEATURES, feature_table, piece_features

LOG2 = math.log2


@pytest.fixture
def melody(piece_builder):
    """Bar 1: C4 D4 E4 C#4 in quarters; bar 2: a C major triad (C4 E4 G4) held for the whole bar."""
    bar1 = [(0, 1, 60, 90), (1, 1, 62, 90), (2, 1, 64, 90), (3, 1, 61, 90)]
    bar2 = [(4, 4, 60, 90), (4, 4, 64, 90), (4, 4, 67, 90)]
    return piece_builder([bar1 + bar2])


@pytest.fixture
def rhythm(piece_builder):
    """Middle C at quarters 0, 1, 4, 6 and 8 (one quarter each), velocities 60, 80, 100, 80, 80."""
    return piece_builder([[(0, 1, 60, 60), (1, 1, 60, 80), (4, 1, 60, 100), (6, 1, 60, 80), (8, 1, 60, 80)]])


def test_pitch_metrics_by_hand(melody):
    assert metrics.pitch_range(melody) == 67 - 60
    assert metrics.n_pitches_used(melody) == 5  # 60 61 62 64 67
    assert metrics.n_pitch_classes_used(melody) == 5
    # pitch classes by note count: C 2, C# 1, D 1, E 2, G 1 (of 7)
    expected = -(2 * (2 / 7) * LOG2(2 / 7) + 3 * (1 / 7) * LOG2(1 / 7))
    assert metrics.pitch_class_entropy(melody) == pytest.approx(expected, abs=1e-12)
    # best scale is C major (all but C#); no major/minor scale holds C, C#, D, E and G together
    assert metrics.scale_consistency(melody) == pytest.approx(6 / 7)
    assert str(melody.key) == "C major"
    assert metrics.in_key_ratio(melody) == pytest.approx(6 / 7)
    hist = metrics.pitch_class_histogram(melody)
    assert hist[[0, 1, 2, 4, 7]] == pytest.approx([2 / 7, 1 / 7, 1 / 7, 2 / 7, 1 / 7])
    assert hist.sum() == pytest.approx(1.0)


def test_scale_degree_histogram_is_relative_to_the_key(melody):
    moved = melody.transpose(5)  # F major
    assert metrics.scale_degree_histogram(moved) == pytest.approx(metrics.scale_degree_histogram(melody))
    assert metrics.scale_degree_histogram(melody)[0] == pytest.approx(2 / 7)


def test_polyphony_by_hand(melody):
    # 4 quarters with one pitch, then 4 quarters with three: (4*1 + 4*3) / 8 quarters sounding
    assert metrics.polyphony(melody) == pytest.approx(2.0)
    # more than two pitches during the second bar only
    assert metrics.polyphony_rate(melody) == pytest.approx(0.5)
    assert metrics.polyphony_rate(melody, threshold=0) == pytest.approx(1.0)


def test_polyphony_counts_a_doubled_pitch_once(piece_builder):
    doubled = piece_builder([[(0, 2, 60, 90)], [(1, 2, 60, 90)]])  # two voices on C4, overlapping
    assert metrics.polyphony(doubled) == pytest.approx(1.0)


def test_rhythm_metrics_by_hand(rhythm):
    # 36 ticks long -> 10 beats; notes mark beats [start, end] inclusive: all but beat 3 are touched
    assert metrics.empty_beat_rate(rhythm) == pytest.approx(0.1)
    # 3 bars of 16 ticks; onsets per bar {0, 4}, {0, 8}, {0}: Hamming 2 + 1 over 16 * 2 positions
    assert metrics.groove_consistency(rhythm) == pytest.approx(1 - 3 / 32)
    # on a 12-per-quarter grid the same pattern sits in 48 positions a bar
    assert metrics.groove_consistency(rhythm, resolution=12) == pytest.approx(1 - 3 / 96)
    assert metrics.note_density(rhythm) == pytest.approx(5 / (9 / 4))  # 5 notes over 9 quarters = 2.25 bars
    assert metrics.onset_intervals(rhythm) == pytest.approx([1, 3, 2, 2])
    assert metrics.mean_onset_interval(rhythm) == pytest.approx(2.0)
    hist = metrics.onset_interval_histogram(rhythm)
    names = dict(zip(metrics.IOI_CLASS_NAMES, hist, strict=True))
    assert (names["4th"], names["2nd."], names["2nd"]) == pytest.approx((0.25, 0.25, 0.5))
    assert hist.sum() == pytest.approx(1.0)


def test_velocity_by_hand(rhythm):
    assert metrics.velocity_mean(rhythm) == pytest.approx(80.0)
    assert metrics.velocity_spread(rhythm) == pytest.approx(math.sqrt((400 + 0 + 400 + 0 + 0) / 5))


def test_musegan_metrics_by_hand(piece_builder):
    # tpq 16, two bars: a melody (C5 half, E5 half, a 64th-note G5 grace) in bar 1 only,
    # a bass C3 in bar 1 and G2 in bar 2
    melody = [(0, 2, 72, 90), (2, 2, 76, 90), (0, 1 / 16, 79, 90)]
    bass = [(0, 4, 48, 90), (4, 4, 43, 90)]
    piece = piece_builder([melody, bass], tpq=16)
    assert musegan.empty_bar_rate(piece) == pytest.approx(1 / 4)  # the melody's second bar
    assert musegan.used_pitch_classes(piece) == pytest.approx((3 + 1 + 1) / 3)  # non-empty bars only
    assert musegan.qualified_note_rate(piece) == pytest.approx(4 / 5)  # the 64th note is shorter than a 32nd


def test_tonal_distance_by_hand(piece_builder):
    # beat 1: both tracks on C; beat 2: C against G
    piece = piece_builder([[(0, 1, 72, 90), (1, 1, 72, 90)], [(0, 1, 48, 90), (1, 1, 43, 90)]])
    r3 = 0.5
    c_to_g = math.sqrt((0.5 - 0) ** 2 + (math.sqrt(3) / 2 - 1) ** 2 + (1 - 0) ** 2 + (0 - 1) ** 2
                       + (r3 * math.sqrt(3) / 2 - 0) ** 2 + (r3 * -0.5 - r3) ** 2)
    assert c_to_g == pytest.approx(1.737225, abs=1e-6)
    assert musegan.tonal_distance(piece) == pytest.approx((0 + c_to_g) / 2)
    assert math.isnan(musegan.tonal_distance(piece_builder([[(0, 1, 60, 90)]])))


def test_empty_piece_gives_nan_not_an_error(piece_builder):
    empty = piece_builder([[]])
    values = piece_features(empty)
    assert values["pitch_range"] == 0 and values["n_pitches_used"] == 0
    for name in ("pitch_class_entropy", "scale_consistency", "polyphony", "empty_beat_rate", "groove_consistency",
                 "velocity_mean", "tonal_distance", "empty_bar_rate"):
        assert math.isnan(values[name]), name


def test_drums_count_for_rhythm_not_for_pitch(piece_builder):
    piece = piece_builder([[(0, 1, 60, 90)], [(0, 0.5, 36, 100), (2, 0.5, 38, 100)]], drums=(1,))
    assert metrics.n_pitches_used(piece) == 1
    assert metrics.pitch_range(piece) == 0
    assert metrics.mean_onset_interval(piece) == pytest.approx(2.0)


def test_feature_table_shapes(melody, rhythm):
    table = feature_table([melody, rhythm])
    for feature in FEATURES:
        assert table[feature.name].shape[0] == 2
    assert table["onset_interval_histogram"].shape == (2, len(metrics.IOI_CLASSES))
    assert table["scale_degree_histogram"].shape == (2, 12)


# ---------------- against MusPy, on the same MIDI file ----------------

MUSPY_SAME = ["pitch_range", "n_pitches_used", "n_pitch_classes_used", "pitch_class_entropy", "scale_consistency",
              "polyphony", "polyphony_rate", "empty_beat_rate"]


def _muspy_values(piece, path):
    piece.score.dump_midi(str(path))
    music = muspy.read_midi(str(path))
    values = {name: getattr(muspy, name)(music) for name in MUSPY_SAME}
    values["groove_consistency"] = muspy.groove_consistency(music, piece.bar_ticks)
    music.adjust_resolution(12)
    values["groove_consistency@12"] = muspy.groove_consistency(music, piece.bar_ticks * 12 // piece.tpq)
    return values


def _ours(piece):
    values = {name: getattr(metrics, name)(piece) for name in MUSPY_SAME}
    values["groove_consistency"] = metrics.groove_consistency(piece)
    values["groove_consistency@12"] = metrics.groove_consistency(piece, resolution=12)
    return values


def _assert_same(ours, theirs, where):
    for name, expected in theirs.items():
        if math.isnan(expected):
            assert math.isnan(ours[name]), (where, name)
        else:
            assert ours[name] == pytest.approx(expected, abs=1e-6), (where, name)


def test_equal_to_muspy_on_the_chorales(chorales, tmp_path):
    # MusPy's piano-roll at the chorales' 10080 ticks per quarter is slow: a few chorales as they are...
    for piece in chorales[:4]:
        _assert_same(_ours(piece), _muspy_values(piece, tmp_path / "piece.mid"), piece.name)
    # ...and 40 on a 96-per-quarter grid (both sides read the same resampled file)
    for piece in chorales[:40]:
        coarse = piece.copy(score=piece.score.resample(96, min_dur=1))
        _assert_same(_ours(coarse), _muspy_values(coarse, tmp_path / "coarse.mid"), piece.name)


def test_equal_to_muspy_with_drums_and_rests(piece_builder, tmp_path, rhythm, melody):
    band = piece_builder([[(0, 1.5, 64, 90), (3, 0.5, 71, 70), (9, 2, 65, 90)], [(0, 4, 48, 90), (8, 4, 53, 90)],
                          [(i / 2, 0.25, 42, 80) for i in range(12)]], drums=(2,), tpq=480)
    edges = [piece_builder([[(0, 1, 60, 90), (3, 1, 62, 90)]]),  # two bars, the second empty
             piece_builder([[(0, 0, 40, 90), (0, 2, 60, 90), (1, 2, 64, 90)]]),  # a zero-length note
             piece_builder([[(0, 0.25, 61, 90)]])]  # one tick long
    for piece in (band, rhythm, melody, *edges):
        _assert_same(_ours(piece), _muspy_values(piece, tmp_path / "piece.mid"), piece.name)


def test_features_are_finite_on_the_chorales(chorales):
    table = feature_table(chorales[:10])
    for feature in FEATURES:
        assert np.isfinite(table[feature.name]).all(), feature.name
    assert (table["polyphony"] > 3).all()  # four voices
    assert (table["in_key_ratio"] > 0.8).all()


def test_groove_is_nan_when_the_grid_cannot_hold_a_bar(piece_builder):
    odd = piece_builder([[(0, 1, 60, 90), (4, 1, 60, 90)]], tpq=480, meter=(7, 32))
    assert math.isnan(metrics.groove_consistency(odd, resolution=12))
    assert not math.isnan(metrics.groove_consistency(odd))  # 480 ticks per quarter hold a 7/32 bar


# ---------------- edges: empty tracks, zero-length notes, one-tick pieces, drums alone ----------------

def test_the_note_table_skips_empty_tracks_and_flags_drums(piece_builder):
    piece = piece_builder([[], [(1, 1, 64, 70), (0, 2, 60, 90)], [(0, 0.5, 36, 100)]], drums=(2,))
    notes = metrics.note_table(piece)
    assert notes.time.tolist() == [4, 0, 0] and notes.end.tolist() == [8, 8, 2]
    assert notes.pitch.tolist() == [64, 60, 36] and notes.velocity.tolist() == [70, 90, 100]
    assert notes.track.tolist() == [1, 1, 2] and notes.is_drum.tolist() == [False, False, True]
    assert [c.dtype for c in (notes.time, notes.end, notes.pitch, notes.velocity, notes.track)] == [np.int64] * 5
    pitched = notes.pitched()
    assert len(pitched) == 2
    assert pitched.velocity.tolist() == [70, 90] and pitched.is_drum.tolist() == [False, False]
    assert pitched.track.tolist() == [1, 1] and pitched.end.tolist() == [8, 8]


def test_a_zero_length_note_is_skipped_not_the_rest(piece_builder):
    # E2 of no length (first in pitch order), then C4 for 2 quarters and E4 from quarter 1 to 3
    piece = piece_builder([[(0, 0, 40, 90), (0, 2, 60, 90), (1, 2, 64, 90)]])
    assert metrics.polyphony(piece) == pytest.approx(16 / 12)  # 8 + 8 cells over 12 sounding ticks
    assert metrics.polyphony_rate(piece, threshold=1) == pytest.approx(4 / 12)


def test_drums_alone_have_a_length_but_no_pitches(piece_builder):
    drums = piece_builder([[(0, 1, 36, 100), (3, 1, 38, 100)]], drums=(0,))
    assert math.isnan(metrics.polyphony(drums))
    assert metrics.polyphony_rate(drums) == 0.0
    assert metrics.empty_beat_rate(drums) == pytest.approx(1 / 5)  # beats 0-1 and 3-4 touched, beat 2 empty
    assert metrics.pitch_range(drums) == 0 and math.isnan(metrics.pitch_class_entropy(drums))


def test_a_piece_one_tick_long(piece_builder):
    tick = piece_builder([[(0, 0.25, 61, 90)]])  # 4 ticks a quarter: a single note ending at tick 1
    assert metrics.empty_beat_rate(tick) == 0.0
    assert metrics.polyphony_rate(tick, threshold=0) == 1.0
    assert metrics.pitch_class_entropy(tick) == 0.0
    assert metrics.scale_consistency(tick) == 1.0


def test_groove_of_exactly_two_bars(piece_builder):
    # onsets at quarters 0 and 3; the last note ends on the bar line, so MusPy counts a second, empty bar
    two = piece_builder([[(0, 1, 60, 90), (3, 1, 62, 90)]])
    assert metrics.groove_consistency(two) == pytest.approx(1 - 2 / 16)
    assert math.isnan(metrics.groove_consistency(piece_builder([[(0, 1, 60, 90), (2, 1, 62, 90)]])))  # one bar


@pytest.mark.filterwarnings("error")  # NaN by design, not numpy's "mean of empty slice"
def test_too_little_music_gives_nan_without_warnings(piece_builder):
    empty, one = piece_builder([[]]), piece_builder([[(0, 1, 60, 90)]])
    for piece in (empty, one):
        assert math.isnan(metrics.mean_onset_interval(piece))
        hist = metrics.onset_interval_histogram(piece)
        assert hist.shape == (12,) and np.isnan(hist).all()
    for name in ("velocity_mean", "velocity_spread", "note_density", "polyphony_rate", "empty_beat_rate"):
        assert math.isnan(getattr(metrics, name)(empty)), name
    hist = metrics.pitch_class_histogram(empty)
    assert hist.shape == (12,) and np.isnan(hist).all()
    assert metrics.velocity_spread(one) == 0.0 and metrics.velocity_mean(one) == 90.0
