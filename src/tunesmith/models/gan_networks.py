"""The GAN's networks: MuseGAN's hybrid generator (shared and per-track latents, each static and temporal),
a convolutional critic with a pitch-class branch, the WGAN-GP gradient penalty and the generator's EMA.

Rolls are [B, tracks, steps, pitches, 3] with channels (sounding, onset, velocity) in [0, 1].
Dong, Hsiao, Yang and Yang, "MuseGAN", AAAI 2018; Gulrajani et al., "Improved training of Wasserstein
GANs", NeurIPS 2017.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.representations.pianoroll import CHANNELS, ONSET, SOUNDING, VELOCITY


class TemporalLatents(nn.Module):
    """MuseGAN's temporal generator: one latent vector -> one latent vector per bar."""

    def __init__(self, latent_dim: int, bars: int, extra: int = 0):
        super().__init__()
        self.bars, self.latent_dim = bars, latent_dim
        self.net = nn.Sequential(nn.Linear(latent_dim + extra, 4 * latent_dim), nn.LeakyReLU(0.2),
                                 nn.Linear(4 * latent_dim, bars * latent_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(*z.shape[:-1], self.bars, self.latent_dim)  # [..., bars, latent]


class ConditionEncoder(nn.Module):
    """The conditioning track's bar -> feature maps at the generator's coarse and fine time resolutions."""

    def __init__(self, octaves: int, channels: int):
        super().__init__()
        self.octaves = octaves
        self.fine = nn.Conv2d(CHANNELS, channels, (1, 12), stride=(1, 12))  # [N, c, S, O]
        self.coarse = nn.Conv2d(channels, 2 * channels, (4, 1), stride=(4, 1))  # [N, 2c, S/4, O]

    def forward(self, bar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # bar: [N, S, P, 3] with S padded to a multiple of 4 and P to whole octaves
        fine = F.leaky_relu(self.fine(bar.permute(0, 3, 1, 2)), 0.2)  # [N, c, S, O]
        return F.leaky_relu(self.coarse(fine), 0.2), fine  # [N, 2c, S/4, O], [N, c, S, O]


class Generator(nn.Module):
    """Hybrid MuseGAN generator; one bar generator shared by the tracks (told which track it plays)."""

    def __init__(self, tracks: int, bars: int, steps_per_bar: int, pitches: int, latent_dim: int = 32,
                 channels: int = 64, condition_channels: int = 16, pitch_steps: int = 1, track_gates: bool = False,
                 voices: list[int] | None = None, gate_steps: int = 1,
                 bar_gates: bool = False, learn_bar_gates: bool = True):
        super().__init__()
        self.tracks, self.bars, self.steps, self.pitches, self.latent_dim = tracks, bars, steps_per_bar, pitches, latent_dim
        self.pitch_steps, self.track_gates, self.voices, self.gate_steps = pitch_steps, track_gates, voices, gate_steps
        self.bar_gates = bar_gates
        self.coarse_steps = math.ceil(steps_per_bar / 4)
        self.octaves = math.ceil(pitches / 12)
        c, cc = channels, condition_channels
        self.shared_time = TemporalLatents(latent_dim, bars)
        self.track_time = TemporalLatents(latent_dim, bars, extra=tracks)
        self.track_embedding = nn.Embedding(tracks, latent_dim)
        self.condition_embedding = nn.Embedding(tracks + 1, latent_dim)  # index `tracks`: no condition
        self.condition = ConditionEncoder(self.octaves, cc)
        self.project = nn.Linear(6 * latent_dim, c * self.coarse_steps * self.octaves)
        self.norm0 = nn.BatchNorm2d(c)
        self.up1 = nn.ConvTranspose2d(c + 2 * cc, c, (2, 1), stride=(2, 1))
        self.norm1 = nn.BatchNorm2d(c)
        self.up2 = nn.ConvTranspose2d(c, c // 2, (2, 1), stride=(2, 1))
        self.norm2 = nn.BatchNorm2d(c // 2)
        self.mix = nn.Conv2d(c // 2, c // 2, 3, padding=1)
        self.norm3 = nn.BatchNorm2d(c // 2)
        self.to_pitch = nn.ConvTranspose2d(c // 2 + cc, c // 4, (1, 12), stride=(1, 12))
        self.out = nn.Conv2d(c // 4, CHANNELS, (3, 1), padding=(1, 0))
        self.pitch_bias = nn.Parameter(torch.zeros(tracks, CHANNELS, 1, self.octaves * 12))
        if track_gates:  # per step and track: does the track sound, does it strike (whatever its pitches)
            self.gates = nn.Conv2d(c // 2 + cc, 2, (3, 1), padding=(1, 0))
            # where in the bar each track tends to sound and strike (the metre), learnt beside the latents' say
            self.step_bias = nn.Parameter(torch.zeros(tracks, 2, steps_per_bar))
            with torch.no_grad():  # start sounding (the pitches decide); training starts it in the corpus's metre
                # the layer is built with its bias (Conv2d's default), which torch types as optional
                cast(torch.Tensor, self.gates.bias).copy_(torch.tensor([2.0, 0.0]))
        if bar_gates:  # per track and bar, from its latents: does the track play in this bar at all
            self.bar_gate = nn.Linear(6 * latent_dim, 1)
            self.bar_bias = nn.Parameter(torch.zeros(tracks))
            if not learn_bar_gates:  # they stay where they start: the corpus's rate of rests, in bars the latents pick
                self.bar_gate.requires_grad_(False)
                self.bar_bias.requires_grad_(False)

    def latents(self, batch: int, generator: torch.Generator | None = None,
                device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Fresh latents: shared static/temporal [B, z], per-track static/temporal [B, T, z]."""
        def draw(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, self.latent_dim, generator=generator, device=device)

        return {"shared": draw(batch), "shared_time": draw(batch), "track": draw(batch, self.tracks),
                "track_time": draw(batch, self.tracks)}

    def forward(self, z: dict[str, torch.Tensor], condition: torch.Tensor | None = None,
                condition_track: torch.Tensor | None = None) -> torch.Tensor:
        """Latents (+ the conditioning track's roll [B, bars*S, P, 3] and its index [B], T = none) -> roll of
        probabilities: a note sounds, a note starts (where one sounds), its velocity (where one starts)."""
        B, T, K, S, zd = z["shared"].shape[0], self.tracks, self.bars, self.steps, self.latent_dim
        if condition_track is None:
            condition_track = torch.full((B,), T, dtype=torch.long, device=z["shared"].device)
        inputs = self.bar_inputs(z, condition_track)  # [B, T, K, 6z]
        h = self.project(inputs.reshape(B * T * K, 6 * zd))
        h = F.relu(self.norm0(h.view(B * T * K, -1, self.coarse_steps, self.octaves)))  # [N, c, S/4, O]
        coarse, fine = self._condition_maps(condition, condition_track, B)  # [B*K, 2cc, S/4, O], [B*K, cc, S', O]
        h = torch.cat([h, _per_track(coarse, B, T, K)], 1)
        h = F.relu(self.norm1(self.up1(h)))  # [N, c, S/2, O]
        h = F.relu(self.norm2(self.up2(h)))  # [N, c/2, S', O]
        h = F.relu(self.norm3(self.mix(h)))
        h = torch.cat([h, _per_track(fine, B, T, K)], 1)
        gates = None
        if self.track_gates:
            gates = (self.gates(h).mean(-1)[..., :S].view(B, T, K, 2, S) + self.step_bias[None, :, None])[..., None]
        h = F.relu(self.to_pitch(h))  # [N, c/4, S', 12 O]
        logits = self.out(h).view(B, T, K, CHANNELS, -1, self.octaves * 12) + self.pitch_bias[None, :, None]
        logits = self._note_grid(logits[..., :S, : self.pitches], gates)  # [B, T, K, 3, S, P]
        if self.bar_gates:  # a note sounds where its bar's gate and its own logit both say so
            bar = self.bar_logits(inputs)[..., None, None, None]  # [B, T, K, 1, 1, 1]
            logits = torch.cat([gate_min(logits[:, :, :, :1], bar), logits[:, :, :, 1:]], 3)
        probs = torch.sigmoid(logits).permute(0, 1, 2, 4, 5, 3)  # [B, T, K, S, P, 3]
        return probs.reshape(B, T, K * S, self.pitches, CHANNELS)  # [B, T, K*S, P, 3]

    def bar_inputs(self, z: dict[str, torch.Tensor], condition_track: torch.Tensor) -> torch.Tensor:
        """What each track's bar is generated from: shared and track latents (static and this bar's), which
        track it is and which track is given: [B, T, K, 6z]."""
        B, T, K, zd = z["shared"].shape[0], self.tracks, self.bars, self.latent_dim
        eye = torch.eye(T, device=z["shared"].device).expand(B, T, T)
        shared_t = self.shared_time(z["shared_time"])  # [B, K, z]
        track_t = self.track_time(torch.cat([z["track_time"], eye], -1))  # [B, T, K, z]
        parts = [z["shared"][:, None, None].expand(B, T, K, zd), shared_t[:, None].expand(B, T, K, zd),
                 z["track"][:, :, None].expand(B, T, K, zd), track_t,
                 self.track_embedding.weight[None, :, None].expand(B, T, K, zd),
                 self.condition_embedding(condition_track)[:, None, None].expand(B, T, K, zd)]
        return torch.cat(parts, -1)

    def bar_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The latents of each track's bar [B, T, K, 6z] -> the log-odds that it plays at all [B, T, K]."""
        return self.bar_gate(inputs).squeeze(-1) + self.bar_bias[:, None]

    def _note_grid(self, logits: torch.Tensor, gates: torch.Tensor | None) -> torch.Tensor:
        """Which pitches sound is decided once per `pitch_steps` steps (so a held note cannot flicker between
        neighbours); with `voices`, a one-voice track's pitch sounds by its margin over the likeliest other (it
        plays its likeliest pitch: silence is the gate's); with track gates, a gate per
        `gate_steps` steps says whether the track sounds at all (a note sounds where both say so: the smaller logit) and a
        per-step strike is every sounding pitch's onset."""
        sounding, onset, velocity = logits.unbind(3)  # [B, T, K, S, P] each
        sounding = _blocks(sounding, self.pitch_steps)
        if self.voices is not None:
            sounding = torch.stack([voice_margin(sounding[:, t]) if v == 1 else sounding[:, t]
                                    for t, v in enumerate(self.voices)], 1)
        sounding = sounding.repeat_interleave(self.pitch_steps, 3)
        if gates is not None:
            gate = _blocks(gates[:, :, :, SOUNDING], self.gate_steps).repeat_interleave(self.gate_steps, 3)
            sounding = torch.minimum(sounding, gate)
            onset = gates[:, :, :, ONSET].expand_as(onset)  # [B, T, K, S, P]: one strike for all its pitches
        return torch.stack([sounding, onset, velocity], 3)

    def _condition_maps(self, condition: torch.Tensor | None, condition_track: torch.Tensor,
                        batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        K, S = self.bars, self.steps
        if condition is None:
            condition = torch.zeros(batch, K * S, self.pitches, CHANNELS, device=condition_track.device)
        condition = condition * (condition_track < self.tracks).float()[:, None, None, None]
        bars = condition.reshape(batch * K, S, self.pitches, CHANNELS)
        bars = F.pad(bars, (0, 0, 0, self.octaves * 12 - self.pitches, 0, 4 * self.coarse_steps - S))
        return self.condition(bars)


def _blocks(x: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, T, K, S, P] -> the mean over each block of `steps` steps: [B, T, K, S / steps, P]."""
    B, T, K, S, P = x.shape
    return x.view(B, T, K, S // steps, steps, P).mean(4)


def gate_min(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """min(a, b) of two log-odds (a note sounds where both say so), with the gradient of the smooth minimum
    -log(e^-a + e^-b): both get a share (the smaller the larger), so a gate that is open by a wide margin can
    still learn to close."""
    soft = -torch.logaddexp(-a, -b)
    return torch.minimum(a, b).detach() + (soft - soft.detach())


def voice_margin(logits: torch.Tensor) -> torch.Tensor:
    """Pitch logits [..., P] -> each pitch's margin over the likeliest other pitch: above 0 for the likeliest
    alone, so a one-voice track always has exactly one pitch ready (its gate decides whether it sounds)."""
    top2 = logits.topk(2, dim=-1).values
    others = torch.where(logits == top2[..., :1], top2[..., 1:], top2[..., :1])
    return logits - others


class _StraightThrough(torch.autograd.Function):
    """Exactly 0/1 forward (at 0.5); the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, probs: torch.Tensor) -> torch.Tensor:
        return (probs > 0.5).to(probs.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def binary_roll(probs: torch.Tensor) -> torch.Tensor:
    """The generator's probabilities as a roll like the data's: 0/1 sounding and onset, velocity where sounding.

    Deterministic binary neurons with straight-through gradients (Dong and Yang, "Convolutional generative
    adversarial networks with binary neurons for polyphonic music generation", ISMIR 2018): the critic never
    sees the in-between values no real roll has.
    """
    hard = _StraightThrough.apply(probs[..., :2])
    sounding = hard[..., SOUNDING]
    return torch.stack([sounding, hard[..., ONSET] * sounding, probs[..., VELOCITY] * sounding], -1)


def _per_track(maps: torch.Tensor, batch: int, tracks: int, bars: int) -> torch.Tensor:
    """[B*K, c, ...] -> [B*T*K, c, ...], the same map for every track of a bar."""
    shape = maps.shape[1:]
    return maps.view(batch, 1, bars, *shape).expand(batch, tracks, bars, *shape).reshape(-1, *shape)


class Critic(nn.Module):
    """Convolutional WGAN critic over the whole phrase: pitch-time stream plus a pitch-class (chroma) stream."""

    def __init__(self, tracks: int, bars: int, steps_per_beat: int, beats_per_bar: int, pitches: int,
                 channels: int = 32):
        super().__init__()
        c, o = channels, math.ceil(pitches / 12)
        self.pitches, self.octaves = pitches, o
        inputs = tracks * CHANNELS
        self.pitch_time = nn.Sequential(
            nn.Conv2d(inputs, c, (1, 12), stride=(1, 12)), nn.LeakyReLU(0.2),  # [B, c, L, O]
            nn.Conv2d(c, 2 * c, (steps_per_beat, 1), stride=(steps_per_beat, 1)), nn.LeakyReLU(0.2),  # beats
            nn.Conv2d(2 * c, 2 * c, (1, o)), nn.LeakyReLU(0.2),  # [B, 2c, beats, 1]
            nn.Conv2d(2 * c, 2 * c, (3, 1), padding=(1, 0)), nn.LeakyReLU(0.2),
        )
        self.chroma = nn.Sequential(
            nn.Conv2d(inputs, c, (steps_per_beat, 12), stride=(steps_per_beat, 1)), nn.LeakyReLU(0.2),  # [B,c,beats,1]
            nn.Conv2d(c, c, (3, 1), padding=(1, 0)), nn.LeakyReLU(0.2),
        )
        self.bar = nn.Sequential(nn.Conv2d(3 * c, 4 * c, (beats_per_bar, 1), stride=(beats_per_bar, 1)),
                                 nn.LeakyReLU(0.2))  # [B, 4c, bars, 1]
        self.head = nn.Sequential(nn.Linear(4 * c * bars, 4 * c), nn.LeakyReLU(0.2),
                                  nn.Linear(4 * c, 1))

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        """Roll [B, T, L, P, 3] -> one score per phrase [B]."""
        B, T, L, P, C = roll.shape
        x = roll.permute(0, 1, 4, 2, 3).reshape(B, T * C, L, P)  # [B, T*3, L, P]
        x = F.pad(x, (0, self.octaves * 12 - P))
        chroma = x.view(B, T * C, L, self.octaves, 12).sum(3)  # [B, T*3, L, 12]
        h = torch.cat([self.pitch_time(x), self.chroma(chroma)], 1)  # [B, 3c, beats, 1]
        h = self.bar(h).flatten(1)  # [B, 4c * bars]
        return self.head(h).squeeze(-1)  # [B]


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     mix: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP: mean over the batch of (||grad_x critic(x)||_2 - 1)^2 at x = mix * real + (1 - mix) * fake."""
    if mix is None:
        mix = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    points = (mix * real + (1 - mix) * fake).requires_grad_(True)
    grads = torch.autograd.grad(critic(points).sum(), points, create_graph=True)[0]
    return ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model for parameters; buffers (batch-norm statistics) copied."""
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p, 1 - decay)
    for buffer, source in zip(ema.buffers(), model.buffers(), strict=True):
        buffer.copy_(source)
