"""Training windows over token sequences, with transposition augmentation done in token space."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from tunesmith.representations.tokens import TokenRepresentation


class TokenWindows(Dataset):
    """Fixed-length windows (window + 1 ids, PAD-filled) over [BOS] + piece + [EOS] sequences.

    With `transpose`, each epoch shifts every window by a key drawn (from `seed`, the epoch and the
    window's index) among the shifts that keep its piece inside the vocabulary's pitch range.
    """

    def __init__(self, sequences: list[list[int]], representation: TokenRepresentation, window: int,
                 transpose: bool = False, seed: int = 0, stride: int | None = None):
        self.rep, self.window, self.transpose, self.seed = representation, window, transpose, seed
        self.epoch = 0
        bos, eos = representation.bos_id, representation.eos_id
        self.sequences = [np.asarray([bos, *s, eos], dtype=np.int64) for s in sequences if len(s)]
        stride = stride or max(1, window // 2)
        self.index: list[tuple[int, int]] = []
        for k, seq in enumerate(self.sequences):
            starts = range(0, max(1, len(seq) - window), stride)
            self.index.extend((k, s) for s in starts)
        self.shifts = [self._allowed_shifts(seq) for seq in self.sequences] if transpose else None

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
        k, start = self.index[i]
        ids = self.sequences[k][start:start + self.window + 1]
        if self.shifts is not None:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            shift = int(rng.choice(self.shifts[k]))
            if shift:
                ids = self.rep.transpose_table(shift)[ids]
        out = np.full(self.window + 1, self.rep.pad_id, dtype=np.int64)
        out[:len(ids)] = ids
        return {"tokens": torch.from_numpy(out)}


def token_windows(pieces, representation: TokenRepresentation, window: int, transpose: bool, seed: int) -> TokenWindows:
    """Encode `pieces` and cut them into training windows."""
    return TokenWindows([representation.encode(p) for p in pieces], representation, window, transpose, seed)
