"""A tiny trained Transformer on a corpus made in code (two-voice pieces in C and G major, 4/4 and 3/4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import symusic
import torch

TPQ = 480
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
    folder = tmp_path_factory.mktemp("corpora") / "tiny"
    folder.mkdir()
    for i in range(12):
        make_piece(i, tonic=(0, 7)[i % 2], beats=(4, 3)[(i // 2) % 2]).dump_midi(str(folder / f"piece{i:02d}.mid"))
    return folder


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
