"""Limits on what a file may hold, with their defaults in one place: a file past one is rejected naming the limit
and the option that changes it; real music (a 39-minute piano piece, thousands of tempo changes) reads with
the defaults."""

from __future__ import annotations

import numpy as np
import pytest
import symusic

from tunesmith.data import DEFAULT_LIMITS, ReadLimits, load_corpus, read_piece
from tunesmith.data.limits import describe_limits, parse_read_limits
from tunesmith.data.parse import seconds_at
from tunesmith.errors import MusicFileError, TunesmithError


def _piano_piece(minutes: float, qpm: float = 120.0, per_beat: int = 4) -> symusic.Score:
    """Both hands of a piano piece `minutes` long: sixteenths in the right hand, a chord a beat in the left."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    right, left = symusic.Track("Piano RH", program=0), symusic.Track("Piano LH", program=0)
    rng = np.random.default_rng(0)
    for beat in range(int(minutes * qpm)):
        for i in range(per_beat):
            right.notes.append(symusic.Note(beat * 480 + i * 480 // per_beat, 480 // per_beat,
                                            int(rng.integers(60, 84)), 80))
        for pitch in (36, 43, 48):
            left.notes.append(symusic.Note(beat * 480, 480, pitch, 70))
    score.tracks.extend([right, left])
    return score


def test_a_39_minute_piano_piece_reads_with_the_defaults(tmp_path):
    path = tmp_path / "sonata.mid"
    _piano_piece(39).dump_midi(str(path))
    piece = read_piece(path)
    assert piece.note_count == 39 * 120 * 7
    assert 38.9 < piece.seconds / 60 < 39.1


def test_thousands_of_tempo_changes_read_with_the_defaults_and_count_in_the_length(tmp_path):
    score = _piano_piece(10)
    score.tempos.clear()
    for beat in range(1200):  # a tempo a beat, slowing from 160 to 40 quarters a minute
        score.tempos.append(symusic.Tempo(beat * 480, qpm=160.0 - beat * 0.1))
    path = tmp_path / "rubato.mid"
    score.dump_midi(str(path))
    piece = read_piece(path)
    assert len(piece.score.tempos) == 1200
    expected = sum(60 / (160.0 - beat * 0.1) for beat in range(1200))
    assert seconds_at(piece.score, 1200 * 480) == pytest.approx(expected, rel=1e-3)
    assert "minutes" in str(_rejected(path, ReadLimits(minutes=expected / 60 - 0.5)))
    assert read_piece(path, ReadLimits(minutes=expected / 60 + 0.5)).note_count == piece.note_count


def test_the_length_counts_the_default_tempo_before_the_first():
    score = symusic.Score(480)
    assert seconds_at(score, 4 * 480) == 2.0  # 120 quarters a minute when no tempo is given
    score.tempos.append(symusic.Tempo(4 * 480, qpm=60.0))
    assert seconds_at(score, 8 * 480) == pytest.approx(2.0 + 4.0)
    score.tempos.append(symusic.Tempo(6 * 480, qpm=240.0))
    assert seconds_at(score, 8 * 480) == pytest.approx(2.0 + 2.0 + 0.5)


def _rejected(path, limits) -> str:
    with pytest.raises(MusicFileError) as error:
        read_piece(path, limits)
    return str(error.value)


def test_each_limit_rejects_naming_itself_and_its_option(tmp_path):
    path = tmp_path / "piece.mid"
    _piano_piece(2).dump_midi(str(path))  # 240 beats: 1,680 notes, 2 tracks, 1 tempo, 2 minutes
    size = path.stat().st_size
    assert _rejected(path, ReadLimits(notes=1000)) == (
        f"{path}: 1,680 notes, more than the limit of 1,000 (--read-limit notes=...)")
    assert _rejected(path, ReadLimits(tracks=1)) == (
        f"{path}: 2 tracks, more than the limit of 1 (--read-limit tracks=...)")
    assert _rejected(path, ReadLimits(minutes=1.5)) == (
        f"{path}: 2.0 minutes long, more than the limit of 1.5 (--read-limit minutes=...)")
    assert _rejected(path, ReadLimits(file_mb=0.001)) == (
        f"{path}: 0.0 MB ({size:,} bytes), more than the limit of 0.001 (--read-limit file_mb=...)")
    score = symusic.Score(str(path))
    for beat in range(1, 30):
        score.tempos.append(symusic.Tempo(beat * 480, qpm=100.0 + beat))
    score.dump_midi(str(path))
    assert _rejected(path, ReadLimits(tempos=10)) == (
        f"{path}: 30 tempo changes, more than the limit of 10 (--read-limit tempos=...)")


def test_a_stray_note_hours_after_the_music_is_past_the_length_limit(tmp_path):
    score = _piano_piece(1)
    score.tracks[0].notes.append(symusic.Note(480 * 120 * 60 * 5, 480, 60, 80))  # five hours in
    path = tmp_path / "stray.mid"
    score.dump_midi(str(path))
    assert "300.0 minutes long, more than the limit of 120" in _rejected(path, DEFAULT_LIMITS)


def test_a_folder_lists_the_files_past_a_limit_with_the_others(tmp_path):
    _piano_piece(1).dump_midi(str(tmp_path / "short.mid"))
    _piano_piece(3).dump_midi(str(tmp_path / "long.mid"))
    corpus = load_corpus(tmp_path, progress=False, limits=ReadLimits(minutes=2))
    assert [p.name for p in corpus.pieces] == ["short"]
    assert [r.source.split("/")[-1] for r in corpus.rejected] == ["long.mid"]
    assert "more than the limit of 2 (--read-limit minutes=...)" in corpus.rejected[0].reason


def test_limits_are_set_by_name():
    limits = parse_read_limits(["notes=1,000,000", "minutes=240.5", " file_mb = 8 "])
    assert (limits.notes, limits.minutes, limits.file_mb) == (1_000_000, 240.5, 8.0)
    assert limits.tracks == DEFAULT_LIMITS.tracks
    assert parse_read_limits(None) == DEFAULT_LIMITS
    for bad, message in (("frames=3", "NAME one of file_mb, tracks, notes"), ("notes", "NAME=VALUE"),
                         ("notes=1.5", "whole number"), ("seconds=-1", "more than 0"), ("minutes=nan", "more than 0")):
        with pytest.raises(TunesmithError, match=message):
            parse_read_limits([bad])
    assert "notes=500,000" in describe_limits() and "memory_mb=2,048 (for one reader)" in describe_limits()
