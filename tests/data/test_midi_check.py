"""The structure of a MIDI file is checked in Python before the native reader sees it: each kind of damage is
rejected with a precise reason, without a process; RIFF MIDI (.rmi, or RMID inside a .mid) is read as MIDI."""

from __future__ import annotations

import struct

import pytest

from hostile_files import midi, riff_midi
from tunesmith.data import ReadLimits, read_piece
from tunesmith.data.midi_check import midi_bytes, midi_problem
from tunesmith.data.parse import check_file
from tunesmith.errors import MusicFileError

GOOD = midi(tracks=3)  # format 1, three track chunks


def _with_header(**fields) -> bytes:
    """GOOD with header fields replaced: length, format, tracks, division."""
    header = dict(zip(("length", "format", "tracks", "division"), struct.unpack_from(">IHHH", GOOD, 4), strict=True))
    header.update(fields)
    return GOOD[:4] + struct.pack(">IHHH", *header.values()) + GOOD[14:]


def test_a_good_file_passes_and_is_returned_unchanged():
    assert midi_problem(GOOD) is None
    assert midi_bytes(GOOD, "x.mid") == GOOD


@pytest.mark.parametrize("data, reason", [
    (b"PK\x03\x04rest of a zip", r"not a MIDI file: it starts with 'PK\x03\x04rest' (a ZIP archive (a compressed "
                                  "MusicXML file?)) instead of 'MThd'"),
    (b"X:1\nT:tune\nK:C\nCDEF|", "it starts with 'X:1\\nT:tu' (ABC text) instead of 'MThd'"),
    (b"hello there", "it starts with 'hello th' instead of 'MThd'"),
    (GOOD[:10], "the file ends inside the MIDI header (10 bytes, a header takes 14)"),
    (_with_header(length=8), "the MIDI header chunk says it is 8 bytes long, not 6"),
    (_with_header(format=3), "the header gives MIDI format 3 (a MIDI file is format 0, 1 or 2)"),
    (_with_header(tracks=0), "the header says the file holds no tracks"),
    (_with_header(tracks=6), "the header says 6 tracks, but the file holds 3"),
    (_with_header(division=0), "the header gives 0 ticks per quarter note"),
    (GOOD[:-5], "track 3 says it is"),
    (GOOD[:20], "the file ends inside the header of chunk 1 (6 bytes left at byte 14)"),
])
def test_each_kind_of_damage_has_its_reason(data, reason):
    with pytest.raises(MusicFileError) as error:
        midi_bytes(data, "x.mid")
    assert str(error.value).startswith("x.mid: ")
    assert reason in str(error.value)


def test_a_truncated_track_says_how_long_it_claims_and_what_is_left():
    with pytest.raises(MusicFileError, match=r"track 3 says it is [\d,]+ bytes long, but only [\d,]+ are left"):
        midi_bytes(GOOD[:-5], "x.mid")


def test_smpte_division_and_extra_or_unknown_chunks_are_fine():
    assert midi_problem(_with_header(division=0xE728)) is None  # -25 frames/s, 40 ticks a frame
    unknown = GOOD + b"XFIH" + struct.pack(">I", 3) + b"abc"  # an alien chunk after the tracks
    assert midi_problem(unknown) is None
    assert midi_problem(GOOD + b"\0\0\0") is None  # padding after the last track


def test_too_many_tracks_in_the_header_is_past_the_limit():
    problem = midi_problem(GOOD, ReadLimits(tracks=2))
    assert problem == "3 tracks, more than the limit of 2 (--read-limit tracks=...)"


def test_damage_is_found_in_this_process(tmp_path, monkeypatch):
    from tunesmith.data import files

    def no_process(*args, **kwargs):
        raise AssertionError("a process was started for a file the cheap checks reject")

    monkeypatch.setattr(files, "read_alone", no_process)
    path = tmp_path / "short.mid"
    path.write_bytes(_with_header(tracks=9))
    with pytest.raises(MusicFileError, match="short.mid: the header says 9 tracks, but the file holds 3"):
        read_piece(path)


@pytest.mark.parametrize("name", ["tune.rmi", "tune.mid", "tune.RMI"])
def test_riff_midi_is_unwrapped_and_read(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(riff_midi(midi((60, 64, 67))))
    piece = read_piece(path)
    assert sorted(n.pitch for t in piece.score.tracks for n in t.notes) == [60, 64, 67]
    assert piece.name == "tune"


def test_riff_files_that_are_not_midi_say_what_they_are(tmp_path):
    wave = tmp_path / "sound.mid"
    wave.write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVEfmt ")
    with pytest.raises(MusicFileError, match="not a MIDI file: a RIFF file of kind 'WAVE', not RIFF MIDI"):
        check_file(wave)
    empty = tmp_path / "empty.rmi"
    empty.write_bytes(b"RIFF" + struct.pack("<I", 12) + b"RMID" + b"LIST" + struct.pack("<I", 0))
    with pytest.raises(MusicFileError, match="a RIFF MIDI \\('RMID'\\) file without a 'data' chunk"):
        check_file(empty)
    cut = tmp_path / "cut.rmi"
    cut.write_bytes(riff_midi(midi())[:-10])
    with pytest.raises(MusicFileError, match="the RIFF 'data' chunk says"):
        check_file(cut)
