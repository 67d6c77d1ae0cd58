"""Scores: MusicXML (plain .musicxml/.xml or compressed .mxl) through music21.

The Piece goes to music21 as MIDI and is quantized there (to sixteenths and triplet eighths),
so generated music with slightly uneven timing still notates cleanly.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_bytes_atomic
from tunesmith.outputs.midi import midi_bytes
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

# music21's quarter-length divisors: first try sixteenths and triplets, then plain sixteenths.
QUANTIZATIONS = ((4, 3), (4,))
MXL_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container>
  <rootfiles>
    <rootfile full-path="{name}" media-type="application/vnd.recordare.musicxml+xml"/>
  </rootfiles>
</container>
"""


def to_music21(piece: Piece, divisors: tuple[int, ...] = QUANTIZATIONS[0]):
    """`piece` as a quantized music21 Score, one part per track, titled with the piece's name."""
    from music21 import metadata
    from music21.midi import MidiFile, translate

    midi = MidiFile()
    midi.readstr(midi_bytes(piece))
    score = translate.midiFileToStream(midi, quantizePost=True, quarterLengthDivisors=divisors)
    score.metadata = metadata.Metadata(title=piece.name)
    return score


def musicxml_bytes(piece: Piece) -> bytes:
    """The uncompressed MusicXML document of `piece`."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    if piece.note_count == 0:
        raise TunesmithError(f"{piece.name}: nothing to notate, the piece has no notes")
    reasons = []
    for divisors in QUANTIZATIONS:
        try:
            return GeneralObjectExporter(to_music21(piece, divisors)).parse()
        except Exception as exc:  # music21 raises many kinds on odd rhythms; try a coarser grid once
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.info("%s: MusicXML export with divisors %s failed: %s", piece.name, divisors, reason)
            reasons.append(reason)
    raise TunesmithError(f"{piece.name}: cannot be written as MusicXML ({reasons[-1]})")


def _mxl(xml: bytes, name: str) -> bytes:
    """A compressed MusicXML (.mxl) archive holding `xml` as `name`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.recordare.musicxml", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", MXL_CONTAINER.format(name=name),
                         compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(name, xml, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def save_musicxml(piece: Piece, path: str | Path) -> Path:
    """Write `piece` as a MusicXML score: .mxl compressed, .musicxml/.xml plain (atomically)."""
    path = Path(path)
    xml = musicxml_bytes(piece)
    data = _mxl(xml, f"{path.stem}.musicxml") if path.suffix.lower() == ".mxl" else xml
    return write_bytes_atomic(path, data)
