"""The GAN family: multi-track, bar-structured piano-roll phrases with velocity (MuseGAN's hybrid model,
trained with WGAN-GP), sampled from an exponential moving average of the generator.

Training batches are phrases [B, tracks, bars * steps_per_bar, pitches, 3]. Half of them (by default)
are track-conditional: one real track is given to the generator and kept in the phrase the critic sees,
so the same model generates freely or accompanies / harmonises a given track.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from tunesmith.controls.arrange import transpose_to_key
from tunesmith.errors import TunesmithError
from tunesmith.models.averaging import ema_decay
from tunesmith.models.base import Family
from tunesmith.models.gan_config import HOME_KEY, GANConfig
from tunesmith.models.gan_networks import Critic, Generator, binary_roll, gradient_penalty, update_ema
from tunesmith.models.gan_sampling import AFTERWARDS, CONTROLS, REFUSED, generate
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation
from tunesmith.representations.pianoroll import SOUNDING, VELOCITY, PianoRollRepresentation

log = logging.getLogger(__name__)


def pianoroll_representation(representation: Representation) -> PianoRollRepresentation:
    """`representation` as the piano-roll the gan family is built on (a one-line error when it is another)."""
    if not isinstance(representation, PianoRollRepresentation):
        raise TunesmithError("the gan model needs the pianoroll representation")
    return representation


class GANModel(nn.Module):
    """Generator, critic and the generator's moving average; the representation decodes its rolls."""

    def __init__(self, config: GANConfig, representation: Representation):
        super().__init__()
        rep = pianoroll_representation(representation)
        if not rep.tracks:
            raise TunesmithError("the piano-roll has no tracks: fit it to a corpus first")
        self.config, self.representation = config, rep
        self.tracks, self.steps = len(rep.tracks), config.bars * rep.steps_per_bar
        generator, gates = config.generator, config.gates
        for name, steps in (("generator.pitch_steps", generator.pitch_steps), ("gates.steps", gates.steps)):
            if rep.steps_per_bar % steps:
                raise TunesmithError(f"model setting {name} must divide the {rep.steps_per_bar} steps of a bar "
                                     f"(got {steps})")
        self.generator = Generator(self.tracks, config.bars, rep.steps_per_bar, rep.pitches, generator.latent_dim,
                                   generator.channels, pitch_steps=generator.pitch_steps, track_gates=gates.track,
                                   voices=[t.max_voices for t in rep.tracks] if gates.voice_limit else None,
                                   gate_steps=gates.steps, bar_gates=gates.bar, learn_bar_gates=gates.learn_bar)
        self.critic = Critic(self.tracks, config.bars, rep.steps_per_beat, rep.bar_beats, rep.pitches,
                             config.critic.channels)
        velocity = torch.tensor([t.velocity for t in rep.tracks])[:, None, None]
        with torch.no_grad():  # each fitted track starts at the corpus's mean velocity (the critic then shapes it)
            bias = self.generator.pitch_bias[:, VELOCITY]
            bias.copy_(torch.where(velocity > 0, torch.logit(velocity / 127, eps=1e-3), bias))
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.base_lr = {"generator": generator.lr, "critic": config.critic.lr}
        self.loop_lr = 1.0

    # --- training ---
    def configure_optimizers(self, train_config: Any) -> dict[str, torch.optim.Optimizer]:
        """Adam (beta1 0.5, beta2 0.9, as WGAN-GP) for the generator and the critic."""
        # the loop's schedule is relative to its default peak rate: --lr scales both of ours alike
        self.loop_lr = float(getattr(type(train_config), "lr", train_config.lr))
        return {name: torch.optim.Adam(getattr(self, name).parameters(), lr=lr, betas=(0.5, 0.9))
                for name, lr in self.base_lr.items()}

    def fake(self, real: torch.Tensor, conditional: bool = True) -> torch.Tensor:
        """Generated phrases like `real`; some keep one of real's tracks (drawn per phrase) as their condition."""
        B = real.shape[0]
        z = self.generator.latents(B, device=real.device)
        track = torch.randint(0, self.tracks, (B,), device=real.device)
        given = torch.rand(B, device=real.device) < (self.config.phrases.condition_prob if conditional else 0.0)
        track = torch.where(given, track, torch.full_like(track, self.tracks))
        condition = real[torch.arange(B), track.clamp(max=self.tracks - 1)]  # [B, L, P, 3]
        roll = binary_roll(self.generator(z, condition, track))
        keep = (torch.arange(self.tracks, device=real.device)[None] == track[:, None])[..., None, None, None]
        return torch.where(keep, real, roll)

    def judge(self, roll: torch.Tensor) -> torch.Tensor:
        """What the critic sees: the roll with its velocity channel scaled by `critic.velocity_weight`."""
        weight = torch.ones(roll.shape[-1], device=roll.device)
        weight[VELOCITY] = self.config.critic.velocity_weight
        return roll * weight

    @torch.no_grad()
    def start_bars(self, real: torch.Tensor, samples: int = 256) -> None:
        """Start each track's bar gate so that, over fresh latents, it rests in as many bars as it does in the first
        batch (at least 1 %): the bias puts that quantile of the gate's untrained values at even odds."""
        bar = self.representation.steps_per_bar
        on = real[..., SOUNDING].amax(-1)  # [B, T, L]
        empty = (on.view(*on.shape[:2], -1, bar).amax(-1) == 0).float().mean((0, 2)).clamp(0.01, 0.95)  # [T]
        generator = self.generator
        z = generator.latents(samples, torch.Generator().manual_seed(0))
        z = {k: v.to(real.device) for k, v in z.items()}
        untrained = generator.bar_gate(generator.bar_inputs(z, torch.full((samples,), self.tracks,
                                                                           device=real.device)))
        values = untrained.squeeze(-1).transpose(0, 1).flatten(1)  # [T, samples * bars]
        bias = -torch.stack([values[t].quantile(float(empty[t])) for t in range(self.tracks)])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast(bias, 0)  # every process starts from the first one's batch
        for g in (self.generator, self.generator_ema):
            g.bar_bias.copy_(bias)

    # the losses a training step backpropagates (in several processes, through DistributedDataParallel)
    replicated_losses = ("critic_loss", "generator_loss")

    def critic_loss(self, real: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """WGAN-GP's critic loss on `real` and fresh fakes (the generator not trained by it)."""
        with torch.no_grad():
            fake = self.judge(self.fake(real))
        seen = self.judge(real)
        real_score, fake_score = self.critic(seen).mean(), self.critic(fake).mean()
        penalty = gradient_penalty(self.critic, seen, fake)
        loss = fake_score - real_score + self.config.critic.gp_weight * penalty
        return loss, {"gradient_penalty": penalty.detach(), "wasserstein": (real_score - fake_score).detach()}

    def generator_loss(self, real: torch.Tensor) -> torch.Tensor:
        """The generator's loss: the critic's score of fresh fakes, negated (the critic not trained by it)."""
        return -self.critic(self.judge(self.fake(real))).mean()

    @torch.no_grad()
    def loss(self, batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Validation: relative gap between roll statistics of real and (fixed-seed) generated phrases."""
        z = self.generator_ema.latents(batch.shape[0], torch.Generator().manual_seed(0))
        fake = binary_roll(self.generator_ema({k: v.to(batch.device) for k, v in z.items()}))
        real_stats, fake_stats = roll_statistics(batch), roll_statistics(fake)
        gap = ((fake_stats - real_stats).abs() / (real_stats.abs() + 0.1)).mean()
        return gap, {"stats_gap": float(gap), "count": batch.shape[0]}

    def training_snapshot(self, step: int) -> list[Piece]:
        """Eight phrases sampled (fixed latents) from the averaged generator; the loop draws them as a grid."""
        was_training = self.generator_ema.training
        self.generator_ema.eval()
        with torch.no_grad():
            z = self.generator_ema.latents(8, torch.Generator().manual_seed(0))
            z = {k: v.to(next(self.parameters()).device) for k, v in z.items()}
            rolls = self.generator_ema(z).cpu().numpy()
        self.generator_ema.train(was_training)
        return [self.representation.decode(r, name=f"step {step} #{i + 1}") for i, r in enumerate(rolls)]


def roll_statistics(roll: torch.Tensor, bar_steps: int | None = None) -> torch.Tensor:
    """Per-track means over a batch of rolls [B, T, L, P, 3]: sounding share, polyphony, onsets, velocity."""
    on = (roll[..., SOUNDING] > 0.5).float()  # [B, T, L, P]
    onsets = (roll[..., 1] > 0.5).float() * on
    sounding_steps = on.amax(-1)  # [B, T, L]
    polyphony = on.sum(-1).sum((0, 2)) / sounding_steps.sum((0, 2)).clamp(min=1)
    chroma = torch.zeros(*on.shape[:3], 12, device=roll.device)
    chroma.index_add_(3, torch.arange(on.shape[-1], device=roll.device) % 12, on)
    pitch_classes = (chroma.amax(2) > 0).float().sum(-1).mean(0)  # pitch classes per phrase, per track
    velocity = (roll[..., VELOCITY] * on).sum((0, 2, 3)) / on.sum((0, 2, 3)).clamp(min=1)
    return torch.stack([sounding_steps.mean((0, 2)), polyphony, onsets.sum((-1, -2)).mean(0) / 16,
                        pitch_classes / 12, velocity])  # [5, T]


def train_step(model: GANModel, batch: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
               step: int) -> dict[str, float]:
    """`critic.steps` WGAN-GP critic updates, then one generator update and its moving average."""
    config, real = model.config, batch
    for name, opt in optimizers.items():  # keep the loop's schedule shape, at this family's own rates
        for group in opt.param_groups:
            if group["lr"] != group.get("family_lr"):  # the loop set its rate since our last step
                group["family_lr"] = group["lr"] = model.base_lr[name] * group["lr"] / model.loop_lr
    critic_opt, generator_opt = optimizers["critic"], optimizers["generator"]
    if step == 0 and config.gates.bar:
        model.start_bars(real)
    model.critic.requires_grad_(True)
    for _ in range(config.critic.steps):
        critic_loss, figures = model.critic_loss(real)
        critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        critic_opt.step()
    model.critic.requires_grad_(False)
    generator_loss = model.generator_loss(real)
    generator_opt.zero_grad(set_to_none=True)
    generator_loss.backward()
    generator_opt.step()
    model.critic.requires_grad_(True)
    update_ema(model.generator_ema, model.generator, ema_decay(config.generator.ema_decay, step))
    critic_value = float(critic_loss.detach())
    return {"loss": critic_value, "critic_loss": critic_value, "generator_loss": float(generator_loss.detach()),
            "gradient_penalty": float(figures["gradient_penalty"]), "wasserstein": float(figures["wasserstein"]),
            "generator_lr": generator_opt.param_groups[0]["lr"]}


# --- data ---
class PhraseDataset(torch.utils.data.Dataset):
    """Phrases of `bars` bars cut from the pieces' piano-rolls (rendered on demand from note tables)."""

    def __init__(self, tables: list[np.ndarray], starts: list[tuple[int, int]], representation: PianoRollRepresentation,
                 steps: int, transpose: int = 0, seed: int = 0):
        self.tables, self.starts, self.representation = tables, starts, representation
        self.steps, self.transpose, self.seed, self.epoch = steps, transpose, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> torch.Tensor:
        piece, start = self.starts[index]
        roll = self.representation.render(self.tables[piece], start, self.steps)  # [T, L, P, 3]
        if self.transpose:
            rows = np.nonzero(roll[..., SOUNDING].any((0, 1)))[0]
            if len(rows):
                rng = np.random.default_rng((self.seed, self.epoch, index))
                low = max(-self.transpose, -int(rows[0]))
                high = min(self.transpose, roll.shape[2] - 1 - int(rows[-1]))
                roll = np.roll(roll, int(rng.integers(low, high + 1)), axis=2)
        return torch.from_numpy(roll)


def learnt_pieces(pieces: list[Piece], config: GANConfig) -> list[Piece]:
    """The pieces as the GAN learns them: with `phrases.key_normalize`, each moved (at most a tritone) to C major or
    A minor by its Krumhansl-Schmuckler key, so there is one scale to learn instead of 24."""
    return [transpose_to_key(p, HOME_KEY) for p in pieces] if config.phrases.key_normalize else pieces


def make_dataset(pieces: list[Piece], representation: Representation, config: GANConfig, seed: int, *,
                 train: bool, augment: bool = False) -> PhraseDataset:
    """Training phrases (`train`: one every `phrases.hop` bars), or validation phrases (side by side, at most
    `phrases.max_valid`, spread over the pieces); transposed at random when `augment` (not key-normalised)."""
    rep = pianoroll_representation(representation)
    bar = rep.steps_per_bar
    steps = config.bars * bar
    pieces = learnt_pieces(pieces, config)
    tables = [rep.note_table(p) for p in pieces if rep.fits_meter(p)]
    hop = config.phrases.hop * bar if train else steps
    starts = []
    for i, table in enumerate(tables):
        end = int(table[:, 2].max()) if len(table) else 0
        for start in range(0, max(end - steps + bar, 1), hop):  # a phrase may end with up to a bar of silence
            if len(table) and ((table[:, 1] < start + steps) & (table[:, 2] > start)).any():
                starts.append((i, start))
    if not train and len(starts) > config.phrases.max_valid:
        keep = np.linspace(0, len(starts) - 1, config.phrases.max_valid).round().astype(int)
        starts = [starts[k] for k in keep]
    log.info("gan: %d phrases of %d bars from %d pieces", len(starts), config.bars, len(tables))
    transpose = config.phrases.transpose if augment else 0  # 0 when key-normalised (GANConfig checks)
    return PhraseDataset(tables, starts, rep, steps, transpose, seed)


def build_model(config: GANConfig, representation: Representation) -> GANModel:
    """The GAN for this representation's tracks, grid and pitch range."""
    return GANModel(config, representation)


FAMILY = Family(
    name="gan",
    config_class=GANConfig,
    representation={"kind": "pianoroll", "steps_per_beat": 4},
    build_model=build_model,
    make_dataset=make_dataset,
    generate=generate,
    supported_controls=CONTROLS,
    afterwards=AFTERWARDS,
    refused=REFUSED,
    limits={"time_signature": "its grid's metre", "key": "runs that learnt one home key"},
    train_step=train_step,
    fit_pieces=learnt_pieces,
)
