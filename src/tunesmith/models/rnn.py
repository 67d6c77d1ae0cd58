"""The RNN family: an LSTM or GRU token language model (MelodyRNN/PerformanceRNN-class)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from tunesmith.config import at_least, one_of, require
from tunesmith.models.token_lm import TokenLM, token_family


@dataclass(frozen=True)
class RNNConfig:
    """Settings of the RNN family (the vocabulary is the tokenizer's)."""

    cell: str = "lstm"  # lstm | gru
    layers: int = 2
    width: int = 256  # sized so the demo trains several epochs of the chorales in 5 minutes on 2 cores
    embedding: int = 128
    dropout: float = 0.1
    tie_embeddings: bool = True
    window: int = 256  # training window in tokens
    pitch_features: bool = False  # Pitch tokens also embed fixed pitch-class and height features

    def __post_init__(self) -> None:
        one_of("cell", self.cell, ("lstm", "gru"))
        for name in ("layers", "width", "embedding", "window"):
            at_least(name, getattr(self, name), 1)
        require(0 <= self.dropout < 1, "dropout", f"must be at least 0 and below 1 (got {self.dropout})")


class TokenRNN(TokenLM):
    """Embedding -> stacked LSTM/GRU -> (tied) output projection."""

    def __init__(self, config: RNNConfig, vocab_size: int, pad_id: int = 0, pitches: Any = None):
        super().__init__()
        self.config, self.pad_id = config, pad_id
        self.embed = nn.Embedding(vocab_size, config.embedding, padding_idx=pad_id)
        rnn = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn(config.embedding, config.width, num_layers=config.layers, batch_first=True,
                       dropout=config.dropout if config.layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        # tying needs the last hidden size to equal the embedding size: project down first
        self.proj = nn.Linear(config.width, config.embedding) if config.tie_embeddings else None
        self.head = nn.Linear(config.embedding if config.tie_embeddings else config.width, vocab_size)
        if config.tie_embeddings:
            self.head.weight = self.embed.weight
        self._add_pitch_features(pitches)

    def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        weight = self.token_weight()
        x = self.drop(F.embedding(tokens, weight, self.pad_id))  # [B, T, E]
        h, state = self.rnn(x, state)  # [B, T, W]
        return self._logits(self.drop(h), weight), state

    def _logits(self, h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        if self.proj is None:  # untied
            return self.head(h)  # [B, T, V]
        return F.linear(self.proj(h), weight, self.head.bias)  # tied: through the embedding size

    @torch.no_grad()
    def prefill(self, rows: list[list[int]]) -> tuple[torch.Tensor, Any] | None:
        """The rows in one call, packed (each row's state is taken after its own last token)."""
        weight = self.token_weight()
        lengths = torch.tensor([len(row) for row in rows])
        padded = pad_sequence([torch.tensor(row) for row in rows], batch_first=True, padding_value=self.pad_id)
        x = F.embedding(padded.to(weight.device), weight, self.pad_id)
        h, state = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        h, _ = pad_packed_sequence(h, batch_first=True)  # [B, T, W]
        return self._logits(h[torch.arange(len(rows)), lengths - 1], weight), state

    def select_rows(self, state: Any, rows: list[int]) -> Any:
        return tuple(part[:, rows] for part in state) if isinstance(state, tuple) else state[:, rows]


FAMILY = token_family("rnn", RNNConfig, TokenRNN)
