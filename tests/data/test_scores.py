"""Scores read as they are played and with what they say: a pickup padded onto its beat and marked, repeats
unfolded, chord symbols as markers (not notes), voices, keys and metres kept."""

from __future__ import annotations

import logging

import music21
import pytest
import symusic
from music21 import bar, harmony, key, meter, note, repeat, spanner, stream

from tunesmith.data import read_piece
from tunesmith.data.scores import clean_score, score_from_music21


def _measure(number: int, pitches: list[str], quarters: float = 1.0, ts: str | None = None) -> stream.Measure:
    measure = stream.Measure(number=number)
    if ts:
        measure.append(meter.TimeSignature(ts))
    for pitch in pitches:
        measure.append(note.Note(pitch, quarterLength=quarters))
    return measure


def _score(*measures: stream.Measure, name: str = "Melody") -> stream.Score:
    part = stream.Part()
    part.partName = name
    part.insert(0, music21.instrument.Violin())
    for measure in measures:
        part.append(measure)
    score = stream.Score()
    score.insert(0, part)
    return score


def _notes(score: symusic.Score) -> list[tuple[float, int]]:
    """(quarters from the start, pitch) of every note."""
    tpq = score.ticks_per_quarter
    return sorted((n.time / tpq, int(n.pitch)) for t in score.tracks for n in t.notes)


def _markers(score: symusic.Score) -> list[tuple[float, str]]:
    return [(m.time / score.ticks_per_quarter, m.text) for m in score.markers]


def _pickup_waltz() -> stream.Score:
    """3/4 in B flat: a one-quarter pickup (F), two bars, then a key change to E flat in the third."""
    pickup = _measure(0, ["F4"], ts="3/4")
    pickup.insert(0, key.KeySignature(-2))
    pickup.paddingLeft = 2.0
    change = _measure(3, ["E-5"], quarters=3.0)
    change.insert(0, key.KeySignature(-3))
    return _score(pickup, _measure(1, ["B-4"], quarters=3.0), _measure(2, ["C5", "D5", "C5"]), change)


def test_a_pickup_ends_the_first_bar_and_is_marked(tmp_path):
    path = tmp_path / "waltz.musicxml"
    _pickup_waltz().write("musicxml", fp=str(path))
    score = read_piece(path).score
    assert _markers(score) == [(2.0, "pickup")]  # the padding: two quarters of the first 3/4 bar
    assert _notes(score) == [(2.0, 65), (3.0, 70), (6.0, 72), (7.0, 74), (8.0, 72), (9.0, 75)]
    tpq = score.ticks_per_quarter
    assert [(k.time / tpq, k.key) for k in score.key_signatures] == [(0.0, -2), (9.0, -3)]  # on the bar line
    assert [(ts.time, ts.numerator, ts.denominator) for ts in score.time_signatures] == [(0, 3, 4)]
    assert [t.name for t in score.tracks] == ["Melody"]


def test_a_score_without_a_pickup_has_no_marker(tmp_path):
    path = tmp_path / "square.musicxml"
    _score(_measure(1, ["C4", "D4", "E4", "F4"], ts="4/4")).write("musicxml", fp=str(path))
    score = read_piece(path).score
    assert list(score.markers) == []
    assert _notes(score) == [(0.0, 60), (1.0, 62), (2.0, 64), (3.0, 65)]


def test_a_chorale_keeps_its_voices_key_and_pickup():
    score = score_from_music21(music21.corpus.parse("bach/bwv66.6"))
    assert [t.name for t in score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert [(k.time, k.key, k.tonality) for k in score.key_signatures] == [(0, 3, 1)]  # F sharp minor
    tpq = score.ticks_per_quarter
    assert _markers(score) == [(3.0, "pickup")]  # a one-quarter pickup in 4/4
    assert {t.notes[0].time / tpq for t in score.tracks} == {3.0}
    assert [n.time / tpq for n in score.tracks[0].notes[:3]] == [3.0, 3.5, 4.0]  # two eighths, then bar 1


def test_the_bundled_chorales_are_four_named_voices_with_a_key(chorales):
    assert len(chorales) == 6
    for piece in chorales:
        score = piece.score
        assert [t.name for t in score.tracks][-4:] == ["Soprano", "Alto", "Tenor", "Bass"], piece.name
        assert len(score.key_signatures) >= 1
        pickups = [m.time for m in score.markers if m.text == "pickup"]
        if pickups:  # the padding: the first note on the pickup's beat
            assert 0 < pickups[0] < piece.bar_ticks
            assert min(int(t.notes[0].time) for t in score.tracks) == pickups[0]
    assert any(m.text == "pickup" for p in chorales for m in p.score.markers)


def _two_bars_repeated() -> stream.Score:
    first, second = _measure(1, ["C4"], quarters=4.0, ts="4/4"), _measure(2, ["D4"], quarters=4.0)
    first.leftBarline = bar.Repeat(direction="start")
    second.rightBarline = bar.Repeat(direction="end")
    return _score(first, second)


def test_a_repeated_section_is_read_as_played(tmp_path):
    """music21's MIDI writer unfolds repeats itself; here they are unfolded first where chord symbols need it."""
    path = tmp_path / "repeat.musicxml"
    _two_bars_repeated().write("musicxml", fp=str(path))
    piece = read_piece(path)
    assert _notes(piece.score) == [(0.0, 60), (4.0, 62), (8.0, 60), (12.0, 62)]
    assert piece.bars == 4


def test_first_and_second_endings_are_played_in_turn(tmp_path):
    bars = [_measure(1, ["C4"], 4.0, ts="4/4"), _measure(2, ["D4"], 4.0), _measure(3, ["E4"], 4.0),
            _measure(4, ["F4"], 4.0)]
    bars[2].rightBarline = bar.Repeat(direction="end")
    score = _score(*bars)
    score.parts[0].insert(0, spanner.RepeatBracket(bars[2], number=1))
    score.parts[0].insert(0, spanner.RepeatBracket(bars[3], number=2))
    path = tmp_path / "endings.musicxml"
    score.write("musicxml", fp=str(path))
    assert [p for _, p in _notes(read_piece(path).score)] == [60, 62, 64, 60, 62, 65]


def test_da_capo_al_fine_goes_back_and_ends_at_fine():
    bars = [_measure(1, ["C4"], 4.0, ts="4/4"), _measure(2, ["D4"], 4.0), _measure(3, ["E4"], 4.0)]
    bars[1].append(repeat.Fine())
    bars[2].append(repeat.DaCapoAlFine())
    assert [p for _, p in _notes(score_from_music21(_score(*bars)))] == [60, 62, 64, 60, 62]


def test_repeats_music21_cannot_unfold_are_read_as_written(caplog):
    """A start repeat with no end: music21's MIDI writer raised (ExpanderException), and the file was unreadable."""
    first = _measure(1, ["C4"], 4.0, ts="4/4")
    first.leftBarline = bar.Repeat(direction="start")
    written = _score(first, _measure(2, ["D4"], 4.0))
    with caplog.at_level(logging.INFO, logger="tunesmith.data.scores"):
        score = score_from_music21(written)
    assert _notes(score) == [(0.0, 60), (4.0, 62)]
    assert "repeats not unfolded" in caplog.text
    assert isinstance(written.parts[0].getElementsByClass("Measure")[0].leftBarline, bar.Repeat)  # not changed


def _lead_sheet() -> stream.Score:
    """A pickup (G, under a D7) and two bars of 4/4 melody under Cmaj7, F#m7, B-7/A- and N.C."""
    pickup = _measure(0, ["G4"], ts="4/4")
    pickup.insert(0, harmony.ChordSymbol("D7"))
    pickup.paddingLeft = 3.0
    first, second = _measure(1, ["E5", "E5", "D5", "C5"]), _measure(2, ["B4", "A4", "G4", "F4"])
    first.insert(0, harmony.ChordSymbol("Cmaj7"))
    first.insert(2, harmony.ChordSymbol("F#m7"))
    second.insert(0, harmony.ChordSymbol("B-7/A-"))
    second.insert(3, harmony.NoChord())
    return _score(pickup, first, second)


LEAD_SHEET_MELODY = [(3.0, 67), (4.0, 76), (5.0, 76), (6.0, 74), (7.0, 72), (8.0, 71), (9.0, 69), (10.0, 67),
                     (11.0, 65)]
LEAD_SHEET_CHORDS = [(3.0, "chord:D7"), (4.0, "chord:Cmaj7"), (6.0, "chord:F#m7"), (8.0, "chord:Bb7/Ab"),
                     (11.0, "chord:N.C.")]


def test_a_lead_sheet_reads_its_melody_and_marks_its_chords(tmp_path):
    """music21's MIDI writer wrote each chord symbol's notes as zero-length notes (note-off before note-on):
    this sheet's 9 melody notes came back as 11, with a D3 held 5 quarters and an E3 held 2."""
    path = tmp_path / "lead.musicxml"
    _lead_sheet().write("musicxml", fp=str(path))
    score = read_piece(path).score
    assert _notes(score) == LEAD_SHEET_MELODY
    assert _markers(score) == [(3.0, "pickup"), *LEAD_SHEET_CHORDS]


def test_play_chords_plays_them_until_the_next(tmp_path):
    path = tmp_path / "lead.musicxml"
    _lead_sheet().write("musicxml", fp=str(path))
    score = score_from_music21(music21.converter.parse(str(path)), play_chords=True)
    played = [n for n in _notes(score) if n not in LEAD_SHEET_MELODY]
    assert [t for t, _ in played] == [3.0] * 4 + [4.0] * 4 + [6.0] * 4 + [8.0] * 4  # N.C. sounds nothing
    assert sorted(p for t, p in played if t == 6.0) == [42, 45, 49, 52]  # F#m7: F# A C# E
    assert _markers(score)[1:] == LEAD_SHEET_CHORDS


def test_abc_chord_symbols_are_the_same_markers_from_music21_and_symusic():
    from tunesmith.data.abc import score_from_abc

    tune = 'X:1\nT:Lead\nM:4/4\nL:1/4\nK:F\n"C7"c|"F"A2 "Bb"B2|"Gm7/F"G "C7"E F2|\n'
    by_music21 = score_from_music21(music21.converter.parse(tune, format="abc"))
    by_symusic = clean_score(score_from_abc(tune))
    expected = [(3.0, "pickup"), (3.0, "chord:C7"), (4.0, "chord:F"), (6.0, "chord:Bb"), (8.0, "chord:Gm7/F"),
                (9.0, "chord:C7")]
    assert _markers(by_music21) == _markers(by_symusic) == expected
    assert _notes(by_music21) == _notes(by_symusic) == [(3.0, 72), (4.0, 69), (6.0, 70), (8.0, 67), (9.0, 64),
                                                        (10.0, 65)]


def test_clean_score_keeps_markers_that_differ_in_time_or_text():
    score = symusic.Score(480)
    for time, text in [(0, "chord:C"), (960, "chord:C"), (960, "chord:C"), (960, "chord:G"), (480, "pickup")]:
        score.markers.append(symusic.TextMeta(time, text))
    track = symusic.Track("Violin", program=40)
    track.notes.append(symusic.Note(480, 480, 60, 90))
    score.tracks.append(track)
    assert [(m.time, m.text) for m in clean_score(score).markers] == [
        (0, "chord:C"), (480, "pickup"), (960, "chord:C"), (960, "chord:G")]


@pytest.mark.parametrize("play_chords", [False, True])
def test_the_callers_stream_is_not_changed(play_chords):
    sheet = _lead_sheet()
    before = len(list(sheet.recurse().getElementsByClass(harmony.ChordSymbol)))
    score_from_music21(sheet, play_chords=play_chords)
    assert len(list(sheet.recurse().getElementsByClass(harmony.ChordSymbol))) == before == 5
