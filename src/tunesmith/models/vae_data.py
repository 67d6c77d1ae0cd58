"""The VAE's training data: every distinct window of `segment_bars` bars of the pieces, as event grids,
transposed at random each epoch when augmenting."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from tunesmith.models.vae_net import VAEConfig, voice_representation
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation
from tunesmith.representations.voices import FIRST_PITCH, VoiceGrid, segments

log = logging.getLogger(__name__)

TRANSPOSE_RANGE = (-5, 6)  # semitones of the random transposition that augments training segments


class SegmentDataset(Dataset):
    """Training segments (events and velocities [V, T]), randomly transposed per epoch when augmenting."""

    def __init__(self, grids: list[VoiceGrid], events: int, seed: int = 0, augment: bool = False):
        # uint8 keeps a corpus of segments small (event classes and velocity bins are below 256)
        self.events = np.stack([g.events for g in grids]).astype(np.uint8) if grids else np.zeros((0, 0, 0), np.uint8)
        self.velocities = (np.stack([g.velocities for g in grids]).astype(np.uint8) if grids
                           else np.zeros((0, 0, 0), np.uint8))
        self.classes, self.seed, self.augment, self.epoch = events, seed, augment, 0

    def __len__(self) -> int:
        return len(self.events)

    def set_epoch(self, epoch: int) -> None:
        """A new transposition for every segment each epoch."""
        self.epoch = epoch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        events = self.events[index].astype(np.int64)
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            shift = int(rng.integers(TRANSPOSE_RANGE[0], TRANSPOSE_RANGE[1] + 1))
            on = events >= FIRST_PITCH
            moved = events + shift * on
            if on.any() and moved[on].min() >= FIRST_PITCH and moved[on].max() < self.classes:
                events = moved
        return {"events": torch.as_tensor(events, dtype=torch.long),
                "velocities": torch.as_tensor(self.velocities[index], dtype=torch.long)}


def make_dataset(pieces: list[Piece], representation: Representation, config: VAEConfig, seed: int, *,
                 train: bool = True, augment: bool = False) -> SegmentDataset:
    """Every window of `segment_bars` bars (one every `segments.hop_bars`) of the pieces in the grid's
    meter, without long silences, each distinct window once (the same for every split); randomly
    transposed each epoch when `augment`. The representation must be the voices one."""
    representation = voice_representation(representation)
    steps = config.segment_bars * representation.steps_per_bar
    hop = config.segments.hop_bars * representation.steps_per_bar
    max_rest = int(config.segments.max_rest_bars * representation.steps_per_bar)
    grids, seen, other_meter = [], set(), 0
    for piece in pieces:
        if not representation.fits_meter(piece):
            other_meter += 1
            continue
        if piece.note_count == 0:
            continue
        for window in segments(representation.encode(piece), steps, hop, max_rest):
            window = VoiceGrid(window.events.astype(np.uint8), window.velocities.astype(np.uint8))
            key = hashlib.sha1(window.events.tobytes() + window.velocities.tobytes()).digest()
            if key not in seen:
                seen.add(key)
                grids.append(window)
    if other_meter:
        log.info("left out %d of %d pieces not in %s", other_meter, len(pieces), representation.time_signature)
    log.info("%d distinct %d-bar segments from %d pieces", len(grids), config.segment_bars, len(pieces))
    return SegmentDataset(grids, representation.events, seed, augment)
