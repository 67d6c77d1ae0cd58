"""Audio: render a Piece with a General MIDI SoundFont (symusic's synthesizer) and write a WAV file.

The SoundFont is always passed explicitly: by default the TimGM6mb.sf2 that ships inside the
pretty_midi wheel, so nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_atomic
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

SOUNDFONT_NAME = "TimGM6mb.sf2"
PEAK = 10 ** (-1 / 20)  # -1 dBFS: loud, with room left for the int16 conversion
TAIL_SECONDS = 1.0  # room for the last notes' release
SAMPLE_RATES = (8000, 192000)


def soundfont_path() -> Path:
    """The General MIDI SoundFont bundled in the pretty_midi wheel (found without importing pretty_midi)."""
    spec = importlib.util.find_spec("pretty_midi")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / SOUNDFONT_NAME
        if path.is_file():
            return path
    raise TunesmithError(f"the SoundFont {SOUNDFONT_NAME} was not found: install pretty_midi "
                         "(pip install pretty_midi) or pass a .sf2 file explicitly")


def _check_soundfont(soundfont: str | Path | None) -> Path:
    if soundfont is None:
        return soundfont_path()
    path = Path(soundfont)
    if not path.is_file():
        raise TunesmithError(f"SoundFont not found: {path}")
    if path.suffix.lower() not in (".sf2", ".sf3"):
        raise TunesmithError(f"{path}: a SoundFont must be a .sf2 or .sf3 file")
    return path


def _check_sample_rate(sample_rate: int) -> int:
    low, high = SAMPLE_RATES
    if not low <= int(sample_rate) <= high:
        raise TunesmithError(f"sample rate {sample_rate} is out of range ({low}-{high} Hz)")
    return int(sample_rate)


def _with_tail(score: symusic.Score, seconds: float) -> symusic.Score:
    """A copy of `score` whose last event lies `seconds` after the last note ends.

    The synthesizer stops at the last note-off and would cut the final release short, so a
    silent note (pitch 0, velocity 1, one tick) on a track of its own marks the end.
    """
    score = score.copy()
    ends = [int(n.end) for t in score.tracks for n in t.notes]
    end = max(ends) if ends else 0
    tempos = score.tempos
    qpm = float(tempos[-1].qpm) if len(tempos) else 120.0
    tail_ticks = int(round(seconds * qpm / 60.0 * int(score.ticks_per_quarter)))
    marker = symusic.Track("end", program=0, is_drum=False)
    marker.notes.append(symusic.Note(end + max(tail_ticks, 1), 1, 0, 1))
    score.tracks.append(marker)
    return score


def render_audio(piece: Piece, sample_rate: int = 44100, soundfont: str | Path | None = None,
                 quality: int = 0, tail_seconds: float = TAIL_SECONDS) -> np.ndarray:
    """Synthesise `piece` to float32 stereo audio of shape (2, samples), peak-limited to -1 dBFS."""
    sample_rate = _check_sample_rate(sample_rate)
    sf_path = _check_soundfont(soundfont)
    if piece.note_count == 0:
        log.warning("%s has no notes: rendering %.1f s of silence", piece.name, tail_seconds)
        return np.zeros((2, max(1, int(round(tail_seconds * sample_rate)))), dtype=np.float32)
    synth = symusic.Synthesizer(str(sf_path), sample_rate=sample_rate, quality=quality)
    audio = np.asarray(synth.render(_with_tail(piece.score, tail_seconds), stereo=True), dtype=np.float32)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > PEAK:  # loud, dense passages sum past full scale: scale down rather than clip
        audio = audio * np.float32(PEAK / peak)
        log.info("%s: scaled audio by %.3f to avoid clipping", piece.name, PEAK / peak)
    elif peak == 0.0:
        log.warning("%s: the render is silent (does the SoundFont cover its instruments?)", piece.name)
    return np.asfortranarray(audio)


def render_wav(piece: Piece, path: str | Path, sample_rate: int = 44100,
               soundfont: str | Path | None = None) -> Path:
    """Render `piece` to a 16-bit stereo WAV file at `path` (atomically)."""
    audio = render_audio(piece, sample_rate=sample_rate, soundfont=soundfont)
    return write_atomic(path, lambda tmp: symusic.dump_wav(str(tmp), audio, sample_rate, use_int16=True))
