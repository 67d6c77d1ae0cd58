"""Audio: render a Piece with a General MIDI SoundFont (symusic's synthesizer) and write a WAV file.

The SoundFont is always passed explicitly: by default the TimGM6mb.sf2 that ships inside the
pretty_midi wheel, so nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import wave
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
# symusic 0.5.9's synthesizer never returns on some very high notes (seen with TimGM6mb.sf2 at 44.1 kHz: a
# violin at MIDI 102, 30 of the first 84 programs somewhere in 101-108), so it renders in a child process
# that can be stopped; a piece it hangs on is rendered again with those notes an octave lower.
RENDER_SECONDS_MIN = 10.0  # the time allowed: this, plus the piece's own length
HIGHEST_SAFE_PITCH = 100


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
    synth_args = (str(sf_path), sample_rate, quality)
    allowed = RENDER_SECONDS_MIN + piece.seconds
    audio = _render_stoppable(synth_args, _with_tail(piece.score, tail_seconds), allowed)
    if audio is None:
        lowered = _high_notes_an_octave_lower(piece.score)
        log.warning("%s: the synthesizer hung; rendering its notes above MIDI %d an octave lower",
                    piece.name, HIGHEST_SAFE_PITCH)
        audio = _render_stoppable(synth_args, _with_tail(lowered, tail_seconds), allowed)
    if audio is None:
        raise TunesmithError(f"{piece.name}: the SoundFont synthesizer did not finish in {allowed:.0f} s")
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
    return write_atomic(path, lambda tmp: _write_wav(tmp, audio, sample_rate))


def _write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM, the same bytes as symusic.dump_wav(use_int16=True) (each sample rounded from x * 32768,
    clipped), written by Python's wave module: symusic's writer does not check its writes, so on a full disk
    it leaves a cut-off file and no error."""
    samples = np.clip(np.round(np.asarray(audio, dtype=np.float32) * np.float32(32768)), -32768, 32767)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(audio.shape[0])
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(samples.astype("<i2").T.tobytes())


def _render_stoppable(synth_args: tuple, score: symusic.Score, seconds: float) -> np.ndarray | None:
    """symusic's render of `score` in a forked child; None when it has not finished after `seconds`."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_render_into, args=(sender, synth_args, score), daemon=True)
    child.start()
    sender.close()  # the child holds the only sending end: its death reads as the end of the pipe
    try:
        if not receiver.poll(seconds):
            return None
        try:
            shape, data = receiver.recv()
        except EOFError:
            child.join(5)
            raise TunesmithError(f"the SoundFont synthesizer crashed (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if isinstance(data, str):
        raise TunesmithError(f"the SoundFont synthesizer failed: {data}")
    return np.frombuffer(data, dtype=np.float32).reshape(shape)


def _render_into(sender, synth_args: tuple, score: symusic.Score) -> None:
    try:
        audio = np.asarray(symusic.Synthesizer(*synth_args).render(score, stereo=True), dtype=np.float32)
        sender.send((audio.shape, audio.tobytes()))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as text
        sender.send(((0,), f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def _high_notes_an_octave_lower(score: symusic.Score) -> symusic.Score:
    """A copy of `score` whose pitched notes above HIGHEST_SAFE_PITCH are moved down by whole octaves."""
    score = score.copy()
    for track in score.tracks:
        if track.is_drum:
            continue
        for note in track.notes:
            while note.pitch > HIGHEST_SAFE_PITCH:
                note.pitch -= 12
    return score
