"""Training windows over token sequences, with transposition augmentation done in token space.

When the representation has conditioning tokens, every window starts at a bar line and begins with the
piece's `BOS + conditioning` head; with infilling, half the training windows are reordered for
fill-in-the-middle (see representations/conditioning.py).
"""

from __future__ import annotations

from typing import Protocol, cast

import numpy as np
import torch
from torch.utils.data import Dataset

from tunesmith.representations.conditioning import fim_window
from tunesmith.representations.tokens import TokenRepresentation

INFILL_RATE = 0.5  # share of training windows reordered for infilling


class Sequences(Protocol):
    """Token sequences read when needed (a token store's): how many, their lengths, and each one."""

    def __len__(self) -> int: ...

    def lengths(self) -> np.ndarray: ...

    def __getitem__(self, k: int) -> np.ndarray: ...


def _window_starts(lengths: np.ndarray, window: int, stride: int) -> np.ndarray:
    """(sequence, start) of every window, [n, 2]: starts 0, stride, ... below max(1, length - window)."""
    counts = -(-np.maximum(lengths - window, 1) // stride)
    first = np.cumsum(counts) - counts
    total = int(counts.sum())
    sequence = np.repeat(np.arange(len(lengths)), counts)
    return np.stack([sequence, (np.arange(total) - np.repeat(first, counts)) * stride], axis=1)


class _Framed:
    """The non-empty `sequences` as [BOS] + ids + [EOS], made when one is read."""

    def __init__(self, sequences: Sequences, bos: int, eos: int):
        self.source, self.bos, self.eos = sequences, bos, eos
        raw = np.asarray(sequences.lengths(), dtype=np.int64)
        self.kept = np.flatnonzero(raw).tolist()
        self.lengths = (raw[raw > 0] + 2).tolist()

    def __len__(self) -> int:
        return len(self.kept)

    def __getitem__(self, k: int) -> np.ndarray:
        ids = np.asarray(self.source[self.kept[k]], dtype=np.int64)
        return np.concatenate([[self.bos], ids, [self.eos]])


class TokenWindows(Dataset):
    """Fixed-length windows (window + 1 ids, PAD-filled) over [BOS] + piece + [EOS] sequences.

    With `transpose`, each epoch shifts every window by a key drawn (from `seed`, the epoch and the
    window's index) among the shifts that keep its piece inside the vocabulary's pitch range.
    `heads` (one per sequence) are prepended to every window, which then starts on a bar line;
    `infill` reorders a share of the windows for fill-in-the-middle (training only).
    """

    def __init__(self, sequences: list[list[int]] | Sequences, representation: TokenRepresentation, window: int,
                 transpose: bool = False, seed: int = 0, stride: int | None = None,
                 heads: list[list[int]] | None = None, infill: bool = False):
        self.rep, self.window, self.transpose, self.seed = representation, window, transpose, seed
        self.epoch = 0
        self.infill = infill
        bos, eos = representation.bos_id, representation.eos_id
        stride = stride or max(1, window // 2)
        self.index: list[tuple[int, int]] | np.ndarray = []
        self.sequences: list[np.ndarray] | _Framed
        if heads is None:
            self.heads = None
            if isinstance(sequences, list):
                self.sequences = [np.asarray([bos, *s, eos], dtype=np.int64) for s in sequences if len(s)]
                lengths = [len(seq) for seq in self.sequences]
            else:  # a store's: framed when read
                self.sequences = _Framed(sequences, bos, eos)
                lengths = self.sequences.lengths
            self.index = _window_starts(np.asarray(lengths, dtype=np.int64), window, stride)
        else:
            kept = [(h, s) for h, s in zip(heads, cast(list, sequences), strict=True) if len(s)]
            self.heads = [np.asarray([bos, *h], dtype=np.int64) for h, _ in kept]
            self.sequences = [np.asarray([*s, eos], dtype=np.int64) for _, s in kept]
            self.index = [(k, s) for k, seq in enumerate(self.sequences)
                          for s in self._bar_starts(seq, window - len(self.heads[k]), stride)]
        self.shifts: dict[int, list[int]] | None = {} if transpose else None  # each piece's, when first read

    def _bar_starts(self, seq: np.ndarray, room: int, stride: int) -> list[int]:
        """Window starts on bar lines, about `stride` tokens apart, the last one reaching the end."""
        bars = np.flatnonzero(seq == self.rep.bar_id).tolist() if self.rep.bar_id is not None else []
        if not bars:
            return list(range(0, max(1, len(seq) - room), stride))
        starts, last = [bars[0]], bars[0]
        for b in bars[1:]:
            if b - last >= stride and last + room < len(seq):
                starts.append(b)
                last = b
        return starts

    def _allowed_shifts(self, seq: np.ndarray) -> list[int]:
        pitch = self.rep.pitch_of_token()[seq]
        pitch = pitch[pitch >= 0]
        if not len(pitch):
            return [0]
        lo, hi = self.rep.pitch_bounds()
        return [s for s in range(-6, 6) if pitch.min() + s >= lo and pitch.max() + s <= hi]

    def set_epoch(self, epoch: int) -> None:
        """Choose this epoch's transpositions (the loop calls this at the start of every epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        k, start = (int(v) for v in self.index[i])
        rng = np.random.default_rng((self.seed, self.epoch, i))
        if self.heads is None:
            ids = self.sequences[k][start:start + self.window + 1]
        else:
            head = self.heads[k]
            if self.infill and rng.random() < INFILL_RATE:
                music = self.sequences[k][start:start + self.window + 1 - len(head) - 4].tolist()
                bar_id = self.rep.bar_id  # without Bar tokens no window has whole bars to take out
                fim = (fim_window(head.tolist(), music, bar_id, self.rep.conditions, rng) if bar_id is not None
                       else None)
                ids = np.asarray(fim if fim is not None else [*head, *music], dtype=np.int64)
            else:
                ids = np.concatenate([head, self.sequences[k][start:start + self.window + 1 - len(head)]])
        if self.shifts is not None:
            if k not in self.shifts:
                self.shifts[k] = self._allowed_shifts(self.sequences[k])
            shift = int(rng.choice(self.shifts[k]))
            if shift:
                ids = self.rep.transpose_table(shift)[ids]
        out = np.full(self.window + 1, self.rep.pad_id, dtype=np.int64)
        out[:len(ids)] = ids
        return {"tokens": torch.from_numpy(out)}


def token_windows(pieces, representation: TokenRepresentation, window: int, transpose: bool, seed: int) -> TokenWindows:
    """Encode `pieces` and cut them into training windows (conditioned and infilling when the run asks)."""
    sequences = [representation.encode(p) for p in pieces]
    if not representation.conditions.conditioning and not representation.conditions.infill:
        return TokenWindows(sequences, representation, window, transpose, seed)
    heads = [representation.condition_prefix(p) for p in pieces]
    return TokenWindows(sequences, representation, window, transpose, seed, heads=heads,
                        infill=representation.conditions.infill and transpose)
