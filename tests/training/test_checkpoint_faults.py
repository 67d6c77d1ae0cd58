"""`tunesmith train` killed (SIGKILL) half-way through writing a checkpoint resumes from the last whole one (or
from the start, when the first was the one cut short); a full disk during a checkpoint keeps the previous
checkpoint byte for byte and is a one-line error naming the file. The faults come at a chosen write
(tests/faults.py), not after a guessed sleep.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from faults import run_tunesmith

KILLED = -signal.SIGKILL


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


TINY = {"model": {"layers": 1, "width": 16, "embedding": 8, "dropout": 0.0, "window": 32},
        "training": {"batch_size": 4, "lr": 3e-3, "warmup_steps": 1, "max_steps": 6, "checkpoint_every": 2,
                     "log_every": 1, "seed": 3}}


def _train(corpus: Path, run: Path, config: Path, *extra: str, **faults):
    return run_tunesmith("train", "--model", "rnn", "--corpus", corpus, "--config", config, "--out", run,
                         "--threads", "1", "--quiet", *extra, env={"TUNESMITH_LOG": "INFO"}, **faults)


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def _steps_logged(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
            if "loss" in json.loads(line)]


@pytest.mark.slow
def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_last_whole_one(tiny_corpus, tmp_path, tiny_config,
                                                                               state_of):
    run = tmp_path / "run"
    killed = _train(tiny_corpus, run, tiny_config, kill="checkpoint.safetensors@2")  # the one of step 4
    assert killed.returncode == KILLED, killed.stderr
    assert state_of(run)["step"] == 2  # the checkpoint on disk is the whole one of step 2
    [stale] = _temporaries(run)
    assert stale.startswith(".checkpoint.safetensors.") and (run / stale).stat().st_size > 0

    resumed = _train(tiny_corpus, run, tiny_config, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 2 (epoch" in resumed.stderr and "trained 6 steps" in resumed.stdout
    assert state_of(run)["step"] == 6 and _temporaries(run) == []
    assert _steps_logged(run) == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_a_run_killed_while_writing_its_first_checkpoint_starts_again_on_resume(tiny_corpus, tmp_path, tiny_config,
                                                                               state_of):
    run = tmp_path / "run"
    killed = _train(tiny_corpus, run, tiny_config, kill="checkpoint.safetensors@1")
    assert killed.returncode == KILLED, killed.stderr
    assert not (run / "checkpoint.safetensors").exists() and len(_temporaries(run)) == 1

    resumed = _train(tiny_corpus, run, tiny_config, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{run} has no checkpoint (it was stopped before the first one): training from the start" in resumed.stderr
    assert state_of(run)["step"] == 6 and _temporaries(run) == []
    assert _steps_logged(run) == [1, 2, 3, 4, 5, 6]  # the killed session's lines are not kept twice


@pytest.mark.slow
def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one_and_says_so_in_one_line(tiny_corpus, tmp_path,
                                                                                      tiny_config, state_of):
    """The second checkpoint meets a file-size limit half its size (EFBIG, as a full disk gives ENOSPC)."""
    run, before = tmp_path / "run", tmp_path / "checkpoint-before.safetensors"
    full = _train(tiny_corpus, run, tiny_config, fsize="checkpoint.safetensors@2", keep=before)
    assert full.returncode == 2, full.stderr
    errors = [line for line in full.stderr.splitlines() if not line.startswith("INFO ")]
    assert errors == [f"error: could not write {run / 'checkpoint.safetensors'}: File too large"]
    assert "Traceback" not in full.stderr
    assert (run / "checkpoint.safetensors").read_bytes() == before.read_bytes()
    assert state_of(run)["step"] == 2 and _temporaries(run) == []

    resumed = _train(tiny_corpus, run, tiny_config, "--resume")  # space again: the run goes on from step 2
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming at step 2 (epoch" in resumed.stderr and state_of(run)["step"] == 6


def test_metrics_are_cut_back_to_the_checkpoint_even_with_a_line_a_full_disk_cut_short(tmp_path):
    """A checkpoint from before the metrics' size was recorded: the lines are kept up to its step; a last line
    cut short (the disk filled mid-append) is dropped, not a JSON error, and the file is rewritten atomically."""
    from tunesmith.training.loop import _truncate_metrics

    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text('{"step": 1, "loss": 2.0}\n{"note": "no step"}\n\n{"step": 2, "loss": 1.5}\n'
                       '{"step": 3, "loss": 1.2}\n{"step": 4, "lo')
    _truncate_metrics(metrics, 2)
    assert metrics.read_text() == '{"step": 1, "loss": 2.0}\n{"note": "no step"}\n{"step": 2, "loss": 1.5}\n'
    assert _temporaries(tmp_path) == []
    metrics.write_text('{"step": 1}\n{"step": 2}\n{"step": 3}\n')
    _truncate_metrics(metrics, 1, size=len('{"step": 1}\n'))  # the recorded size wins
    assert metrics.read_text() == '{"step": 1}\n'
