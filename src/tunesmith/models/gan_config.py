"""The GAN's settings, in sections ([model.generator], [model.gates], [model.critic], [model.phrases]), and the
key that key-normalised runs learn in: what the family, its networks and its sampler all read.

The piano-roll's grid, tracks and pitches are not settings: they come from the representation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from tunesmith.config import at_least, between, require
from tunesmith.theory import Key

HOME_KEY = Key(0, "major")  # where key-normalised runs learn (minor pieces: A minor, the same scale)


@dataclass(frozen=True)
class GeneratorSettings:
    """[model.generator]: the generator's size and learning rate, its moving average, how it chooses pitches."""

    latent_dim: int = 32  # size of each of the four latents (shared/track x static/temporal)
    channels: int = 64
    lr: float = 1e-3  # peak rate at the training's default lr (a different lr scales it and the critic's alike)
    ema_decay: float = 0.995  # sampling reads the moving average of the generator
    pitch_steps: int = 2  # steps sharing one choice of pitches (1: every step chooses its own)

    def __post_init__(self) -> None:
        at_least("generator.latent_dim", self.latent_dim, 1)
        at_least("generator.channels", self.channels, 4)
        require(self.lr > 0, "generator.lr", f"must be above 0 (got {self.lr})")
        between("generator.ema_decay", self.ema_decay, 0.0, 1.0)
        at_least("generator.pitch_steps", self.pitch_steps, 1)


@dataclass(frozen=True)
class GateSettings:
    """[model.gates]: whether a track sounds, decided apart from which pitches it would play."""

    track: bool = True  # a per-step sound gate and strike per track, shared by its pitches (and a learnt bias
    # per place in the bar)
    steps: int = 1  # steps sharing one decision of whether a track sounds
    voice_limit: bool = False  # a one-voice track (a melody, a chorale voice) plays its likeliest pitch when open
    bar: bool = False  # per track and bar, a gate from its latents decides whether it plays at all (whole-bar
    # rests), started so that the tracks rest in as many bars as the first batch's
    learn_bar: bool = True  # false: the bar gates keep their start (each track rests as often as in the corpus)

    def __post_init__(self) -> None:
        at_least("gates.steps", self.steps, 1)
        require(self.track or self.steps == 1, "gates.steps", "needs gates.track = true (it groups the track gates)")
        require(self.track or not self.voice_limit, "gates.voice_limit",
                "needs gates.track = true (a one-voice track could never rest)")
        require(self.bar or self.learn_bar, "gates.learn_bar", "= false needs gates.bar = true")


@dataclass(frozen=True)
class CriticSettings:
    """[model.critic]: the WGAN-GP critic."""

    channels: int = 32
    steps: int = 2  # critic updates per generator update
    lr: float = 1e-3
    gp_weight: float = 10.0  # weight of the gradient penalty
    velocity_weight: float = 3.0  # how much velocity counts, against notes, in the critic's distance

    def __post_init__(self) -> None:
        at_least("critic.channels", self.channels, 1)
        at_least("critic.steps", self.steps, 1)
        require(self.lr > 0, "critic.lr", f"must be above 0 (got {self.lr})")
        at_least("critic.gp_weight", self.gp_weight, 0.0)
        at_least("critic.velocity_weight", self.velocity_weight, 0.0)


@dataclass(frozen=True)
class PhraseSettings:
    """[model.phrases]: the training and validation phrases, and the key they are learnt in."""

    hop: int = 1  # bars between the starts of neighbouring training phrases
    max_valid: int = 256  # validation phrases at most, spread over the pieces
    condition_prob: float = 0.5  # share of training phrases given one real track to accompany
    key_normalize: bool = True  # learn every piece moved to C major / A minor; `generate --key` moves it back
    transpose: int = 0  # without key_normalize: random transposition of training phrases, up to this many semitones

    def __post_init__(self) -> None:
        at_least("phrases.hop", self.hop, 1)
        at_least("phrases.max_valid", self.max_valid, 1)
        between("phrases.condition_prob", self.condition_prob, 0.0, 1.0)
        between("phrases.transpose", self.transpose, 0, 11)
        require(not (self.key_normalize and self.transpose), "phrases.transpose",
                "does nothing with phrases.key_normalize = true (every piece is moved to C major or A minor)")


@dataclass(frozen=True)
class GANConfig:
    """Settings of the GAN family."""

    bars: int = 4  # bars per phrase
    phrase_drift: float = 0.5  # how far the latents move from one phrase to the next in long pieces
    generator: GeneratorSettings = field(default_factory=GeneratorSettings)
    gates: GateSettings = field(default_factory=GateSettings)
    critic: CriticSettings = field(default_factory=CriticSettings)
    phrases: PhraseSettings = field(default_factory=PhraseSettings)

    # config.json format 1 (one flat [model] table) -> where each setting is now
    MOVED: ClassVar[dict[str, str]] = {
        "latent_dim": "generator.latent_dim", "generator_channels": "generator.channels",
        "generator_lr": "generator.lr", "ema_decay": "generator.ema_decay", "pitch_steps": "generator.pitch_steps",
        "track_gates": "gates.track", "gate_steps": "gates.steps", "voice_limit": "gates.voice_limit",
        "bar_gates": "gates.bar", "learn_bar_gates": "gates.learn_bar",
        "critic_channels": "critic.channels", "critic_steps": "critic.steps", "critic_lr": "critic.lr",
        "gp_weight": "critic.gp_weight", "velocity_weight": "critic.velocity_weight",
        "phrase_hop": "phrases.hop", "max_valid_phrases": "phrases.max_valid",
        "condition_prob": "phrases.condition_prob", "key_normalize": "phrases.key_normalize",
        "transpose": "phrases.transpose",
    }
    # settings taken out (they did not help; docs/experiments.md) -> the value every run has now
    REMOVED: ClassVar[dict[str, Any]] = {"metre_start": False, "single_strikes": False, "critic_bar_summary": False}

    def __post_init__(self) -> None:
        at_least("bars", self.bars, 1)
        between("phrase_drift", self.phrase_drift, 0.0, 1.0)
