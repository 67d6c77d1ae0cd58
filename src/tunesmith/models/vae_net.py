"""MusicVAE (Roberts et al., 2018, "A Hierarchical Latent Vector Model for Learning Long-Term
Structure in Music"): a bidirectional LSTM encoder to a Gaussian latent z, and an autoregressive LSTM
decoder, flat for short segments or hierarchical (a conductor LSTM giving one embedding per bar, a
bottom LSTM decoding each bar from it) for long ones. Trained on KL with free bits and a beta ramp;
scheduled sampling (two-pass, Mihaylova & Martins 2019) is optional.

Two options give z short paths to and from each bar of a long segment (BENCHMARKS.md: without them the
16-bar decoder hardly reads z): `bar_paths` reads z from the encoder's state at every bar boundary and feeds
the conductor a projection of z at every bar; `loss.chunk_weight` also predicts each chunk's steps from its
embedding alone, a loss only z can lower (as the bag-of-words loss of Zhao et al., 2017).

Batches are dicts of int64 tensors: events [B, V, T] (0 rest, 1 hold, 2+ note-on) and velocities
[B, V, T] (a bin where a note starts), V voices, T steps = bars * steps_per_bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from tunesmith.config import at_least, between, require
from tunesmith.errors import TunesmithError
from tunesmith.representations.base import Representation
from tunesmith.representations.voices import FIRST_PITCH, HOLD, REST, VoiceRepresentation

CONDUCTOR_INPUT = 64  # with bar_paths: the size of z's projection the conductor reads at each bar
PRIOR_MOMENTUM = 0.01  # how fast the fitted prior follows the posteriors of the training batches


@dataclass(frozen=True)
class EmbeddingSettings:
    """[model.embedding]: per voice, the sizes of a step's event and velocity-bin embeddings."""

    events: int = 48
    velocity: int = 8

    def __post_init__(self) -> None:
        at_least("embedding.events", self.events, 1)
        at_least("embedding.velocity", self.velocity, 1)


@dataclass(frozen=True)
class EncoderSettings:
    """[model.encoder]: the bidirectional LSTM that reads a segment (`size` per direction)."""

    size: int = 192
    layers: int = 1

    def __post_init__(self) -> None:
        at_least("encoder.size", self.size, 1)
        at_least("encoder.layers", self.layers, 1)


@dataclass(frozen=True)
class ConductorSettings:
    """[model.conductor]: with the hierarchical decoder, the LSTM that gives one embedding per bar."""

    size: int = 256
    layers: int = 1

    def __post_init__(self) -> None:
        at_least("conductor.size", self.size, 1)
        at_least("conductor.layers", self.layers, 1)


@dataclass(frozen=True)
class DecoderSettings:
    """[model.decoder]: the LSTM that decodes the steps, and how often training feeds it its own samples."""

    size: int = 384
    layers: int = 1
    scheduled_sampling: float = 0.5  # final probability of feeding the decoder its own sample
    scheduled_sampling_steps: int = 1500  # training steps until it is reached

    def __post_init__(self) -> None:
        at_least("decoder.size", self.size, 1)
        at_least("decoder.layers", self.layers, 1)
        between("decoder.scheduled_sampling", self.scheduled_sampling, 0.0, 1.0)
        at_least("decoder.scheduled_sampling_steps", self.scheduled_sampling_steps, 0)


@dataclass(frozen=True)
class LossSettings:
    """[model.loss]: the KL term (free bits, beta ramp) and the weights of the other terms."""

    free_bits: float = 256.0  # KL bits per segment that cost nothing
    max_beta: float = 0.2  # weight of the KL beyond the free bits, reached after the ramp
    beta_warmup_steps: int = 1500
    velocity_weight: float = 1.0  # weight of the velocity loss beside the event loss
    chunk_weight: float = 0.0  # weight of the events predicted from each bar's embedding alone

    def __post_init__(self) -> None:
        for name in ("free_bits", "max_beta", "beta_warmup_steps", "velocity_weight", "chunk_weight"):
            at_least(f"loss.{name}", getattr(self, name), 0)


@dataclass(frozen=True)
class SegmentSettings:
    """[model.segments]: which windows of the pieces are training segments."""

    hop_bars: int = 1  # training windows start every this many bars
    max_rest_bars: float = 1.0  # windows silent for longer than this are left out

    def __post_init__(self) -> None:
        at_least("segments.hop_bars", self.hop_bars, 1)
        at_least("segments.max_rest_bars", self.max_rest_bars, 0)


@dataclass(frozen=True)
class VAEConfig:
    """MusicVAE settings (defaults: configs/vae-2bar.toml's, the benchmarked 2-bar recipe). The sizes of the
    voices representation (voices, event classes, velocity bins, bar length) are not settings: `SegmentGrid`."""

    segment_bars: int = 2  # bars per segment (the unit that is encoded to one z)
    latent_size: int = 256
    hierarchical: bool = False  # conductor + per-bar decoder (use for long segments)
    bar_paths: bool = False  # hierarchical: z read from every bar's encoder state; conductor fed z per bar
    fitted_prior: bool = True  # sample from a Gaussian fitted to the training posteriors, not N(0, I)
    dropout: float = 0.0  # between stacked LSTM layers
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    conductor: ConductorSettings = field(default_factory=ConductorSettings)
    decoder: DecoderSettings = field(default_factory=DecoderSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    segments: SegmentSettings = field(default_factory=SegmentSettings)

    # config.json format 1 (one flat [model] table) -> where each setting is now
    MOVED: ClassVar[dict[str, str]] = {
        "embed_size": "embedding.events", "velocity_embed_size": "embedding.velocity",
        "encoder_size": "encoder.size", "encoder_layers": "encoder.layers",
        "conductor_size": "conductor.size", "conductor_layers": "conductor.layers",
        "decoder_size": "decoder.size", "decoder_layers": "decoder.layers",
        "scheduled_sampling": "decoder.scheduled_sampling",
        "scheduled_sampling_steps": "decoder.scheduled_sampling_steps",
        "free_bits": "loss.free_bits", "max_beta": "loss.max_beta", "beta_warmup_steps": "loss.beta_warmup_steps",
        "velocity_weight": "loss.velocity_weight", "chunk_loss": "loss.chunk_weight",
        "segment_hop_bars": "segments.hop_bars", "max_rest_bars": "segments.max_rest_bars",
    }

    def __post_init__(self) -> None:
        at_least("segment_bars", self.segment_bars, 1)
        at_least("latent_size", self.latent_size, 1)
        require(0 <= self.dropout < 1, "dropout", f"must be at least 0 and below 1 (got {self.dropout})")
        require(not self.hierarchical or self.segment_bars >= 2, "segment_bars",
                f"must be at least 2 for the hierarchical decoder (got {self.segment_bars})")
        require(self.hierarchical or not self.bar_paths, "bar_paths",
                "needs the hierarchical decoder (hierarchical = true)")


@dataclass(frozen=True)
class SegmentGrid:
    """The sizes of the voices representation that the network is built for: read from it when the model is
    built (`of`), never saved as settings."""

    voices: int
    events: int  # event classes per step: rest, hold, one note-on per pitch
    velocity_bins: int
    steps_per_bar: int

    @classmethod
    def of(cls, representation: VoiceRepresentation) -> SegmentGrid:
        """The grid of a VoiceRepresentation."""
        rep = representation
        return cls(rep.voices, rep.events, rep.velocity_bins, rep.steps_per_bar)


def voice_representation(representation: Representation) -> VoiceRepresentation:
    """`representation` as the voices representation the vae family is built on (a one-line error when it is
    another)."""
    if not isinstance(representation, VoiceRepresentation):
        raise TunesmithError(f"the vae model needs the 'voices' representation (got {representation.kind!r})")
    return representation


def _init_state(linear: nn.Linear, cond: torch.Tensor, layers: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """LSTM (h, c), each [layers, N, size], from a conditioning vector [N, D] (tanh(W cond))."""
    state = torch.tanh(linear(cond))                                    # [N, 2 * layers * size]
    h, c = state.view(-1, 2, layers, size).permute(1, 2, 0, 3).contiguous()  # [2, layers, N, size]
    return h, c


class MusicVAE(nn.Module):
    """Encoder, flat or hierarchical decoder, and the VAE loss."""

    # buffers (register_buffer), and the parts that only some configs build
    trained_steps: torch.Tensor
    prior_mean: torch.Tensor  # with fitted_prior
    prior_std: torch.Tensor  # with fitted_prior
    event_offset: torch.Tensor
    velocity_offset: torch.Tensor
    conductor_init: nn.Linear  # hierarchical
    conductor_inputs: nn.Linear  # hierarchical with bar_paths
    conductor: nn.LSTM  # hierarchical
    chunk_head: nn.Linear  # with loss.chunk_weight > 0

    def __init__(self, config: VAEConfig, grid: SegmentGrid):
        super().__init__()
        c, g = config, grid
        self.config, self.grid = c, g
        self.steps = c.segment_bars * g.steps_per_bar  # per segment
        self.event_embed = nn.Embedding(g.voices * (g.events + 1), c.embedding.events)  # +1: the start symbol
        self.velocity_embed = nn.Embedding(g.voices * (g.velocity_bins + 1), c.embedding.velocity)  # +1: none
        step_size = g.voices * (c.embedding.events + c.embedding.velocity)
        self.encoder = nn.LSTM(step_size, c.encoder.size, c.encoder.layers, batch_first=True,
                               bidirectional=True, dropout=c.dropout if c.encoder.layers > 1 else 0.0)
        readout = 2 * c.encoder.size * (c.segment_bars if c.bar_paths else 1)
        self.to_mu = nn.Linear(readout, c.latent_size)
        self.to_sigma = nn.Linear(readout, c.latent_size)
        cond_size = c.latent_size
        if c.hierarchical:
            self.conductor_init = nn.Linear(c.latent_size, 2 * c.conductor.layers * c.conductor.size)
            width = CONDUCTOR_INPUT if c.bar_paths else 1
            if c.bar_paths:
                self.conductor_inputs = nn.Linear(c.latent_size, c.segment_bars * width)
            self.conductor = nn.LSTM(width, c.conductor.size, c.conductor.layers, batch_first=True)
            cond_size = c.conductor.size
        self.decoder_init = nn.Linear(cond_size, 2 * c.decoder.layers * c.decoder.size)
        self.decoder = nn.LSTM(step_size + cond_size, c.decoder.size, c.decoder.layers, batch_first=True,
                               dropout=c.dropout if c.decoder.layers > 1 else 0.0)
        self.event_head = nn.Linear(c.decoder.size, g.voices * g.events)
        if c.loss.chunk_weight > 0:  # every step of a chunk read straight from its condition: z carries the notes
            chunks = c.segment_bars if c.hierarchical else 1
            self.chunk_head = nn.Linear(cond_size, self.steps // chunks * g.voices * g.events)
        self.velocity_head = nn.Linear(c.decoder.size, g.voices * g.velocity_bins)
        self.register_buffer("trained_steps", torch.zeros((), dtype=torch.long))
        if c.fitted_prior:  # the aggregate posterior, per latent dimension (moving averages over training)
            self.register_buffer("prior_mean", torch.zeros(c.latent_size))
            self.register_buffer("prior_std", torch.ones(c.latent_size))
        offsets = torch.arange(g.voices)
        self.register_buffer("event_offset", offsets * (g.events + 1), persistent=False)
        self.register_buffer("velocity_offset", offsets * (g.velocity_bins + 1), persistent=False)

    # --- inputs ---
    def step_inputs(self, events: torch.Tensor, velocities: torch.Tensor) -> torch.Tensor:
        """Embedded steps [B, T, V * (E + Ev)] from events/velocities [B, V, T] (start symbol allowed)."""
        g = self.grid
        velocity_in = torch.where(events >= FIRST_PITCH, velocities, torch.full_like(velocities, g.velocity_bins))
        velocity_in = torch.where(events == g.events, torch.full_like(velocities, g.velocity_bins), velocity_in)
        e = self.event_embed(events.transpose(1, 2) + self.event_offset)             # [B, T, V, E]
        v = self.velocity_embed(velocity_in.transpose(1, 2) + self.velocity_offset)  # [B, T, V, Ev]
        return torch.cat([e, v], dim=-1).flatten(2)                                 # [B, T, V*(E+Ev)]

    def _shift(self, events: torch.Tensor, velocities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's inputs: the previous step, the start symbol first."""
        start_e = torch.full_like(events[..., :1], self.grid.events)
        start_v = torch.zeros_like(velocities[..., :1])
        return torch.cat([start_e, events[..., :-1]], -1), torch.cat([start_v, velocities[..., :-1]], -1)

    # --- encoder ---
    def encode(self, events: torch.Tensor, velocities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and standard deviation, each [B, Z]."""
        c, g = self.config, self.grid
        out, (h, _) = self.encoder(self.step_inputs(events, velocities))  # out [B, T, 2H], h [layers*2, B, H]
        if c.bar_paths:  # each bar's end (forward) and start (backward)
            bar = g.steps_per_bar
            h = torch.cat([out[:, bar - 1::bar, :c.encoder.size], out[:, ::bar, c.encoder.size:]], -1).flatten(1)
        else:
            h = h.view(c.encoder.layers, 2, -1, c.encoder.size)[-1]      # [2, B, H]
            h = torch.cat([h[0], h[1]], dim=-1)                          # [B, 2H]
        return self.to_mu(h), F.softplus(self.to_sigma(h)) + 1e-4

    # --- decoder ---
    def conditions(self, z: torch.Tensor) -> torch.Tensor:
        """What each decoded chunk is conditioned on: [B, chunks, D] (one chunk = z itself when flat)."""
        c = self.config
        if not c.hierarchical:
            return z[:, None, :]                                         # [B, 1, Z]
        state = _init_state(self.conductor_init, z, c.conductor.layers, c.conductor.size)
        if c.bar_paths:
            inputs = self.conductor_inputs(z).view(z.shape[0], c.segment_bars, -1)  # [B, bars, CONDUCTOR_INPUT]
        else:
            inputs = z.new_zeros(z.shape[0], c.segment_bars, 1)          # [B, bars, 1]
        out, _ = self.conductor(inputs, state)                           # [B, bars, Hc]
        return out

    def decode_logits(self, z: torch.Tensor, prev_events: torch.Tensor, prev_velocities: torch.Tensor,
                      cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits: events [B, T, V, C] and velocities [B, T, V, Bv] (`cond`: z's
        conditions, when already computed)."""
        c, g = self.config, self.grid
        cond = self.conditions(z) if cond is None else cond             # [B, K, D]
        batch, chunks, width = cond.shape
        x = self.step_inputs(prev_events, prev_velocities)               # [B, T, I]
        x = x.view(batch * chunks, -1, x.shape[-1])                      # [B*K, T/K, I]
        cond = cond.reshape(batch * chunks, width)                       # [B*K, D]
        state = _init_state(self.decoder_init, cond, c.decoder.layers, c.decoder.size)
        x = torch.cat([x, cond[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
        out, _ = self.decoder(x, state)                                  # [B*K, T/K, Hd]
        out = out.reshape(batch, -1, c.decoder.size)                     # [B, T, Hd]
        events = self.event_head(out).view(batch, -1, g.voices, g.events)
        velocities = self.velocity_head(out).view(batch, -1, g.voices, g.velocity_bins)
        return events, velocities

    # --- training ---
    def beta(self) -> float:
        """KL weight now: a linear ramp from 0 to max_beta over beta_warmup_steps."""
        c = self.config
        warmup = c.loss.beta_warmup_steps
        ramp = min(1.0, float(self.trained_steps) / warmup) if warmup > 0 else 1.0
        return c.loss.max_beta * ramp

    def _sampling_probability(self) -> float:
        c = self.config
        rate, steps = c.decoder.scheduled_sampling, c.decoder.scheduled_sampling_steps
        if rate <= 0:
            return 0.0
        return rate * min(1.0, float(self.trained_steps) / max(1, steps))

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Reconstruction (events + velocity, nats per segment) + beta * KL beyond the free bits."""
        c, g = self.config, self.grid
        events, velocities = batch["events"], batch["velocities"]       # [B, V, T]
        mu, sigma = self.encode(events, velocities)
        z = mu + sigma * torch.randn_like(mu)                            # [B, Z]
        cond = self.conditions(z)
        inputs_e, inputs_v = events, velocities
        p = self._sampling_probability() if self.training else 0.0
        if p > 0:  # two-pass scheduled sampling: feed some of the model's own predictions
            with torch.no_grad():
                le, lv = self.decode_logits(z, *self._shift(events, velocities), cond=cond)
                own_e = torch.distributions.Categorical(logits=le).sample().transpose(1, 2)  # [B, V, T]
                own_v = torch.distributions.Categorical(logits=lv).sample().transpose(1, 2)
                mix = torch.rand(events.shape[0], 1, events.shape[2], device=events.device) < p
                inputs_e, inputs_v = torch.where(mix, own_e, events), torch.where(mix, own_v, velocities)
        logits_e, logits_v = self.decode_logits(z, *self._shift(inputs_e, inputs_v), cond=cond)
        target_e = events.transpose(1, 2)                                # [B, T, V]
        event_nll = F.cross_entropy(logits_e.reshape(-1, g.events), target_e.reshape(-1), reduction="none")
        onset = (target_e >= FIRST_PITCH).reshape(-1)
        velocity_nll = F.cross_entropy(logits_v.reshape(-1, g.velocity_bins), velocities.transpose(1, 2).reshape(-1),
                                       reduction="none") * onset
        batch_size = events.shape[0]
        recon = (event_nll.sum() + c.loss.velocity_weight * velocity_nll.sum()) / batch_size
        extra: dict[str, float] = {}
        auxiliary: torch.Tensor | float = 0.0
        if c.loss.chunk_weight > 0:
            chunk_logits = self.chunk_head(cond).reshape(-1, g.events)  # [B * T * V, C], steps in order
            chunk_nll = F.cross_entropy(chunk_logits, target_e.reshape(-1), reduction="sum") / batch_size
            auxiliary = c.loss.chunk_weight * chunk_nll
            extra["chunk_nll"] = chunk_nll.item()
        kl = 0.5 * (mu.pow(2) + sigma.pow(2) - 1 - 2 * torch.log(sigma)).sum(-1)  # [B] nats
        free_nats = c.loss.free_bits * math.log(2)
        beta = self.beta()
        loss = recon + auxiliary + beta * torch.clamp(kl - free_nats, min=0).mean()
        if self.training:
            self.trained_steps += 1
            if c.fitted_prior:
                with torch.no_grad():
                    self.prior_mean.lerp_(mu.mean(0), PRIOR_MOMENTUM)
                    spread = (mu.var(0, unbiased=False) + sigma.pow(2).mean(0)).sqrt()
                    self.prior_std.lerp_(spread, PRIOR_MOMENTUM)
        with torch.no_grad():
            accuracy = (logits_e.argmax(-1) == target_e).float().mean().item()
            velocity_accuracy = ((logits_v.argmax(-1) == velocities.transpose(1, 2)).reshape(-1)[onset]
                                 .float().mean().item()) if onset.any() else 1.0
        return loss, {"recon": recon.item(), "kl_bits": kl.mean().item() / math.log(2), "beta": beta,
                      "accuracy": accuracy, "velocity_accuracy": velocity_accuracy, **extra}

    # --- sampling ---
    def from_standard(self, u: torch.Tensor) -> torch.Tensor:
        """Standard-normal draws [..., Z] -> latents of the prior (the fitted one when there is one).

        With free bits the posteriors need not fill N(0, I): a latent drawn where no training segment lies
        can decode to noise. The fitted Gaussian keeps draws where the encoder puts music."""
        if not self.config.fitted_prior:
            return u
        return self.prior_mean.to(u.device) + self.prior_std.to(u.device) * u

    def to_standard(self, z: torch.Tensor) -> torch.Tensor:
        """The inverse of from_standard."""
        if not self.config.fitted_prior:
            return z
        return (z - self.prior_mean.to(z.device)) / self.prior_std.to(z.device)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, temperature: float = 1.0, greedy: bool = False,
               generator: torch.Generator | None = None,
               filter_logits: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode latents [B, Z] step by step: events and velocities [B, V, T]."""
        c, g = self.config, self.grid
        batch = z.shape[0]
        cond = self.conditions(z)                                        # [B, K, D]
        chunks = cond.shape[1]
        per_chunk = self.steps // chunks
        prev_e = torch.full((batch, g.voices, 1), g.events, dtype=torch.long, device=z.device)
        prev_v = torch.zeros_like(prev_e)
        out_e, out_v = [], []
        for k in range(chunks):
            state = _init_state(self.decoder_init, cond[:, k], c.decoder.layers, c.decoder.size)
            for _ in range(per_chunk):
                x = torch.cat([self.step_inputs(prev_e, prev_v), cond[:, k, None, :]], dim=-1)  # [B, 1, I+D]
                h, state = self.decoder(x, state)                        # [B, 1, Hd]
                le = self.event_head(h[:, 0]).view(batch, g.voices, g.events)
                lv = self.velocity_head(h[:, 0]).view(batch, g.voices, g.velocity_bins)
                no_note = (prev_e[..., 0] == REST) | (prev_e[..., 0] == g.events)  # a hold needs a note
                le[..., HOLD] = le[..., HOLD].masked_fill(no_note, float("-inf"))
                e, v = _pick(le, temperature, greedy, generator, filter_logits), _pick(lv, temperature, greedy, generator)
                out_e.append(e)
                out_v.append(v)
                prev_e, prev_v = e[..., None], v[..., None]
        return torch.stack(out_e, -1), torch.stack(out_v, -1)


def _pick(logits: torch.Tensor, temperature: float, greedy: bool, generator: torch.Generator | None,
          filter_logits: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """One class per row of logits [..., C]: argmax, or a sample at `temperature` (after filtering)."""
    if greedy:
        return logits.argmax(-1)
    logits = logits / temperature
    if filter_logits is not None:
        logits = filter_logits(logits)
    probs = torch.softmax(logits, -1)
    flat = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])
