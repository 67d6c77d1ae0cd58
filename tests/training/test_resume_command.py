"""`tunesmith train --resume` after a real SIGKILL gives, bit for bit, the run an uninterrupted process gives.

For every family: one child process trains to the end; another, with the same config and seed, is killed
with SIGKILL as soon as its first checkpoint is on disk (well before its last step), then resumed with
`--resume`. The resumed run's weights (best and last), optimiser moments, RNG state and metrics must equal
the uninterrupted run's exactly. The same holds for `benchmark polyphonic --resume`, whose weight average
is part of what a checkpoint keeps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TUNESMITH = [sys.executable, "-m", "tunesmith.cli.main"]
MAX_STEPS = 30
# every setting that draws random numbers is on (dropout, transposition, the VAE's scheduled sampling, the
# GAN's latents and bar gates), so a resume that loses any random state cannot match
TRAINING = {"batch_size": 4, "lr": 3e-3, "warmup_steps": 2, "max_steps": MAX_STEPS, "checkpoint_every": 2,
            "log_every": 1, "seed": 7}
FAMILIES = {
    "rnn": {"model": {"layers": 1, "width": 32, "embedding": 16, "dropout": 0.2, "window": 64}},
    "transformer": {"model": {"layers": 1, "width": 32, "heads": 2, "ff_mult": 2, "dropout": 0.1, "window": 64},
                    "training": {"optimizer": "muon"}},
    "vae": {"model": {"segment_bars": 2, "latent_size": 16, "dropout": 0.1,
                      "embedding": {"events": 8, "velocity": 4}, "encoder": {"size": 16},
                      "decoder": {"size": 16, "scheduled_sampling_steps": 10},
                      "loss": {"free_bits": 4.0, "beta_warmup_steps": 10}},
            "representation": {"kind": "voices", "voices": 2, "mode": "tracks", "time_signature": "4/4"}},
    "gan": {"model": {"bars": 1, "generator": {"latent_dim": 8, "channels": 8}, "critic": {"channels": 8},
                      "gates": {"bar": True}}},
    "polyphonic": {"model": {"hidden": 16, "made_hidden": 16, "window": 32, "dropout": 0.2, "input_dropout": 0.1,
                             "transpose": 3}},
}
TOKEN_FAMILIES = {"rnn", "transformer"}


def child_env() -> dict[str, str]:
    """The test's environment (TUNESMITH_CACHE included, so the corpus cache is shared), one thread, INFO logs."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TUNESMITH_LOG": "INFO"}


def train_command(family: str, config: Path, corpus: Path, out: Path, *extra: str) -> list[str]:
    return [*TUNESMITH, "train", "--model", family, "--corpus", str(corpus), "--config", str(config),
            "--out", str(out), "--threads", "1", "--quiet", *extra]


def lower_priority() -> None:
    """In the child to be killed: yield the CPU to the others, so the kill lands long before its last step."""
    os.nice(5)


def kill_at_first_checkpoint(process: subprocess.Popen, run_dir: Path, deadline_s: float = 300) -> None:
    """SIGKILL `process` as soon as run_dir/checkpoint.safetensors exists."""
    checkpoint, start = run_dir / "checkpoint.safetensors", time.monotonic()
    while not checkpoint.exists():
        assert process.poll() is None, f"the run ended before writing a checkpoint: {process.communicate()[1]}"
        assert time.monotonic() - start < deadline_s, "no checkpoint appeared"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_resume_after_sigkill_equals_the_uninterrupted_run(family, tiny_corpus, tmp_path, metrics_of, state_of,
                                                           same_tensors):
    settings = FAMILIES[family]
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**settings, "training": {**TRAINING, **settings.get("training", {})}}))
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": child_env()}
    uninterrupted = subprocess.Popen(train_command(family, config, tiny_corpus, whole), **pipes)
    victim = subprocess.Popen(train_command(family, config, tiny_corpus, killed), preexec_fn=lower_priority, **pipes)
    kill_at_first_checkpoint(victim, killed)
    out, err = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, err
    assert f"trained {MAX_STEPS} steps (max steps)" in out

    # the kill came first: the process died of SIGKILL with its training unfinished
    assert victim.returncode == -signal.SIGKILL
    stopped = state_of(killed)
    assert 2 <= stopped["step"] < MAX_STEPS and stopped["step"] % TRAINING["checkpoint_every"] == 0
    assert metrics_of(killed)[-1]["step"] < MAX_STEPS

    resumed = subprocess.run(train_command(family, config, tiny_corpus, killed, "--resume"), timeout=600, **pipes)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at step {stopped['step']} (epoch {stopped['epoch']})" in resumed.stderr
    assert f"trained {MAX_STEPS} steps (max steps)" in resumed.stdout

    assert same_tensors(whole / "model.safetensors", killed / "model.safetensors") > 0  # the best weights
    same_tensors(whole / "checkpoint.safetensors", killed / "checkpoint.safetensors")  # last weights, moments, RNG
    records = metrics_of(whole)
    assert [r["step"] for r in metrics_of(killed)] == [r["step"] for r in records]
    assert metrics_of(killed) == records  # every loss, rate and validation figure, not only the steps
    assert [r["step"] for r in records if "loss" in r] == list(range(1, MAX_STEPS + 1))
    assert records[-1]["step"] == MAX_STEPS and "valid_loss" in records[-1]
    assert state_of(killed)["step"] == MAX_STEPS
    assert (killed / "tokenizer.json").exists() == (family in TOKEN_FAMILIES)


def random_chords(rng, pieces: int, frames: int) -> list[list[list[int]]]:
    return [[sorted({int(p) for p in rng.integers(55, 75, size=3)}) for _ in range(frames)] for _ in range(pieces)]


@pytest.mark.slow
def test_benchmark_resume_after_sigkill_keeps_the_weight_average(tmp_path, metrics_of, state_of, same_tensors):
    """`benchmark polyphonic` also keeps a moving average of the weights; on notes without a pattern it is the
    average that is selected, so a resume that restarted the average would save other weights."""
    rng = np.random.default_rng(0)
    (tmp_path / "train.json").write_text(json.dumps(random_chords(rng, 8, 12)))
    (tmp_path / "valid.json").write_text(json.dumps(random_chords(rng, 3, 9)))
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({
        "model": {"hidden": 16, "made_hidden": 16, "window": 16, "dropout": 0.2},
        "training": {"epochs": 15, "batch_size": 4, "lr": 0.03, "warmup_steps": 1, "checkpoint_every": 2,
                     "log_every": 1, "valid_every": 2, "seed": 3},
        "representation": {"frames_per_beat": 2}}))
    steps = 30  # 15 epochs of two batches

    def command(out: Path, *extra: str) -> list[str]:
        return [*TUNESMITH, "benchmark", "polyphonic", "--out", str(out), "--json", "--quiet", *extra]

    first = ("--train", str(tmp_path / "train.json"), "--valid", str(tmp_path / "valid.json"), "--config", str(config))
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": child_env()}
    uninterrupted = subprocess.Popen(command(whole, *first), **pipes)
    victim = subprocess.Popen(command(killed, *first), preexec_fn=lower_priority, **pipes)
    kill_at_first_checkpoint(victim, killed)
    out, err = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, err
    assert victim.returncode == -signal.SIGKILL
    stopped = state_of(killed)
    assert stopped["step"] < steps and not (killed / "results.json").exists()

    resumed = subprocess.run(command(killed, "--resume"), timeout=600, **pipes)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at step {stopped['step']}" in resumed.stderr
    expected, got = json.loads(out), json.loads(resumed.stdout)
    assert expected["selected"] == "weight average" and expected["steps"] == steps
    timings = {"run", "minutes", "cpu_minutes"}
    assert {k: v for k, v in got.items() if k not in timings} == {k: v for k, v in expected.items() if k not in timings}
    same_tensors(whole / "model.safetensors", killed / "model.safetensors")
    same_tensors(whole / "checkpoint.safetensors", killed / "checkpoint.safetensors")
    assert metrics_of(killed) == metrics_of(whole)
