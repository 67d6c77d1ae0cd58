"""What every token language model shares: next-token loss, step-by-step sampling state, windows."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.errors import TunesmithError
from tunesmith.models.base import Family
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.representations.windows import TokenWindows, token_windows

# Controls every token language model honours through the shared sampler (tunesmith.generation.sample)
TOKEN_CONTROLS = frozenset({"top_k", "top_p", "key", "scale_lock", "tempo", "time_signature", "instruments",
                            "density", "pitch_range", "velocity", "dynamics", "end_on_tonic", "loopable",
                            "infill", "style", "monophonic", "simple_rhythm", "harmonise"})
TOKEN_REFUSED = {
    "attributes": "it has no latent attribute vectors (the vae has)",
    "variation": "it has no encoder to sample near a primer (the vae has; --primer continues it here)",
    "condition_track": "--harmonise keeps a primer's melody on top here (--condition-track is the gan's)",
    "roll_sampling": "it draws tokens, not a piano-roll (--top-k, --top-p)",
}


PITCH_FEATURES = 21
SLOW_PERIODS = (24, 48, 96, 192)  # semitones: waves that tell pitch heights apart


def pitch_feature_table(pitches: torch.Tensor) -> torch.Tensor:
    """[V, 21] fixed features of each id's MIDI pitch (`pitches` [V], -1 for ids that are not pitches: zero
    rows): the pitch class as six harmonics on the circle of 12 semitones (the fifth's among them), the
    height as four slower waves and a line. Every interval is then the same rotation of these features
    wherever it lies, which a learned projection of them can use from the first step."""
    p = pitches.double()[:, None]
    angles = torch.cat([2 * math.pi * torch.arange(1, 7, dtype=torch.float64) / 12,
                        torch.tensor([2 * math.pi / period for period in SLOW_PERIODS], dtype=torch.float64)])
    table = torch.cat([(p * angles).sin(), (p * angles).cos(), (p - 60) / 24], dim=1).float()
    return table * (pitches >= 0).float()[:, None]


class TokenLM(nn.Module):
    """Base of token models: `forward(tokens, state) -> (logits, state)` plus a shared loss.

    With pitch features (`pitch_features` in the config), each Pitch token's embedding is its learned row
    plus a learned projection of `pitch_feature_table`; a tied output layer reads the same rows, so the
    model's pitch predictions share that structure too.
    """

    pad_id: int
    embed: nn.Embedding

    def __init__(self) -> None:
        super().__init__()
        self.pitch_proj: nn.Linear | None = None

    def _add_pitch_features(self, pitches: Any) -> None:
        """Give Pitch tokens the fixed features of their pitch (`pitches` [V], -1 elsewhere), if any."""
        if pitches is None:
            return
        table = pitch_feature_table(torch.as_tensor(pitches))
        self.register_buffer("pitch_table", table, persistent=False)  # rebuilt from the tokenizer on load
        self.pitch_proj = nn.Linear(PITCH_FEATURES, self.embed.embedding_dim, bias=False)
        nn.init.normal_(self.pitch_proj.weight, std=0.02)

    def token_weight(self) -> torch.Tensor:
        """The token embedding matrix [V, E] the model reads (and, tied, writes its logits with)."""
        if self.pitch_proj is None:
            return self.embed.weight
        return self.embed.weight + self.pitch_proj(self.pitch_table)

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

    def prefill(self, rows: list[list[int]]) -> tuple[torch.Tensor, Any] | None:
        """Rows of different lengths read into one state for all of them: the logits of each row's next token
        [B, V] and that state, or None where the model cannot (its rows are then sampled one at a time)."""
        return None

    def select_rows(self, state: Any, rows: list[int]) -> Any:
        """The state of only these rows of the batch (in this order), or None where the model cannot select
        them (every row is then fed until all have ended)."""
        return None


def token_representation(representation: Representation,
                         model: str = "a token language model") -> TokenRepresentation:
    """`representation` as the tokens one that token models are built on (a one-line error when it is
    another)."""
    if not isinstance(representation, TokenRepresentation):
        raise TunesmithError(f"{model} needs the 'tokens' representation (got {representation.kind!r})")
    return representation


def make_token_dataset(pieces: list[Piece], representation: Representation, config: Any, seed: int = 0, *,
                       train: bool = True, augment: bool = False) -> TokenWindows:
    """Windows of `config.window` tokens (the same for every split); transposed to every playable key when
    `augment`."""
    rep = token_representation(representation)
    return token_windows(pieces, rep, config.window, transpose=augment, seed=seed)


def token_family(name: str, config_class: type, model_class: type) -> Family:
    """The Family of a token language model: REMI tokens, windows, the shared sampler and controls."""

    def build(config: Any, representation: Representation) -> TokenLM:
        # the vocabulary is the tokenizer's (saved beside the run), not a setting
        representation = token_representation(representation, f"the {name} model")
        pitches = representation.pitch_of_token() if getattr(config, "pitch_features", False) else None
        return model_class(config, representation.vocab_size, representation.pad_id, pitches)

    return Family(name=name, config_class=config_class, representation={"kind": "tokens", "tokenization": "REMI"},
                  build_model=build, make_dataset=make_token_dataset, generate=None,
                  supported_controls=TOKEN_CONTROLS, refused=TOKEN_REFUSED)
