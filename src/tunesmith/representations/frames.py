"""88-key binary frames: the polyphonic benchmark's piano-roll (one row per beat fraction, one column per key).

Key 0 is MIDI 21 (A0), key 87 is MIDI 108 (C8). A frame holds the keys sounding at it; held and re-struck
notes are not told apart (as in Boulanger-Lewandowski et al. 2012), so decoding makes one note of each run
of frames in which a key stays on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import symusic

from tunesmith.config import config_from_dict
from tunesmith.data.frames_json import KEYS, LOWEST_KEY
from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)

TICKS_PER_QUARTER = 480


class FrameRepresentation(Representation):
    """Pieces <-> [frames, 88] uint8 rolls, `frames_per_beat` frames per quarter note."""

    kind: ClassVar[str] = "frames"

    def __init__(self, frames_per_beat: int = 1, tempo: float = 100.0, beats_per_bar: int = 4,
                 velocity: int = 80, program: int = 0):
        if frames_per_beat < 1:
            raise TunesmithError(f"frames_per_beat must be at least 1 (got {frames_per_beat})")
        if beats_per_bar < 1:
            raise TunesmithError(f"beats_per_bar must be at least 1 (got {beats_per_bar})")
        self.frames_per_beat = int(frames_per_beat)
        self.tempo = float(tempo)
        self.beats_per_bar = int(beats_per_bar)
        self.velocity = int(velocity)
        self.program = int(program)

    def encode(self, piece: Piece) -> np.ndarray:
        """Sounding keys per frame: a note covers the frames from its rounded start to its rounded end."""
        step = piece.tpq / self.frames_per_beat
        frames = int(round(piece.end_tick / step)) if piece.end_tick else 0
        roll = np.zeros((max(frames, 1), KEYS), dtype=np.uint8)
        dropped = 0
        for track in piece.score.tracks:
            if track.is_drum or not len(track.notes):
                continue
            notes = track.notes.numpy()
            for time, duration, pitch in zip(notes["time"], notes["duration"], notes["pitch"], strict=True):
                if not LOWEST_KEY <= pitch < LOWEST_KEY + KEYS:
                    dropped += 1
                    continue
                start = min(int(round(time / step)), len(roll) - 1)
                end = max(start + 1, int(round((time + duration) / step)))
                roll[start:end, pitch - LOWEST_KEY] = 1
        if dropped:
            log.warning("%s: %d note(s) outside the 88 piano keys left out", piece.name, dropped)
        return roll

    def decode(self, encoded: Any, name: str = "generated") -> Piece:
        """A [frames, 88] roll as a one-track piano Piece at `tempo` in 4/4 (or `beats_per_bar`/4)."""
        roll = np.asarray(encoded) > 0
        if roll.ndim != 2 or roll.shape[1] != KEYS:
            raise TunesmithError(f"a frames roll must be [frames, {KEYS}], got {list(roll.shape)}")
        step = TICKS_PER_QUARTER // self.frames_per_beat
        score = symusic.Score(TICKS_PER_QUARTER)
        score.tempos.append(symusic.Tempo(0, self.tempo))
        score.time_signatures.append(symusic.TimeSignature(0, self.beats_per_bar, 4))
        track = symusic.Track("Piano", self.program, False)
        padded = np.vstack([np.zeros((1, KEYS), bool), roll, np.zeros((1, KEYS), bool)]).astype(np.int8)
        edges = np.diff(padded, axis=0)  # +1 where a key turns on, -1 where it turns off
        for key in range(KEYS):
            starts, ends = np.flatnonzero(edges[:, key] == 1), np.flatnonzero(edges[:, key] == -1)
            for s, e in zip(starts, ends, strict=True):
                track.notes.append(symusic.Note(int(s * step), int((e - s) * step), key + LOWEST_KEY, self.velocity))
        track.notes.sort(inplace=True)
        score.tracks.append(track)
        return Piece(score, name=name, source="generated")

    def frames_for(self, bars: int | None = None, seconds: float | None = None) -> int:
        """How many frames make `bars` bars, or `seconds` seconds at `tempo` (bars when both are given)."""
        if bars is not None:
            return int(bars) * self.beats_per_bar * self.frames_per_beat
        if seconds is not None:
            return max(1, int(round(seconds * self.tempo / 60.0 * self.frames_per_beat)))
        raise TunesmithError("give a length in bars or seconds")

    def to_dict(self) -> dict[str, Any]:
        """Everything that rebuilds this representation."""
        return {"kind": self.kind, "frames_per_beat": self.frames_per_beat, "tempo": self.tempo,
                "beats_per_bar": self.beats_per_bar, "velocity": self.velocity, "program": self.program}

    @classmethod
    def from_dict(cls, values: dict[str, Any], run_dir: Path | None = None) -> FrameRepresentation:
        """Rebuild from `to_dict()` output; unknown keys are an error."""
        return config_from_dict(cls, {k: v for k, v in values.items() if k != "kind"}, "frames")
