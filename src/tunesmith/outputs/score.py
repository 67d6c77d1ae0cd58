"""Scores: MusicXML (plain .musicxml/.xml or compressed .mxl) a musician can read, through music21.

The notation plan (outputs/notation.py) decides bars, pickup, grid, spelling, clefs and voices; this module turns
it into music21 objects, one part per track (a grand staff for a piano or a part too wide for one clef), with the
key signature, time signatures, a whole-number tempo mark, chord symbols above the top part and the piece's name
as title, and lets music21 spell durations, beams, tuplets and accidentals. If a rhythm cannot be written on the
per-beat grids (sixteenths, triplets, 32nds...), the piece is written again on plain sixteenths.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_bytes_atomic
from tunesmith.outputs.notation import QUANTIZATIONS, Part, Plan, Staff, Written, plan_score, voice_in_bars
from tunesmith.outputs.spelling import Spelled
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

MXL_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container>
  <rootfiles>
    <rootfile full-path="{name}" media-type="application/vnd.recordare.musicxml+xml"/>
  </rootfiles>
</container>
"""
# General MIDI drum -> (where on the percussion staff, notehead): kick low, snare in the middle, cymbals on top
DRUM_DISPLAY = {35: ("F4", "normal"), 36: ("F4", "normal"), 37: ("C5", "x"), 38: ("C5", "normal"),
                40: ("C5", "normal"), 41: ("A4", "normal"), 43: ("A4", "normal"), 45: ("D5", "normal"),
                47: ("D5", "normal"), 48: ("E5", "normal"), 50: ("E5", "normal"), 42: ("G5", "x"),
                44: ("D4", "x"), 46: ("G5", "circle-x"), 49: ("A5", "x"), 57: ("A5", "x"), 51: ("F5", "x"),
                59: ("F5", "x"), 53: ("F5", "diamond")}
OTHER_DRUM = ("C5", "triangle")
NO_CHORD = ("N.C.", "NC", "N.C")  # a lead sheet's "no chord"
# what music21 writes as the composer of a score whose metadata names none
MUSIC21_AS_COMPOSER = b'<creator type="composer">Music21</creator>'
CLEFS = {"treble": "TrebleClef", "bass": "BassClef", "treble8vb": "Treble8vbClef", "bass8vb": "Bass8vbClef",
         "treble8va": "Treble8vaClef", "percussion": "PercussionClef"}


def to_music21(piece: Piece, divisors: tuple[int, ...] = QUANTIZATIONS[0]) -> Any:
    """`piece` as a music21 Score: one part per track (two staves for a grand staff), titled with its name."""
    from music21 import layout, metadata, stream

    plan = plan_score(piece, divisors)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=piece.name)
    for index, part in enumerate(plan.parts):
        first_voices = [1, 1 + max(1, len(part.staves[0].voices))]  # voice numbers are the part's, not a staff's
        staves = [_staff_stream(plan, part, staff, top=index == 0 and number == 0, grand=len(part.staves) > 1,
                                first_voice=first_voices[number]) for number, staff in enumerate(part.staves)]
        for staff_stream in staves:
            score.insert(0, staff_stream)
        if len(staves) > 1:
            score.insert(0, layout.StaffGroup(staves, name=part.name, symbol="brace", barTogether=True))
    return score


def _instrument(part: Part) -> Any:
    """The music21 instrument of a track's General MIDI program (percussion for drums), named as the track."""
    from music21 import instrument

    found: Any
    if part.is_drum:
        found = instrument.Percussion()
    elif 0 <= part.program < 128:
        found = instrument.instrumentFromMidiProgram(part.program)
    else:  # beyond General MIDI (a file's stray program byte): an instrument with no program
        found = instrument.Instrument()
    found.partName = part.name
    found.partAbbreviation = part.name if len(part.name) <= 5 else f"{part.name[:3]}."
    return found


def _staff_stream(plan: Plan, part: Part, staff: Staff, top: bool, grand: bool, first_voice: int) -> Any:
    """One staff as a music21 Part (PartStaff in a grand staff), bar by bar. A staff with several voices (or in
    a grand staff) numbers them the same in every bar, from `first_voice`, so that ties join across bar lines."""
    from music21 import clef, harmony, key, meter, note, stream, tempo

    staff_stream = stream.PartStaff() if grand else stream.Part()
    staff_stream.partName = part.name
    staff_stream.insert(0, _instrument(part))
    voices = [voice_in_bars(voice, plan) for voice in staff.voices]
    key_changes = {_nearest_bar(plan, time): signature for time, signature in plan.keys.changes}
    chords = _chord_symbols(plan) if top else {}
    offset, meter_before = Fraction(0), None
    for index, bar in enumerate(plan.bars):
        measure = stream.Measure(number=index if plan.pickup else index + 1)
        if index == 0:
            measure.clef = getattr(clef, CLEFS[staff.clef])()
            if plan.pickup:
                measure.paddingLeft = plan.pickup
        if bar.meter != meter_before:
            measure.timeSignature = meter.TimeSignature(f"{bar.meter[0]}/{bar.meter[1]}")
            meter_before = bar.meter
        if index in key_changes and not part.is_drum:
            signature = key_changes[index]
            measure.keySignature = key.KeySignature(signature.sharps).asKey(signature.mode)
        if index == 0 and top:
            measure.insert(0, tempo.MetronomeMark(number=plan.tempo, referent=1.0))
        length = bar.end - plan.written_start(index)
        layers = [[(w.offset, _element(w, part.is_drum)) for w in written[index]] for written in voices] or [[]]
        if not layers[0]:  # the first voice rests through the bar
            rest = note.Rest(quarterLength=length)
            rest.fullMeasure = index > 0 or not plan.pickup  # a whole-bar rest, except in a pickup bar
            layers[0] = [(Fraction(0), rest)]
        if grand or len(layers) > 1:
            for number, elements in enumerate(layers):
                if elements:
                    voice = stream.Voice(id=str(first_voice + number))
                    for at, element in elements:
                        voice.insert(at, element)
                    measure.insert(0, voice)
        else:
            for at, element in layers[0]:
                measure.insert(at, element)
        for at, figure in chords.get(index, []):
            try:
                symbol = harmony.NoChord() if figure in NO_CHORD else harmony.ChordSymbol(figure)
                measure.insert(at, symbol)
            except Exception as exc:  # music21 raises ValueError and its own kinds on unknown figures
                log.warning("%s: chord symbol %r left out (%s)", plan.title, figure, exc)
        staff_stream.insert(offset, measure)
        offset += length
    return staff_stream


def _nearest_bar(plan: Plan, time: Fraction) -> int:
    """The bar whose bar line is nearest to `time` (a key change inside a bar is written at a bar line)."""
    index = plan.bar_index(time)
    bar = plan.bars[index]
    return index + 1 if time - bar.start > bar.length / 2 and index + 1 < len(plan.bars) else index


def _chord_symbols(plan: Plan) -> dict[int, list[tuple[Fraction, str]]]:
    """Chord-symbol figures by bar, at their offset in the bar, with flats in music21's spelling (Bb7/Ab ->
    B-7/A-)."""
    found: dict[int, list[tuple[Fraction, str]]] = {}
    for time, figure in plan.chords:
        index = plan.bar_index(time)
        if time >= plan.bars[-1].end or not figure:
            continue
        figure = re.sub(r"(^|/)([A-Ga-g])b", r"\1\2-", figure)
        found.setdefault(index, []).append((time - plan.written_start(index), figure))
    return found


def _element(written: Written, is_drum: bool) -> Any:
    """A music21 note, chord, unpitched drum note or rest for one written item."""
    from music21 import chord, note, percussion, pitch, tie

    length = written.length
    element: Any
    if not written.pitches:
        return note.Rest(quarterLength=length)
    if is_drum:
        hits = []
        for spelled in written.pitches:
            display, head = DRUM_DISPLAY.get(spelled.midi, OTHER_DRUM)
            hit = note.Unpitched(displayName=display, quarterLength=length)
            hit.notehead = head
            hits.append(hit)
        element = hits[0] if len(hits) == 1 else percussion.PercussionChord(hits, quarterLength=length)
    else:
        pitches = [pitch.Pitch(_music21_name(spelled)) for spelled in written.pitches]
        element = note.Note(pitches[0], quarterLength=length) if len(pitches) == 1 else \
            chord.Chord(pitches, quarterLength=length)
    if written.tie:
        element.tie = tie.Tie(written.tie)
    return element


def _music21_name(spelled: Spelled) -> str:
    """'F#4', 'B-3' (music21 writes a flat as '-')."""
    accidental = "#" * spelled.alter if spelled.alter > 0 else "-" * -spelled.alter
    return f"{spelled.step}{accidental}{spelled.octave}"


def musicxml_bytes(piece: Piece) -> bytes:
    """The uncompressed MusicXML document of `piece`."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    if piece.note_count == 0:
        raise TunesmithError(f"{piece.name}: nothing to notate, the piece has no notes")
    reasons = []
    for divisors in QUANTIZATIONS:
        try:
            xml = bytes(GeneralObjectExporter(to_music21(piece, divisors)).parse())
            return xml.replace(MUSIC21_AS_COMPOSER, b"", 1)
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
