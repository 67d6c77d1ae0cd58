"""What the VAE's latent space is for: encoding pieces to latents, decoding latents to music,
spherical interpolation between two pieces, and reconstruction of a piece segment by segment."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.vae_net import MusicVAE
from tunesmith.piece import Piece
from tunesmith.representations.voices import REST, VoiceGrid, VoiceRepresentation

log = logging.getLogger(__name__)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between latents `a` and `b` [..., Z] (White, 2016), as MusicVAE does."""
    cos = torch.sum(a * b, -1, keepdim=True) / (a.norm(dim=-1, keepdim=True) * b.norm(dim=-1, keepdim=True) + 1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:  # (anti)parallel: a straight line is as good
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


def piece_segments(rep: VoiceRepresentation, segment_bars: int, piece: Piece, what: str = "the piece",
                   first_only: bool = True) -> list[VoiceGrid]:
    """The piece's first segment (or all its consecutive segments, the last padded with rests);
    a one-line error when the piece has no notes or is shorter than one segment."""
    label = f"{what} ({piece.name})" if piece.name else what
    if piece.note_count == 0:
        raise TunesmithError(f"{label} has no notes")
    if not rep.fits_meter(piece):
        log.warning("%s is in %s/%s; this model's bars are %s, so its bars are read as %s bars", label,
                    *piece.time_signature, rep.time_signature, rep.time_signature)
    grid = rep.encode(piece)
    steps = segment_bars * rep.steps_per_bar
    if grid.steps < steps:
        bars = grid.steps // rep.steps_per_bar
        raise TunesmithError(f"{label} is {bars} bar{'s' if bars != 1 else ''} long; this model encodes segments "
                             f"of {segment_bars} bars, so give it at least {segment_bars}")
    count = 1 if first_only else math.ceil(grid.steps / steps)
    pad = count * steps - grid.steps
    if pad > 0:
        grid = VoiceGrid(np.pad(grid.events, ((0, 0), (0, pad)), constant_values=REST),
                         np.pad(grid.velocities, ((0, 0), (0, pad))))
    return [grid.window(k * steps, (k + 1) * steps) for k in range(count)]


def _device(model: MusicVAE) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_grids(model: MusicVAE, grids: list[VoiceGrid], batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean and standard deviation [N, Z] of segments."""
    mus, sigmas = [], []
    for start in range(0, len(grids), batch_size):
        chunk = grids[start:start + batch_size]
        events = torch.as_tensor(np.stack([g.events for g in chunk]), dtype=torch.long, device=_device(model))
        velocities = torch.as_tensor(np.stack([g.velocities for g in chunk]), dtype=torch.long, device=_device(model))
        mu, sigma = model.encode(events, velocities)
        mus.append(mu.cpu())
        sigmas.append(sigma.cpu())
    return torch.cat(mus), torch.cat(sigmas)


def encode_piece(model: MusicVAE, rep: VoiceRepresentation, piece: Piece, what: str = "the piece",
                 first_only: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent mean and standard deviation [segments, Z] of a piece (its first segment by default)."""
    return encode_grids(model, piece_segments(rep, model.config.segment_bars, piece, what, first_only))


@torch.no_grad()
def decode_latents(model: MusicVAE, z: torch.Tensor, temperature: float | None = None,
                   generator: torch.Generator | None = None,
                   filter_logits: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[VoiceGrid]:
    """One segment per latent [N, Z]; `temperature` None decodes the likeliest event at each step."""
    events, velocities = model.sample(z.to(_device(model)), temperature=temperature or 1.0,
                                      greedy=temperature is None, generator=generator, filter_logits=filter_logits)
    return [VoiceGrid(e.cpu().numpy(), v.cpu().numpy()) for e, v in zip(events, velocities, strict=True)]


def interpolation_latents(model: MusicVAE, rep: VoiceRepresentation, a: Piece, b: Piece, steps: int) -> torch.Tensor:
    """Latents [steps, Z] along the great circle from `a`'s first segment to `b`'s (endpoints included)."""
    if steps < 2:
        raise TunesmithError(f"--steps must be at least 2 (got {steps})")
    mu_a = encode_piece(model, rep, a, "the first piece")[0][0]
    mu_b = encode_piece(model, rep, b, "the second piece")[0][0]
    return torch.stack([slerp(mu_a, mu_b, float(t)) for t in np.linspace(0.0, 1.0, steps)])


@dataclass
class Reconstruction:
    """A piece's segments as given and as decoded from their latents, and the per-step accuracy."""

    original: VoiceGrid
    decoded: VoiceGrid
    accuracy: float


def reconstruct(model: MusicVAE, rep: VoiceRepresentation, piece: Piece, offset: torch.Tensor | None = None,
                temperature: float | None = None, generator: torch.Generator | None = None) -> Reconstruction:
    """Encode every segment of `piece`, decode each (moved by `offset` in latent space) and join them."""
    from tunesmith.representations.voices import concatenate

    grids = piece_segments(rep, model.config.segment_bars, piece, first_only=False)
    mu, _ = encode_grids(model, grids)
    if offset is not None:
        mu = mu + offset
    decoded = decode_latents(model, mu, temperature, generator)
    original, out = concatenate(grids), concatenate(decoded)
    return Reconstruction(original, out, float((original.events == out.events).mean()))


@torch.no_grad()
def reconstruction_accuracy(model: MusicVAE, grids: list[VoiceGrid], batch_size: int = 256) -> dict[str, float]:
    """Per-step event accuracy on segments, teacher-forced and sampled (greedy from the posterior
    mean), as MusicVAE reports it; also the velocity-bin accuracy at note-ons and the KL per segment."""
    totals = {"teacher_forced": 0.0, "sampled": 0.0, "velocity": 0.0, "kl_bits": 0.0}
    steps = onsets = 0
    for start in range(0, len(grids), batch_size):
        chunk = grids[start:start + batch_size]
        events = torch.as_tensor(np.stack([g.events for g in chunk]), dtype=torch.long, device=_device(model))
        velocities = torch.as_tensor(np.stack([g.velocities for g in chunk]), dtype=torch.long, device=_device(model))
        mu, sigma = model.encode(events, velocities)
        logits_e, _ = model.decode_logits(mu, *model._shift(events, velocities))
        totals["teacher_forced"] += float((logits_e.argmax(-1) == events.transpose(1, 2)).sum())
        sampled_e, sampled_v = model.sample(mu, greedy=True)
        totals["sampled"] += float((sampled_e == events).sum())
        on = (events >= 2) & (sampled_e == events)
        totals["velocity"] += float((sampled_v == velocities)[on].sum())
        onsets += int(on.sum())
        kl = 0.5 * (mu.pow(2) + sigma.pow(2) - 1 - 2 * torch.log(sigma)).sum(-1)
        totals["kl_bits"] += float(kl.sum()) / math.log(2)
        steps += events.numel()
    n = max(1, len(grids))
    return {"teacher_forced": totals["teacher_forced"] / max(1, steps), "sampled": totals["sampled"] / max(1, steps),
            "velocity": totals["velocity"] / max(1, onsets), "kl_bits": totals["kl_bits"] / n,
            "segments": len(grids), "steps_per_segment": model.steps * model.grid.voices}


# ---------------- whole pieces, for the interpolate / reconstruct commands ----------------

def interpolate_pieces(run, a: Piece, b: Piece, steps: int, offset: torch.Tensor | None = None,
                       temperature: float | None = None, seed: int = 0) -> tuple[list[Piece], Piece]:
    """One piece per point on the slerp from `a`'s first segment to `b`'s, and all of them in a row."""
    from tunesmith.representations.voices import concatenate

    model, rep = run.model, run.representation
    z = interpolation_latents(model, rep, a, b, steps)
    if offset is not None:
        z = z + offset
    generator = torch.Generator(device=_device(model)).manual_seed(seed)
    grids = decode_latents(model, z, temperature, generator)
    pieces = []
    for i, grid in enumerate(grids):
        piece = rep.decode(grid, name=f"interp-{i + 1:02d}", tempo=a.tempo)
        piece.tags.update({"family": "vae", "step": i, "t": i / (steps - 1)})
        pieces.append(piece)
    return pieces, rep.decode(concatenate(grids), name="interpolation", tempo=a.tempo)


def reconstruct_piece(run, piece: Piece, offset: torch.Tensor | None = None, temperature: float | None = None,
                      seed: int = 0) -> tuple[Piece, float]:
    """The piece decoded from the latents of its segments, and the per-step accuracy against it."""
    generator = torch.Generator(device=_device(run.model)).manual_seed(seed)
    result = reconstruct(run.model, run.representation, piece, offset, temperature, generator)
    decoded = run.representation.decode(result.decoded, name=f"{piece.name}-reconstructed", tempo=piece.tempo)
    return decoded, result.accuracy
