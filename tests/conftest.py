"""Shared fixtures: one corpus cache per test session, a few chorales, a tiny trained RNN run."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

TINY_RNN = {"cell": "lstm", "layers": 1, "width": 48, "embedding": 32, "dropout": 0.0, "window": 96}


def pytest_configure(config) -> None:
    # Every test shares one corpus cache; a developer's own $TUNESMITH_CACHE is reused when set.
    if not os.environ.get("TUNESMITH_CACHE"):
        os.environ["TUNESMITH_CACHE"] = tempfile.mkdtemp(prefix="tunesmith-test-cache-")


@pytest.fixture(scope="session")
def chorales():
    """The first six chorales of the bundled corpus."""
    from tunesmith.data import load_corpus

    return load_corpus("bach", limit=6, progress=False).pieces


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
