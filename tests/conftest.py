"""Shared fixtures: one corpus cache per test session, a few chorales, a tiny corpus made in code, a tiny RNN run."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import symusic

TPQ = 480
TINY_RNN = {"cell": "lstm", "layers": 1, "width": 48, "embedding": 32, "dropout": 0.0, "window": 96}


def pytest_configure(config) -> None:
    # Every test shares one corpus cache; a developer's own $TUNESMITH_CACHE is reused when set.
    if not os.environ.get("TUNESMITH_CACHE"):
        os.environ["TUNESMITH_CACHE"] = tempfile.mkdtemp(prefix="tunesmith-test-cache-")


@pytest.fixture(scope="session")
def chorales():
    """The first six chorales of the bundled corpus (shipped converted: tests/data/test_shipped.py)."""
    from tunesmith.data import load_corpus

    return load_corpus("bach", progress=False).pieces[:6]


def make_piece(seed: int, tonic: int, beats: int, bars: int = 8) -> symusic.Score:
    """A melody (quarter notes, violin) over a bass (one note per bar, cello), both in `tonic` major."""
    rng = np.random.default_rng(seed)
    scale = [tonic + s for s in (0, 2, 4, 5, 7, 9, 11)]
    score = symusic.Score(TPQ)
    score.tempos.append(symusic.Tempo(0, qpm=100.0))
    score.time_signatures.append(symusic.TimeSignature(0, beats, 4))
    melody = symusic.Track(name="Violin", program=40)
    bass = symusic.Track(name="Cello", program=42)
    degree = 0
    for bar in range(bars):
        start = bar * beats * TPQ
        bass.notes.append(symusic.Note(start, beats * TPQ, 48 + scale[int(rng.integers(0, 7))] - tonic + tonic % 12, 70))
        for beat in range(beats):
            degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
            pitch = 60 + (scale[degree % 7] - tonic) + tonic % 12 + 12 * (degree // 7)
            melody.notes.append(symusic.Note(start + beat * TPQ, TPQ, pitch, int(rng.integers(60, 100))))
    score.tracks.append(melody)
    score.tracks.append(bass)
    return score


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """Twelve two-voice pieces (violin over cello) in C and G major, 4/4 and 3/4, 8 bars each."""
    folder = tmp_path_factory.mktemp("corpora") / "tiny"
    folder.mkdir()
    for i in range(12):
        make_piece(i, tonic=(0, 7)[i % 2], beats=(4, 3)[(i // 2) % 2]).dump_midi(str(folder / f"piece{i:02d}.mid"))
    return folder


@pytest.fixture(scope="session")
def tiny_rnn_run(tmp_path_factory, chorales) -> Path:
    """A small RNN trained for a few dozen steps on six chorales (enough to emit bars and notes)."""
    from tunesmith.training.trainer import train

    out = tmp_path_factory.mktemp("runs") / "tiny-rnn"
    train("rnn", "bach", out, model_overrides=dict(TINY_RNN), limit=6, progress=False,
          training_overrides={"max_steps": 60, "batch_size": 8, "lr": 1e-2, "warmup_steps": 5, "augment": False})
    return out


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run `tunesmith ARGS` through the real entry point; returns (exit code, stdout, stderr)."""
    from tunesmith.cli.main import main

    def run(*args) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["tunesmith", *map(str, args)])
        with pytest.raises(SystemExit) as exited:
            main()
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return run
