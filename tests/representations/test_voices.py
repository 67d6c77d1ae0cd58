"""The per-voice event grid: exact values on hand-made pieces, round trips, skyline, segments."""

import numpy as np
import pytest
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.representations import representation_from_dict
from tunesmith.representations.voices import (
    FIRST_PITCH,
    HOLD,
    REST,
    VoiceGrid,
    VoiceRepresentation,
    concatenate,
    segments,
)

TPQ = 480
STEP = TPQ // 4  # one 16th note


def make_piece(tracks: list[list[tuple[int, int, int, int]]], names=None, tpq: int = TPQ, ts=(4, 4)) -> Piece:
    """tracks of (start step, length in steps, pitch, velocity)."""
    step = tpq // 4
    score = symusic.Score(tpq)
    score.time_signatures.append(symusic.TimeSignature(0, *ts))
    for i, notes in enumerate(tracks):
        track = symusic.Track(names[i] if names else f"T{i}", 0)
        for start, length, pitch, velocity in notes:
            track.notes.append(symusic.Note(start * step, length * step, pitch, velocity))
        score.tracks.append(track)
    return Piece(score, name="fixture")


def test_encode_exact_events_and_velocities():
    rep = VoiceRepresentation(min_pitch=48, max_pitch=84, velocity_bins=8)
    piece = make_piece([[(0, 4, 60, 100), (4, 2, 62, 40), (8, 1, 64, 127)]])
    grid = rep.encode(piece)
    assert grid.events.shape == (1, 16)  # rounded up to one whole 4/4 bar of 16ths
    expected = [FIRST_PITCH + 12, HOLD, HOLD, HOLD, FIRST_PITCH + 14, HOLD, REST, REST, FIRST_PITCH + 16] + [REST] * 7
    assert grid.events[0].tolist() == expected
    assert grid.velocities[0, [0, 4, 8]].tolist() == [6, 2, 7]  # (v - 1) * 8 // 127
    assert grid.velocities[0].sum() == 15


def test_decode_round_trip_is_exact_on_the_grid():
    rep = VoiceRepresentation(voices=2, mode="tracks", velocity_bins=127)
    piece = make_piece([[(0, 3, 72, 90), (3, 1, 74, 60), (6, 10, 76, 30)], [(0, 8, 48, 70), (8, 8, 43, 71)]])
    decoded = rep.decode(rep.encode(piece))
    for original, back in zip(piece.score.tracks, decoded.score.tracks, strict=True):
        a, b = original.notes.numpy(), back.notes.numpy()
        for key in ("time", "duration", "pitch", "velocity"):
            assert a[key].tolist() == b[key].tolist(), key
    again = rep.encode(decoded)
    assert np.array_equal(again.events, rep.encode(piece).events)


def test_velocity_bins_keep_loudness_close():
    rep = VoiceRepresentation(velocity_bins=32)
    velocities = np.arange(1, 128)
    back = rep.bin_velocity(rep.velocity_bin(velocities))
    assert np.abs(back - velocities).max() <= 2
    assert rep.bin_velocity(rep.velocity_bin(np.array([90])))[0] == 90


def test_top_voice_is_the_skyline():
    rep = VoiceRepresentation()
    # a chord (top note wins), then an inner voice moving under a held top note (left out),
    # then a lower note starting after the top note has ended (taken)
    piece = make_piece([[(0, 8, 72, 80), (8, 4, 76, 80)], [(0, 4, 60, 80), (4, 4, 64, 80), (12, 4, 55, 80)]])
    events = rep.encode(piece).events[0]
    assert events[0] == FIRST_PITCH + 72 - 21
    assert (events[1:8] == HOLD).all()  # the 64 at step 4 sits under the sounding 72
    assert events[8] == FIRST_PITCH + 76 - 21
    assert events[12] == FIRST_PITCH + 55 - 21


def test_tracks_mode_names_voices_and_pads_missing_ones():
    rep = VoiceRepresentation(voices=3, mode="tracks")
    piece = make_piece([[(0, 4, 67, 90)], [(0, 4, 60, 90)]], names=["Soprano", "Alto"])
    rep.fit([piece])
    assert rep.voice_names[:2] == ["Soprano", "Alto"]
    grid = rep.encode(piece)
    assert grid.events.shape == (3, 16)
    assert (grid.events[2] == REST).all()
    decoded = rep.decode(grid)
    assert [t.name for t in decoded.score.tracks][:2] == ["Soprano", "Alto"]


def test_pitches_outside_the_range_move_by_octaves():
    rep = VoiceRepresentation(min_pitch=60, max_pitch=71)
    piece = make_piece([[(0, 1, 48, 90), (1, 1, 85, 90)]])
    events = rep.encode(piece).events[0]
    assert events[0] - FIRST_PITCH + 60 == 60 and events[1] - FIRST_PITCH + 60 == 61


def test_window_restrikes_a_note_held_across_the_cut_and_segments_filter_silence():
    rep = VoiceRepresentation()
    piece = make_piece([[(0, 20, 60, 90), (40, 4, 62, 90)]])  # 4 bars: a long note, a silence, a note
    grid = rep.encode(piece)
    window = grid.window(16, 32)
    assert window.events[0, 0] == FIRST_PITCH + 60 - 21 and (window.events[0, 1:4] == HOLD).all()
    assert window.velocities[0, 0] == grid.velocities[0, 0]
    assert grid.steps == 48  # 3 bars
    # the window at bar 1 holds 20 silent steps (a bar and a quarter): left out when a bar is the limit
    assert [w.events[0, 0] for w in segments(grid, 32, 16, max_rest_steps=16)] == [FIRST_PITCH + 60 - 21]
    assert len(segments(grid, 32, 16, max_rest_steps=24)) == 2
    assert segments(VoiceGrid(np.zeros((1, 32), np.int64), np.zeros((1, 32), np.int64)), 32, 16) == []
    assert concatenate([window, window]).steps == 32


def test_to_dict_round_trip_and_errors():
    rep = VoiceRepresentation(voices=4, mode="tracks", time_signature="3/4", velocity_bins=16)
    rebuilt = representation_from_dict(rep.to_dict())
    assert isinstance(rebuilt, VoiceRepresentation) and rebuilt.to_dict() == rep.to_dict()
    assert rebuilt.steps_per_bar == 12 and rebuilt.events == 90
    with pytest.raises(TunesmithError) as raised:
        VoiceRepresentation.from_dict({"kind": "voices", "voicez": 2})
    assert str(raised.value) == ("unknown voices representation setting(s) voicez (known: max_pitch, min_pitch, mode, "
                                 "programs, steps_per_quarter, tempo, time_signature, tpq, velocity_bins, voice_names, "
                                 "voices)")
    with pytest.raises(TunesmithError, match=r"^voices representation setting voices must be a whole number \(got 2.0\)$"):
        VoiceRepresentation.from_dict({"kind": "voices", "voices": 2.0})
    with pytest.raises(TunesmithError, match="mode 'top' is one voice"):
        VoiceRepresentation(voices=2, mode="top")
    with pytest.raises(TunesmithError, match="no notes"):
        rep.encode(make_piece([[]]))


def test_meter_check():
    rep = VoiceRepresentation()
    assert rep.fits_meter(make_piece([[(0, 1, 60, 90)]], ts=(2, 2)))
    assert rep.fits_meter(make_piece([[(0, 1, 60, 90)]], ts=(2, 4)))  # two 2/4 bars make one grid bar
    assert not rep.fits_meter(make_piece([[(0, 1, 60, 90)]], ts=(3, 4)))
    assert not rep.fits_meter(make_piece([[(0, 1, 60, 90)]], ts=(6, 8)))
    assert not VoiceRepresentation(time_signature="2/4").fits_meter(make_piece([[(0, 1, 60, 90)]]))
    grid = VoiceGrid(np.array([[FIRST_PITCH, HOLD, REST]]), np.zeros((1, 3), dtype=np.int64))
    assert grid.note_on().sum() == 1
