"""Files that hurt a reader, made in code: MIDI bytes (good, damaged, RIFF-wrapped), and a reader that crashes,
hangs or eats memory on purpose, by the file's name, put in place of the workers' reader (`hostile_reader`)."""

from __future__ import annotations

import os
import resource
import signal
import struct
import time
from pathlib import Path

import symusic

from tunesmith.data.limits import ReadLimits
from tunesmith.data.parse import parse_piece
from tunesmith.piece import Piece


def midi(pitches=(60, 62, 64, 65), *, tracks: int = 1, tpq: int = 480) -> bytes:
    """A small standard MIDI file: `tracks` piano tracks of quarter notes."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, qpm=120.0))
    for t in range(tracks):
        track = symusic.Track(f"Piano {t}", program=0)
        for i, pitch in enumerate(pitches):
            track.notes.append(symusic.Note(i * tpq, tpq, pitch + t, 90))
        score.tracks.append(track)
    return bytes(score.dumps_midi())


def riff_midi(smf: bytes) -> bytes:
    """`smf` wrapped as RIFF MIDI ('RMID'): a 'data' chunk, padded to an even length."""
    body = b"RMID" + b"data" + struct.pack("<I", len(smf)) + smf + (b"\0" if len(smf) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def hostile_reader(path: Path, limits: ReadLimits) -> Piece:
    """The workers' reader, except on files named crash-* (the process kills itself with SIGSEGV, as a crash
    inside a native parser does), hang-* (it sleeps for an hour) and hog-* (it asks for 64 GB)."""
    if path.name.startswith("crash-"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if path.name.startswith("hang-"):
        time.sleep(3600)
    if path.name.startswith("hog-"):
        if resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY:
            raise RuntimeError("no memory limit in this worker: not asking for 64 GB")
        bytearray(64 << 30)
    return parse_piece(path, limits)
