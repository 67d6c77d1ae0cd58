"""Engraved SVG scores: verovio draws every export, with one note element per written note and one staff
element per bar of each staff; long pieces stack their pages; failures are one line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import music21
import pytest
import symusic
from score_facts import satb_chorale

from tunesmith.errors import TunesmithError
from tunesmith.outputs import save_piece, write_piece_files
from tunesmith.outputs.engrave import engrave_musicxml, engrave_svg, save_svg
from tunesmith.outputs.score import musicxml_bytes
from tunesmith.piece import Piece


def _written_notes(xml: bytes) -> int:
    """Notes (each note of a chord, each tied part) written in a MusicXML document: <note>s that are not rests."""
    root = ElementTree.fromstring(xml)
    return sum(1 for n in root.iter("note") if n.find("pitch") is not None or n.find("unpitched") is not None)


def _staff_bars(xml: bytes) -> int:
    """Bars times staves, summed over the parts music21 reads from the document."""
    parsed = music21.converter.parse(xml, format="musicxml")
    return sum(len(part.getElementsByClass(music21.stream.Measure)) for part in parsed.parts)


def _band() -> Piece:
    """A piano on a grand staff, drums and a flute with triplets, after a one-beat pickup, with chord symbols."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=100))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    score.markers.append(symusic.TextMeta(1440, "pickup"))
    score.markers.append(symusic.TextMeta(1920, "chord:Am7"))
    tracks = {"Piano": (0, False, [(1920 + i * 480, 480, p) for i, p in enumerate((45, 52, 57, 60, 64, 69, 72, 76))]
                        + [(1920 + i * 960, 960, p) for i in range(4) for p in (33, 40)]),
              "Drums": (0, True, [(1920 + i * 240, 120, (36, 42, 38, 42)[i % 4]) for i in range(16)]),
              "Flute": (73, False, [(1440, 480, 76)] + [(1920 + i * 160, 160, 72 + i % 5) for i in range(12)])}
    for name, (program, is_drum, notes) in tracks.items():
        track = symusic.Track(name, program=program, is_drum=is_drum)
        for time, duration, pitch in notes:
            track.notes.append(symusic.Note(time, duration, pitch, 90))
        score.tracks.append(track)
    return Piece(score=score, name="band")


def _check_engraving(piece: Piece) -> str:
    xml = musicxml_bytes(piece)
    svg = engrave_musicxml(xml, piece.name)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    ElementTree.fromstring(svg)  # well-formed
    assert svg.count('class="note"') == _written_notes(xml) > 0
    assert svg.count('class="staff"') == _staff_bars(xml)
    return svg


def test_a_chorale_made_in_code_engraves_with_every_note_and_staff():
    piece = satb_chorale(bars=8, name="Chorale in D")
    svg = _check_engraving(piece)
    assert svg.count('class="staff"') == 8 * 4
    assert "Chorale in D" in svg  # the title in the header


def test_bundled_chorales_engrave(chorales):
    for piece in chorales[:3]:
        _check_engraving(piece)


def test_a_band_with_a_grand_staff_drums_triplets_a_pickup_and_chords_engraves():
    svg = _check_engraving(_band())
    assert svg.count('class="harm"') == 1 and svg.count('class="grpSym"') == 1  # the brace
    assert svg.count('class="tuplet"') >= 4


def test_the_same_piece_engraves_to_the_same_svg():
    piece = satb_chorale(bars=2)
    assert engrave_svg(piece) == engrave_svg(piece)


def test_a_long_piece_stacks_its_pages_in_one_svg():
    xml = musicxml_bytes(satb_chorale(bars=24))
    one = engrave_musicxml(xml, "long")
    stacked = engrave_musicxml(xml, "long", page_height=3000)
    assert stacked.count('class="note"') == one.count('class="note"') == _written_notes(xml)
    pages = re.findall(r'<svg x="0" y="(\d+(?:\.\d+)?)" width="\d+px" height="(\d+(?:\.\d+)?)px"', stacked)
    assert len(pages) >= 2
    below = 0.0  # each page starts where the one before it ends
    for top, height in pages:
        assert float(top) == below
        below += float(height)
    assert float(re.match(r'<svg [^>]*height="(\d+(?:\.\d+)?)px"', stacked).group(1)) == below
    ElementTree.fromstring(stacked)


def test_a_score_verovio_cannot_load_is_a_one_line_error_naming_the_piece():
    for broken in (b"", b"<score-partwise><oops", b"not music at all"):
        with pytest.raises(TunesmithError) as raised:
            engrave_musicxml(broken, "broken tune")
        assert str(raised.value).startswith("broken tune: verovio could not engrave the score")
        assert "\n" not in str(raised.value)


def test_an_empty_piece_is_refused(tmp_path):
    with pytest.raises(TunesmithError, match="empty: nothing to notate"):
        save_svg(Piece(score=symusic.Score(480), name="empty"), tmp_path / "e.svg")
    assert not (tmp_path / "e.svg").exists()


def test_svg_is_written_by_suffix_and_beside_the_other_files(tmp_path, duet):
    path = save_piece(duet, tmp_path / "duet.svg")
    assert path.read_text().startswith("<svg") and path.read_text().count('class="note"') == 11
    files = write_piece_files(duet, tmp_path / "out", "take", wav=False, png=False, musicxml=True, svg=True)
    assert sorted(files) == ["mid", "musicxml", "svg"]
    assert files["svg"].read_text() == engrave_musicxml(files["musicxml"].read_bytes(), "take")
    only_svg = write_piece_files(duet, tmp_path / "svg-only", "take", wav=False, png=False, svg=True)
    assert sorted(only_svg) == ["mid", "svg"] and only_svg["svg"].read_text() == files["svg"].read_text()
