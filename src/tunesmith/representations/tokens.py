"""Event tokens through MidiTok (REMI by default, TSD selectable): pitch, duration, position/bar,
velocity, tempo, time signature and program, in one stream for multi-track music; optional conditioning
and infilling tokens after MidiTok's vocabulary (representations/conditioning.py).

A representation fitted to a corpus records the corpus's voices (representations/voice_slots.py), so that
tracks sharing a program (a chorale's four voices) keep apart, with their names. One saved without a
"voices" table (runs trained before voice slots) merges such tracks, as it always did."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import miditok
import numpy as np

from tunesmith.config import check_settings
from tunesmith.errors import TunesmithError
from tunesmith.fileio import atomic_path
from tunesmith.instruments import program_number
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation
from tunesmith.representations.conditioning import ConditionVocab, density_tertiles
from tunesmith.representations.remi_ids import remi_ids
from tunesmith.representations.voice_slots import Voice, VoiceSlots
from tunesmith.theory import DENSITY_EDGES

log = logging.getLogger(__name__)

TOKENIZATIONS = {"REMI": miditok.REMI, "TSD": miditok.TSD}
SPECIAL_TOKENS = ["PAD", "BOS", "EOS", "MASK"]
USUAL_SHARE = 0.2  # a voice in at least this share of the corpus's pieces is part of its usual line-up


class TokenRepresentation(Representation):
    """A Piece as a list of MidiTok token ids (no BOS/EOS; the dataset adds them)."""

    kind = "tokens"

    def __init__(self, tokenization: str = "REMI", num_velocities: int = 16, use_programs: bool = True,
                 use_tempos: bool = True, use_time_signatures: bool = True, num_tempos: int = 48,
                 conditioning: list[str] | tuple[str, ...] = (), infill: bool = False,
                 styles: list[str] | None = None, density_edges: list[float] | None = None,
                 programs: list[int] | None = None, voices: list[dict[str, Any]] | None = None,
                 usual_voices: list[int] | None = None, velocity_values: dict[str, int] | None = None,
                 tokenizer: miditok.MusicTokenizer | None = None):
        if tokenization not in TOKENIZATIONS:
            raise TunesmithError(f"unknown tokenization {tokenization!r} (choose from: {', '.join(TOKENIZATIONS)})")
        if infill and tokenization != "REMI":
            raise TunesmithError("infill needs bar tokens: use tokenization = \"REMI\"")
        self.settings: dict[str, Any] = {"tokenization": tokenization, "num_velocities": num_velocities, "use_programs": use_programs,
                         "use_tempos": use_tempos, "use_time_signatures": use_time_signatures,
                         "num_tempos": num_tempos}
        # conditioning settings are written only when used, so runs without them keep their config
        if conditioning or infill:
            self.settings.update({"conditioning": list(conditioning), "infill": bool(infill),
                                  "styles": list(styles or []), "density_edges": list(density_edges or DENSITY_EDGES)})
        if programs is not None:
            self.settings["programs"] = sorted(int(p) for p in programs)
        # the voice table: written only by runs that have one, so that older runs decode as they did
        self.voice_slots = VoiceSlots.from_list(voices) if voices is not None else None
        if self.voice_slots is not None:
            self.settings["voices"] = self.voice_slots.to_list()
        if usual_voices is not None:
            self.settings["usual_voices"] = [int(slot) for slot in usual_voices]
        if velocity_values is not None:
            self.settings["velocity_values"] = {str(int(k)): int(v) for k, v in velocity_values.items()}
        if tokenizer is None:
            config = miditok.TokenizerConfig(
                use_velocities=True, num_velocities=num_velocities, use_tempos=use_tempos, num_tempos=num_tempos,
                tempo_range=(40, 250), use_time_signatures=use_time_signatures, use_programs=use_programs,
                one_token_stream_for_programs=True, special_tokens=list(SPECIAL_TOKENS))
            tokenizer = TOKENIZATIONS[tokenization](config)
        self.tokenizer = tokenizer
        self.conditions = ConditionVocab(len(tokenizer), tuple(conditioning), tuple(styles or ()),
                                         tuple(self.time_signature_names()), bool(infill))
        self._transpose_tables: dict[int, np.ndarray] = {}

    # --- fitting to a corpus ---
    def fit(self, pieces: list[Piece]) -> TokenRepresentation:
        """Record the corpus' styles, density tertiles and programs (used by conditioning and controls), and
        its voices (with program tokens)."""
        self.settings["programs"] = sorted({program_number(p, d) for piece in pieces for _, p, d in piece.instruments})
        # without Program tokens every track is one stream anyway: no voice table
        self.voice_slots = VoiceSlots.fit(pieces) if self.settings["use_programs"] else None
        self.settings.pop("voices", None)
        self.settings.pop("usual_voices", None)
        self.settings.pop("velocity_values", None)
        if self.voice_slots is not None:
            self.settings["voices"] = self.voice_slots.to_list()
            self.settings["usual_voices"] = self.voice_slots.usual(pieces, USUAL_SHARE)
        self.settings["velocity_values"] = self._velocity_values(pieces)
        if "conditioning" in self.settings:
            styles = sorted({style_of(p) for p in pieces})
            self.settings.update({"styles": styles, "density_edges": density_tertiles(pieces)})
            self.conditions = ConditionVocab(len(self.tokenizer), tuple(self.settings["conditioning"]), tuple(styles),
                                             tuple(self.time_signature_names()), self.settings["infill"])
        return self

    def _velocity_values(self, pieces: list[Piece]) -> dict[str, int]:
        """For each of MidiTok's velocity values, the corpus's mean velocity among the notes it stands for (the
        chorales' 90 is written 87 by the tokens, and decoded 90 again)."""
        bins = np.asarray(self.tokenizer.velocities, dtype=np.int64)
        velocities = np.concatenate([t.notes.numpy()["velocity"] for p in pieces for t in p.score.tracks
                                     if len(t.notes)] or [np.zeros(0, dtype=np.int64)]).astype(np.int64)
        nearest = np.abs(velocities[:, None] - bins[None, :]).argmin(axis=1) if len(velocities) else velocities
        return {str(int(b)): int(round(float(velocities[nearest == i].mean())))
                for i, b in enumerate(bins) if (nearest == i).any()}

    @property
    def programs(self) -> list[int] | None:
        """General MIDI programs seen in training, 128 for drums (None for runs that did not record them)."""
        return self.settings.get("programs")

    @property
    def usual_voices(self) -> list[int] | None:
        """The slots of the voices that play in at least USUAL_SHARE of the training pieces: what a piece is
        written for when no instrument is asked (Soprano, Alto, Tenor, Bass; not a horn that 4 of 350 chorales
        have). None for runs that did not record them, which write every voice they saw."""
        return self.settings.get("usual_voices")

    @property
    def usual_programs(self) -> list[int] | None:
        """The programs the usual voices play (None without them)."""
        if self.usual_voices is None or self.voice_slots is None:
            return None
        return sorted({self.voice_slots.by_slot[slot].program for slot in self.usual_voices
                       if slot in self.voice_slots.by_slot})

    def program_slots(self, programs: list[int]) -> list[int]:
        """The programs whose Program tokens write these programs' voices (the programs themselves without a
        voice table), in the table's order; 128 = drums."""
        if self.voice_slots is None:
            return sorted(set(programs))
        return self.voice_slots.slots_for(programs)

    def voices_for(self, programs: list[int]) -> list[Voice]:
        """The corpus's voices that play these programs, in the table's order (none without a voice table)."""
        return self.voice_slots.voices_for(programs) if self.voice_slots is not None else []

    def time_signature_names(self) -> list[str]:
        """'3/4'-style names of the time signatures the tokenizer can write."""
        return [name.split("_", 1)[1] for name in self.tokenizer.vocab if name.startswith("TimeSig_")]

    # --- vocabulary ---
    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer) + len(self.conditions)

    @property
    def base_vocab_size(self) -> int:
        """Size of MidiTok's vocabulary (ids at or past it are conditioning/infilling tokens)."""
        return len(self.tokenizer)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def bos_id(self) -> int:
        return self.tokenizer["BOS_None"]

    @functools.cached_property
    def eos_id(self) -> int:
        return self.tokenizer["EOS_None"]

    @property
    def special_ids(self) -> list[int]:
        return [self.tokenizer[f"{t}_None"] for t in SPECIAL_TOKENS]

    @property
    def density_edges(self) -> list[float]:
        """Notes per bar between 'low' and 'medium', and between 'medium' and 'high' (tertiles of the training set)."""
        return [float(edge) for edge in self.settings.get("density_edges", DENSITY_EDGES)]

    @property
    def bar_id(self) -> int | None:
        """The id of the bar token (REMI), or None when the tokenization has none (TSD)."""
        return self.tokenizer.vocab.get("Bar_None")

    def token_names(self) -> list[str]:
        """Token strings indexed by id."""
        names = [""] * len(self.tokenizer)
        for name, i in self.tokenizer.vocab.items():
            names[i] = name
        return names + list(self.conditions.names)

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
        """Token ids of the whole piece, all tracks in one stream (each voice under its slot's Program token)."""
        score = self.voice_slots.relabel(piece.score) if self.voice_slots is not None else piece.score
        score = self.tokenizer.preprocess_score(score)
        ids = remi_ids(self.tokenizer, score)  # MidiTok's ids, made from the note arrays (None: ask MidiTok)
        if ids is not None:
            return ids
        seq = self.tokenizer.encode(score, no_preprocess_score=True)
        if isinstance(seq, list):  # only for one-stream-per-track configs
            seq = seq[0]
        return list(seq.ids)

    def decode(self, encoded: Any, name: str = "generated", corpus_velocities: bool = True) -> Piece:
        """Token ids back to a Piece (special tokens are ignored). `corpus_velocities`: each velocity token
        becomes the corpus's mean velocity among the notes it stands for (runs that recorded them), not
        MidiTok's bin value; off when a --velocity range was asked in bin values."""
        specials, base = set(self.special_ids), len(self.tokenizer)
        ids = [int(i) for i in encoded if int(i) not in specials and int(i) < base]
        score = self.tokenizer.decode(miditok.TokSequence(ids=ids))
        if self.voice_slots is not None:
            score = self.voice_slots.restore(score)
        values = self.settings.get("velocity_values") if corpus_velocities else None
        if values:  # each velocity token back to the corpus's own velocity (runs that recorded them)
            for track in score.tracks:
                for note in track.notes:
                    note.velocity = values.get(str(int(note.velocity)), int(note.velocity))
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
            for i, j in self.conditions.key_transpose(semitones).items():
                table[i] = j
            self._transpose_tables[semitones] = table
        return self._transpose_tables[semitones]

    def pitch_bounds(self) -> tuple[int, int]:
        """Lowest and highest pitch the vocabulary can write (MidiTok's pitch_range includes both ends)."""
        lo, hi = self.tokenizer.config.pitch_range
        return int(lo), int(hi)

    # --- conditioning ---
    def condition_prefix(self, piece: Piece) -> list[int]:
        """The conditioning ids of a training piece (empty when the run has no conditioning)."""
        edges = self.density_edges
        return self.conditions.prefix(self.conditions.piece_values(piece, style_of(piece), edges))

    # --- saving ---
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.settings}

    @classmethod
    def from_dict(cls, values: dict[str, Any], run_dir: Path | None = None) -> TokenRepresentation:
        """Rebuild from `to_dict()` output (and the run's tokenizer.json, which wins); unknown keys are an error."""
        values = {k: v for k, v in values.items() if k != "kind"}
        check_settings(cls, values, "tokens representation", exclude=("tokenizer",))
        tokenizer = None
        if run_dir is not None and (Path(run_dir) / "tokenizer.json").exists():
            kind = TOKENIZATIONS[values.get("tokenization", "REMI")]
            tokenizer = kind(params=Path(run_dir) / "tokenizer.json")
        return cls(**values, tokenizer=tokenizer)

    def save(self, run_dir: Path) -> None:
        with atomic_path(Path(run_dir) / "tokenizer.json") as tmp:
            self.tokenizer.save(tmp)


def style_of(piece: Piece) -> str:
    """The style tag of a training piece: its corpus name (bundled corpora), else its folder's name."""
    corpus = piece.tags.get("corpus")
    if corpus:
        return str(corpus)
    parent = Path(piece.source).parent.name if piece.source else ""
    return parent or "user"
