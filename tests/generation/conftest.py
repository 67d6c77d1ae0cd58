"""A tiny trained Transformer on the tiny corpus made in code (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

TINY = """
[model]
layers = 2
width = 32
heads = 2
ff_mult = 2
dropout = 0.0
window = 256

[representation]
kind = "tokens"
tokenization = "REMI"
conditioning = ["style", "key", "time_signature", "tempo", "density", "instruments"]
infill = true

[training]
batch_size = 8
lr = 3e-3
warmup_steps = 5
max_steps = 12
"""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_corpus) -> Path:
    from tunesmith.training.trainer import train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
    config = root / "tiny.toml"
    config.write_text(TINY)
    out = root / "tiny-transformer"
    train("transformer", str(tiny_corpus), out, config_file=config, progress=False)
    return out
