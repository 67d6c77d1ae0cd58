"""Pieces made in code, the bundled chorales, and the CLI runner for the evaluation tests."""

from __future__ import annotations

import pytest
import symusic

from tunesmith.piece import Piece

# (start, duration, pitch, velocity) with start and duration in quarter notes
NoteSpec = tuple[float, float, int, int]


def build_piece(tracks: list[list[NoteSpec]], *, tpq: int = 4, meter: tuple[int, int] = (4, 4),
                drums: tuple[int, ...] = (), name: str = "hand-made") -> Piece:
    """A Piece from one list of notes per track (times in quarters); tracks listed in `drums` are drum tracks."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    score.time_signatures.append(symusic.TimeSignature(0, *meter))
    for index, notes in enumerate(tracks):
        track = symusic.Track(f"track{index}", program=0, is_drum=index in drums)
        for start, duration, pitch, velocity in notes:
            track.notes.append(symusic.Note(round(start * tpq), round(duration * tpq), pitch, velocity))
        score.tracks.append(track)
    return Piece(score=score, name=name, source="test")


@pytest.fixture(scope="session")
def piece_builder():
    """`build_piece` for tests that make their own pieces."""
    return build_piece


@pytest.fixture(scope="session")
def chorales() -> list[Piece]:
    """The first 40 bundled Bach chorales (shipped converted)."""
    from tunesmith.data import load_corpus

    return load_corpus("bach", progress=False).pieces[:40]
