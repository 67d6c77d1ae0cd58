"""Event tokens through MidiTok (REMI by default, TSD selectable): pitch, duration, position/bar,
velocity, tempo, time signature and program, in one stream for multi-track music."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import miditok
import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.fileio import atomic_path
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)

TOKENIZATIONS = {"REMI": miditok.REMI, "TSD": miditok.TSD}
SPECIAL_TOKENS = ["PAD", "BOS", "EOS", "MASK"]


class TokenRepresentation(Representation):
    """A Piece as a list of MidiTok token ids (no BOS/EOS; the dataset adds them)."""

    kind = "tokens"

    def __init__(self, tokenization: str = "REMI", num_velocities: int = 16, use_programs: bool = True,
                 use_tempos: bool = True, use_time_signatures: bool = True, num_tempos: int = 48,
                 tokenizer: miditok.MusicTokenizer | None = None):
        if tokenization not in TOKENIZATIONS:
            raise TunesmithError(f"unknown tokenization {tokenization!r} (choose from: {', '.join(TOKENIZATIONS)})")
        self.settings = {"tokenization": tokenization, "num_velocities": num_velocities, "use_programs": use_programs,
                         "use_tempos": use_tempos, "use_time_signatures": use_time_signatures,
                         "num_tempos": num_tempos}
        if tokenizer is None:
            config = miditok.TokenizerConfig(
                use_velocities=True, num_velocities=num_velocities, use_tempos=use_tempos, num_tempos=num_tempos,
                tempo_range=(40, 250), use_time_signatures=use_time_signatures, use_programs=use_programs,
                one_token_stream_for_programs=True, special_tokens=list(SPECIAL_TOKENS))
            tokenizer = TOKENIZATIONS[tokenization](config)
        self.tokenizer = tokenizer
        self._transpose_tables: dict[int, np.ndarray] = {}

    # --- vocabulary ---
    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def bos_id(self) -> int:
        return self.tokenizer["BOS_None"]

    @property
    def eos_id(self) -> int:
        return self.tokenizer["EOS_None"]

    @property
    def special_ids(self) -> list[int]:
        return [self.tokenizer[f"{t}_None"] for t in SPECIAL_TOKENS]

    @property
    def bar_id(self) -> int | None:
        """The id of the bar token (REMI), or None when the tokenization has none (TSD)."""
        return self.tokenizer.vocab.get("Bar_None")

    def token_names(self) -> list[str]:
        """Token strings indexed by id."""
        names = [""] * self.vocab_size
        for name, i in self.tokenizer.vocab.items():
            names[i] = name
        return names

    def pitch_of_token(self) -> np.ndarray:
        """For each id, the MIDI pitch it plays (Pitch_* tokens), else -1."""
        out = np.full(self.vocab_size, -1, dtype=np.int64)
        for name, i in self.tokenizer.vocab.items():
            if name.startswith("Pitch_"):
                out[i] = int(name.split("_")[1])
        return out

    def beats_of_token(self) -> np.ndarray:
        """For each id, the beats it moves time forward by (TSD's TimeShift tokens), else 0."""
        out = np.zeros(self.vocab_size)
        for name, i in self.tokenizer.vocab.items():
            if name.startswith("TimeShift_"):
                whole, frac, res = (int(v) for v in name.split("_")[1].split("."))
                out[i] = whole + frac / res
        return out

    def bar_beats_of_token(self) -> dict[int, float]:
        """Time-signature token id -> beats (quarter notes) per bar."""
        out = {}
        for name, i in self.tokenizer.vocab.items():
            if name.startswith("TimeSig_"):
                num, den = (int(v) for v in name.split("_")[1].split("/"))
                out[i] = num * 4 / den
        return out

    # --- pieces <-> ids ---
    def encode(self, piece: Piece) -> list[int]:
        """Token ids of the whole piece, all tracks in one stream."""
        seq = self.tokenizer.encode(piece.score)
        if isinstance(seq, list):  # only for one-stream-per-track configs
            seq = seq[0]
        return list(seq.ids)

    def decode(self, encoded: Any, name: str = "generated") -> Piece:
        """Token ids back to a Piece (special tokens are ignored)."""
        specials = set(self.special_ids)
        ids = [int(i) for i in encoded if int(i) not in specials]
        score = self.tokenizer.decode(miditok.TokSequence(ids=ids))
        return Piece(score=score, name=name, source="generated")

    def bars_in(self, ids: list[int]) -> int:
        """How many bars a token sequence has begun."""
        if self.bar_id is not None:
            return int(sum(1 for i in ids if i == self.bar_id))
        piece = self.decode(ids)
        return piece.bars

    # --- augmentation ---
    def transpose_table(self, semitones: int) -> np.ndarray:
        """id -> id of the same token `semitones` higher; -1 where a pitch would leave the range."""
        if semitones not in self._transpose_tables:
            vocab = self.tokenizer.vocab
            table = np.arange(self.vocab_size, dtype=np.int64)
            for name, i in vocab.items():
                if name.startswith("Pitch_"):
                    table[i] = vocab.get(f"Pitch_{int(name.split('_')[1]) + semitones}", -1)
            self._transpose_tables[semitones] = table
        return self._transpose_tables[semitones]

    def pitch_bounds(self) -> tuple[int, int]:
        """Lowest and highest pitch the vocabulary can write."""
        lo, hi = self.tokenizer.config.pitch_range
        return int(lo), int(hi) - 1

    # --- saving ---
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.settings}

    @classmethod
    def from_dict(cls, values: dict[str, Any], run_dir: Path | None = None) -> TokenRepresentation:
        values = {k: v for k, v in values.items() if k != "kind"}
        tokenizer = None
        if run_dir is not None and (Path(run_dir) / "tokenizer.json").exists():
            kind = TOKENIZATIONS[values.get("tokenization", "REMI")]
            tokenizer = kind(params=Path(run_dir) / "tokenizer.json")
        try:
            return cls(**values, tokenizer=tokenizer)
        except TypeError as exc:
            raise TunesmithError(f"bad token representation settings: {exc}") from exc

    def save(self, run_dir: Path) -> None:
        with atomic_path(Path(run_dir) / "tokenizer.json") as tmp:
            self.tokenizer.save(tmp)
