"""Piece: the one in-memory music object. Wraps a symusic.Score (ticks) with its name and source."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import symusic

from tunesmith.theory import Key, estimate_key, pitch_name, transpose_chord

CHORD_MARKER = "chord:"  # a chord symbol read from a score, kept as a marker: "chord:F#m7"
PICKUP_MARKER = "pickup"  # a marker at the end of the silence put before a pickup bar to keep it on its beat


@dataclass
class Piece:
    """A piece of music: a symusic Score in ticks, plus where it came from.

    Tracks are the voices or instruments (name and General MIDI program kept); velocity is kept.
    """

    score: symusic.Score
    name: str = "piece"
    source: str = ""
    tags: dict[str, Any] = field(default_factory=dict)

    # --- files (reading lives in data/, writing in outputs/) ---
    @classmethod
    def load(cls, path: str | Path) -> Piece:
        """Read a MIDI, MusicXML, ABC or kern file."""
        from tunesmith.data.files import read_piece

        return read_piece(path)

    def save(self, path: str | Path) -> Path:
        """Write by suffix: .mid/.midi, .wav, .png (piano-roll), .musicxml/.xml (score)."""
        from tunesmith.outputs import save_piece

        return save_piece(self, path)

    def render_wav(self, path: str | Path, sample_rate: int = 44100) -> Path:
        """Synthesise to a WAV file with the bundled General MIDI SoundFont."""
        from tunesmith.outputs.audio import render_wav

        return render_wav(self, path, sample_rate=sample_rate)

    # --- what it is ---
    @property
    def tpq(self) -> int:
        """Ticks per quarter note."""
        return int(self.score.ticks_per_quarter)

    @property
    def time_signature(self) -> tuple[int, int]:
        """(numerator, denominator) of the first time signature; 4/4 when none is given."""
        ts = self.score.time_signatures
        return (int(ts[0].numerator), int(ts[0].denominator)) if len(ts) else (4, 4)

    @property
    def tempo(self) -> float:
        """Quarter notes per minute of the first tempo; 120 when none is given."""
        tempos = self.score.tempos
        return float(tempos[0].qpm) if len(tempos) else 120.0

    @property
    def bar_ticks(self) -> int:
        """Length of one bar in ticks, from the first time signature."""
        num, den = self.time_signature
        return int(round(self.tpq * 4 * num / den))

    @property
    def note_count(self) -> int:
        return int(sum(len(t.notes) for t in self.score.tracks))

    @property
    def end_tick(self) -> int:
        """The tick where the last note ends (0 for an empty piece)."""
        ends = [n.end for t in self.score.tracks for n in t.notes]
        return int(max(ends)) if ends else 0

    @property
    def bars(self) -> int:
        """Number of bars the notes span (a partial last bar counts)."""
        return int(math.ceil(self.end_tick / self.bar_ticks)) if self.end_tick else 0

    @property
    def seconds(self) -> float:
        """Duration in seconds at the piece's first tempo."""
        return self.end_tick / self.tpq * 60.0 / self.tempo

    def pitches(self) -> np.ndarray:
        """All note pitches (drums excluded)."""
        arrs = [t.notes.numpy()["pitch"] for t in self.score.tracks if not t.is_drum and len(t.notes)]
        return np.concatenate(arrs) if arrs else np.zeros(0, dtype=np.int64)

    @property
    def pitch_range(self) -> tuple[int, int] | None:
        """(lowest, highest) MIDI pitch, or None for an empty piece."""
        p = self.pitches()
        return (int(p.min()), int(p.max())) if len(p) else None

    def pitch_class_histogram(self, weight_by_duration: bool = True) -> np.ndarray:
        """Length-12 histogram of pitch classes (by duration in ticks, or by note count)."""
        hist = np.zeros(12)
        for track in self.score.tracks:
            if track.is_drum or not len(track.notes):
                continue
            arr = track.notes.numpy()
            w = arr["duration"] if weight_by_duration else np.ones(len(arr["pitch"]))
            np.add.at(hist, arr["pitch"] % 12, w)
        return hist

    @property
    def key(self) -> Key:
        """The key estimated from the notes (Krumhansl-Schmuckler)."""
        return estimate_key(self.pitch_class_histogram())

    @property
    def instruments(self) -> list[tuple[str, int, bool]]:
        """(track name, General MIDI program, is_drum) for each track with notes."""
        return [(t.name, int(t.program), bool(t.is_drum)) for t in self.score.tracks if len(t.notes)]

    def summary(self) -> dict[str, Any]:
        """One-line facts: bars, notes, key, pitch range, tempo, tracks."""
        rng = self.pitch_range
        return {
            "name": self.name,
            "bars": self.bars,
            "notes": self.note_count,
            "key": str(self.key) if self.note_count else None,
            "pitch_range": f"{pitch_name(rng[0])}-{pitch_name(rng[1])}" if rng else None,
            "tempo": round(self.tempo, 1),
            "time_signature": "{}/{}".format(*self.time_signature),
            "tracks": len(self.instruments),
            "seconds": round(self.seconds, 2),
        }

    # --- new pieces from this one ---
    def copy(self, **changes: Any) -> Piece:
        values = {"score": self.score.copy(), "name": self.name, "source": self.source, "tags": dict(self.tags)}
        values.update(changes)
        return Piece(**values)

    def transpose(self, semitones: int) -> Piece:
        """Shift every pitched note (drums stay) and every chord symbol (a "chord:FIGURE" marker) by `semitones`."""
        score = self.score.copy()
        for track in score.tracks:
            if not track.is_drum:
                track.shift_pitch(semitones, inplace=True)
        for marker in score.markers:
            if marker.text.startswith(CHORD_MARKER):
                marker.text = CHORD_MARKER + transpose_chord(marker.text[len(CHORD_MARKER):], semitones)
        return self.copy(score=score)

    def bars_slice(self, start_bar: int, end_bar: int) -> Piece:
        """The notes that start in bars [start_bar, end_bar), cut at its end and moved to begin at tick 0."""
        start, end = start_bar * self.bar_ticks, end_bar * self.bar_ticks
        score = self.score.clip(start, end, clip_end=False).shift_time(-start)
        for track in score.tracks:
            track.notes.filter(lambda n: n.time >= 0, inplace=True)
            for note in track.notes:
                if note.end > end - start:
                    note.duration = end - start - note.time
        return self.copy(score=score)
