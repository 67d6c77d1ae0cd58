"""The Transformer's generation state, and its decoding of a few events at a time on a CPU, in numpy.

Generating one row is a chain of small steps: each step's arithmetic (a few matrix-vector products over
width-128 rows) costs less than the calls that launch it. A PyTorch operator costs 5 to 10 microseconds
to call on this kind of CPU, a numpy one 1 to 2, so `decode` runs the same arithmetic as the model's
forward pass (pre-norm blocks, rotary positions, the attention window) in numpy, on copies of the model's
parameters (made again when one changes) and on the ring caches' own memory.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tunesmith.errors import TunesmithError
from tunesmith.models.rotary import RotationTable

LOOKAHEAD = 8  # events a cached step may take at once; the caches hold this many more than the window
STREAMED = 2 << 20  # bytes of a layer's keys past which they no longer stay in a core's caches between steps


class KVCache:
    """One layer's keys and values of the latest events, in a ring: a new event overwrites the oldest, so a
    step copies one event instead of the whole cache. Rotary positions are already in the keys, so the order
    of the ring does not matter to attention, only each slot's age. Keys are held transposed, [B, H, d,
    capacity], so that a step's queries multiply them as they lie; values as [B, H, capacity, d]. The ring
    holds `LOOKAHEAD` events more than the attention window, so that events written ahead and then taken back
    (`rewind`) only ever overwrite events that have left the window."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, capacity: int):
        b, h, s, d = k.shape
        k, v = k.detach(), v.detach()
        self.keys, self.values = k.new_empty(b, h, d, capacity), v.new_empty(b, h, capacity, d)
        n = min(s, capacity)
        self.keys[..., :n], self.values[:, :, :n] = k[:, :, s - n:].transpose(2, 3), v[:, :, s - n:]
        self.n, self.next, self.size = n, n % capacity, capacity
        cpu = k.device.type == "cpu"  # the numpy views share the tensors' memory
        self.key_array: np.ndarray | None = self.keys.numpy() if cpu else None
        self.value_array: np.ndarray | None = self.values.numpy() if cpu else None
        self.blocked: np.ndarray | None = None  # [B, capacity]: -inf at the slots of a row's padding (prefill)

    def select(self, rows: list[int]) -> KVCache:
        """These rows of the cache (in this order), in a cache of their own: the ring's layout is kept."""
        kept = copy.copy(self)
        kept.keys, kept.values = self.keys[rows], self.values[rows]
        cpu = self.key_array is not None
        kept.key_array, kept.value_array = (kept.keys.numpy(), kept.values.numpy()) if cpu else (None, None)
        kept.blocked = None if self.blocked is None else self.blocked[rows]
        return kept

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The numpy views of the keys and values, which the numpy decoder reads and writes (a cache on a
        CPU has them)."""
        if self.key_array is None or self.value_array is None:
            raise TunesmithError("the numpy decoder takes caches on a CPU")
        return self.key_array, self.value_array

    def ordered(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values oldest first: [B, H, n, d] each."""
        if self.n < self.size:
            return self.keys[..., :self.n].transpose(2, 3), self.values[:, :, :self.n]
        order = torch.cat([torch.arange(self.next, self.n), torch.arange(0, self.next)]).to(self.keys.device)
        return self.keys[..., order].transpose(2, 3), self.values[:, :, order]

    def extend(self, k: np.ndarray, v: np.ndarray) -> None:
        """Add t events' keys [B, H, d, t] and values [B, H, t, d], oldest first (t less than LOOKAHEAD)."""
        t = v.shape[2]
        assert t < LOOKAHEAD, "at most LOOKAHEAD - 1 events at once"
        first = min(t, self.size - self.next)
        keys, values = self.arrays()
        keys[..., self.next:self.next + first] = k[..., :first]
        values[:, :, self.next:self.next + first] = v[:, :, :first]
        if first < t:
            keys[..., :t - first] = k[..., first:]
            values[:, :, :t - first] = v[:, :, first:]
        if self.blocked is not None:
            self.blocked[:, self.next:self.next + first] = 0
            self.blocked[:, :t - first] = 0
        self.next = (self.next + t) % self.size
        self.n = min(self.n + t, self.size)

    def rewind(self, count: int) -> None:
        """Take back the latest `count` events (their slots then count as the oldest of a full ring)."""
        self.next = (self.next - count) % self.size
        if self.n < self.size:
            self.n -= count

    def ages(self, ahead: int = 0) -> np.ndarray:
        """How many events back each held slot was written, in slot order: [n] (1 for the latest), once
        `ahead` more events are written."""
        held = np.arange(min(self.n + ahead, self.size))
        return (self.next + ahead - held - 1) % self.size + 1


class Decoder:
    """Copies, as numpy arrays, of what a step of one Transformer reads, built again when a parameter
    changes (`TokenTransformer.decode_key`). Each layer norm's scale and shift are folded into the matrix
    that reads its output, and the attention's 1/sqrt(d) into the query rows (fewer calls a step); the
    matrices are stored transposed (OpenBLAS multiplies a few rows by a transposed view several times
    slower than by a transposed copy)."""

    def __init__(self, model: Any):
        def folded(norm: torch.nn.LayerNorm, weight: torch.Tensor, bias: torch.Tensor | None,
                   scale: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
            """(matrix [in, out], bias [out]) of `norm` then the linear map (weight [out, in], bias)."""
            weight = weight.detach().float()
            shift = weight @ norm.bias.detach() + (0 if bias is None else bias.detach())
            weight = weight * norm.weight.detach()[None, :]
            if scale is not None:
                weight, shift = weight * scale[:, None], shift * scale
            return np.ascontiguousarray(weight.T.numpy()), shift.numpy()

        def plain(linear: torch.nn.Linear) -> tuple[np.ndarray, np.ndarray]:
            return np.ascontiguousarray(linear.weight.detach().T.numpy()), linear.bias.detach().numpy()

        self.key = model.decode_key()
        width, heads = model.config.width, model.config.heads
        query = torch.ones(3 * width)
        query[:width] = 1 / math.sqrt(width // heads)
        embed, head = model._embeddings()
        self.embed = np.ascontiguousarray(embed.detach().numpy())  # [V, C]
        self.head = folded(model.norm, head, None)  # [C, V], [V]
        self.layers = [(*folded(b.norm1, b.attn.qkv.weight, b.attn.qkv.bias, query), *plain(b.attn.out),
                        *folded(b.norm2, b.mlp[0].weight, b.mlp[0].bias), *plain(b.mlp[2])) for b in model.blocks]
        self.eps, self.heads, self.window = model.norm.eps, heads, model.context
        self.rotations = RotationTable(width // heads, model.config.rope_base, back=LOOKAHEAD)
        self.masks: dict[int, np.ndarray] = {}  # t -> [t, 2 slots]: a full ring's pattern, laid out twice (`hidden`)
        self.filling: dict[tuple, np.ndarray] = {}  # (held, next, t) -> what is hidden while the ring fills

    def normed(self, x: np.ndarray) -> np.ndarray:
        """The rows of `x` [N, C] at mean 0 and variance 1 (one PyTorch call on the same memory costs less
        than the nine numpy ones)."""
        return torch.layer_norm(torch.from_numpy(x), (x.shape[-1],), None, None, self.eps).numpy()

    def hidden(self, cache: KVCache, t: int) -> np.ndarray | None:
        """What to add to the scores [.., t, S] of t new events once written: -inf where an event may not
        look (the events after it, and those that have left its window), else 0; None when each sees all.
        A full ring's pattern only turns with the ring: one is kept per t, twice over, and sliced."""
        size = cache.size
        if t == 1 and cache.n < self.window:
            return None
        if cache.n + t >= size:
            if t not in self.masks:
                once = self._hidden(size - np.arange(size), t)  # the ages when the next slot is 0
                self.masks[t] = np.concatenate([once, once], axis=1)
            turn = (cache.next + t) % size
            return self.masks[t][:, size - turn:2 * size - turn]
        key = (cache.n, cache.next, t)
        if key not in self.filling:
            if len(self.filling) > 2 * size:
                self.filling.clear()
            self.filling[key] = self._hidden(cache.ages(t), t)
        return self.filling[key]

    def _hidden(self, ages: np.ndarray, t: int) -> np.ndarray:
        back = t - np.arange(t)[:, None]  # [t, 1]: how far each new event is from the last one, plus one
        seen = (ages[None, :] >= back) & (ages[None, :] < back + self.window)  # [t, S]
        return np.where(seen, np.float32(0), np.float32(-np.inf))

    def decode(self, tokens: np.ndarray, start: int, caches: list[KVCache]) -> np.ndarray:
        """Logits [B, t, V] after each of the new events `tokens` [B, t] (at positions start, start + 1 ...),
        writing their keys and values into the caches."""
        (b, t), heads = tokens.shape, self.heads
        rotations = self.rotations(start, t)
        hidden = self.hidden(caches[0], t)
        x = self.embed[tokens.reshape(-1)]  # [B t, C]
        c = x.shape[-1]
        d = c // heads
        for (qkv_w, qkv_b, out_w, out_b, up_w, up_b, down_w, down_b), cache in zip(self.layers, caches, strict=True):
            qkv = (self.normed(x) @ qkv_w + qkv_b).reshape(b, t, 3, heads, d)
            qkv[:, :, :2] = qkv[:, :, :2] @ rotations[:, None]  # queries and keys turned to their positions
            cache.extend(qkv[:, :, 1].transpose(0, 2, 3, 1), qkv[:, :, 2].transpose(0, 2, 1, 3))
            n, q = cache.n, qkv[:, :, 0].transpose(0, 2, 1, 3)  # queries [B, H, t, d]
            keys, values = cache.arrays()
            if keys.nbytes < STREAMED:  # a few rows: BLAS
                scores = q @ keys[..., :n]  # [B, H, t, S]
            else:  # many rows: the product is bound by memory, and einsum's loop reads it faster than BLAS
                scores = np.einsum("bhtd,bhds->bhts", q, keys[..., :n])
            if hidden is not None:
                scores += hidden
            if cache.blocked is not None:
                scores += cache.blocked[:, None, None, :n]
            y = torch.softmax(torch.from_numpy(scores), -1).numpy() @ values[:, :, :n]  # [B, H, t, d]
            x = x + y.transpose(0, 2, 1, 3).reshape(b * t, c) @ out_w + out_b
            inner = F.gelu(torch.from_numpy(self.normed(x) @ up_w + up_b)).numpy()
            x = x + inner @ down_w + down_b
        head, shift = self.head
        return (self.normed(x) @ head + shift).reshape(b, t, -1)
