"""Rotary positions (Su et al. 2021, "RoFormer"): each pair of a query's or key's features is turned by an
angle proportional to the event's position, so attention scores depend only on how far apart events are."""

from __future__ import annotations

import numpy as np
import torch


def rotary_tables(positions: torch.Tensor, dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin [T, dim/2] of the rotary angles for integer `positions` [T]."""
    inv = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float32, device=positions.device) / dim)
    angles = positions.float()[:, None] * inv[None, :]  # [T, dim/2]
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[..., :d/2], x[..., d/2:]) of `x` [B, H, T, d] by the angles."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def rotation_matrices(cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """[T, d, d] matrices R with x @ R == apply_rotary(x, cos, sin) for rows x of size d (cos, sin [T, d/2]):
    one matrix product rotates the queries and keys of every head at once."""
    t, half = cos.shape
    rotations = np.zeros((t, 2 * half, 2 * half), dtype=cos.dtype)
    i = np.arange(half)
    rotations[:, i, i] = rotations[:, i + half, i + half] = cos
    rotations[:, i, i + half], rotations[:, i + half, i] = sin, -sin
    return rotations


class RotationTable:
    """The rotation matrices of `span` consecutive positions, made again (from `back` positions before the
    step's first) only when a step reaches outside them: a step of a few events takes a slice instead of
    building its matrices, and the memory stays bounded however long the piece."""

    def __init__(self, dim: int, base: float, back: int, span: int = 128):
        self.dim, self.base, self.back, self.span = dim, base, back, span
        self.first, self.table = 0, np.zeros((0, dim, dim), dtype=np.float32)

    def __call__(self, start: int, t: int) -> np.ndarray:
        """[t, d, d]: the matrices of positions start .. start + t - 1."""
        if start < self.first or start + t > self.first + len(self.table):
            self.first = max(0, start - self.back)
            cos, sin = rotary_tables(torch.arange(self.first, self.first + max(self.span, t + self.back)),
                                     self.dim, self.base)
            self.table = rotation_matrices(cos.numpy(), sin.numpy())
        return self.table[start - self.first:start - self.first + t]
