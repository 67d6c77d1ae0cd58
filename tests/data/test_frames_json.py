"""The benchmark JSON loader: rolls with key 0 = MIDI 21, and one-line errors for bad files."""

import json

import numpy as np
import pytest

from tunesmith.data.frames_json import KEYS, load_frames_json, parse_frames_json, roll_to_frames
from tunesmith.errors import MusicFileError


def write(tmp_path, data, name="split.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_loads_pieces_as_88_key_rolls(tmp_path):
    rolls = load_frames_json(write(tmp_path, [[[60, 64, 67], [], [21, 108]], [[48]]]))
    assert [r.shape for r in rolls] == [(3, KEYS), (1, KEYS)]
    assert rolls[0].dtype == np.uint8
    assert np.flatnonzero(rolls[0][0]).tolist() == [39, 43, 46]
    assert rolls[0][1].sum() == 0
    assert np.flatnonzero(rolls[0][2]).tolist() == [0, 87]
    assert roll_to_frames(rolls[0]) == [[60, 64, 67], [], [21, 108]]


@pytest.mark.parametrize("pitch", [20, 109, -1, 128])
def test_rejects_pitches_off_the_keyboard(tmp_path, pitch):
    path = write(tmp_path, [[[60], [60]], [[62], [pitch, 70]]])
    with pytest.raises(MusicFileError, match=rf"piece 1, frame 1: pitch {pitch} is outside the piano's 88 keys \(MIDI 21-108\)"):
        load_frames_json(path)


@pytest.mark.parametrize("data, message", [
    ({"train": []}, "expected a JSON list of pieces"),
    ([], "holds no pieces"),
    ([[]], "piece 0 must be a non-empty list of frames"),
    ([[60, 62]], "piece 0, frame 0: expected a list of MIDI pitches"),
    ([[[60.5]]], "pitch 60.5 is not an integer"),
    ([[[True]]], "pitch True is not an integer"),
])
def test_rejects_malformed_structure(data, message):
    with pytest.raises(MusicFileError, match=message):
        parse_frames_json(data, source="x.json")


def test_missing_and_broken_files_are_clear_errors(tmp_path):
    with pytest.raises(MusicFileError, match="benchmark file not found"):
        load_frames_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[[[60]]")
    with pytest.raises(MusicFileError, match="not valid JSON"):
        load_frames_json(bad)
