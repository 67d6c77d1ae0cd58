"""The VAE family (MusicVAE): segments of a fixed number of bars encoded to a latent you can sample,
interpolate and steer. The network and its settings are in vae_net.py, the training segments in vae_data.py,
latent operations in vae_latent.py, attribute vectors in vae_attributes.py; this file is the family: model
building and `generate`.

Longer pieces than one segment are made by decoding a chain of neighbouring latents (each a small
spherical step from the one before towards a fresh prior sample) and playing the segments one after
another.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import torch

from tunesmith.errors import ControlError, TunesmithError
from tunesmith.models.base import Family, Trained
from tunesmith.models.vae_attributes import attribute_offset
from tunesmith.models.vae_data import make_dataset
from tunesmith.models.vae_latent import decode_latents, encode_piece, slerp
from tunesmith.models.vae_net import MusicVAE, SegmentGrid, VAEConfig, voice_representation
from tunesmith.piece import Piece
from tunesmith.representations.voices import VoiceRepresentation, concatenate

if TYPE_CHECKING:
    from tunesmith.controls.controls import Controls
    from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)

CHAIN_STEP = 0.35          # how far (as a slerp fraction) each further segment's latent moves from the last


def build_model(config: VAEConfig, representation: Representation) -> MusicVAE:
    """A MusicVAE sized for the representation (voices, event classes, velocity bins, bar length)."""
    return MusicVAE(config, SegmentGrid.of(voice_representation(representation)))


# ---------------- generation ----------------

def _length(controls: Controls, representation: VoiceRepresentation) -> tuple[int, float]:
    """(bars, tempo) from --bars / --seconds and --tempo: seconds become whole bars, as for every family."""
    from tunesmith.controls.targets import length_in_bars

    if controls.seconds:
        return length_in_bars(controls.seconds, representation.meter, controls.tempo, reference=representation.tempo)
    return controls.bars or 0, controls.tempo or representation.tempo


def _latent_chain(start: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` latents [count, Z]: `start`, then each a CHAIN_STEP slerp towards a fresh prior sample."""
    chain = [start]
    for _ in range(count - 1):
        chain.append(slerp(chain[-1], torch.randn(start.shape, generator=generator), CHAIN_STEP))
    return torch.stack(chain)


def generate(run: Trained, controls: Controls) -> list[Piece]:
    """Sample from the prior (or near a primer's latent), steered by attribute vectors; segments of
    neighbouring latents are joined when more bars are asked for than one segment holds."""
    controls.check_supported(FAMILY.name, FAMILY.supported_controls)
    model, rep = run.model, run.representation
    if not isinstance(model, MusicVAE) or not isinstance(rep, VoiceRepresentation):
        raise TunesmithError(f"{run.path} is not a vae run (its network is a {type(model).__name__})")
    config = model.config
    if controls.variation is not None:
        if controls.primer is None:
            raise ControlError("--variation samples near a primer's latent: give --primer too")
        if controls.variation < 0:
            raise ControlError(f"--variation must be 0 or more (got {controls.variation})")
    bars, tempo = _length(controls, rep)
    bars = bars or config.segment_bars
    count = math.ceil(bars / config.segment_bars)
    offset = attribute_offset(run.path, controls.attributes, config.latent_size)
    primer = controls.primer_piece()
    primer_mu = encode_piece(model, rep, primer, what="the primer")[0][:1] if primer is not None else None
    filter_fn = _filter(controls)
    pieces = []
    for i in range(controls.num):
        g = controls.generator(i)  # latents are drawn on the CPU: the same seed gives the same latents anywhere
        if primer_mu is not None:  # the chain is drawn in standard-normal units of the prior
            start = primer_mu[0].cpu() + (controls.variation or 0.0) * torch.randn(primer_mu.shape[1:], generator=g)
            start = model.to_standard(start)
        else:
            start = torch.randn(config.latent_size, generator=g)
        z = model.from_standard(_latent_chain(start, count, g)) + offset
        grids = decode_latents(model, z.to(run.device), temperature=controls.temperature,
                               generator=controls.generator(i, run.device), filter_logits=filter_fn)
        piece = rep.decode(concatenate(grids), name=f"{run.path.name}-{i + 1:02d}", tempo=tempo)
        piece = _cut(piece, bars)
        piece.tags.update({"family": FAMILY.name, "seed": controls.seed, "index": i, "asked": {
            "bars": bars, "segments": count, "attributes": dict(controls.attributes),
            "variation": controls.variation, "primer": str(controls.primer) if controls.primer else None}})
        pieces.append(piece)
    return pieces


def _filter(controls: Controls):
    if controls.top_k is None and controls.top_p is None:
        return None
    from tunesmith.controls.logits import filter_logits

    return lambda logits: filter_logits(logits, 1.0, controls.top_k, controls.top_p)


def _cut(piece: Piece, bars: int) -> Piece:
    """The first `bars` bars, notes ending at the cut."""
    end = bars * piece.bar_ticks
    if end >= piece.end_tick:
        return piece
    return piece.copy(score=piece.score.clip(0, end, clip_end=True))


FAMILY = Family(
    name="vae",
    config_class=VAEConfig,
    representation={"kind": "voices", "voices": 1, "mode": "top"},
    build_model=build_model,
    make_dataset=make_dataset,
    generate=generate,
    supported_controls=frozenset({"attributes", "variation", "tempo", "top_k", "top_p"}),
)
