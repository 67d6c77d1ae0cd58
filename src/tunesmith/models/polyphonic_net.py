"""The polyphonic frame model's settings and networks: what every frame network shares (`FrameModel`: the loss
and the sampling loop) and the LSTM-NADE (`PolyphonicModel`), an LSTM over 88-key frames with an autoregressive
output over the keys, so the notes of a frame are modelled jointly, key by key from low to high (as RNN-NADE,
Boulanger-Lewandowski et al. 2012).

p(frame_t | frames_<t) = prod_i p(x_ti | x_t,<i, h_t). The output is a masked autoencoder (MADE, Germain
et al. 2015) plus direct lower-triangular key-to-key weights: one pass gives every key's logit from the
keys below it, which costs two matrix products per frame instead of NADE's 88 hidden vectors. Its
biases depend on the LSTM state h_t and, through a linear skip, on the previous frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.config import at_least, between, one_of, require
from tunesmith.representations.frames import KEYS

ARCHITECTURES = ("lstm-nade", "tied")


@dataclass(frozen=True)
class TiedSettings:
    """[model.tied]: the pitch-tied network's own settings (architecture = "tied", polyphonic_tied.py)."""

    window_keys: int = 12  # each key reads the previous frame this many keys either side
    key_embed: int = 8  # size of the learned embedding of each key's register

    def __post_init__(self) -> None:
        at_least("tied.window_keys", self.window_keys, 1)
        at_least("tied.key_embed", self.key_embed, 0)


@dataclass(frozen=True)
class PolyphonicConfig:
    """Settings of the polyphonic frame model and of its training windows."""

    # "lstm-nade": one LSTM over whole frames and a MADE output (PolyphonicModel); "tied": the same small LSTM and
    # output at every key, reading the music relative to it (polyphonic_tied.py); there `hidden` is the per-key
    # LSTM and `made_hidden` the per-key output layer
    architecture: str = "lstm-nade"
    hidden: int = 256  # LSTM units
    layers: int = 1  # LSTM layers
    made_hidden: int = 512  # hidden units of the masked autoregressive output
    dropout: float = 0.3  # on the LSTM output (and between LSTM layers)
    input_dropout: float = 0.0  # drops whole notes of the frames the LSTM reads
    transpose: int = 6  # random whole-piece shifts of up to this many semitones at training time; 0 = strict
    window: int = 200  # frames per training example (long pieces are cut into windows)
    # scoring only: the likelihood of the mixture of this network read in every transposition from -n to +n
    # semitones (a test-time transposition ensemble; see polyphonic_score.transposition_mixture); 0 = alone
    mixture_transpositions: int = 0
    tied: TiedSettings = field(default_factory=TiedSettings)

    # config.json format 1 (one flat [model] table) -> where each setting is now
    MOVED: ClassVar[dict[str, str]] = {"window_keys": "tied.window_keys", "key_embed": "tied.key_embed"}

    def __post_init__(self) -> None:
        one_of("architecture", self.architecture, ARCHITECTURES)
        for name in ("hidden", "layers", "made_hidden", "window"):
            at_least(name, getattr(self, name), 1)
        for name in ("dropout", "input_dropout"):
            value = getattr(self, name)
            require(0 <= value < 1, name, f"must be at least 0 and below 1 (got {value})")
        between("transpose", self.transpose, 0, 87)
        at_least("mixture_transpositions", self.mixture_transpositions, 0)


class FrameModel(nn.Module):
    """What every polyphonic network shares: the loss and the sampling loop. Subclasses give `frame_nll`,
    `step` (one frame of the time model) and `sample_frame` (one frame, key by key from the lowest)."""

    config: PolyphonicConfig

    def frame_nll(self, rolls: torch.Tensor) -> torch.Tensor:
        """-log p(frame_t | frames_<t) in nats for every frame: rolls [B, T, 88] -> [B, T]."""
        raise NotImplementedError

    def step(self, previous: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One frame of the time model: previous frames [num, 88] -> (its output for the frame, state)."""
        raise NotImplementedError

    def sample_frame(self, h: torch.Tensor, previous: torch.Tensor, generator: torch.Generator,
                     temperature: float, allowed: list[bool] | None = None) -> torch.Tensor:
        """One frame [num, 88], key by key from the lowest, from `step`'s output and the previous frame; a key
        not `allowed` stays silent (and the keys above it are drawn knowing so)."""
        raise NotImplementedError

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean NLL per scored frame of a padded batch {"rolls": [B, T, 88], "weights": [B, T]}."""
        rolls, weights = batch["rolls"].float(), batch["weights"].float()
        nll = self.frame_nll(rolls) * weights  # [B, T]
        count = weights.sum().clamp(min=1)
        loss = nll.sum() / count
        return loss, {"nll_per_frame": float(loss.detach()), "count": float(count)}

    @torch.no_grad()
    def sample(self, frames: int, generator: torch.Generator, num: int = 1, temperature: float = 1.0,
               primer: torch.Tensor | None = None, allowed: list[bool] | None = None) -> torch.Tensor:
        """Sample `num` rolls of `frames` frames [num, frames, 88], continuing `primer` [P, 88] if given, with
        only the `allowed` keys (all when None) sounding in the new frames."""
        device = next(self.parameters()).device
        out = torch.zeros(num, frames, KEYS, device=device)
        start = 0
        if primer is not None and len(primer):
            start = min(len(primer), frames)
            out[:, :start] = primer[:start].to(device).float()
        state, previous = None, torch.zeros(num, KEYS, device=device)
        for t in range(frames):
            h, state = self.step(previous, state)
            if t >= start:
                out[:, t] = self.sample_frame(h, previous, generator, temperature, allowed)
            previous = out[:, t]
        return out


class PolyphonicModel(FrameModel):
    """LSTM over frames + masked autoregressive output over the 88 keys of each frame; computes its own loss."""

    mask_in: torch.Tensor  # buffers (register_buffer)
    mask_out: torch.Tensor
    mask_direct: torch.Tensor

    def __init__(self, config: PolyphonicConfig):
        super().__init__()
        self.config = config
        h, n = config.hidden, config.made_hidden
        self.lstm = nn.LSTM(KEYS, h, config.layers, batch_first=True,
                            dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.key_bias = nn.Linear(h, KEYS)  # key biases b(h_t)
        self.hidden_bias = nn.Linear(h, n)  # hidden biases c(h_t)
        self.skip = nn.Linear(KEYS, KEYS, bias=False)  # previous frame -> key biases
        self.w_in = nn.Parameter(torch.randn(n, KEYS) * 0.05)  # keys -> hidden (masked)
        self.w_out = nn.Parameter(torch.randn(KEYS, n) * 0.05)  # hidden -> keys (masked)
        self.direct = nn.Parameter(torch.zeros(KEYS, KEYS))  # key k -> key i for k < i (masked)
        nn.init.zeros_(self.skip.weight)
        # MADE degrees: hidden unit j sees keys 0..degree_j-1; key i's logit sees hidden units with degree_j <= i
        degree = 1 + torch.arange(n) * (KEYS - 1) // n  # [N] in 1..87
        self.register_buffer("mask_in", (torch.arange(KEYS)[None, :] < degree[:, None]).float(), persistent=False)
        self.register_buffer("mask_out", (degree[None, :] <= torch.arange(KEYS)[:, None]).float(), persistent=False)
        self.register_buffer("mask_direct", torch.tril(torch.ones(KEYS, KEYS), -1), persistent=False)

    def context(self, rolls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """LSTM states and previous frames for predicting each frame: rolls [B, T, 88] -> ([B, T, H], [B, T, 88])."""
        previous = torch.cat([rolls.new_zeros(rolls.shape[0], 1, KEYS), rolls[:, :-1]], dim=1)  # [B, T, 88]
        inputs = previous
        if self.training and self.config.input_dropout > 0:
            inputs = inputs * (torch.rand_like(inputs) >= self.config.input_dropout)
        states, _ = self.lstm(inputs)  # [B, T, H]
        return self.drop(states), previous

    def key_logits(self, states: torch.Tensor, previous: torch.Tensor, rolls: torch.Tensor) -> torch.Tensor:
        """Logit of every key given the keys below it in the true frame: [B, T, 88]."""
        hidden = torch.sigmoid(self.hidden_bias(states) + rolls @ (self.w_in * self.mask_in).T)  # [B, T, N]
        return (self.key_bias(states) + self.skip(previous)  # [B, T, 88]
                + hidden @ (self.w_out * self.mask_out).T + rolls @ (self.direct * self.mask_direct).T)

    def frame_nll(self, rolls: torch.Tensor) -> torch.Tensor:
        """-log p(frame_t | frames_<t) in nats for every frame: rolls [B, T, 88] -> [B, T]."""
        states, previous = self.context(rolls)
        logits = self.key_logits(states, previous, rolls)
        return F.binary_cross_entropy_with_logits(logits, rolls, reduction="none").sum(-1)  # [B, T]

    def step(self, previous: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One frame of the LSTM: previous frames [num, 88] -> (h [num, H], state)."""
        h, state = self.lstm(previous.unsqueeze(1), state)
        return h[:, 0], state

    def sample_frame(self, h: torch.Tensor, previous: torch.Tensor, generator: torch.Generator,
                     temperature: float, allowed: list[bool] | None = None) -> torch.Tensor:
        """One frame, key by key from the lowest: h [num, H], previous [num, 88] -> [num, 88]."""
        states, previous = h.unsqueeze(1), previous.unsqueeze(1)  # [num, 1, H], [num, 1, 88]
        frame = torch.zeros_like(previous)  # [num, 1, 88]
        for i in range(KEYS):  # key i's logit depends only on keys < i, which are already drawn
            if allowed is not None and not allowed[i]:
                continue
            logit = self.key_logits(states, previous, frame)[:, 0, i]  # [num]
            prob = torch.sigmoid(logit / temperature)
            frame[:, 0, i] = (torch.rand(prob.shape, generator=generator, device=prob.device) < prob).float()
        return frame[:, 0]
