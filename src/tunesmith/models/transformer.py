"""The Transformer family: a decoder-only, pre-norm token language model (Music Transformer-class).

Rotary positions (Su et al. 2021, "RoFormer") make attention depend only on how far apart two events
are, so a sliding key/value cache of `window` events generates pieces of any length; tied input/output
embeddings (Press & Wolf 2017); dropout on the embeddings and the residual stream.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tunesmith.config import at_least, require
from tunesmith.errors import TunesmithError
from tunesmith.models.rotary import apply_rotary, rotary_tables
from tunesmith.models.token_lm import TokenLM, token_family
from tunesmith.models.transformer_decode import LOOKAHEAD, Decoder, KVCache


@dataclass(frozen=True)
class TransformerConfig:
    """Settings of the Transformer family (the vocabulary is the tokenizer's)."""

    layers: int = 4
    width: int = 256  # model dimension
    heads: int = 4
    ff_mult: int = 4  # feed-forward width = ff_mult * width
    dropout: float = 0.1
    tie_embeddings: bool = True
    window: int = 512  # training window in tokens; also the attention span when generating
    rope_base: float = 10000.0
    pitch_features: bool = True  # Pitch tokens also embed fixed pitch-class and height features

    def __post_init__(self) -> None:
        for name in ("layers", "width", "heads", "ff_mult"):
            at_least(name, getattr(self, name), 1)
        at_least("window", self.window, 2)
        require(0 <= self.dropout < 1, "dropout", f"must be at least 0 and below 1 (got {self.dropout})")
        require(self.width % self.heads == 0 and (self.width // self.heads) % 2 == 0, "width",
                f"must split into {self.heads} heads of an even size (got {self.width})")


class SelfAttention(nn.Module):
    """Causal multi-head attention with rotary positions and an optional key/value cache."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.out = nn.Linear(config.width, config.width)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None,
                cache: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # each [B, H, t, d]
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)  # [B, H, S, d]
            v = torch.cat([cache[1], v], dim=2)
        # no dropout on the attention weights: it forces PyTorch's slow CPU attention path (dropout stays
        # on the residual stream)
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)  # [B, H, t, d]
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).reshape(b, t, c)  # [B, t, C]
        return self.out(y), (k, v)


class Block(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(config.width)
        self.attn = SelfAttention(config)
        self.norm2 = nn.LayerNorm(config.width)
        self.mlp = nn.Sequential(nn.Linear(config.width, config.ff_mult * config.width), nn.GELU(),
                                 nn.Linear(config.ff_mult * config.width, config.width))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, cos, sin, mask, cache):
        h, cache = self.attn(self.norm1(x), cos, sin, mask, cache)
        x = x + self.drop(h)  # [B, t, C]
        x = x + self.drop(self.mlp(self.norm2(x)))
        return x, cache


VERSION = operator.attrgetter("_version")  # a tensor's count of in-place changes
PREFILL_GROUPS = 4  # calls `prefill` reads its rows in at most (rows of near lengths together)


class TokenTransformer(TokenLM):
    """Embedding -> pre-norm blocks -> final norm -> (tied) output projection.

    The generation state is (position of the next token, per-layer KVCache of the last `window` events and
    `LOOKAHEAD` more); each new event attends to itself and the `window - 1` events before it, as in
    training. The state is updated in place by `step`.
    """

    def __init__(self, config: TransformerConfig, vocab_size: int, pad_id: int = 0, pitches: Any = None):
        super().__init__()
        self.config, self.pad_id = config, pad_id
        self.context = config.window
        self.embed = nn.Embedding(vocab_size, config.width)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, vocab_size, bias=False)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("out.weight") or name.endswith("mlp.2.weight"):  # GPT-2's scaled residual init
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.layers))
        if config.tie_embeddings:
            self.head.weight = self.embed.weight
        self._add_pitch_features(pitches)

    def _rotary(self, start: int, t: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin of positions start..start+t-1, from tables grown by doubling (not saved)."""
        tables = getattr(self, "_tables", None)
        if tables is None or tables[0].shape[0] < start + t or tables[0].device != device:
            positions = torch.arange(max(2 * (start + t), 2 * self.context), device=device)
            self._tables = rotary_tables(positions, self.config.width // self.config.heads, self.config.rope_base)
        cos, sin = self._tables
        return cos[start:start + t], sin[start:start + t]

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor, state: Any = None, padding: torch.Tensor | None = None,
                last: bool = False) -> tuple[torch.Tensor, Any]:
        """Logits [B, t, V] (`last`: only after the last event, [B, 1, V]) and the state after `tokens` [B, t];
        `padding` [B, t] (without a state) marks the ids that pad rows on the left, which no event attends to."""
        b, t = tokens.shape
        start, caches = (0, [None] * len(self.blocks)) if state is None else state
        positions = torch.arange(start, start + t, device=tokens.device)
        cos, sin = self._rotary(start, t, tokens.device)
        caches = [self._past(c) for c in caches]
        past = 0 if caches[0] is None else caches[0][0].shape[2]
        mask = None
        if (past and t > 1) or past + t > self.context or padding is not None:  # `context` events up to each query
            keys = torch.arange(start - past, start + t, device=tokens.device)
            gap = positions[:, None] - keys[None, :]  # [t, S]
            mask = (gap >= 0) & (gap < self.context)
            if padding is not None:  # a padding id attends to itself alone (what it gives is not read)
                mask = (mask & ~padding[:, None, None, :]) | torch.eye(t, dtype=torch.bool, device=tokens.device)
        embed, head = self._embeddings()
        x = self.drop(F.embedding(tokens, embed))  # [B, t, C]
        new = []
        for block, cache in zip(self.blocks, caches, strict=True):
            x, (k, v) = block(x, cos, sin, mask, cache)
            if not self.training:
                new.append(KVCache(k, v, self.context + LOOKAHEAD))
        logits = F.linear(self.norm(x[:, -1:] if last else x), head)  # [B, t, V]
        return logits, (start + t, new if not self.training else None)

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The input and output embedding matrices [V, C] (the same one when tied)."""
        token = self.token_weight()
        return token, token if self.config.tie_embeddings else self.head.weight

    def _past(self, cache: KVCache | tuple | None) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The `window - 1` latest keys and values of a cache, oldest first."""
        if cache is None:
            return None
        if isinstance(cache, KVCache) and cache.blocked is not None:
            raise TunesmithError("a cache with padded rows is read by the numpy decoder only (`verify`)")
        k, v = cache.ordered() if isinstance(cache, KVCache) else cache
        return k[:, :, -(self.context - 1):], v[:, :, -(self.context - 1):]

    def decode_key(self) -> tuple:
        """Changes when a parameter or buffer changes in place (an optimizer step, a load) or moves. Changes
        that bypass the version counts (`.data`, fused optimizers) happen in training: leaving training mode,
        loading a state dict or moving the model drops the decoder too."""
        tensors = self.__dict__.get("_tensors") or self.__dict__.setdefault(
            "_tensors", [*self.parameters(), *self.buffers()])
        return tensors[0].data_ptr(), tensors[0].device, sum(map(VERSION, tensors))

    def forget_decoder(self) -> None:
        self.__dict__.pop("_decoder_cache", None)
        self.__dict__.pop("_tensors", None)

    def train(self, mode: bool = True) -> TokenTransformer:
        self.forget_decoder()
        return super().train(mode)

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> TokenTransformer:  # .to(), .float(), ...
        self.forget_decoder()
        return super()._apply(fn, *args, **kwargs)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        self.forget_decoder()
        return super().load_state_dict(*args, **kwargs)

    def _decoder(self) -> Decoder:
        decoder = self.__dict__.get("_decoder_cache")
        if decoder is None or decoder.key != self.decode_key():
            if not self.guessing:  # a move or a change of dtype drops the decoder (_apply): checked here once
                raise TunesmithError("the numpy decoder takes a float32 model on a CPU")
            decoder = self._decoder_cache = Decoder(self)
        return decoder

    @property
    def guessing(self) -> bool:
        """Whether `verify` takes several events at once (the numpy decoder: float32 on a CPU)."""
        weight = self.embed.weight
        return weight.device.type == "cpu" and weight.dtype == torch.float32

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """New events [B, t] after a state: the logits of the next event [B, V] and the new state."""
        if state is None or self.training or tokens.shape[1] >= LOOKAHEAD or not self.guessing:
            logits, state = self(tokens, state, last=True)  # the logits of the events before are not read
            return logits[:, -1], state
        logits, pending = self.verify(tokens, state)
        return logits[:, -1], self.commit(pending, tokens.shape[1])

    @torch.no_grad()
    def prefill(self, rows: list[list[int]]) -> tuple[torch.Tensor, Any] | None:
        """The rows read together, ending together: padded on the left (rotary attention sees only the
        distances between events), the caches hiding the padding (`KVCache.blocked`) until the ring writes over
        it. Rows of near lengths are read in one call (PREFILL_GROUPS calls at most, the rows sorted by
        length), so a long row does not make every row pad to it. For the numpy decoder."""
        if self.training or not self.guessing:
            return None
        end, device = max(map(len, rows)), self.embed.weight.device
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
        groups = [g for g in np.array_split(np.array(order), min(PREFILL_GROUPS, len(rows))) if len(g)]
        logits: torch.Tensor | None = None
        keys: list[list[torch.Tensor]] = [[] for _ in self.blocks]
        values: list[list[torch.Tensor]] = [[] for _ in self.blocks]
        for group in groups:
            longest = max(len(rows[r]) for r in group)
            tokens = torch.full((len(group), longest), self.pad_id, device=device)
            padding = torch.ones(len(group), longest, dtype=torch.bool, device=device)
            for i, r in enumerate(group):
                tokens[i, longest - len(rows[r]):] = torch.tensor(rows[r])
                padding[i, longest - len(rows[r]):] = False
            out, (_, caches) = self(tokens, (end - longest, [None] * len(self.blocks)), padding, last=True)
            if logits is None:
                logits = out.new_empty(len(rows), out.shape[-1])
            logits[torch.as_tensor(group, device=device)] = out[:, -1]
            for layer, cache in enumerate(caches):
                k, v = cache.ordered()
                keys[layer].append(k)
                values[layer].append(v)
        capacity = self.context + LOOKAHEAD
        held = min(end, capacity)  # the events the caches keep, each row's latest at the right
        place = torch.as_tensor(np.concatenate(groups), device=device)
        merged = []
        for k_parts, v_parts in zip(keys, values, strict=True):
            k = k_parts[0].new_zeros(len(rows), *k_parts[0].shape[1:2], held, k_parts[0].shape[3])
            v = torch.zeros_like(k)
            k[place] = torch.cat([F.pad(part, (0, 0, held - part.shape[2], 0)) for part in k_parts])
            v[place] = torch.cat([F.pad(part, (0, 0, held - part.shape[2], 0)) for part in v_parts])
            merged.append(KVCache(k, v, capacity))
        lengths = np.array([len(row) for row in rows])
        if (lengths < held).any():
            blocked = np.zeros((len(rows), capacity), np.float32)
            blocked[:, :held][np.arange(held)[None, :] < (held - lengths)[:, None]] = -np.inf
            for cache in merged:
                cache.blocked = blocked.copy()
        assert logits is not None  # rows is not empty
        return logits, (end, merged)

    def verify(self, tokens: torch.Tensor | np.ndarray, state: Any) -> tuple[torch.Tensor, Any]:
        """The logits [B, t, V] after each of a few new events [B, t] that follow a cached state, and a
        pending state: `commit(pending, n)` keeps the first n of the events (a speculative sampler keeps the
        guesses that came true). On a CPU, in numpy (transformer_decode.py), so no gradients are kept."""
        start, caches = state
        t = tokens.shape[1]
        if t >= LOOKAHEAD:
            raise TunesmithError(f"verify takes fewer than {LOOKAHEAD} events at once (got {t})")
        logits = self._decoder().decode(np.asarray(tokens), start, caches)
        return torch.from_numpy(logits), (start, caches, t)

    def select_rows(self, state: Any, rows: list[int]) -> Any:
        start, caches = state
        if not all(isinstance(cache, KVCache) for cache in caches):
            return None
        return start, [cache.select(rows) for cache in caches]

    @staticmethod
    def commit(pending: Any, n: int) -> Any:
        """The state after the first `n` of the events given to `verify`."""
        start, caches, t = pending
        if n < t:
            for cache in caches:
                cache.rewind(t - n)
        return start + n, caches


FAMILY = token_family("transformer", TransformerConfig, TokenTransformer)
