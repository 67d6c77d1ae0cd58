"""What every token language model shares: next-token loss, step-by-step sampling state, windows."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.models.base import Family
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.representations.windows import TokenWindows, token_windows

# Controls every token language model honours through the shared sampler (tunesmith.generation.sample)
TOKEN_CONTROLS = frozenset({"top_k", "top_p", "key", "scale_lock", "tempo", "time_signature", "instruments",
                            "density", "pitch_range", "velocity", "dynamics", "end_on_tonic", "loopable",
                            "infill", "style", "monophonic", "simple_rhythm", "harmonise"})


class TokenLM(nn.Module):
    """Base of token models: `forward(tokens, state) -> (logits, state)` plus a shared loss."""

    pad_id: int

    def forward(self, tokens: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:  # pragma: no cover
        raise NotImplementedError

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """Mean next-token cross entropy (nats per token) over the non-PAD targets."""
        tokens = batch["tokens"]  # [B, T+1]
        logits, _ = self(tokens[:, :-1])  # [B, T, V]
        targets = tokens[:, 1:]  # [B, T]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=self.pad_id)
        count = int((targets != self.pad_id).sum())
        return loss, {"nll": float(loss.detach()), "count": count, "tokens": count}

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed new tokens [B, t] after `state`; logits of the next token [B, V] and the new state."""
        logits, state = self(tokens, state)
        return logits[:, -1], state


def make_token_dataset(pieces, representation: TokenRepresentation, config: Any, seed: int = 0,
                       augment: bool = False) -> TokenWindows:
    """Windows of `config.window` tokens; transposed to every playable key when `augment`."""
    return token_windows(pieces, representation, config.window, transpose=augment, seed=seed)


def token_family(name: str, config_class: type, model_class: type, description: str) -> Family:
    """The Family of a token language model: REMI tokens, windows, the shared sampler and controls."""

    def build(config: Any, representation: TokenRepresentation) -> TokenLM:
        config.vocab_size, config.pad_id = representation.vocab_size, representation.pad_id
        return model_class(config)

    return Family(name=name, config_class=config_class, representation={"kind": "tokens", "tokenization": "REMI"},
                  build_model=build, make_dataset=make_token_dataset, generate=None,
                  supported_controls=TOKEN_CONTROLS, description=description)
