"""Per-voice event grids (MusicVAE's melody encoding, one row per voice).

Each voice is monophonic. At every grid step (a 16th note by default) a voice holds one event:
0 = rest, 1 = hold (the note sounding before goes on), 2 + k = note-on of pitch `min_pitch + k`.
A velocity bin is kept beside every note-on, so pitch, rhythm and volume all survive the round trip.

- mode "top": one voice, the top line (skyline) of every pitched track together: a melody.
- mode "tracks": each pitched track is a voice (the four Bach chorale voices, a multi-track MIDI's
  instruments); a track with chords keeps its top note, as MusicVAE did for its melodies.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import symusic

from tunesmith.config import config_from_dict
from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)

REST, HOLD, FIRST_PITCH = 0, 1, 2
MODES = ("top", "tracks")


class VoiceGrid(NamedTuple):
    """Events and velocity bins, both [voices, steps] int64 (velocity is 0 where no note starts)."""

    events: np.ndarray
    velocities: np.ndarray

    @property
    def steps(self) -> int:
        return int(self.events.shape[-1])

    def note_on(self) -> np.ndarray:
        """Boolean [voices, steps]: where a note starts."""
        return self.events >= FIRST_PITCH

    def window(self, start: int, stop: int) -> VoiceGrid:
        """Steps [start, stop) as a new grid; a hold at the cut becomes the note it continues."""
        events = self.events[:, start:stop].copy()
        velocities = self.velocities[:, start:stop].copy()
        for v in np.nonzero(events[:, 0] == HOLD)[0] if events.shape[1] else []:
            back = start - 1
            while back >= 0 and self.events[v, back] == HOLD:
                back -= 1
            if back >= 0 and self.events[v, back] >= FIRST_PITCH:  # re-strike the sounding note
                events[v, 0], velocities[v, 0] = self.events[v, back], self.velocities[v, back]
            else:
                events[v, 0] = REST
        return VoiceGrid(events, velocities)


def concatenate(grids: list[VoiceGrid]) -> VoiceGrid:
    """Grids one after another in time."""
    return VoiceGrid(np.concatenate([g.events for g in grids], axis=1),
                     np.concatenate([g.velocities for g in grids], axis=1))


class VoiceRepresentation(Representation):
    """Pieces as per-voice event grids (note-on(pitch) / hold / rest per step, velocity bin per note-on)."""

    kind: ClassVar[str] = "voices"

    def __init__(self, voices: int = 1, mode: str = "top", steps_per_quarter: int = 4,
                 time_signature: str = "4/4", min_pitch: int = 21, max_pitch: int = 108,
                 velocity_bins: int = 32, voice_names: list[str] | None = None,
                 programs: list[int] | None = None, tempo: float = 120.0, tpq: int = 480):
        if mode not in MODES:
            raise TunesmithError(f"voices representation: unknown mode {mode!r} (choose from: {', '.join(MODES)})")
        if mode == "top" and voices != 1:
            raise TunesmithError("voices representation: mode 'top' is one voice (set voices = 1 or mode = 'tracks')")
        if voices < 1 or steps_per_quarter < 1 or velocity_bins < 1 or not 0 <= min_pitch <= max_pitch <= 127:
            raise TunesmithError("voices representation: voices, steps_per_quarter and velocity_bins must be "
                                 "at least 1 and 0 <= min_pitch <= max_pitch <= 127")
        try:
            num, den = (int(x) for x in time_signature.split("/"))
        except ValueError:
            raise TunesmithError(f"voices representation: time_signature {time_signature!r} is not like '4/4'") from None
        steps = steps_per_quarter * 4 * num / den
        if steps != int(steps) or steps < 1:
            raise TunesmithError(f"voices representation: a {time_signature} bar is not a whole number of steps")
        self.voices, self.mode, self.steps_per_quarter = voices, mode, steps_per_quarter
        self.time_signature, self.meter = time_signature, (num, den)
        self.min_pitch, self.max_pitch, self.velocity_bins = min_pitch, max_pitch, velocity_bins
        self.voice_names = list(voice_names or ([("Melody" if mode == "top" else f"Voice {i + 1}")
                                                 for i in range(voices)]))
        self.programs = list(programs or [0] * voices)
        self.tempo, self.tpq = float(tempo), int(tpq)

    # --- sizes ---
    @property
    def events(self) -> int:
        """Number of event classes: rest, hold and one note-on per pitch."""
        return FIRST_PITCH + self.max_pitch - self.min_pitch + 1

    @property
    def steps_per_bar(self) -> int:
        num, den = self.meter
        return int(self.steps_per_quarter * 4 * num / den)

    def fits_meter(self, piece: Piece) -> bool:
        """Whether a whole number of the piece's bars makes one grid bar, so grid bars start on bar
        lines: 4/4, 2/2 and 2/4 (two bars in one) fit '4/4'; 3/4 and 6/8 do not."""
        num, den = piece.time_signature
        ratio = (self.meter[0] / self.meter[1]) / (num / den)
        return ratio >= 1 - 1e-9 and abs(ratio - round(ratio)) < 1e-9

    # --- velocity bins ---
    def velocity_bin(self, velocity: np.ndarray) -> np.ndarray:
        """MIDI velocities 1..127 -> bins 0..velocity_bins-1 of equal width."""
        v = np.clip(np.asarray(velocity, dtype=np.int64), 1, 127)
        return np.minimum((v - 1) * self.velocity_bins // 127, self.velocity_bins - 1)

    def bin_velocity(self, bins: np.ndarray) -> np.ndarray:
        """Bins -> the MIDI velocity at each bin's centre."""
        b = np.asarray(bins, dtype=np.float64)
        return np.clip(1 + np.floor((b + 0.5) * 127 / self.velocity_bins), 1, 127).astype(np.int64)

    # --- Piece -> grid ---
    def _voice_notes(self, piece: Piece) -> list[dict[str, np.ndarray] | None]:
        """Each voice's notes as symusic's columns ({"time", "duration", "pitch", "velocity"...: [N]}), None
        for a voice without a track."""
        tracks = [t for t in piece.score.tracks if not t.is_drum and len(t.notes)]
        arrays = [t.notes.numpy() for t in tracks]
        if self.mode == "top":
            if not arrays:
                return [None]
            return [{k: np.concatenate([a[k] for a in arrays]) for k in ("time", "duration", "pitch", "velocity")}]
        if len(arrays) > self.voices:
            log.debug("%s: %d tracks, keeping the first %d as voices", piece.name, len(arrays), self.voices)
        return (arrays[: self.voices] + [None] * self.voices)[: self.voices]

    def _fold_pitch(self, pitch: np.ndarray) -> np.ndarray:
        """Pitches outside [min_pitch, max_pitch] moved by octaves into it."""
        p = pitch.astype(np.int64)
        while (low := p < self.min_pitch).any() and self.min_pitch + 12 <= self.max_pitch + 1:
            p[low] += 12
        while (high := p > self.max_pitch).any() and self.max_pitch - 12 >= self.min_pitch - 1:
            p[high] -= 12
        return np.clip(p, self.min_pitch, self.max_pitch)

    def encode(self, piece: Piece) -> VoiceGrid:
        """The piece as a grid [voices, whole bars * steps_per_bar]; onsets and ends snap to the grid."""
        if piece.note_count == 0:
            raise TunesmithError(f"{piece.name}: the piece has no notes")
        step = piece.tpq / self.steps_per_quarter
        total = max(1, int(np.ceil(round(piece.end_tick / step, 6))))
        total = int(np.ceil(total / self.steps_per_bar)) * self.steps_per_bar
        events = np.full((self.voices, total), REST, dtype=np.int64)
        velocities = np.zeros((self.voices, total), dtype=np.int64)
        for v, notes in enumerate(self._voice_notes(piece)):
            if notes is None or not len(notes["time"]):
                continue
            onset = np.rint(notes["time"] / step).astype(np.int64)
            end = np.maximum(onset + 1, np.rint((notes["time"] + notes["duration"]) / step).astype(np.int64))
            pitch = self._fold_pitch(notes["pitch"])
            order = np.lexsort((-pitch, onset))  # by onset, highest pitch first
            onset, end, pitch = onset[order], end[order], pitch[order]
            vel = self.velocity_bin(notes["velocity"][order])
            first = np.ones(len(onset), dtype=bool)
            first[1:] = onset[1:] != onset[:-1]  # the top note of each onset (skyline)
            onset, end, pitch, vel = onset[first], end[first], pitch[first], vel[first]
            keep = _skyline(onset, end, pitch)
            onset, end, pitch, vel = onset[keep], end[keep], pitch[keep], vel[keep]
            end = np.minimum(end, np.append(onset[1:], total))  # a new onset ends the sounding note
            for s, e, p, b in zip(onset, end, pitch, vel, strict=True):
                if s >= total:
                    continue
                events[v, s] = FIRST_PITCH + p - self.min_pitch
                events[v, s + 1: e] = HOLD
                velocities[v, s] = b
        return VoiceGrid(events, velocities)

    # --- grid -> Piece ---
    def decode(self, encoded: Any, name: str = "generated", tempo: float | None = None) -> Piece:
        """A grid (VoiceGrid, or (events, velocities) arrays/tensors) back into a Piece, one track per voice."""
        events, velocities = (np.asarray(_to_numpy(a), dtype=np.int64) for a in encoded)
        if events.ndim == 1:
            events, velocities = events[None], velocities[None]
        step = self.tpq // self.steps_per_quarter
        score = symusic.Score(self.tpq)
        score.time_signatures.append(symusic.TimeSignature(0, *self.meter))
        score.tempos.append(symusic.Tempo(0, float(tempo or self.tempo)))
        for v in range(events.shape[0]):
            track = symusic.Track(self.voice_names[v] if v < len(self.voice_names) else f"Voice {v + 1}",
                                  self.programs[v] if v < len(self.programs) else 0)
            row = events[v]
            starts = np.nonzero(row >= FIRST_PITCH)[0]
            for s in starts:
                e = s + 1
                while e < len(row) and row[e] == HOLD:
                    e += 1
                pitch = int(row[s] - FIRST_PITCH + self.min_pitch)
                vel = int(self.bin_velocity(velocities[v, s]))
                track.notes.append(symusic.Note(int(s * step), int((e - s) * step), pitch, vel))
            score.tracks.append(track)
        return Piece(score, name=name, source="generated")

    # --- persistence ---
    def fit(self, pieces: list[Piece]) -> VoiceRepresentation:
        """Name the voices (and their instruments) after the training pieces' tracks."""
        if self.mode == "top" or not pieces:
            return self
        names: list[Counter] = [Counter() for _ in range(self.voices)]
        programs: list[Counter] = [Counter() for _ in range(self.voices)]
        for piece in pieces:
            tracks = [t for t in piece.score.tracks if not t.is_drum and len(t.notes)]
            for v, track in enumerate(tracks[: self.voices]):
                names[v][track.name or f"Voice {v + 1}"] += 1
                programs[v][int(track.program)] += 1
        self.voice_names = [c.most_common(1)[0][0] if c else f"Voice {v + 1}" for v, c in enumerate(names)]
        self.programs = [c.most_common(1)[0][0] if c else 0 for c in programs]
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "voices": self.voices, "mode": self.mode,
                "steps_per_quarter": self.steps_per_quarter, "time_signature": self.time_signature,
                "min_pitch": self.min_pitch, "max_pitch": self.max_pitch, "velocity_bins": self.velocity_bins,
                "voice_names": self.voice_names, "programs": self.programs, "tempo": self.tempo, "tpq": self.tpq}

    @classmethod
    def from_dict(cls, values: dict[str, Any], run_dir: Path | None = None) -> VoiceRepresentation:
        """Rebuild from `to_dict()` output; unknown keys are an error."""
        return config_from_dict(cls, {k: v for k, v in values.items() if k != "kind"}, "voices representation")


def segments(grid: VoiceGrid, steps: int, hop: int, max_rest_steps: int | None = None) -> list[VoiceGrid]:
    """Windows of `steps` every `hop` steps; a window whose voices all rest for more than
    `max_rest_steps` in a row (or that has no note) is left out."""
    out = []
    for start in range(0, grid.steps - steps + 1, hop):
        window = grid.window(start, start + steps)
        sounding = (window.events != REST).any(axis=0)
        if not window.note_on().any():
            continue
        if max_rest_steps is not None and _longest_false_run(sounding) > max_rest_steps:
            continue
        out.append(window)
    return out


def _skyline(onset: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Which notes (one per onset, in onset order) form the top line: a note starting under a
    higher note that still sounds is left out."""
    keep = np.zeros(len(onset), dtype=bool)
    top_pitch, top_end = -1, -1
    for i in range(len(onset)):
        if onset[i] < top_end and pitch[i] < top_pitch:
            continue
        keep[i], top_pitch, top_end = True, pitch[i], end[i]
    return keep


def _longest_false_run(mask: np.ndarray) -> int:
    longest = run = 0
    for value in mask:
        run = 0 if value else run + 1
        longest = max(longest, run)
    return longest


def _to_numpy(a: Any) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)
