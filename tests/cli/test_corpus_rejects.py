"""`tunesmith corpus stats` on a folder from the wild: good files, damaged files and a file that crashes the MIDI
reader. Every good file is in the report, every bad one is listed with its reason, and the command ends well;
--read-limit changes the limits, and `train` takes it too."""

from __future__ import annotations

import json

import pytest

from hostile_files import hostile_reader, midi, riff_midi
from tunesmith.data import safe


@pytest.fixture
def wild_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(safe, "reader", hostile_reader)  # crash-*.mid kills the worker that reads it (SIGSEGV)
    folder = tmp_path / "collected"
    (folder / "sub").mkdir(parents=True)
    for i in range(6):
        (folder / f"good{i}.mid").write_bytes(midi((60 + i, 64, 67)))
    (folder / "sub" / "karaoke.kar").write_bytes(midi((62, 65)))
    (folder / "sub" / "windows.rmi").write_bytes(riff_midi(midi((55, 59, 62))))
    (folder / "crash-me.mid").write_bytes(midi())
    whole = midi(tracks=2)
    (folder / "truncated.mid").write_bytes(whole[:-7])
    (folder / "missing-track.mid").write_bytes(whole[:10] + b"\x00\x03" + whole[12:])
    (folder / "zipped.mid").write_bytes(b"PK\x03\x04" + bytes(40))
    (folder / "empty.midi").write_bytes(b"")
    (folder / "readme.txt").write_text("not music: not looked at")
    return folder


BAD = {
    "crash-me.mid": "the MIDI reader crashed on this file (signal 11, SIGSEGV)",
    "truncated.mid": "track 2 says it is",
    "missing-track.mid": "the header says 3 tracks, but the file holds 2",
    "zipped.mid": "not a MIDI file: it starts with 'PK\\x03\\x04",
    "empty.midi": "the file is empty",
}


def test_every_good_file_is_read_and_every_bad_one_has_its_reason(run_cli, wild_folder, tmp_path):
    code, out, err = run_cli("corpus", "stats", wild_folder, "--json", tmp_path / "stats.json", "-q")
    assert code == 0, err
    data = json.loads((tmp_path / "stats.json").read_text())
    assert data["pieces"] == 8 and data["notes"] == 6 * 3 + 2 + 3
    reasons = {r["file"].split("/")[-1]: r["reason"] for r in data["rejected"]}
    assert set(reasons) == set(BAD)
    for name, reason in BAD.items():
        assert reasons[name].startswith(str(wild_folder / name) + ": ") and reason in reasons[name]
        assert f"skipped: {reasons[name]}" in out
    assert "rejected" in out and out.count("skipped: ") == len(BAD)


def test_read_limits_are_options(run_cli, wild_folder, tmp_path):
    code, out, err = run_cli("corpus", "stats", wild_folder, "--read-limit", "notes=2", "--read-limit",
                             "tracks=5", "--json", tmp_path / "stats.json", "-q")
    assert code == 0, err
    data = json.loads((tmp_path / "stats.json").read_text())
    assert data["pieces"] == 1  # the karaoke file: two notes
    assert "3 notes, more than the limit of 2 (--read-limit notes=...)" in out
    code, out, err = run_cli("corpus", "stats", wild_folder, "--read-limit", "bars=3")
    assert code == 2 and "--read-limit takes NAME=VALUE with NAME one of file_mb" in err
    assert "Traceback" not in err


def test_train_takes_read_limits_and_checks_them_first(run_cli, tmp_path):
    code, out, err = run_cli("train", "--corpus", "bach", "--out", tmp_path / "run", "--read-limit", "notes=many")
    assert code == 2 and "--read-limit notes takes a whole number, got 'many'" in err
    assert not (tmp_path / "run").exists()
