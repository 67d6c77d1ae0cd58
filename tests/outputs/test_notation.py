"""Scores a musician can read: the MusicXML export read back with music21, part by part, note by note."""

from __future__ import annotations

import random
from fractions import Fraction

import music21
import pytest
import symusic
from score_facts import (
    fraction,
    most_ledger_lines,
    pickup_ticks,
    satb_chorale,
    sounding_notes,
    track_notes,
    unmatched_ties,
)

from tunesmith.errors import TunesmithError
from tunesmith.outputs.score import musicxml_bytes
from tunesmith.piece import Piece


def _read(piece: Piece) -> music21.stream.Score:
    return music21.converter.parse(musicxml_bytes(piece), format="musicxml")


def _piece(tracks, markers=(), qpm=120.0, meters=((0, 4, 4),), keys=(), name="made") -> Piece:
    """A Piece (480 ticks a quarter) from (name, program, is_drum, [(time, duration, pitch), ...]) per track."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    for time, numerator, denominator in meters:
        score.time_signatures.append(symusic.TimeSignature(time, numerator, denominator))
    for time, sharps, minor in keys:
        score.key_signatures.append(symusic.KeySignature(time, sharps, minor))
    for time, text in markers:
        score.markers.append(symusic.TextMeta(time, text))
    for track_name, program, is_drum, notes in tracks:
        track = symusic.Track(track_name, program=program, is_drum=is_drum)
        for time, duration, pitch in notes:
            track.notes.append(symusic.Note(time, duration, pitch, 80))
        score.tracks.append(track)
    return Piece(score=score, name=name)


def test_a_chorale_made_in_code_reads_back_part_by_part():
    piece = satb_chorale(bars=4, name="Chorale in D")
    parsed = _read(piece)
    assert [p.partName for p in parsed.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    for index, part in enumerate(parsed.parts):
        assert sounding_notes(part) == track_notes(piece, index)
        signature = part.recurse().getElementsByClass(music21.key.KeySignature).first()
        assert signature.sharps == 2
        assert most_ledger_lines(part) <= 4
    names = {p.name for p in parsed.flatten().pitches}
    assert "F#" in names and "C#" in names and "G-" not in names and "D-" not in names
    assert [type(p.recurse().getElementsByClass(music21.clef.Clef).first()).__name__ for p in parsed.parts] == \
        ["TrebleClef", "TrebleClef", "Treble8vbClef", "BassClef"]
    marks = list(parsed.recurse().getElementsByClass(music21.tempo.MetronomeMark))
    assert [m.number for m in marks] == [96] and marks[0].referent.quarterLength == 1.0
    assert parsed.metadata.bestTitle == "Chorale in D"
    assert b"Music21" not in musicxml_bytes(piece).split(b"<encoding>")[0]  # no made-up composer


def test_bundled_chorales_read_back_with_their_notes_keys_and_clefs(chorales):
    for piece in chorales[:3]:
        parsed = _read(piece)
        tracks = [t for t in piece.score.tracks if len(t.notes)]
        assert [p.partName for p in parsed.parts] == [t.name for t in tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
        sharps = int(piece.score.key_signatures[0].key)
        pickup = pickup_ticks(piece)  # a reader's padding before the upbeat, which the score leaves out
        for index, part in enumerate(parsed.parts):
            assert sounding_notes(part) == track_notes(piece, index, shift_ticks=pickup), (piece.name, part.partName)
            assert part.recurse().getElementsByClass(music21.key.KeySignature).first().sharps == sharps
            assert most_ledger_lines(part) <= 4, (piece.name, part.partName)
        assert all(float(m.number).is_integer() for m in parsed.recurse().getElementsByClass(music21.tempo.MetronomeMark))


def test_the_tempo_mark_is_a_whole_number():
    piece = _piece([("Flute", 73, False, [(0, 480, 72)])], qpm=120.43)
    assert [m.number for m in _read(piece).recurse().getElementsByClass(music21.tempo.MetronomeMark)] == [120]


@pytest.mark.parametrize(("sharps", "minor", "expected", "not_expected"), [
    (2, 0, {"F#", "C#"}, {"G-", "D-"}),     # D major: pitch classes 6 and 1 are F# and C#
    (-1, 0, {"B-", "D-"}, {"A#", "C#"}),    # F major: 10 is Bb; outside the key, 1 is Db
    (-1, 1, {"B-", "C#"}, {"A#", "D-"}),    # D minor: the leading tone is C#
    (1, 0, {"F#", "F", "C#"}, {"E#", "D-"}),  # G major: F natural, not E#
])
def test_accidentals_are_spelled_for_the_key(sharps, minor, expected, not_expected):
    notes = [(i * 480, 480, pitch) for i, pitch in enumerate((61, 62, 65, 66, 70, 72))]
    parsed = _read(_piece([("Melody", 73, False, notes)], keys=[(0, sharps, minor)]))
    names = {p.name for p in parsed.flatten().pitches}
    assert expected <= names and not (not_expected & names)


def test_without_a_key_signature_the_key_is_estimated():
    d_major = [(i * 480, 480, p) for i, p in enumerate((62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62, 62))]
    parsed = _read(_piece([("Melody", 73, False, d_major)]))
    assert parsed.recurse().getElementsByClass(music21.key.KeySignature).first().sharps == 2
    assert "G-" not in {p.name for p in parsed.flatten().pitches}


def test_key_and_time_signature_changes_are_written():
    notes = [(i * 480, 480, 67) for i in range(14)]
    piece = _piece([("Oboe", 68, False, notes)], meters=((0, 4, 4), (1920, 3, 4)), keys=((0, 0, 0), (1920, -3, 0)))
    parsed = _read(piece)
    measures = list(parsed.parts[0].getElementsByClass(music21.stream.Measure))
    assert [m.barDuration.quarterLength for m in measures[:3]] == [4.0, 3.0, 3.0]
    assert [k.sharps for k in parsed.recurse().getElementsByClass(music21.key.KeySignature)] == [0, -3]
    assert sounding_notes(parsed.parts[0]) == track_notes(piece, 0)


def test_a_wide_piano_part_is_a_grand_staff_with_a_brace():
    # left-hand octaves from C1, right-hand chords up to A7
    low = [(i * 960, 960, pitch) for i, pitch in enumerate((24, 36, 31, 43, 29, 41, 33, 45))]
    high = [(i * 480, 480, pitch) for i, pitch in enumerate((72, 76, 79, 84, 88, 91, 96, 100, 105, 98, 93, 86,
                                                             81, 77, 74, 67))]
    chords = [(i * 1920, 1920, pitch) for i in range(4) for pitch in (60, 64)]
    piece = _piece([("Piano", 0, False, low + high + chords)])
    parsed = _read(piece)
    staves = list(parsed.parts)
    assert len(staves) == 2 and all(isinstance(s, music21.stream.PartStaff) for s in staves)
    group = parsed.getElementsByClass(music21.layout.StaffGroup).first()
    assert group.symbol == "brace" and set(group.getSpannedElements()) == set(staves)
    assert sounding_notes(*staves) == track_notes(piece, 0)
    assert all(most_ledger_lines(s) <= 4 for s in staves)
    right, left = (sounding_notes(s) for s in staves)
    assert min(p for p, _, _ in right) >= 60 and max(p for p, _, _ in left) < 60


def test_a_narrow_piano_part_is_a_grand_staff_and_a_wide_violin_part_gets_one_too():
    piano = _piece([("Keys", 0, False, [(i * 480, 480, 72 + i % 5) for i in range(8)])])
    assert len(_read(piano).parts) == 2  # General MIDI pianos always read from a grand staff
    strings = _piece([("Strings", 48, False, [(i * 480, 480, p) for i, p in enumerate((28, 40, 52, 64, 76, 88, 100))])])
    parsed = _read(strings)
    assert len(parsed.parts) == 2 and all(most_ledger_lines(s) <= 4 for s in parsed.parts)
    violin = _piece([("Violin", 40, False, [(i * 480, 480, 67 + 2 * i) for i in range(8)])])
    assert len(_read(violin).parts) == 1


def test_a_pickup_marker_makes_an_incomplete_first_bar_with_the_original_offsets():
    # padded by one bar minus a quarter: the tune starts with a one-beat upbeat at tick 1440
    notes = [(1440, 480, 67), (1920, 960, 72), (2880, 960, 71), (3840, 1920, 72)]
    piece = _piece([("Voice", 52, False, notes)], markers=[(1440, "pickup")])
    parsed = _read(piece)
    measures = list(parsed.parts[0].getElementsByClass(music21.stream.Measure))
    assert measures[0].paddingLeft == 3.0 and measures[0].duration.quarterLength == 1.0
    assert [m.offset for m in measures] == [0.0, 1.0, 5.0]
    assert sounding_notes(parsed.parts[0]) == track_notes(piece, 0, shift_ticks=1440)
    assert sounding_notes(parsed.parts[0])[0][1:] == (Fraction(0), Fraction(1))


def test_a_pickup_marker_outside_the_first_bar_is_ignored():
    piece = _piece([("Voice", 52, False, [(0, 480, 67), (1920, 480, 69)])], markers=[(1920, "pickup")])
    measures = list(_read(piece).parts[0].getElementsByClass(music21.stream.Measure))
    assert measures[0].paddingLeft == 0 and measures[0].duration.quarterLength == 4.0


def test_chord_markers_are_chord_symbols_over_the_top_part_not_notes():
    melody = [(i * 960, 960, p) for i, p in enumerate((72, 74, 76, 77))]
    bass = [(0, 1920, 48), (1920, 1920, 53)]
    markers = [(0, "chord:Cmaj7"), (960, "chord:Bb7"), (1920, "chord:F#m"), (2400, "chord:Abm7/Eb"),
               (2880, "chord:not a chord"), (3360, "chord:N.C.")]
    piece = _piece([("Lead", 80, False, melody), ("Bass", 33, False, bass)], markers=markers)
    parsed = _read(piece)
    harmonies = list(parsed.parts[0].recurse().getElementsByClass(music21.harmony.ChordSymbol))
    symbols = [h for h in harmonies if not isinstance(h, music21.harmony.NoChord)]
    assert [(s.root().name, fraction(s.getOffsetInHierarchy(parsed.parts[0]))) for s in symbols] == \
        [("C", 0), ("B-", 2), ("F#", 4), ("A-", 5)]
    assert [s.chordKind for s in symbols] == ["major-seventh", "dominant-seventh", "minor", "minor-seventh"]
    assert symbols[-1].bass().name == "E-"
    assert [fraction(h.getOffsetInHierarchy(parsed.parts[0])) for h in harmonies
            if isinstance(h, music21.harmony.NoChord)] == [7]
    assert not list(parsed.parts[1].recurse().getElementsByClass(music21.harmony.ChordSymbol))
    assert sounding_notes(parsed.parts[0]) == track_notes(piece, 0)
    assert sounding_notes(parsed.parts[1]) == track_notes(piece, 1)


def test_overlapping_notes_of_one_part_are_written_as_voices():
    held = [(0, 3840, 55)]  # a G held for two bars under a moving line
    line = [(i * 480, 480, 67 + i % 3) for i in range(8)]
    piece = _piece([("Guitar", 24, False, held + line)])
    parsed = _read(piece)
    first = parsed.parts[0].getElementsByClass(music21.stream.Measure).first()
    assert len(first.voices) == 2
    assert sounding_notes(parsed.parts[0]) == track_notes(piece, 0)


def test_uneven_triplets_are_quantized_to_triplet_eighths_and_rests_written():
    # a bar of triplet eighths played a few ticks early or late, then a quarter, a rest, a quarter
    triplets = [(i * 160 + (-6, 5, 3)[i % 3], 150, 60 + i) for i in range(12)]
    rest = [(1920, 480, 72), (2880, 480, 72)]
    parsed = _read(_piece([("Flute", 73, False, triplets + rest)]))
    heard = sounding_notes(parsed.parts[0])
    assert [onset for _, onset, _ in heard[:12]] == [Fraction(i, 3) for i in range(12)]
    assert {length for _, _, length in heard[:12]} == {Fraction(1, 3)}
    assert any(isinstance(n.duration.tuplets[0], music21.duration.Tuplet)
               for n in parsed.recurse().notes if n.duration.tuplets)
    rests = [r for r in parsed.parts[0].getElementsByClass(music21.stream.Measure)[1].notesAndRests if r.isRest]
    assert [(fraction(r.offset), fraction(r.quarterLength)) for r in rests] == [(1, 1), (3, 1)]


def test_notes_across_bar_lines_are_tied():
    piece = _piece([("Horn", 60, False, [(1440, 960, 65), (2400, 3360, 67)])])
    parsed = _read(piece)
    ties = [n.tie.type for n in parsed.recurse().notes if n.tie is not None]
    assert ties.count("start") == 2 and ties.count("stop") == 2
    assert sounding_notes(parsed.parts[0]) == track_notes(piece, 0)


def test_drums_are_a_percussion_staff_and_empty_tracks_are_left_out():
    hits = [(i * 240, 120, (36, 42, 38, 42)[i % 4]) for i in range(16)]
    piece = _piece([("Drums", 0, True, hits), ("Silent", 40, False, []), ("Bass", 33, False, [(0, 3840, 40)])])
    parsed = _read(piece)
    assert [p.partName for p in parsed.parts] == ["Drums", "Bass"]
    drums = parsed.parts[0]
    assert isinstance(drums.recurse().getElementsByClass(music21.clef.Clef).first(), music21.clef.PercussionClef)
    assert isinstance(drums.getInstrument(), music21.instrument.Percussion)
    hit_count = sum(len(e.notes) if hasattr(e, "notes") else 1
                    for e in drums.recurse().notes if not isinstance(e, music21.harmony.Harmony))
    assert hit_count == 16
    assert isinstance(parsed.parts[1].getInstrument(), music21.instrument.ElectricBass)


def test_a_dense_piano_part_keeps_its_voices_and_ties_joined():
    # random overlapping notes: many voices per hand, chords tied across bar lines and split into note values
    rng = random.Random(7)
    onsets = {(rng.randrange(0, 16 * 16) * 120, rng.randrange(28, 100)) for _ in range(250)}  # on sixteenths
    notes = [(time, rng.randrange(1, 14) * 120, pitch) for time, pitch in sorted(onsets)]
    piece = _piece([("Piano", 0, False, notes)])
    xml = musicxml_bytes(piece)
    assert unmatched_ties(xml) == []
    parsed = music21.converter.parse(xml, format="musicxml")
    assert max(len(m.voices) for s in parsed.parts for m in s.getElementsByClass(music21.stream.Measure)) >= 3
    assert sounding_notes(*parsed.parts) == track_notes(piece, 0)


def test_a_rhythm_music21_cannot_write_falls_back_to_sixteenths_then_is_one_line(monkeypatch):
    import tunesmith.outputs.score as score_module

    real = score_module.to_music21
    grids = []

    def fussy(piece, divisors):
        grids.append(divisors)
        if 3 in divisors:
            raise ValueError("inexpressible durations\nsecond line")
        return real(piece, divisors)

    monkeypatch.setattr(score_module, "to_music21", fussy)
    piece = satb_chorale(bars=1, name="fussy")
    assert sounding_notes(music21.converter.parse(musicxml_bytes(piece), format="musicxml").parts[0]) == \
        track_notes(piece, 0)
    assert grids == [(4, 3, 8, 6, 12, 16), (4,)]
    monkeypatch.setattr(score_module, "to_music21", lambda piece, divisors: (_ for _ in ()).throw(KeyError()))
    with pytest.raises(TunesmithError) as raised:
        musicxml_bytes(piece)
    assert str(raised.value) == "fussy: cannot be written as MusicXML (KeyError)"


def test_odd_tracks_markers_and_padding_are_handled():
    notes = [(1440, 480, 67), (1920, 1920, 72)]
    piece = _piece([("", 200, False, notes), ("Ghost", 40, False, [(0, 240, 60)]), ("Viola", 41, False, notes)],
                   markers=[(1440, "pickup"), (1920, "chord:"), (9600, "chord:C")])
    parsed = _read(piece)
    # a program beyond General MIDI's names the part by its number; a track heard only in the padding is left out
    assert [p.partName for p in parsed.parts] == ["Program 200", "Viola"]
    assert not list(parsed.recurse().getElementsByClass(music21.harmony.ChordSymbol))  # empty, and after the end
    assert sounding_notes(parsed.parts[1]) == track_notes(piece, 2, shift_ticks=1440)


def _played_a_tick_short(notes):
    """(time, duration, pitch) notes as abc2midi plays them: each a tick short."""
    return [(time, duration - 1, pitch) for time, duration, pitch in notes]


def _in_sequence(lengths, start=0, pitch=60):
    """(time, duration, pitch) of notes one after another, from ticks `start`, rising by a step each."""
    notes, time = [], start
    for index, length in enumerate(lengths):
        notes.append((time, length, pitch + index % 12))
        time += length
    return notes


FINE_RHYTHMS = _in_sequence(
    [60] * 8  # 32nds
    + [180, 60, 180, 60]  # dotted sixteenth and 32nd, twice
    + [80] * 6  # triplet sixteenths
    + [120, 120, 80, 80, 80]  # two sixteenths and triplet sixteenths over an eighth
    + [30] * 4 + [120, 240]  # 64ths, a sixteenth, an eighth
    + [60, 420]  # a 32nd and a double-dotted eighth
    + [960])
# 6/8: a 32nd, then a note 5/8 of a quarter long to the next eighth; a sixteenth, an eighth, a dotted quarter;
# then an eighth, a 32nd and a 5/8 across the beat
SIX_EIGHT = _in_sequence([60, 300, 120, 240, 720, 240, 60, 300, 120, 240, 480])


@pytest.mark.parametrize("notes,meter", [(FINE_RHYTHMS, (0, 4, 4)), (SIX_EIGHT, (0, 6, 8))])
def test_exact_fine_rhythms_are_written_exactly_and_engraved(notes, meter):
    from tunesmith.outputs.engrave import engrave_musicxml

    piece = _piece([("Flute", 73, False, _played_a_tick_short(notes))], meters=(meter,))
    xml = musicxml_bytes(piece)
    parsed = music21.converter.parse(xml, format="musicxml")
    assert sounding_notes(parsed.parts[0]) == sorted((p, Fraction(t, 480), Fraction(d, 480)) for t, d, p in notes)
    written = sum(1 for n in parsed.recurse().notes)
    svg = engrave_musicxml(xml, piece.name)
    assert svg.count('class="note"') == written
    assert b"<type>32nd</type>" in xml
    if meter[1] == 4:  # each note one value: a 64th, dotted, double-dotted, triplet sixteenths
        assert written == len(notes) and b"<type>64th</type>" in xml and b"<dot />" in xml
        assert svg.count('class="tuplet"') == 3  # two threes of triplet sixteenths, then one over an eighth
    else:  # each 5/8 tied: a 32nd and an eighth
        assert written == len(notes) + 2 and xml.count(b'<tie type="start"') == 2


def test_a_jittered_sixteenth_passage_is_written_in_sixteenths():
    # two bars of sixteenths, each onset up to three ticks early or late and each note a little short
    wobble = (0, 3, -3, 2, -1, 3, -2, -3, 1, -2)
    notes = [(k * 120 + wobble[k % 10], 110 + wobble[(k + 3) % 10], 60 + k % 7) for k in range(32)]
    parsed = _read(_piece([("Flute", 73, False, notes)]))
    heard = sorted((onset, length) for _, onset, length in sounding_notes(parsed.parts[0]))
    assert heard == [(Fraction(k, 4), Fraction(1, 4)) for k in range(32)]
    assert {n.duration.type for n in parsed.recurse().notes} == {"16th"}
    assert not any(n.duration.tuplets for n in parsed.recurse().notes)
