"""Attribute vectors (MusicVAE section 5.3): for each musical attribute, the mean latent of the training
segments in its top quarter minus the mean latent of those in its bottom quarter. Adding a multiple of
that vector to a latent moves the decoded music along the attribute ("latent arithmetic").

The attributes are measured on the event grid of each segment (the model's own view of it), and saved
as attributes.json in the run directory.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tunesmith.errors import ControlError, TunesmithError
from tunesmith.fileio import write_json_atomic
from tunesmith.models.vae_data import make_dataset
from tunesmith.models.vae_latent import encode_grids
from tunesmith.models.vae_net import MusicVAE
from tunesmith.piece import Piece
from tunesmith.progress import progress_bar
from tunesmith.representations.voices import FIRST_PITCH, VoiceGrid, VoiceRepresentation

log = logging.getLogger(__name__)

ATTRIBUTES_FILE = "attributes.json"
ATTRIBUTES = {
    "density": "notes per bar (all voices)",
    "pitch": "mean MIDI pitch of the notes",
    "range": "highest minus lowest pitch, in semitones",
    "syncopation": "share of the notes that start off the 8th-note grid",
    "velocity": "mean MIDI velocity of the notes",
}


def grid_attributes(rep: VoiceRepresentation, events: np.ndarray, velocities: np.ndarray) -> dict[str, np.ndarray]:
    """Each attribute of segments events/velocities [N, V, T], as [N] arrays (NaN where a segment has no note)."""
    events, velocities = np.asarray(events, dtype=np.int64), np.asarray(velocities, dtype=np.int64)
    on = events >= FIRST_PITCH                                        # [N, V, T]
    count = on.sum((1, 2)).astype(float)
    bars = events.shape[-1] / rep.steps_per_bar
    with np.errstate(invalid="ignore", divide="ignore"):
        pitch = np.where(on, events - FIRST_PITCH + rep.min_pitch, 0).astype(float)
        mean_pitch = pitch.sum((1, 2)) / count
        high = np.where(on, pitch, -np.inf).max((1, 2))
        low = np.where(on, pitch, np.inf).min((1, 2))
        eighth = max(1, rep.steps_per_quarter // 2)
        off_grid = (np.arange(events.shape[-1]) % eighth != 0)[None, None, :]
        syncopation = (on & off_grid).sum((1, 2)) / count
        velocity = np.where(on, rep.bin_velocity(velocities), 0).sum((1, 2)) / count
    empty = count == 0
    return {"density": count / bars,
            "pitch": np.where(empty, np.nan, mean_pitch),
            "range": np.where(empty, np.nan, high - low),
            "syncopation": np.where(empty, np.nan, syncopation),
            "velocity": np.where(empty, np.nan, velocity)}


def compute_attribute_vectors(model: MusicVAE, rep: VoiceRepresentation, pieces: list[Piece], *, source: str = "",
                              max_segments: int = 20000, seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Attribute vectors from the segments of `pieces` (at most `max_segments`, drawn at random)."""
    data = make_dataset(pieces, rep, model.config, seed, augment=False)
    if len(data) == 0:
        raise TunesmithError(f"no {model.config.segment_bars}-bar segments in the {len(pieces)} pieces given "
                             f"(in {rep.time_signature}, with notes): nothing to compute attribute vectors from")
    index = np.arange(len(data))
    if len(index) > max_segments:
        index = np.sort(np.random.default_rng(seed).choice(index, max_segments, replace=False))
    events, velocities = data.events[index], data.velocities[index]
    grids = [VoiceGrid(e, v) for e, v in zip(events, velocities, strict=True)]
    mus = []
    batch = 512
    with progress_bar(len(grids), "encoding segments", enabled=progress, unit="segments") as bar:
        for start in range(0, len(grids), batch):
            mus.append(encode_grids(model, grids[start:start + batch])[0])
            bar.advance(len(grids[start:start + batch]))
    mu = torch.cat(mus).numpy()
    values = grid_attributes(rep, events, velocities)
    out: dict[str, Any] = {"source": source, "segments": len(grids), "segment_bars": model.config.segment_bars,
                           "attributes": {}}
    for name, value in values.items():
        ok = ~np.isnan(value)
        v, m = value[ok], mu[ok]
        entry: dict[str, Any] = {"description": ATTRIBUTES[name], "vector": None}
        if len(v) >= 8 and v.max() > v.min():
            order = np.argsort(v, kind="stable")
            quarter = max(1, len(v) // 4)
            low, high = order[:quarter], order[-quarter:]
            entry.update(low=float(v[low].mean()), high=float(v[high].mean()),
                         vector=(m[high].mean(0) - m[low].mean(0)).round(6).tolist())
        else:
            entry.update(low=float(v.min()) if len(v) else None, high=float(v.max()) if len(v) else None)
        out["attributes"][name] = entry
    return out


def save_attribute_vectors(run_dir: Path, vectors: dict[str, Any]) -> Path:
    """Write attributes.json into the run directory."""
    return write_json_atomic(Path(run_dir) / ATTRIBUTES_FILE, vectors)


def load_attribute_vectors(run_dir: Path) -> dict[str, Any]:
    """The run's attribute vectors, or a one-line error saying how to compute them."""
    path = Path(run_dir) / ATTRIBUTES_FILE
    if not path.exists():
        raise ControlError(f"{run_dir} has no attribute vectors yet: compute them with "
                           f"`tunesmith attributes {run_dir} --corpus SOURCE`")
    return json.loads(path.read_text())


def attribute_offset(run_dir: Path, amounts: dict[str, float], latent_size: int) -> torch.Tensor:
    """The latent offset [Z] for amounts like {'density': 1.5, 'pitch': -1} (zeros when none are asked)."""
    offset = torch.zeros(latent_size)
    if not amounts:
        return offset
    unknown = sorted(set(amounts) - set(ATTRIBUTES))
    if unknown:
        raise ControlError(f"unknown attribute(s) {', '.join(unknown)} (choose from: {', '.join(ATTRIBUTES)})")
    saved = load_attribute_vectors(run_dir)["attributes"]
    for name, amount in amounts.items():
        vector = saved.get(name, {}).get("vector")
        if vector is None:
            raise ControlError(f"the attribute {name!r} does not vary in the segments its vectors were computed "
                               "from, so there is no direction to move along")
        if len(vector) != latent_size:
            raise ControlError(f"{run_dir}/{ATTRIBUTES_FILE} does not fit this model (latent size {len(vector)}, "
                               f"not {latent_size}); compute the vectors again")
        offset += amount * torch.tensor(vector, dtype=torch.float32)
    return offset
