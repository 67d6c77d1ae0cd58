"""Presets: the shipped ones load strictly, the user's values win, missing requirements are named."""

from __future__ import annotations

import pytest

from tunesmith.errors import ControlError
from tunesmith.generation.controls import Controls
from tunesmith.generation.presets import available_presets, load_preset, merge_preset


def test_every_shipped_preset_loads_into_controls():
    assert {"jingle", "game-loop", "exercise", "chorale", "continue"} <= set(available_presets())
    for name in available_presets():
        preset = load_preset(name)
        given = {"key": "D minor", "primer": None}
        if "primer" in preset.requires:
            continue
        Controls(**merge_preset(preset, given))


def test_user_values_override_the_preset_and_requirements_are_named():
    jingle = load_preset("jingle")
    values = merge_preset(jingle, {"tempo": 96.0, "key": None})
    assert values["tempo"] == 96.0 and values["loopable"] is True and values["key"] == "C major"
    with pytest.raises(ControlError, match="--key"):
        merge_preset(load_preset("exercise"), {})


def test_a_user_preset_file_is_strict(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text('description = "x"\n[controls]\nbars = 4\ndensity = "low"\n[outputs]\nwav = false\n')
    preset = load_preset(good)
    assert preset.controls == {"bars": 4, "density": "low"} and preset.outputs == {"wav": False}
    bad = tmp_path / "bad.toml"
    bad.write_text("[controls]\nloudness = 3\n")
    with pytest.raises(ControlError, match="loudness"):
        load_preset(bad)
    with pytest.raises(ControlError, match="unknown preset"):
        load_preset("no-such-preset")


def test_check_piece_measures_a_piece_against_controls():
    import symusic

    from tunesmith.generation.arrange import apply_tempo, set_instruments
    from tunesmith.generation.checks import check_piece
    from tunesmith.piece import Piece

    score = symusic.Score(480)
    track = symusic.Track(name="Piano", program=0)
    for i, pitch in enumerate((60, 64, 67, 72, 60, 62)):
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    piece = set_instruments(apply_tempo(Piece(score), 90), [40, 42])
    checks = check_piece(piece, Controls(bars=2, tempo=90, instruments=["violin", "cello"], pitch_range="C4-C5",
                                         key="C major", scale_lock=True))
    assert checks["bars"]["ok"] and checks["tempo"]["ok"] and checks["instruments"]["ok"]
    assert checks["pitch_range"]["ok"] and checks["scale_lock"]["ok"]
    assert not check_piece(piece, Controls(bars=3))["bars"]["ok"]


def test_key_check_counts_the_relative_key_as_the_same_notes():
    import symusic

    from tunesmith.generation.checks import check_piece
    from tunesmith.piece import Piece
    from tunesmith.theory import parse_key

    score = symusic.Score(480)
    track = symusic.Track(name="Piano", program=0)
    for i, pitch in enumerate((60, 64, 67, 72, 67, 64, 65, 62, 59, 60, 64, 67, 60, 48)):  # plainly C major
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    piece = Piece(score)
    assert parse_key("A minor").relative == parse_key("C major") and parse_key("C").relative == parse_key("Am")
    as_c = check_piece(piece, Controls(bars=4, key="C major"))["key"]
    assert as_c["ok"] and as_c["measured"] == "C major"
    as_a = check_piece(piece, Controls(bars=4, key="A minor"))["key"]
    assert as_a["ok"] and "relative major of A minor" in as_a["measured"]
    assert not check_piece(piece, Controls(bars=4, key="D minor"))["key"]["ok"]
