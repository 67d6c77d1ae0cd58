"""Conditioning and infilling tokens added after MidiTok's vocabulary (only when a run's config asks).

A conditioned sequence reads `BOS, Style_*, Key_*, CondTimeSig_*, CondTempo_*, Density_*, Instrument_*...,
CondEnd, <music>` (only the asked categories appear, always in this order). Infilling (fill-in-the-middle,
Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle"; for music, Thickstun
et al. 2023, "Anticipatory Music Transformer") reorders a window as
`<head> Infill_Suffix <bars after the gap> Infill_Prefix <bars before> Infill_Middle <gap bars> Infill_End`,
so a left-to-right model sees the bars after the gap before it writes the gap.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.instruments import DRUMS, program_number
from tunesmith.piece import Piece
from tunesmith.theory import DENSITY_EDGES, DENSITY_LEVELS, PITCH_CLASS_NAMES, Key

CONDITIONS = ("style", "key", "time_signature", "tempo", "density", "instruments")
TEMPO_EDGES = (60.0, 76.0, 92.0, 108.0, 126.0, 144.0, 168.0)  # bucket i covers [edges[i-1], edges[i])
INFILL_TOKENS = ("Infill_Suffix", "Infill_Prefix", "Infill_Middle", "Infill_End")


def tempo_bucket(bpm: float) -> int:
    """Index of the tempo bucket holding `bpm`."""
    return bisect.bisect_right(TEMPO_EDGES, float(bpm))


def tempo_bucket_name(index: int) -> str:
    """'90-108' style label of a tempo bucket."""
    lo = "0" if index == 0 else f"{TEMPO_EDGES[index - 1]:g}"
    hi = "inf" if index == len(TEMPO_EDGES) else f"{TEMPO_EDGES[index]:g}"
    return f"{lo}-{hi}"


def notes_per_bar(piece: Piece) -> float:
    """Mean notes per bar of a piece (0 for an empty one)."""
    return piece.note_count / piece.bars if piece.bars else 0.0


def density_tertiles(pieces: Sequence[Piece], beats_per_bar: int | None = None) -> list[float]:
    """The notes per bar that split `pieces` into thirds: where --density low ends and high begins. Bars are
    each piece's own, or bars of `beats_per_bar` quarter notes (a grid that writes one metre)."""
    def density(p: Piece) -> float:
        if beats_per_bar is None or not p.bars:
            return notes_per_bar(p)
        return p.note_count * beats_per_bar * p.tpq / (p.bars * p.bar_ticks)

    densities = sorted(density(p) for p in pieces) or list(DENSITY_EDGES)
    return [float(np.quantile(densities, 1 / 3)), float(np.quantile(densities, 2 / 3))]


def density_level(value: float, edges: Sequence[float]) -> str:
    """'low', 'medium' or 'high' for `value` notes per bar, given the two tertile edges."""
    return DENSITY_LEVELS[bisect.bisect_right(list(edges), value)]


def key_token_name(key: Key) -> str:
    return f"Key_{PITCH_CLASS_NAMES[key.tonic]}_{key.mode}"


@dataclass
class ConditionVocab:
    """The extra tokens of a run: names in id order starting at `base` (MidiTok's vocabulary size)."""

    base: int
    conditioning: tuple[str, ...]
    styles: tuple[str, ...]
    time_signatures: tuple[str, ...]
    infill: bool
    names: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)
    category_ids: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.conditioning) - set(CONDITIONS))
        if unknown:
            raise TunesmithError(f"unknown conditioning {', '.join(unknown)} (choose from: {', '.join(CONDITIONS)})")
        self.conditioning = tuple(c for c in CONDITIONS if c in self.conditioning)
        per_category = {
            "style": [f"Style_{s}" for s in self.styles],
            "key": [f"Key_{PITCH_CLASS_NAMES[t]}_{m}" for m in ("major", "minor") for t in range(12)],
            "time_signature": [f"CondTimeSig_{ts}" for ts in self.time_signatures],
            "tempo": [f"CondTempo_{tempo_bucket_name(i)}" for i in range(len(TEMPO_EDGES) + 1)],
            "density": [f"Density_{d}" for d in DENSITY_LEVELS],
            "instruments": [f"Instrument_{p}" for p in range(DRUMS + 1)],
        }
        for category in self.conditioning:
            self._add(category, per_category[category])
        if self.conditioning:
            self._add("end", ["CondEnd"])
        if self.infill:
            self._add("infill", list(INFILL_TOKENS))

    def _add(self, category: str, names: list[str]) -> None:
        ids = []
        for name in names:
            self.ids[name] = self.base + len(self.names)
            ids.append(self.ids[name])
            self.names.append(name)
        self.category_ids[category] = ids

    def __len__(self) -> int:
        return len(self.names)

    def id(self, name: str) -> int:
        """The id of an extra token by name (a one-line error if this run has no such token)."""
        if name not in self.ids:
            raise TunesmithError(f"this run has no {name!r} token")
        return self.ids[name]

    # --- the values of one piece ---
    def piece_values(self, piece: Piece, style: str | None, density_edges: Sequence[float]) -> dict[str, object]:
        """The condition values of a piece (only the asked categories)."""
        values: dict[str, object] = {}
        for category in self.conditioning:
            if category == "style":
                values["style"] = style if style in self.styles else None
            elif category == "key":
                values["key"] = piece.key
            elif category == "time_signature":
                values["time_signature"] = "{}/{}".format(*piece.time_signature)
            elif category == "tempo":
                values["tempo"] = piece.tempo
            elif category == "density":
                values["density"] = density_level(notes_per_bar(piece), density_edges)
            elif category == "instruments":
                values["instruments"] = sorted({program_number(p, d) for _, p, d in piece.instruments})
        return values

    def slot_token(self, category: str, value: object) -> int | None:
        """The id standing for `value` of `category`, or None when the vocabulary has none."""
        if value is None:
            return None
        if category == "style":
            name = f"Style_{value}"
        elif category == "key":
            name = key_token_name(value)  # type: ignore[arg-type]
        elif category == "time_signature":
            name = f"CondTimeSig_{value}"
        elif category == "tempo":
            name = f"CondTempo_{tempo_bucket_name(tempo_bucket(float(value)))}"  # type: ignore[arg-type]
        elif category == "density":
            name = f"Density_{value}"
        else:
            raise TunesmithError(f"no single token for {category}")
        return self.ids.get(name)

    def prefix(self, values: dict[str, object]) -> list[int]:
        """Conditioning ids for `values` (missing or unknown values are left out), ending with CondEnd."""
        if not self.conditioning:
            return []
        out = []
        for category in self.conditioning:
            if category == "instruments":
                programs = values.get("instruments") or []
                if not isinstance(programs, list | tuple):
                    raise TunesmithError(f"the instruments condition is a list of programs "
                                         f"(got {programs!r})")
                out += [self.ids[f"Instrument_{p}"] for p in programs]
            else:
                token = self.slot_token(category, values.get(category))
                if token is not None:
                    out.append(token)
        return out + [self.ids["CondEnd"]]

    def key_transpose(self, semitones: int) -> dict[int, int]:
        """Key token id -> id of the key `semitones` higher (for transposition augmentation)."""
        if "key" not in self.conditioning:
            return {}
        out = {}
        for mode in ("major", "minor"):
            for tonic in range(12):
                out[self.ids[key_token_name(Key(tonic, mode))]] = self.ids[key_token_name(Key((tonic + semitones) % 12, mode))]
        return out


def fim_window(head: list[int], music: list[int], bar_id: int, vocab: ConditionVocab, rng, max_gap: int = 4) -> list[int] | None:
    """Reorder `head + music` for fill-in-the-middle around a gap of 1..max_gap whole bars (None: too short)."""
    bars = [i for i, t in enumerate(music) if t == bar_id]
    if len(bars) < 2:
        return None
    # a bar is whole when the next bar line is inside `music`
    whole = len(bars) - 1
    gap = int(rng.integers(1, min(max_gap, whole) + 1))
    start = int(rng.integers(0, whole - gap + 1))
    a, b = bars[start], bars[start + gap]
    ids = vocab.ids
    return (head + [ids["Infill_Suffix"]] + music[b:] + [ids["Infill_Prefix"]] + music[:a]
            + [ids["Infill_Middle"]] + music[a:b] + [ids["Infill_End"]])
