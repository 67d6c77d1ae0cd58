"""Piano-rolls: time x pitch x track, with onsets and velocity, so held and re-struck notes both survive.

An encoded piece is a float32 array [tracks, steps, pitches, 3]:
- channel SOUNDING (0): 1 on every step where a note sounds;
- channel ONSET (1): 1 on the step where a note starts (a re-struck note starts again while sounding);
- channel VELOCITY (2): velocity / 127 on every step of the note, 0 where silent.
Steps are `steps_per_beat` to a quarter note and bars are `beats_per_bar` quarter notes long, whatever
the file's time signature says (POP909 files often say 1/4).
"""

from __future__ import annotations

import collections
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import symusic
import torch

from tunesmith.config import config_from_dict
from tunesmith.errors import TunesmithError
from tunesmith.instruments import DRUMS_NAME, family_name, gm_families
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation
from tunesmith.representations.conditioning import density_tertiles

log = logging.getLogger(__name__)

SOUNDING, ONSET, VELOCITY = 0, 1, 2
CHANNELS = 3
SAMPLINGS = ("threshold", "bernoulli")
OUTPUT_TPQ = 480
# a note table row: (track index, start step, end step, pitch, velocity)
NOTE_FIELDS = ("track", "start", "end", "pitch", "velocity")


@dataclass
class TrackSpec:
    """One track of the roll: its name, General MIDI program, whether it is a drum kit, how many of its
    notes may sound at once when a roll is turned into notes (fitted to the corpus; 0: no limit) and its
    mean velocity (where a model starts its dynamics)."""

    name: str
    program: int = 0
    is_drum: bool = False
    max_voices: int = 0
    velocity: float = 0.0  # mean note velocity in the corpus (0: not fitted)


@dataclass
class PianoRollRepresentation(Representation):
    """Multi-track piano-roll on a fixed grid; `fit` picks the tracks, pitch range and tempo of a corpus."""

    kind: ClassVar[str] = "pianoroll"

    steps_per_beat: int = 4
    beats_per_bar: int | None = None  # quarter notes per bar; None: from the corpus (4 when unclear)
    lowest: int = 21
    highest: int = 108
    pitch_margin: int = 2
    tracks: list[TrackSpec] = field(default_factory=list)
    track_match: str = "names"  # "names": by track name; "families": by GM family (program // 8), drums apart
    max_tracks: int = 8
    tempo: float = 120.0
    sampling: str = "threshold"
    threshold: float = 0.5
    density_edges: list[float] | None = None  # the corpus's notes-per-bar tertiles (--density low | high)

    def __post_init__(self) -> None:
        self.tracks = [t if isinstance(t, TrackSpec) else TrackSpec(**t) for t in self.tracks]
        if self.steps_per_beat < 1:
            raise TunesmithError(f"steps_per_beat must be at least 1 (got {self.steps_per_beat})")
        if not 0 <= self.lowest <= self.highest <= 127:
            raise TunesmithError(f"pitch range must satisfy 0 <= lowest <= highest <= 127 "
                                 f"(got {self.lowest}-{self.highest})")
        if self.track_match not in ("names", "families"):
            raise TunesmithError(f"track_match must be 'names' or 'families' (got {self.track_match!r})")
        check_sampling(self.sampling, self.threshold)

    # --- shape ---
    @property
    def pitches(self) -> int:
        """Number of pitch rows (lowest..highest inclusive)."""
        return self.highest - self.lowest + 1

    @property
    def bar_beats(self) -> int:
        """Quarter notes per bar (4 until fitted otherwise)."""
        return self.beats_per_bar or 4

    @property
    def steps_per_bar(self) -> int:
        return self.steps_per_beat * self.bar_beats

    @property
    def track_names(self) -> list[str]:
        return [t.name for t in self.tracks]

    # --- corpus ---
    def fit(self, pieces: list[Piece]) -> PianoRollRepresentation:
        """Take the corpus's track layout, bar length, pitch range (plus a margin), typical tempo and the notes
        per bar that split it into thirds."""
        if not pieces:
            raise TunesmithError("cannot fit a piano-roll to an empty corpus")
        if self.beats_per_bar is None:
            self.beats_per_bar = corpus_bar_beats(pieces)
        if not self.tracks:
            self.tracks, self.track_match = corpus_tracks(pieces, self.max_tracks)
        fit_voices, fit_velocity = not any(t.max_voices for t in self.tracks), not any(t.velocity for t in self.tracks)
        if fit_voices or fit_velocity:  # what the tracks given do not say already
            for spec, (voices, velocity) in zip(self.tracks, self.track_statistics(pieces), strict=True):
                spec.max_voices = voices if fit_voices else spec.max_voices
                spec.velocity = velocity if fit_velocity else spec.velocity
        lows, highs = zip(*[p.pitch_range for p in pieces if p.pitch_range is not None], strict=True)
        self.lowest = max(0, min(lows) - self.pitch_margin)
        self.highest = min(127, max(highs) + self.pitch_margin)
        self.tempo = float(round(np.median([p.tempo for p in pieces])))
        self.density_edges = density_tertiles(pieces, self.bar_beats)
        log.info("piano-roll: tracks %s, pitches %d-%d, %d steps per bar", self.track_names,
                 self.lowest, self.highest, self.steps_per_bar)
        return self

    def track_statistics(self, pieces: list[Piece], sample: int = 200) -> list[tuple[int, float]]:
        """Per track, from (up to `sample` of) the pieces: the number of notes sounding at once that covers 99%
        of its sounding steps (1 for a melody or a chorale voice, more for a piano part) and its mean velocity."""
        counts: list[list[np.ndarray]] = [[] for _ in self.tracks]
        velocities: list[list[np.ndarray]] = [[] for _ in self.tracks]
        for piece in pieces[::max(1, len(pieces) // sample)]:
            table = self.note_table(piece)
            if not len(table):
                continue
            change = np.zeros((len(self.tracks), int(table[:, 2].max()) + 1), dtype=np.int64)
            np.add.at(change, (table[:, 0], table[:, 1]), 1)
            np.add.at(change, (table[:, 0], table[:, 2]), -1)
            for track, sounding in enumerate(change.cumsum(1)):
                counts[track].append(sounding[sounding > 0])
                velocities[track].append(table[table[:, 0] == track, 4])
        return [(int(np.ceil(np.percentile(np.concatenate(c), 99))) if sum(map(len, c)) else 0,
                 round(float(np.concatenate(v).mean()), 2) if sum(map(len, v)) else 0.0)
                for c, v in zip(counts, velocities, strict=True)]

    def fits_meter(self, piece: Piece) -> bool:
        """Whether the piece's bars line up with this roll's bars (1/4, 2/4 and 4/4 all fit 4 beats)."""
        num, den = piece.time_signature
        beats = num * 4 / den
        return beats > 0 and (self.bar_beats % beats == 0 or beats % self.bar_beats == 0)

    def track_index(self, track: symusic.Track) -> int | None:
        """The roll track a piece's track goes to, or None when it has no place in the layout."""
        if self.track_match == "families":
            name = family_name(int(track.program), track.is_drum)
            names = [t.name for t in self.tracks]
            return names.index(name) if name in names else None
        wanted = track.name.strip().lower()
        names = [t.name.strip().lower() for t in self.tracks]
        if wanted in names:
            return names.index(wanted)
        first = wanted.split(" ")[0] if wanted else ""
        return names.index(first) if first in names else None

    # --- notes on the grid ---
    def note_table(self, piece: Piece) -> np.ndarray:
        """The piece's notes on the grid: int64 [notes, 5] of (track, start, end, pitch, velocity) in steps."""
        score = piece.score.resample(self.steps_per_beat, min_dur=1)
        rows = []
        for track in score.tracks:
            index = self.track_index(track)
            if index is None or not len(track.notes):
                continue
            rows.append(self._track_rows(track, index))
        return np.concatenate(rows) if rows else np.zeros((0, 5), dtype=np.int64)

    def track_notes(self, track: symusic.Track, tpq: int, index: int = 0) -> np.ndarray:
        """One track (of a score with `tpq`) on the grid, as note-table rows for roll track `index`."""
        score = symusic.Score(tpq)
        score.tracks.append(track.copy())
        return self._track_rows(score.resample(self.steps_per_beat, min_dur=1).tracks[0], index)

    def _track_rows(self, track: symusic.Track, index: int) -> np.ndarray:
        notes = track.notes.numpy()
        pitch = notes["pitch"].astype(np.int64)
        keep = np.ones(len(pitch), dtype=bool)
        if track.is_drum:
            keep = (pitch >= self.lowest) & (pitch <= self.highest)
        elif self.pitches >= 12:  # fold stray notes into range by octaves rather than lose them
            pitch = np.where(pitch < self.lowest, pitch + 12 * np.ceil((self.lowest - pitch) / 12), pitch)
            pitch = np.where(pitch > self.highest, pitch - 12 * np.ceil((pitch - self.highest) / 12), pitch)
        else:
            keep = (pitch >= self.lowest) & (pitch <= self.highest)
        start = notes["time"].astype(np.int64)
        end = start + np.maximum(notes["duration"].astype(np.int64), 1)
        rows = np.stack([np.full(len(pitch), index), start, end, pitch.astype(np.int64),
                         notes["velocity"].astype(np.int64)], axis=1)
        return rows[keep & (start >= 0)]

    def render(self, table: np.ndarray, start: int, steps: int) -> np.ndarray:
        """The roll [tracks, steps, pitches, 3] of the note-table rows sounding in [start, start + steps)."""
        roll = np.zeros((len(self.tracks), steps, self.pitches, CHANNELS), dtype=np.float32)
        if not len(table):
            return roll
        chosen = table[(table[:, 2] > start) & (table[:, 1] < start + steps)]
        # later onsets win where notes of one pitch overlap: fill in start order
        for track, a, b, pitch, velocity in chosen[np.argsort(chosen[:, 1], kind="stable")]:
            a0, b0, row = max(a - start, 0), min(b - start, steps), pitch - self.lowest
            cell = roll[track, a0:b0, row]
            cell[:, SOUNDING] = 1.0
            cell[:, VELOCITY] = velocity / 127.0
            if a >= start:
                cell[0, ONSET] = 1.0
        return roll

    def encode(self, piece: Piece) -> np.ndarray:
        """The whole piece as float32 [tracks, steps, pitches, 3] (sounding, onset, velocity)."""
        if not self.tracks:
            raise TunesmithError("the piano-roll has no tracks: fit it to a corpus or give its tracks")
        table = self.note_table(piece)
        steps = int(table[:, 2].max()) if len(table) else 0
        return self.render(table, 0, steps)

    # --- back to notes ---
    def decode(self, encoded: Any, name: str = "generated", sampling: str | None = None,
               threshold: float | None = None, generator: torch.Generator | None = None,
               tempo: float | None = None) -> Piece:
        """A roll [tracks, steps, pitches, 3] (probabilities allowed) back into a Piece.

        Sounding and onset channels become on/off by `threshold` or by Bernoulli sampling; where more notes of
        a track are on at a step than its `max_voices`, the likeliest stay. A note runs from an onset (or a
        sounding step after silence) to the next onset or silence; its velocity is the velocity channel at
        its first step.
        """
        roll = torch.as_tensor(np.asarray(encoded, dtype=np.float32))
        if roll.ndim != 4 or roll.shape[0] != len(self.tracks) or roll.shape[2] != self.pitches \
                or roll.shape[3] != CHANNELS:
            raise TunesmithError(f"a roll must be [{len(self.tracks)}, steps, {self.pitches}, {CHANNELS}] "
                                 f"(got {list(roll.shape)})")
        sampling = sampling or self.sampling
        threshold = self.threshold if threshold is None else threshold
        check_sampling(sampling, threshold)
        sounding = binarize(roll[..., SOUNDING], sampling, threshold, generator).numpy()
        onset = binarize(roll[..., ONSET], sampling, threshold, generator).numpy()
        sounding = limit_voices(sounding, roll[..., SOUNDING].numpy(), onset, [t.max_voices for t in self.tracks])
        onset &= sounding
        velocity = roll[..., VELOCITY].numpy()
        return self.piece_from_notes(roll_notes(sounding, onset, velocity, self.lowest), name, tempo)

    def piece_from_notes(self, table: np.ndarray, name: str = "generated", tempo: float | None = None) -> Piece:
        """A Piece from note-table rows (steps), one track per roll track, at 480 ticks per quarter."""
        tpq = OUTPUT_TPQ if OUTPUT_TPQ % self.steps_per_beat == 0 else self.steps_per_beat
        scale = tpq // self.steps_per_beat
        score = symusic.Score(tpq)
        score.tempos.append(symusic.Tempo(0, float(tempo or self.tempo)))
        score.time_signatures.append(symusic.TimeSignature(0, self.bar_beats, 4))
        for index, spec in enumerate(self.tracks):
            track = symusic.Track(spec.name, spec.program, spec.is_drum)
            for _, a, b, pitch, velocity in table[table[:, 0] == index]:
                track.notes.append(symusic.Note(int(a) * scale, int(b - a) * scale, int(pitch), int(velocity)))
            track.notes.sort(inplace=True)
            score.tracks.append(track)
        return Piece(score, name=name, source="pianoroll")

    # --- saving ---
    def to_dict(self) -> dict[str, Any]:
        """Everything that rebuilds this representation, with 'kind'."""
        values = asdict(self)
        values["kind"] = self.kind
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any], run_dir: Path | None = None) -> PianoRollRepresentation:
        """Rebuild from `to_dict()` output; unknown keys are an error."""
        return config_from_dict(cls, {k: v for k, v in values.items() if k != "kind"}, "pianoroll")


def check_sampling(sampling: str, threshold: float) -> None:
    """Raise when the roll sampling mode or threshold is not one we know."""
    if sampling not in SAMPLINGS:
        raise TunesmithError(f"roll sampling must be one of {', '.join(SAMPLINGS)} (got {sampling!r})")
    if not 0 < threshold < 1:
        raise TunesmithError(f"roll threshold must be between 0 and 1 (got {threshold})")


def binarize(probs: torch.Tensor, sampling: str, threshold: float,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """On/off from probabilities: `probs > threshold`, or one Bernoulli draw per cell."""
    if sampling == "bernoulli":
        return torch.bernoulli(probs.clamp(0, 1), generator=generator).bool()
    return probs > threshold


def limit_voices(sounding: np.ndarray, probs: np.ndarray, onset: np.ndarray, limits: list[int]) -> np.ndarray:
    """At most `limits[t]` notes on at each step of track t (0: no limit); sounding, probs and onset are
    [tracks, steps, pitches]. Notes held on from the step before (kept there, no new onset) stay first, so a
    held note is not cut short by a neighbour's passing likelihood; the likeliest fill the places left."""
    out = sounding.copy()
    for track, limit in enumerate(limits):
        if not 0 < limit < sounding.shape[-1]:
            continue
        for step in np.nonzero(sounding[track].sum(-1) > limit)[0]:
            held = out[track, step - 1] & ~onset[track, step] if step else np.zeros_like(out[track, step])
            score = np.where(sounding[track, step], probs[track, step] + 2.0 * held, -1.0)  # held ranks above any p <= 1
            keep = np.zeros_like(held)
            keep[np.argsort(-score, kind="stable")[:limit]] = True
            out[track, step] &= keep
    return out


def roll_notes(sounding: np.ndarray, onset: np.ndarray, velocity: np.ndarray, lowest: int) -> np.ndarray:
    """Note-table rows from boolean sounding/onset [tracks, steps, pitches] and velocity in [0, 1]."""
    tracks, steps, pitches = sounding.shape
    before = np.zeros((tracks, 1, pitches), dtype=bool)
    starts = sounding & (onset | ~np.concatenate([before, sounding[:, :-1]], axis=1))
    rows = []
    for track, step, row in zip(*np.nonzero(starts), strict=True):
        end = step + 1
        while end < steps and sounding[track, end, row] and not starts[track, end, row]:
            end += 1
        vel = int(np.clip(round(float(velocity[track, step, row]) * 127), 1, 127))
        rows.append((track, step, end, row + lowest, vel))
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def corpus_bar_beats(pieces: list[Piece]) -> int:
    """Quarter notes per bar of the corpus's commonest meter; 4 when that is shorter than 2 or odd-sized."""
    counts = collections.Counter(p.time_signature[0] * 4 / p.time_signature[1] for p in pieces)
    beats = counts.most_common(1)[0][0]
    return int(beats) if beats == int(beats) and 2 <= beats <= 8 else 4


def corpus_tracks(pieces: list[Piece], max_tracks: int) -> tuple[list[TrackSpec], str]:
    """The corpus's track layout: its common named tracks, else instrument families (drums apart)."""
    layouts = collections.Counter(tuple(t.name for t in p.score.tracks if len(t.notes)) for p in pieces)
    names, count = layouts.most_common(1)[0]
    if count * 2 >= len(pieces) and 0 < len(names) <= max_tracks and len(set(names)) == len(names):
        first = next(p for p in pieces if tuple(t.name for t in p.score.tracks if len(t.notes)) == names)
        specs = [TrackSpec(t.name, int(t.program), bool(t.is_drum)) for t in first.score.tracks if len(t.notes)]
        return specs, "names"
    families: collections.Counter = collections.Counter()
    programs: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for piece in pieces:
        for t in piece.score.tracks:
            if len(t.notes):
                name = family_name(int(t.program), t.is_drum)
                families[name] += len(t.notes)
                programs[name][int(t.program)] += len(t.notes)
    chosen = [name for name, _ in families.most_common(max_tracks)]
    order = {name: i for i, name in enumerate(gm_families())}
    chosen.sort(key=order.__getitem__)
    specs = [TrackSpec(n, programs[n].most_common(1)[0][0], n == DRUMS_NAME) for n in chosen]
    return specs, "families"
