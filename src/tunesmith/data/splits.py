"""Deterministic train/valid/test split by a hash of each piece's identity (never by order)."""

from __future__ import annotations

import hashlib

from tunesmith.piece import Piece

SPLIT_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}


def split_of(identity: str) -> str:
    """'train', 'valid' or 'test' for a piece identity; stable across runs, machines and orders."""
    h = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") / 2**64
    if h < SPLIT_FRACTIONS["train"]:
        return "train"
    return "valid" if h < SPLIT_FRACTIONS["train"] + SPLIT_FRACTIONS["valid"] else "test"


def split_pieces(pieces: list[Piece]) -> dict[str, list[Piece]]:
    """Group pieces by split. A corpus too small for a valid split validates on its train split."""
    out: dict[str, list[Piece]] = {"train": [], "valid": [], "test": []}
    for piece in pieces:
        out[split_of(piece.source or piece.name)].append(piece)
    if not out["train"]:  # tiny corpora (a few files): train on everything
        out["train"] = list(pieces)
    if not out["valid"]:
        out["valid"] = list(out["train"])
    return out
