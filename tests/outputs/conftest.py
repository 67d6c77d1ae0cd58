"""Small pieces made in code (and one bundled chorale) for the output tests."""

from __future__ import annotations

import os

import pytest
import symusic

from tunesmith.piece import Piece


def make_piece(tracks: list[tuple[str, int, bool, list[tuple[int, int, int, int]]]], tpq: int = 480,
               qpm: float = 120.0, meter: tuple[int, int] = (4, 4), name: str = "fixture") -> Piece:
    """A Piece from (name, program, is_drum, [(time, duration, pitch, velocity), ...]) per track."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    for track_name, program, is_drum, notes in tracks:
        track = symusic.Track(track_name, program=program, is_drum=is_drum)
        for time, duration, pitch, velocity in notes:
            track.notes.append(symusic.Note(time, duration, pitch, velocity))
        score.tracks.append(track)
    return Piece(score=score, name=name, source="test")


@pytest.fixture
def duet() -> Piece:
    """Two bars of 4/4 at 120 bpm (4 s): a melody in quarters and eighths over a bass with one chord."""
    melody = [(0, 480, 72, 100), (480, 240, 74, 80), (720, 240, 76, 80), (960, 960, 77, 110),
              (1920, 480, 79, 90), (2400, 480, 77, 70), (2880, 960, 76, 100)]
    bass = [(0, 1920, 48, 90), (1920, 1920, 43, 90), (1920, 1920, 47, 90), (1920, 1920, 50, 90)]
    return make_piece([("Melody", 73, False, melody), ("Bass", 32, False, bass)], name="duet")


@pytest.fixture
def drum_groove() -> Piece:
    """Two bars of kick, snare and hi-hat on the drum channel."""
    hits = [(i * 240, 120, (36, 42, 38, 42)[i % 4], 100) for i in range(16)]
    return make_piece([("Drums", 0, True, hits)], name="groove")


@pytest.fixture(scope="session")
def chorale(tmp_path_factory) -> Piece:
    """One Bach chorale from the bundled corpus (the cache in $TUNESMITH_CACHE, else a fresh one)."""
    from tunesmith.data import load_corpus

    with pytest.MonkeyPatch.context() as patch:
        if not os.environ.get("TUNESMITH_CACHE"):
            patch.setenv("TUNESMITH_CACHE", str(tmp_path_factory.mktemp("cache")))
        return load_corpus("bach", limit=1, progress=False).pieces[0]


@pytest.fixture
def piece_maker():
    """`make_piece` for tests that build their own piece."""
    return make_piece
