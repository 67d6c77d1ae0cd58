"""A trained VAE's latent space on whole pieces: reconstruct a piece, interpolate from one piece to another,
move either along attribute vectors (MusicVAE's latent arithmetic), and compute those vectors from pieces.

Each takes a loaded vae run (`load_run`) and Pieces, and gives Pieces; the command line only reads the files,
calls these and writes the results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import torch

from tunesmith.models.vae_attributes import (
    ATTRIBUTES_FILE,
    attribute_offset,
    compute_attribute_vectors,
    load_attribute_vectors,
    save_attribute_vectors,
)
from tunesmith.models.vae_latent import interpolate_pieces, reconstruct_piece
from tunesmith.models.vae_net import MusicVAE
from tunesmith.piece import Piece
from tunesmith.representations.voices import VoiceRepresentation
from tunesmith.runs import TrainedRun


def latent_offset(run: TrainedRun, attributes: dict[str, float] | None) -> torch.Tensor:
    """The latent offset [Z] for amounts like {'density': 1.5, 'pitch': -1} (zeros when none are asked)."""
    return attribute_offset(run.path, attributes or {}, cast(MusicVAE, run.model).config.latent_size)


def reconstruct(run: TrainedRun, piece: Piece, attributes: dict[str, float] | None = None,
                temperature: float | None = None, seed: int = 0) -> tuple[Piece, float]:
    """`piece` encoded segment by segment and decoded again (moved along `attributes`), and the share of
    steps that match the model's reading of the original; `temperature` None decodes the likeliest notes."""
    return reconstruct_piece(run, piece, latent_offset(run, attributes), temperature, seed)


def interpolate(run: TrainedRun, first: Piece, second: Piece, steps: int, attributes: dict[str, float] | None = None,
                temperature: float | None = None, seed: int = 0) -> tuple[list[Piece], Piece]:
    """One piece per point on the great circle from `first`'s first segment to `second`'s (both ends
    included, moved along `attributes`), and all of them one after another."""
    offset = latent_offset(run, attributes)
    return interpolate_pieces(run, first, second, steps, offset, temperature, seed)


def attribute_vectors(run: TrainedRun, pieces: list[Piece], *, source: str = "", max_segments: int = 20000,
                      seed: int = 0, progress: bool = True) -> tuple[dict[str, Any], Path]:
    """The run's attribute vectors from the segments of `pieces` (at most `max_segments`, drawn at random),
    saved in its run directory for `--attribute`; returns them and the file written."""
    model, rep = cast(MusicVAE, run.model), cast(VoiceRepresentation, run.representation)
    vectors = compute_attribute_vectors(model, rep, pieces, source=source, max_segments=max_segments, seed=seed,
                                        progress=progress)
    return vectors, save_attribute_vectors(run.path, vectors)


def known_attributes(run_dir: str | Path) -> dict[str, str]:
    """The attributes a VAE run can move along (name -> description): those with a vector in its
    attributes.json; none when the vectors were never computed."""
    if not (Path(run_dir) / ATTRIBUTES_FILE).exists():
        return {}
    saved = load_attribute_vectors(Path(run_dir))["attributes"]
    return {name: str(entry.get("description", "")) for name, entry in saved.items() if entry.get("vector") is not None}
