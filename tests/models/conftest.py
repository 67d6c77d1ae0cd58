"""Tiny trained runs of the families that are not token models (VAE, GAN, polyphonic), each trained once per
session on the tiny corpus made in code (tests/conftest.py), for the tests that generate from a run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory, tiny_corpus) -> Path:
    """A MusicVAE trained for 6 steps on the tiny corpus' 4/4 pieces (their top voice)."""
    from tunesmith.training.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "vae"
    train("vae", str(tiny_corpus), out, config_file=HERE / "tiny-vae.toml", progress=False)
    return out


@pytest.fixture(scope="session")
def gan_run(tmp_path_factory, tiny_corpus) -> Path:
    """A GAN trained for 2 steps on the tiny corpus (violin and cello tracks, 3/4 bars at 100 BPM)."""
    from tunesmith.training.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "gan"
    train("gan", str(tiny_corpus), out, config_file=HERE / "tiny-gan.toml", progress=False)
    return out


@pytest.fixture(scope="session")
def polyphonic_run(tmp_path_factory, tiny_corpus) -> Path:
    """The polyphonic benchmark model trained for 4 steps on the tiny corpus (88-key frames, 100 BPM)."""
    from tunesmith.training.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "polyphonic"
    train("polyphonic", str(tiny_corpus), out, progress=False,
          model_overrides={"hidden": 16, "made_hidden": 16, "window": 16},
          training_overrides={"max_steps": 4, "batch_size": 4})
    return out
