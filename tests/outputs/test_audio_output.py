"""SoundFont rendering: the bundled SoundFont, WAV length, rate and loudness, drums as drums."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from tunesmith.errors import TunesmithError
from tunesmith.outputs.audio import PEAK, TAIL_SECONDS, render_audio, render_wav, soundfont_path
from tunesmith.piece import Piece


def _read_wav(path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as f:
        params = f.getparams()
        frames = np.frombuffer(f.readframes(params.nframes), dtype=np.int16).reshape(-1, params.nchannels)
    return params, frames


def test_soundfont_is_the_bundled_general_midi_one():
    path = soundfont_path()
    assert path.name == "TimGM6mb.sf2"
    assert path.is_file() and path.stat().st_size > 5_000_000
    assert path.read_bytes()[:4] == b"RIFF"


def test_wav_has_the_piece_duration_rate_and_sound(tmp_path, duet):
    assert duet.seconds == pytest.approx(4.0)
    path = render_wav(duet, tmp_path / "duet.wav", sample_rate=22050)
    params, frames = _read_wav(path)
    assert (params.framerate, params.nchannels, params.sampwidth) == (22050, 2, 2)
    seconds = params.nframes / params.framerate
    assert abs(seconds - (duet.seconds + TAIL_SECONDS)) < 1.0
    rms = np.sqrt(np.mean(frames.astype(float) ** 2)) / 32768
    assert rms > 0.01  # clearly audible, not silence
    first_second = np.abs(frames[:22050]).max()
    assert first_second > 1000  # the music starts at once


def test_piece_render_wav_shortcut(tmp_path, duet):
    path = duet.render_wav(tmp_path / "d.wav", sample_rate=16000)
    assert _read_wav(path)[0].framerate == 16000


def test_loud_dense_music_is_scaled_not_clipped(tmp_path, piece_maker):
    cluster = [(0, 1920, p, 127) for p in range(48, 84, 2)]  # 18 notes at full velocity
    loud = piece_maker([("Organ", 19, False, cluster), ("Brass", 61, False, cluster)])
    audio = render_audio(loud, sample_rate=16000)
    assert np.abs(audio).max() == pytest.approx(PEAK, rel=1e-3)
    _, frames = _read_wav(render_wav(loud, tmp_path / "loud.wav", sample_rate=16000))
    assert np.abs(frames.astype(int)).max() < 32000


def test_drum_tracks_render_as_drums(drum_groove):
    as_drums = render_audio(drum_groove, sample_rate=16000)
    pitched = drum_groove.copy()
    pitched.score.tracks[0].is_drum = False  # the same notes played on the piano
    as_piano = render_audio(pitched, sample_rate=16000)
    n = min(as_drums.shape[1], as_piano.shape[1])
    assert np.abs(as_drums).max() > 0.05 and np.abs(as_piano).max() > 0.05
    difference = np.abs(as_drums[:, :n] - as_piano[:, :n]).mean()
    assert difference > 0.5 * np.abs(as_piano[:, :n]).mean()


def test_empty_piece_is_short_silence():
    import symusic

    audio = render_audio(Piece(score=symusic.Score(480), name="empty"), sample_rate=8000)
    assert audio.shape == (2, 8000) and not audio.any()


def test_bad_inputs_are_one_line_errors(tmp_path, duet):
    with pytest.raises(TunesmithError, match="SoundFont not found"):
        render_audio(duet, soundfont=tmp_path / "missing.sf2")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TunesmithError, match=r"\.sf2 or \.sf3"):
        render_audio(duet, soundfont=tmp_path / "notes.txt")
    with pytest.raises(TunesmithError, match="sample rate 100 is out of range"):
        render_audio(duet, sample_rate=100)


def test_missing_soundfont_is_explained(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(TunesmithError, match="TimGM6mb.sf2 was not found"):
        soundfont_path()


def test_a_note_the_synthesizer_hangs_on_is_rendered_an_octave_lower(piece_maker, monkeypatch, caplog):
    import tunesmith.outputs.audio as audio

    monkeypatch.setattr(audio, "RENDER_SECONDS_MIN", 3.0)
    # symusic 0.5.9 never returns on a violin at MIDI 102 with TimGM6mb at 44.1 kHz
    high = piece_maker([("Violin", 40, False, [(0, 480, 102, 100), (480, 480, 76, 90)])], name="high")
    rendered = render_audio(high, sample_rate=44100)
    lower = render_audio(piece_maker([("Violin", 40, False, [(0, 480, 90, 100), (480, 480, 76, 90)])]),
                         sample_rate=44100)
    assert "hung" in caplog.text
    assert rendered.shape == lower.shape and np.abs(rendered).max() > 0.1
    np.testing.assert_array_equal(rendered, lower)
    assert [n.pitch for n in high.score.tracks[0].notes] == [102, 76]  # the piece itself is not changed


def test_a_synthesizer_that_fails_is_a_clear_error(duet, tmp_path):
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF" + b"\x00" * 64)
    with pytest.raises(TunesmithError, match="synthesizer"):
        render_audio(duet, soundfont=broken)
