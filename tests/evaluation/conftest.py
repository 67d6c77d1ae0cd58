"""Pieces made in code, the bundled chorales, and the CLI runner for the evaluation tests."""

from __future__ import annotations

import sys

import pytest
import symusic
import typer

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
    """The first 40 bundled Bach chorales (from the full corpus when its cache is built, else the first 44 files)."""
    from tunesmith.data import load_corpus
    from tunesmith.data.corpora import CACHE_VERSION, cache_root

    full = (cache_root() / "corpora" / f"bach-v{CACHE_VERSION}" / "index.json").exists()
    return load_corpus("bach", limit=None if full else 44, progress=False).pieces[:40]


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run `tunesmith evaluate ...` through the real entry point; returns (exit code, stdout, stderr)."""
    import tunesmith.cli.main as cli_main
    from tunesmith.cli import evaluate

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _group() -> None:
        """Keep `evaluate` a subcommand even when it is the only one registered."""

    evaluate.register(app)
    monkeypatch.setattr(cli_main, "app", app)

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["tunesmith", *args])
        with pytest.raises(SystemExit) as exited:
            cli_main.main()
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return run
