"""Tiny trained runs of the families that are not token models (VAE, GAN, polyphonic), each trained once per
session on the tiny corpus made in code (tests/conftest.py), for the tests that generate from a run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


def _train_tiny(tmp_path_factory, family: str, corpus: Path, **settings) -> Path:
    from tunesmith.training.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / family
    train(family, str(corpus), out, progress=False, **settings)
    return out


@pytest.fixture(scope="session")
def vae_run(tmp_path_factory, tiny_corpus) -> Path:
    """A MusicVAE trained for 6 steps on the tiny corpus' 4/4 pieces (their top voice)."""
    return _train_tiny(tmp_path_factory, "vae", tiny_corpus, config_file=HERE / "tiny-vae.toml")


@pytest.fixture(scope="session")
def gan_run(tmp_path_factory, tiny_corpus) -> Path:
    """A GAN trained for 2 steps on the tiny corpus (violin and cello tracks, 3/4 bars at 100 BPM)."""
    return _train_tiny(tmp_path_factory, "gan", tiny_corpus, config_file=HERE / "tiny-gan.toml")


@pytest.fixture(scope="session")
def polyphonic_run(tmp_path_factory, tiny_corpus) -> Path:
    """The polyphonic benchmark model trained for 4 steps on the tiny corpus (88-key frames, 100 BPM)."""
    return _train_tiny(tmp_path_factory, "polyphonic", tiny_corpus,
                       model_overrides={"hidden": 16, "made_hidden": 16, "window": 16},
                       training_overrides={"max_steps": 4, "batch_size": 4})
