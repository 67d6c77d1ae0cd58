"""The notation plan's parts, on values worked out by hand: spelling, key signatures, ledger lines and clefs,
the hands of a grand staff, the quantization grid, voices and bars."""

from __future__ import annotations

from fractions import Fraction

import pytest
import symusic

from tunesmith.outputs.notation import Bar, Event, Grid, Plan, make_bars, plan_score, voice_in_bars
from tunesmith.outputs.spelling import KeyMap, Signature, signature_for, spell
from tunesmith.outputs.staves import TimedPitch, best_clef, ledger_lines, split_hands, staves_for
from tunesmith.piece import Piece
from tunesmith.theory import Key

F = Fraction


def _names(signature: Signature, pitches=range(60, 72)) -> list[str]:
    return [spell(p, signature).name for p in pitches]


def test_spelling_follows_the_key_signature():
    assert _names(Signature(2)) == ["C4", "C#4", "D4", "D#4", "E4", "F4", "F#4", "G4", "G#4", "A4", "A#4", "B4"]
    assert _names(Signature(-1)) == ["C4", "Db4", "D4", "Eb4", "E4", "F4", "Gb4", "G4", "Ab4", "A4", "Bb4", "B4"]
    assert _names(Signature(0)) == ["C4", "C#4", "D4", "Eb4", "E4", "F4", "F#4", "G4", "G#4", "A4", "Bb4", "B4"]
    assert spell(65, Signature(1)).name == "F4"  # outside G major: F natural, not E#
    assert spell(61, Signature(-1, "minor")).name == "C#4"  # D minor's leading tone
    assert spell(66, Signature(-2, "minor")).name == "F#4"  # G minor's
    assert spell(67, Signature(5, "minor")).name == "F##4"  # G# minor's
    assert spell(59, Signature(-6)).name == "Cb4" and spell(59, Signature(-6)).octave == 4  # Gb major's Cb
    assert spell(60, Signature(7)).name == "B#3"  # C# major's B#, an octave below its MIDI octave's C


def test_key_signatures_for_estimated_keys_use_the_fewest_accidentals():
    assert signature_for(Key(2, "major")) == Signature(2)
    assert signature_for(Key(1, "major")) == Signature(-5)  # Db, not C#
    assert signature_for(Key(6, "major")) == Signature(6)  # F#
    assert signature_for(Key(2, "minor")) == Signature(-1, "minor")
    assert signature_for(Key(8, "minor")) == Signature(5, "minor")  # G# minor


def test_a_key_map_drops_repeats_and_keeps_the_later_of_two_at_one_time():
    keys = KeyMap([(F(0), Signature(1, "minor")), (F(8), Signature(1, "minor")), (F(8), Signature(1)),
                   (F(16), Signature(-2)), (F(16), Signature(3))])
    assert keys.changes == [(F(0), Signature(1, "minor")), (F(16), Signature(3))]
    assert keys.at(F(15)) == Signature(1, "minor") and keys.at(F(16)) == Signature(3)
    assert KeyMap([]).at(F(3)) == Signature(0)


def test_ledger_lines_by_staff_position():
    position = {name: spell(midi, Signature(0)).diatonic for name, midi in
                (("C4", 60), ("A5", 81), ("B5", 83), ("C6", 84), ("A6", 93), ("B6", 95), ("C3", 48), ("B2", 47),
                 ("E2", 40), ("E1", 28), ("D1", 26))}
    assert [ledger_lines(position[n], "treble") for n in ("C4", "A5", "B5", "C6", "A6", "B6", "C3", "B2")] == \
        [1, 1, 1, 2, 4, 5, 4, 5]
    assert [ledger_lines(position[n], "bass") for n in ("C4", "E2", "E1", "D1")] == [1, 1, 4, 5]
    assert ledger_lines(position["C3"], "treble8vb") == 1  # a tenor's C3 is written as C4


def test_best_clef_keeps_within_four_ledger_lines_and_prefers_plain_clefs():
    def positions(*midis):
        return [spell(m, Signature(0)).diatonic for m in midis]

    clefs = ("treble", "bass", "treble8vb", "bass8vb", "treble8va")
    assert best_clef(positions(67, 72, 77, 81), clefs) == ("treble", 1)
    assert best_clef(positions(40, 45, 52, 57), clefs) == ("bass", 1)
    assert best_clef(positions(50, 55, 60, 64, 67, 69), clefs)[0] == "treble8vb"  # a tenor: treble's C3..A4
    assert best_clef(positions(28, 29, 31, 33), clefs)[0] == "bass8vb"  # a bass guitar's low E1-A1
    assert best_clef(positions(36, 96), clefs)[1] > 4  # no single clef holds C2 and C7


def _timed(onset, midi, length=1):
    return TimedPitch(F(onset), F(onset + length), spell(midi, Signature(0)))


def test_the_hands_split_around_middle_c_with_hysteresis_and_never_cross():
    # a right-hand line walking down to Bb3 stays in the right hand, over a left-hand line
    line = [_timed(i, m) for i, m in enumerate((67, 65, 64, 62, 60, 59, 58))]
    bass = [_timed(i, m) for i, m in enumerate((48, 50, 52, 53, 55, 53, 52))]
    right, left = split_hands(line + bass)
    assert [n.pitch.midi for n in right] == [67, 65, 64, 62, 60, 59, 58]
    assert [n.pitch.midi for n in left] == [48, 50, 52, 53, 55, 53, 52]
    # without hysteresis the same notes are cut at middle C
    right, left = split_hands(line + bass, hysteresis=False)
    assert [n.pitch.midi for n in right] == [67, 65, 64, 62, 60]
    # a chord: whatever the hysteresis, every right-hand note is above every left-hand one
    chord = [_timed(0, m) for m in (50, 58, 61, 63, 70)]
    right, left = split_hands(chord)
    assert min(n.pitch.midi for n in right) > max(n.pitch.midi for n in left)


def test_staves_for_voices_instruments_and_pianos():
    tenor = [_timed(i, m) for i, m in enumerate((57, 59, 60, 62))]
    assert [s.clef for s in staves_for(tenor, "Tenor", 0, False)] == ["treble8vb"]  # a singer, not a piano
    assert [s.clef for s in staves_for(tenor, "Piano", 0, False)] == ["treble", "bass"]
    assert [s.clef for s in staves_for(tenor, "Cello", 42, False)] == ["bass"]
    wide = [_timed(i, m) for i, m in enumerate((36, 43, 48, 55, 67, 72, 79, 84))]  # C2 to C6
    assert [s.clef for s in staves_for(wide, "Harp", 46, False)] == ["treble", "bass"]
    wider = [_timed(i, m) for i, m in enumerate((24, 48, 84, 96))]  # C1 to C7: octave clefs
    assert [s.clef for s in staves_for(wider, "Harp", 46, False)] == ["treble8va", "bass8vb"]
    assert [s.clef for s in staves_for(tenor, "Kit", 0, True)] == ["percussion"]


def test_the_grid_is_chosen_per_beat():
    bars = [Bar(F(0), F(4), (4, 4)), Bar(F(4), F(3), (6, 8))]
    # beat 0: triplet eighths played a little unevenly; beat 1: sixteenths; in 6/8 no triplets
    times = [F(1, 3) + F(1, 50), F(2, 3) - F(1, 60), F(5, 4) + F(1, 100), F(3, 2), F(4) + F(1, 3)]
    grid = Grid(bars, times, (4, 3))
    assert grid.triplet_beats == {F(0)}
    assert [grid.snap(t) for t in times] == [F(1, 3), F(2, 3), F(5, 4), F(3, 2), F(4) + F(1, 4)]
    assert grid.step(F(1, 2)) == F(1, 3) and grid.step(F(3, 2)) == F(1, 4)
    assert Grid(bars, times, (4,)).triplet_beats == set()


def test_time_signature_changes_take_effect_at_the_nearer_bar_line():
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    score.time_signatures.append(symusic.TimeSignature(1920 + 240, 3, 4))  # an eighth late: bar 2
    bars = make_bars(Piece(score=score), F(12))
    assert [(b.start, b.meter) for b in bars] == [(F(0), (4, 4)), (F(4), (3, 4)), (F(7), (3, 4)), (F(10), (3, 4))]


def _plan(notes, markers=()):
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Line", program=73)
    for time, duration, pitch in notes:
        track.notes.append(symusic.Note(time, duration, pitch, 80))
    score.tracks.append(track)
    for time, text in markers:
        score.markers.append(symusic.TextMeta(time, text))
    return plan_score(Piece(score=score, name="line"))


def test_voices_follow_overlaps_and_bars_cut_notes_with_ties():
    plan = _plan([(0, 3840, 55), (0, 480, 67), (480, 480, 69), (960, 2880, 71)])
    voices = plan.parts[0].staves[0].voices
    assert [[(e.onset, e.end) for e in v] for v in voices] == [[(0, 1), (1, 2), (2, 8)], [(0, 8)]]
    upper = voice_in_bars(voices[0], plan)
    assert [(w.offset, w.length, w.tie) for w in upper[0]] == [(0, 1, None), (1, 1, None), (2, 2, "start")]
    assert [(w.offset, w.length, w.tie) for w in upper[1]] == [(0, 4, "stop")]


def test_a_pickup_cuts_the_first_bar_and_rests_fill_the_gaps():
    plan = _plan([(1440, 480, 67), (1920, 480, 72), (2880, 960, 71)], markers=[(1440, "pickup")])
    assert plan.pickup == 3 and plan.written_start(0) == 3 and plan.written_start(1) == 4
    written = voice_in_bars(plan.parts[0].staves[0].voices[0], plan)
    assert [(w.offset, w.length, bool(w.pitches)) for w in written[0]] == [(0, 1, True)]
    assert [(w.offset, w.length, bool(w.pitches)) for w in written[1]] == [(0, 1, True), (1, 1, False),
                                                                           (2, 2, True)]


def test_a_triplet_crossing_a_beat_is_cut_at_the_beat():
    plan = _plan([(0, 160, 60), (160, 480, 62), (640, 320, 64)])  # 1/3, then 1 from 1/3, then 2/3 to beat 2
    pieces = voice_in_bars(plan.parts[0].staves[0].voices[0], plan)[0]
    assert [(w.offset, w.length, w.tie) for w in pieces[:4]] == [
        (0, F(1, 3), None), (F(1, 3), F(2, 3), "start"), (1, F(1, 3), "stop"), (F(4, 3), F(2, 3), None)]


def test_events_are_chords_of_notes_struck_and_released_together():
    plan = _plan([(0, 960, 60), (0, 960, 64), (0, 960, 67), (960, 960, 65), (960, 480, 69)])
    voices = plan.parts[0].staves[0].voices
    assert [[(e.onset, [p.midi for p in e.pitches]) for e in v] for v in voices] == \
        [[(0, [60, 64, 67]), (2, [69])], [(2, [65])]]
    assert isinstance(voices[0][0], Event)


@pytest.mark.parametrize("qpm,expected", [(120.43, 120), (99.5, 100), (60.0, 60), (0.2, 1)])
def test_the_tempo_is_a_whole_number(qpm, expected):
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    track = symusic.Track("x", program=0)
    track.notes.append(symusic.Note(0, 480, 60, 80))
    score.tracks.append(track)
    assert plan_score(Piece(score=score)).tempo == expected


def test_each_beat_takes_the_coarsest_grid_its_times_sit_on_within_two_ticks():
    bars = [Bar(F(0), F(4), (4, 4)), Bar(F(4), F(3), (6, 8)), Bar(F(7), F(4), (4, 4)), Bar(F(11), F(3, 2), (3, 8))]
    tick = F(1, 480)
    beats = {
        0: [F(k, 8) for k in range(8)] + [F(k, 8) - tick for k in range(1, 9)],  # 32nds, each a tick short
        1: [F(1), F(11, 8) - tick, F(11, 8), F(3, 2) - 2 * tick],  # a dotted sixteenth and a 32nd
        2: [F(2) + F(k, 6) for k in range(6)],  # triplet sixteenths
        3: [F(3) + F(k, 16) for k in range(4)],  # 64ths
        4: [F(4) + F(1, 8), F(4) + F(3, 4) - tick],  # in 6/8: a 32nd, then a note to the next eighth
        5: [F(5) + F(1, 6), F(5) + F(1, 3)],  # in 6/8: triplet sixteenths over an eighth
        7: [F(7) + F(1, 3), F(7) + F(2, 3)],  # triplet eighths
        8: [F(8) + F(1, 2) + 2 * tick, F(8) + F(3, 4) - tick],  # sixteenths a tick or two off
        9: [F(9) + F(1, 4), F(9) + F(1, 2), F(9) + F(2, 3), F(9) + F(5, 6)],  # sixteenths, then triplet ones
        12: [F(12) + F(1, 6), F(12) + F(1, 3)],  # triplet sixteenths in a 3/8 bar's last eighth
    }
    grid = Grid(bars, [t for times in beats.values() for t in times], (4, 3, 8, 6, 12, 16))
    assert grid.divisions == {F(0): 8, F(1): 8, F(2): 6, F(3): 16, F(4): 8, F(5): 6, F(7): 3, F(9): 12, F(12): 6}
    assert grid.triplet_beats == {F(2), F(5), F(7), F(9), F(12)}
    assert [grid.snap(t) for t in beats[1]] == [F(1), F(11, 8), F(11, 8), F(3, 2)]
    assert grid.snap(beats[8][0]) == F(17, 2) and grid.step(F(8)) == F(1, 4)
    # sixteenths only: 32nds are snapped to sixteenths
    assert Grid(bars, beats[0], (4,)).divisions == {}
    # triplet eighths need a whole beat of simple time: in 6/8, or an eighth-long beat, triplet sixteenths
    assert Grid(bars, [F(4) + F(1, 3), F(4) + F(2, 3), F(12) + F(1, 3)], (4, 3, 8, 6, 12, 16)).divisions == \
        {F(4): 6, F(12): 6}
    assert Grid(bars, [F(4) + F(1, 3), F(12) + F(1, 3)], (4, 3)).divisions == {}


def test_a_wobble_never_makes_32nds():
    # sixteenths played up to three ticks early or late: the loose grid, sixteenths, nearer than triplet eighths
    wobble = (0, 3, -3, 2, -1, 3, -2, -3)
    times = [F(k * 120 + wobble[k % 8], 480) for k in range(16)]
    bar = [Bar(F(0), F(4), (4, 4))]
    grid = Grid(bar, times, (4, 3, 8, 6, 12, 16))
    assert grid.divisions == {}
    assert [grid.snap(t) for t in times] == [F(k, 4) for k in range(16)]
    # 64 ticks into a beat is off every grid by more than two ticks: sixteenths, not 32nds or 64ths
    assert Grid(bar, [F(64, 480)], (4, 3, 8, 6, 12, 16)).divisions == {}
    assert Grid(bar, [F(62, 480)], (4, 3, 8, 6, 12, 16)).divisions == {F(0): 8}
    # in a played track (most times on no grid) a beat that happens to sit on 32nds gets sixteenths all the same
    played = [F(k * 120 + (7, -9, 11, -6)[k % 4], 480) for k in range(4, 16)]
    sixteenth_and_two_32nds = [F(0), F(60, 480), F(120, 480), F(240, 480)]
    assert Grid(bar, sixteenth_and_two_32nds + played, (4, 3, 8, 6, 12, 16)).divisions == {}
    assert Grid(bar, sixteenth_and_two_32nds + [F(k, 4) for k in range(4, 16)],
                (4, 3, 8, 6, 12, 16)).divisions == {F(0): 8}


@pytest.mark.parametrize("start,stop,meter,expected", [
    (F(1, 8), F(3, 4), (6, 8), [(F(1, 8), F(1, 4)), (F(1, 4), F(3, 4))]),  # 5/8: a 32nd tied to an eighth
    (F(0), F(5, 8), (4, 4), [(F(0), F(1, 2)), (F(1, 2), F(5, 8))]),  # from the beat: the longest value first
    (F(3, 8), F(1), (4, 4), [(F(3, 8), F(1, 2)), (F(1, 2), F(1))]),
    (F(0), F(3, 8), (4, 4), [(F(0), F(3, 8))]),  # a dotted sixteenth
    (F(1, 8), F(1), (4, 4), [(F(1, 8), F(1))]),  # a double-dotted eighth
    (F(1, 8), F(13, 8), (4, 4), [(F(1, 8), F(1)), (F(1), F(3, 2)), (F(3, 2), F(13, 8))]),  # cut at the beat
    (F(1, 6), F(2, 3), (4, 4), [(F(1, 6), F(1, 3)), (F(1, 3), F(2, 3))]),  # triplet values, not an eighth
    (F(0), F(5, 6), (4, 4), [(F(0), F(2, 3)), (F(2, 3), F(5, 6))]),
    (F(1, 4), F(2, 3), (4, 4), [(F(1, 4), F(1, 2)), (F(1, 2), F(2, 3))]),  # a sixteenth, a triplet sixteenth
])
def test_fine_lengths_are_cut_into_written_values(start, stop, meter, expected):
    bar = Bar(F(0), F(4 * meter[0], meter[1]), meter)
    plan = Plan("cut", [bar], F(0), KeyMap([]), 120, [])
    written = voice_in_bars([Event(start, stop, (spell(60, Signature(0)),))], plan)[0]
    notes = [(w.offset, w.offset + w.length) for w in written if w.pitches]
    assert notes == expected
    assert [w.tie for w in written if w.pitches] == ([None] if len(expected) == 1 else
                                                     ["start", *["continue"] * (len(expected) - 2), "stop"])
    assert sum(w.length for w in written) == bar.length  # rests fill the rest of the bar
