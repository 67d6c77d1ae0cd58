"""Helpers shared by the training tests: reading a run's metrics and comparing its safetensors bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file


def read_metrics(run_dir: Path) -> list[dict]:
    """Every record of run_dir/metrics.jsonl, in order."""
    return [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]


def checkpoint_state(run_dir: Path) -> dict:
    """The loop counters stored in run_dir/checkpoint.safetensors (step, epoch, ...)."""
    with safe_open(str(Path(run_dir) / "checkpoint.safetensors"), "pt") as f:
        return json.loads(f.metadata()["state"])


def assert_same_tensors(a: Path, b: Path) -> int:
    """Two safetensors files hold the same names and bit-identical tensors; returns how many tensors."""
    first, second = load_file(str(a)), load_file(str(b))
    assert sorted(first) == sorted(second), f"{a.name}: different tensor names"
    differ = [name for name in first if first[name].dtype != second[name].dtype
              or not torch.equal(first[name], second[name])]
    assert not differ, f"{a.name}: {len(differ)} of {len(first)} tensors differ, e.g. {differ[:4]}"
    return len(first)


@pytest.fixture
def metrics_of():
    """read_metrics: the records of a run's metrics.jsonl."""
    return read_metrics


@pytest.fixture
def state_of():
    """checkpoint_state: the loop counters of a run's checkpoint."""
    return checkpoint_state


@pytest.fixture
def same_tensors():
    """assert_same_tensors(a, b): bit-identical safetensors files."""
    return assert_same_tensors
