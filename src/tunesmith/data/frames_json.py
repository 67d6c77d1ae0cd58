"""The polyphonic benchmark's JSON files (Boulanger-Lewandowski et al. 2012 piano-rolls), checked on load.

A file is a list of pieces; a piece is a list of frames; a frame is a sorted list of the MIDI pitches
sounding in it (an empty list is silence). Pitches must lie on the 88 piano keys, MIDI 21 to 108.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tunesmith.errors import MusicFileError

LOWEST_KEY = 21
HIGHEST_KEY = 108
KEYS = HIGHEST_KEY - LOWEST_KEY + 1  # 88


def frames_to_roll(frames: list[list[int]], where: str = "piece") -> np.ndarray:
    """One piece's frames (lists of MIDI pitches) as a [frames, 88] uint8 roll; bad pitches raise."""
    roll = np.zeros((len(frames), KEYS), dtype=np.uint8)
    for t, frame in enumerate(frames):
        if not isinstance(frame, list):
            raise MusicFileError(f"{where}, frame {t}: expected a list of MIDI pitches, got {type(frame).__name__}")
        for pitch in frame:
            if isinstance(pitch, bool) or not isinstance(pitch, int):
                raise MusicFileError(f"{where}, frame {t}: pitch {pitch!r} is not an integer")
            if not LOWEST_KEY <= pitch <= HIGHEST_KEY:
                raise MusicFileError(
                    f"{where}, frame {t}: pitch {pitch} is outside the piano's 88 keys (MIDI {LOWEST_KEY}-{HIGHEST_KEY})")
            roll[t, pitch - LOWEST_KEY] = 1
    return roll


def roll_to_frames(roll: np.ndarray) -> list[list[int]]:
    """A [frames, 88] roll back to sorted lists of MIDI pitches (the JSON form)."""
    return [[int(k) + LOWEST_KEY for k in np.flatnonzero(row)] for row in np.asarray(roll)]


def parse_frames_json(data: object, source: str = "data") -> list[np.ndarray]:
    """Check already-parsed benchmark JSON and turn it into one [frames, 88] roll per piece."""
    if not isinstance(data, list):
        raise MusicFileError(f"{source}: expected a JSON list of pieces, got {type(data).__name__}")
    if not data:
        raise MusicFileError(f"{source}: holds no pieces")
    rolls = []
    for i, piece in enumerate(data):
        if not isinstance(piece, list) or not piece:
            raise MusicFileError(f"{source}: piece {i} must be a non-empty list of frames")
        rolls.append(frames_to_roll(piece, where=f"{source}: piece {i}"))
    return rolls


def load_frames_json(path: str | Path) -> list[np.ndarray]:
    """Read a benchmark JSON file as a list of [frames, 88] uint8 rolls (key 0 = MIDI 21)."""
    path = Path(path)
    if not path.is_file():
        raise MusicFileError(f"benchmark file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MusicFileError(f"{path}: not valid JSON ({exc})") from None
    return parse_frames_json(data, source=str(path))
