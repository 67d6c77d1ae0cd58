"""Originality: copies of training pieces are caught (transposed or shifted too); new music is not."""

from __future__ import annotations

import numpy as np
import pytest

from tunesmith.evaluation.originality import TrainingIndex, bar_signatures, check_originality


@pytest.fixture(scope="module")
def training(chorales):
    """Chorales 1-39 as the training set; chorale 0 is held out."""
    return chorales[1:40]


@pytest.fixture(scope="module")
def index(training):
    return TrainingIndex(training)


def _random_walk(piece_builder, seed: int, bars: int = 8):
    """Four voices of random steps in random rhythms: music no corpus holds."""
    rng = np.random.default_rng(seed)
    voices = []
    for start_pitch in (72, 65, 57, 48):
        pitch, time, notes = start_pitch, 0.0, []
        while time < bars * 4:
            duration = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            notes.append((time, duration, pitch, 90))
            pitch = int(np.clip(pitch + rng.integers(-3, 4), 36, 84))
            time += duration
        voices.append(notes)
    return piece_builder(voices, tpq=480, name=f"walk{seed}")


def test_a_copy_is_flagged(index, training):
    original = training[5]
    result = index.check(original.copy(name="copy"))
    assert result.copies
    assert result.longest_run == len(bar_signatures(original))
    assert result.copied_share == pytest.approx(1.0)
    assert result.source == original.name and result.transposition == 0 and result.source_bar == 0


def test_a_transposed_copy_is_flagged(index, training):
    original = training[7]
    result = index.check(original.transpose(5).copy(name="up a fourth"))
    assert result.copies
    assert result.source == original.name
    assert result.transposition == 5
    assert result.copied_share == pytest.approx(1.0)
    assert "up 5 semitones" in result.describe()


def test_a_copy_shifted_by_a_beat_is_flagged(index, training):
    original = training[3]
    tpq = original.tpq
    score = original.score.clip(tpq, original.end_tick + 1).shift_time(-tpq)  # drop the first beat
    result = index.check(original.copy(score=score, name="shifted"))
    assert result.copies
    assert result.source == original.name
    assert result.source_offset_beats == 1


def _excerpt(piece, start_bar: int, end_bar: int):
    """Bars [start_bar, end_bar): every note that starts there, the last ones held past the end as written."""
    start, end = start_bar * piece.bar_ticks, end_bar * piece.bar_ticks
    return piece.copy(score=piece.score.clip(start, end, clip_end=False).shift_time(-start))


def test_an_excerpt_counts_its_bars(index, training):
    original = training[10]
    excerpt = _excerpt(original, 2, 5)  # 3 bars
    assert index.check(excerpt).longest_run == 3
    assert not index.check(excerpt).copies  # fewer than 4 bars in a row
    assert index.check(excerpt, copy_bars=3).copies


def test_new_music_is_not_flagged(index, chorales, piece_builder):
    held_out = index.check(chorales[0])  # a chorale the index has not seen
    assert not held_out.copies and held_out.copied_share == 0.0
    walks = check_originality([_random_walk(piece_builder, s) for s in range(5)], index)
    assert not any(r.copies for r in walks)
    assert max(r.longest_run for r in walks) <= 1
    assert all(r.copied_share == 0.0 for r in walks)


def test_half_copied_piece_has_partial_share(index, training, piece_builder):
    original = training[12]
    head = _excerpt(original, 0, 6)
    tail = _random_walk(piece_builder, 99, bars=6)
    joined = head.copy()
    shift = 6 * head.bar_ticks
    scale = head.tpq / tail.tpq
    for track, extra in zip(joined.score.tracks, tail.score.tracks, strict=False):
        for note in extra.notes:
            track.notes.append(type(note)(int(note.time * scale) + shift, int(note.duration * scale), note.pitch,
                                          note.velocity))
    result = index.check(joined)
    assert result.copies and result.longest_run == 6
    # 12 bars -> 9 four-bar segments, of which those starting in bars 1-3 lie in the copied head
    assert result.copied_share == pytest.approx(3 / 9)
