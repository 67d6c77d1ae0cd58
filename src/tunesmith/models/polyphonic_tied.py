"""Pitch-tied polyphonic frame model: the same small network at every key, reading the music relative to
that key, so what it learns in one key holds in all of them (transposition equivariance built into the
weights instead of taught by transposed copies of the data; after Johnson 2017's tied parallel networks).

- Time axis: one LSTM per key, weights shared by all 88, reading from the previous frame the keys within
  `tied.window_keys` of its own, the previous frame's notes counted by pitch class relative to its key, and a
  small learned embedding of the key itself (the register: the one thing that is not shared).
- Key axis: p(frame_t | frames_<t) = prod_i p(x_ti | x_t,<i, frames_<t), as in RNN-NADE. Key i's logit
  comes from a shared MLP given its LSTM state and, from the frame being predicted, the keys just below
  it and the notes below it counted by pitch class relative to it. Every key's logit depends only on
  lower keys of its frame, so the whole frame is scored in one parallel pass.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.models.polyphonic_net import FrameModel, PolyphonicConfig
from tunesmith.representations.frames import KEYS

CLASSES = 12
# RELATIVE[k, j] = the absolute pitch class at interval j above key k
RELATIVE = (torch.arange(KEYS)[:, None] + torch.arange(CLASSES)[None, :]) % CLASSES
ONE_HOT = F.one_hot(torch.arange(KEYS) % CLASSES, CLASSES).float()  # [88, 12]


def around(x: torch.Tensor, width: int) -> torch.Tensor:
    """Each key's neighbourhood x[k - width .. k + width]: [..., 88] -> [..., 88, 2 * width + 1], zero-padded."""
    return F.pad(x, (width, width)).unfold(-1, 2 * width + 1, 1)


def below(x: torch.Tensor, width: int) -> torch.Tensor:
    """The `width` keys under each key, x[k - width .. k - 1]: [..., 88] -> [..., 88, width], zero-padded."""
    return F.pad(x, (width, 0))[..., :-1].unfold(-1, width, 1)


def relative_classes(counts: torch.Tensor) -> torch.Tensor:
    """Counts by absolute pitch class [..., 88, 12] (per key) -> by interval above each key [..., 88, 12]."""
    index = RELATIVE.to(counts.device).expand(*counts.shape[:-2], KEYS, CLASSES)
    return counts.gather(-1, index)


class TiedPolyphonicModel(FrameModel):
    """Shared per-key LSTM over time and a shared per-key autoregressive output."""

    one_hot: torch.Tensor  # buffer (register_buffer): ONE_HOT on the model's device

    def __init__(self, config: PolyphonicConfig):
        super().__init__()
        self.config = c = config
        width, embed = c.tied.window_keys, c.tied.key_embed
        self.register_buffer("one_hot", ONE_HOT.clone(), persistent=False)
        self.key_embed = nn.Embedding(KEYS, embed)
        self.lstm = nn.LSTM(2 * width + 1 + CLASSES + embed, c.hidden, c.layers, batch_first=True,
                            dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        self.out = nn.Sequential(
            nn.Linear(c.hidden + 2 * width + CLASSES + 1 + embed, c.made_hidden), nn.GELU(),
            nn.Dropout(c.dropout), nn.Linear(c.made_hidden, 1))

    def _keys(self, *shape: int) -> torch.Tensor:
        """The key embedding broadcast to [*shape, 88, E]."""
        return self.key_embed.weight.expand(*shape, KEYS, self.config.tied.key_embed)

    def time_inputs(self, previous: torch.Tensor) -> torch.Tensor:
        """What each key's LSTM reads of the previous frame: [..., 88] -> [..., 88, F]."""
        counts = (previous @ self.one_hot).unsqueeze(-2).expand(*previous.shape, CLASSES)  # [..., 88, 12]
        return torch.cat([around(previous, self.config.tied.window_keys), relative_classes(counts) / 4.0,
                          self._keys(*previous.shape[:-1])], dim=-1)

    def context(self, rolls: torch.Tensor) -> torch.Tensor:
        """Per-key LSTM states for predicting each frame: rolls [B, T, 88] -> [B, T, 88, H]."""
        b, t, _ = rolls.shape
        previous = torch.cat([rolls.new_zeros(b, 1, KEYS), rolls[:, :-1]], dim=1)
        if self.training and self.config.input_dropout > 0:
            previous = previous * (torch.rand_like(previous) >= self.config.input_dropout)
        inputs = self.time_inputs(previous).permute(0, 2, 1, 3).reshape(b * KEYS, t, -1)  # [B*88, T, F]
        states, _ = self.lstm(inputs)
        return self.drop(states.reshape(b, KEYS, t, -1).permute(0, 2, 1, 3))  # [B, T, 88, H]

    def key_logits(self, states: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """Logit of every key given its state [..., 88, H] and the keys below it in `frames` [..., 88]."""
        per_key = frames.unsqueeze(-1) * self.one_hot  # [..., 88, 12]
        under = per_key.cumsum(-2) - per_key  # notes strictly below each key, by absolute class
        features = torch.cat([states, below(frames, 2 * self.config.tied.window_keys),
                              relative_classes(under) / 4.0, under.sum(-1, keepdim=True) / 4.0,
                              self._keys(*frames.shape[:-1])], dim=-1)
        return self.out(features).squeeze(-1)

    def frame_nll(self, rolls: torch.Tensor) -> torch.Tensor:
        """-log p(frame_t | frames_<t) in nats for every frame: rolls [B, T, 88] -> [B, T]."""
        logits = self.key_logits(self.context(rolls), rolls)
        return F.binary_cross_entropy_with_logits(logits, rolls, reduction="none").sum(-1)

    def step(self, previous: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One frame of the per-key LSTMs: previous frames [num, 88] -> (states [num, 88, H], state)."""
        h, state = self.lstm(self.time_inputs(previous).reshape(len(previous) * KEYS, 1, -1), state)
        return h.reshape(len(previous), KEYS, -1), state

    def sample_frame(self, states: torch.Tensor, previous: torch.Tensor, generator: torch.Generator,
                     temperature: float, allowed: list[bool] | None = None) -> torch.Tensor:
        """One frame, key by key from the lowest: states [num, 88, H] -> [num, 88]; a key not `allowed` stays
        silent."""
        frame = torch.zeros_like(previous)
        for i in range(KEYS):  # key i's logit depends only on keys < i, which are already drawn
            if allowed is not None and not allowed[i]:
                continue
            prob = torch.sigmoid(self.key_logits(states, frame)[:, i] / temperature)
            frame[:, i] = (torch.rand(prob.shape, generator=generator, device=prob.device) < prob).float()
        return frame
