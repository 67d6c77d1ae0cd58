"""MusicXML scores: written, read back by music21 with the same notes and parts."""

from __future__ import annotations

import zipfile
from collections import Counter

import music21
import pytest

from tunesmith.errors import TunesmithError
from tunesmith.outputs import save_piece
from tunesmith.outputs.score import save_musicxml
from tunesmith.piece import Piece


def _pitches(score) -> Counter:
    """MIDI pitches of every sounding note (tied continuations not counted twice)."""
    found = Counter()
    for element in score.recurse().notes:
        if element.tie is None or element.tie.type == "start":
            found.update(p.midi for p in element.pitches)
    return found


def test_musicxml_reads_back_with_the_same_notes(tmp_path, duet):
    path = save_musicxml(duet, tmp_path / "duet.musicxml")
    assert path.read_bytes().lstrip().startswith(b"<?xml")
    parsed = music21.converter.parse(str(path))
    assert [p.partName for p in parsed.parts] == ["Melody", "Bass"]
    assert sum(_pitches(parsed).values()) == duet.note_count == 11
    assert _pitches(parsed) == Counter(duet.pitches().tolist())
    melody = [n.quarterLength for n in parsed.parts[0].recurse().notes]
    assert melody == [1.0, 0.5, 0.5, 2.0, 1.0, 1.0, 2.0]
    assert parsed.parts[0].recurse().getElementsByClass(music21.meter.TimeSignature)[0].ratioString == "4/4"


def test_compressed_mxl_and_xml_suffix(tmp_path, duet):
    mxl = save_piece(duet, tmp_path / "duet.mxl")
    with zipfile.ZipFile(mxl) as archive:
        assert "META-INF/container.xml" in archive.namelist() and "duet.musicxml" in archive.namelist()
    assert sum(_pitches(music21.converter.parse(str(mxl))).values()) == 11
    assert Piece.load(save_piece(duet, tmp_path / "duet.xml")).note_count == 11


def test_uneven_generated_timing_still_notates(tmp_path, piece_maker):
    # onsets a few ticks off the grid, as sampled music often has
    notes = [(i * 240 + (7 if i % 3 else -5) + 5, 230, 60 + (i * 5) % 12, 80) for i in range(24)]
    piece = piece_maker([("Lead", 80, False, notes)], name="sampled")
    parsed = music21.converter.parse(str(save_musicxml(piece, tmp_path / "s.musicxml")))
    assert sum(_pitches(parsed).values()) == 24


def test_empty_piece_is_refused(tmp_path):
    import symusic

    with pytest.raises(TunesmithError, match="no notes"):
        save_musicxml(Piece(score=symusic.Score(480), name="empty"), tmp_path / "e.musicxml")
