"""check_piece measures what was asked: exact verdicts on hand-made pieces, at the edges of every range."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import symusic

from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import Targets
from tunesmith.errors import ControlError
from tunesmith.generation import checks
from tunesmith.generation.checks import check_piece, enforce
from tunesmith.piece import Piece
from tunesmith.theory import Key

TPQ = 4
C_MAJOR = Key(0, "major")


def score_piece(tracks: dict[int, list[tuple[float, float, int, int]]], *, tempos=(120.0,), meters=((4, 4),),
                style: str | None = None) -> Piece:
    """A Piece at 4 ticks per quarter: {program: [(start, duration, pitch, velocity)]} in quarters, program 128
    a drum track; the tempos and meters change once a bar (an empty tuple writes none)."""
    score = symusic.Score(TPQ)
    for bar, qpm in enumerate(tempos):
        score.tempos.append(symusic.Tempo(bar * 4 * TPQ, qpm=qpm))
    for bar, (num, den) in enumerate(meters):
        score.time_signatures.append(symusic.TimeSignature(bar * 4 * TPQ, num, den))
    for program, notes in tracks.items():
        track = symusic.Track(f"p{program}", program=program % 128, is_drum=program == 128)
        for start, duration, pitch, velocity in notes:
            track.notes.append(symusic.Note(round(start * TPQ), round(duration * TPQ), pitch, velocity))
        score.tracks.append(track)
    return Piece(score=score, name="take", source="test", tags={"style": style} if style else {})


# Two bars of 4/4 at 120 BPM (2 s a bar): a violin scale rising to C5 over a cello on C3, ending on the bar line.
VIOLIN = [(0, 1, 60, 60), (1, 1, 62, 70), (2, 1, 64, 80), (3, 1, 65, 90), (4, 2, 67, 100), (6, 2, 72, 100)]
CELLO = [(0, 4, 48, 70), (4, 4, 48, 80)]


@pytest.fixture
def duet() -> Piece:
    return score_piece({40: VIOLIN, 42: CELLO}, style="bach")


@pytest.fixture
def asked() -> Targets:
    """Everything the duet meets, most of it exactly at the edge."""
    return Targets(bars=2, seconds=4.0, tempo=120.0, time_signature=(4, 4), key=C_MAJOR,
                   scale=frozenset(C_MAJOR.scale), pitch_range=(48, 72), velocity=(60, 100), dynamics="crescendo",
                   density=(3, 5), density_label="medium (3-5 notes per bar)", programs=[42, 40],
                   end_on_tonic=True, loopable=True, style="bach")


def test_every_control_measured_exactly(duet, asked):
    def item(asked, measured, hard=True):
        return {"asked": asked, "measured": measured, "ok": True, "hard": hard}

    assert check_piece(duet, asked) == {
        "bars": item(2, 2),
        "seconds": item(4.0, 4.0),
        "tempo": item(120.0, 120.0),
        "time_signature": item("4/4", "4/4"),
        "instruments": item(["Cello", "Violin"], ["Violin", "Cello"]),
        "pitch_range": item("C3-C5", "C3-C5"),
        "scale_lock": item("C major", {"notes_outside_scale": []}),
        "key": item("C major", "C major", hard=False),
        "velocity": item("60-100", "60-100"),
        "dynamics": item("crescendo", [74.0, 93.3], hard=False),  # (60+70+80+90+70)/5, (100+100+80)/3
        "density": item("medium (3-5 notes per bar)", [5, 3], hard=False),
        "end_on_tonic": item("C major", ["C5"]),
        "loopable": item(True, {"notes_past_loop_point": 0}),
        "style": item("bach", "bach", hard=False),
    }
    assert list(check_piece(duet, asked)) == [  # the report's order: what is fixed first, then the music
        "bars", "seconds", "tempo", "time_signature", "instruments", "pitch_range", "scale_lock", "key", "velocity",
        "dynamics", "density", "end_on_tonic", "loopable", "style"]


def test_only_the_asked_controls_are_checked(duet):
    assert check_piece(duet, Targets(bars=3)) == {"bars": {"asked": 3, "measured": 2, "ok": False, "hard": True}}


def test_controls_are_resolved_before_checking(duet):
    found = check_piece(duet, Controls(bars=2, tempo=120, key="C major", end_on_tonic=True, time_signature="4/4"))
    assert sorted(found) == ["bars", "end_on_tonic", "key", "tempo", "time_signature"]
    assert all(v["ok"] for v in found.values())


def test_controls_take_the_key_from_their_primer(duet):
    found = check_piece(duet, Controls(bars=2, primer=duet, end_on_tonic=True))
    assert found["end_on_tonic"] == {"asked": "C major", "measured": ["C5"], "ok": True, "hard": True}


@pytest.mark.parametrize("field, value, name, ok", [
    ("pitch_range", (48, 72), "pitch_range", True),
    ("pitch_range", (49, 72), "pitch_range", False),  # the cello's C3 one below
    ("pitch_range", (48, 71), "pitch_range", False),  # the violin's C5 one above
    ("velocity", (60, 100), "velocity", True),
    ("velocity", (61, 100), "velocity", False),
    ("velocity", (60, 99), "velocity", False),
    ("density", (3, 5), "density", True),
    ("density", (4, 5), "density", False),  # bar 2 has 3 notes
    ("density", (3, 4), "density", False),  # bar 1 has 5
    ("seconds", 5.0, "seconds", True),  # 4 s long, half a bar (1 s) away is still the nearest whole bar
    ("seconds", 3.0, "seconds", True),
    ("seconds", 5.01, "seconds", False),
    ("seconds", 2.99, "seconds", False),
    ("programs", [40, 42, 42], "instruments", False),
    ("programs", [40], "instruments", False),
    ("time_signature", (3, 4), "time_signature", False),
    ("key", Key(9, "minor"), "key", True),  # the relative minor has the same notes
    ("key", Key(7, "major"), "key", False),
    ("key", Key(0, "minor"), "key", False),
    ("style", "folk", "style", False),
    ("dynamics", "diminuendo", "dynamics", False),  # 74.0 then 93.3 rises
    ("dynamics", "swell", "dynamics", False),
])
def test_verdicts_at_the_edges(duet, field, value, name, ok):
    assert check_piece(duet, Targets(bars=2, **{field: value}))[name]["ok"] is ok


def test_the_relative_key_is_reported_as_such(duet):
    found = check_piece(duet, Targets(bars=2, key=Key(9, "minor")))["key"]
    assert found == {"asked": "A minor", "measured": "C major (relative major of A minor: same notes)", "ok": True,
                     "hard": False}
    assert check_piece(duet, Targets(bars=2, key=Key(7, "major")))["key"]["measured"] == "C major"


def test_notes_outside_the_locked_scale_are_named_once(duet):
    piece = score_piece({40: VIOLIN + [(0, 1, 61, 80), (1, 1, 61, 80), (2, 1, 66, 80), (3, 1, 78, 80)]})
    found = check_piece(piece, Targets(bars=2, key=C_MAJOR, scale=frozenset(C_MAJOR.scale)))["scale_lock"]
    assert found == {"asked": "C major", "measured": {"notes_outside_scale": ["C#4", "F#4", "F#5"]}, "ok": False,
                     "hard": True}


def test_an_empty_piece_meets_no_range():
    empty = score_piece({40: []})
    found = check_piece(empty, Targets(bars=1, pitch_range=(0, 127), velocity=(1, 127), key=C_MAJOR,
                                       end_on_tonic=True))
    assert found["pitch_range"] == {"asked": "C-1-G9", "measured": None, "ok": False, "hard": True}
    assert found["velocity"] == {"asked": "1-127", "measured": None, "ok": False, "hard": True}
    assert found["key"] == {"asked": "C major", "measured": None, "ok": False, "hard": False}
    assert found["end_on_tonic"] == {"asked": "C major", "measured": [], "ok": False, "hard": True}


def test_tempo_within_the_tolerance_of_microseconds_per_quarter():
    # MIDI stores 60.01 BPM as 999833 microseconds a quarter: 60.0100... BPM, read back as 60.01
    piece = score_piece({0: [(0, 4, 60, 80)]}, tempos=(60.01,))
    assert check_piece(piece, Targets(bars=1, tempo=60.0))["tempo"] == {"asked": 60.0, "measured": 60.01, "ok": True,
                                                                      "hard": True}
    assert not check_piece(piece, Targets(bars=1, tempo=59.99))["tempo"]["ok"]
    # 90.5 BPM is stored as 662983 us: 90.50006 BPM, measured to three decimals
    assert check_piece(score_piece({0: [(0, 4, 60, 80)]}, tempos=(90.5,)),
                       Targets(bars=1, tempo=90.5))["tempo"]["measured"] == 90.5


def test_tempo_changes_are_listed_and_all_must_match():
    changing = score_piece({0: [(0, 8, 60, 80)]}, tempos=(90.0, 120.0))
    assert check_piece(changing, Targets(bars=2, tempo=90.0))["tempo"] == {
        "asked": 90.0, "measured": [90.0, 120.0], "ok": False, "hard": True}
    steady = score_piece({0: [(0, 8, 60, 80)]}, tempos=(90.0, 90.0))
    assert check_piece(steady, Targets(bars=2, tempo=90.0))["tempo"]["measured"] == 90.0


def test_a_piece_without_tempo_or_meter_is_120_bpm_in_four_four():
    bare = score_piece({0: [(0, 4, 60, 80)]}, tempos=(), meters=())
    found = check_piece(bare, Targets(bars=1, tempo=120.0, time_signature=(4, 4), seconds=2.0))
    assert [found[k]["measured"] for k in ("tempo", "time_signature", "seconds")] == [120.0, "4/4", 2.0]
    assert all(found[k]["ok"] for k in found)


def test_seconds_follow_the_tempo_and_the_meter():
    # 3/4 at 90 BPM: 2 s a bar, 3 bars
    waltz = score_piece({0: [(0, 9, 60, 80)]}, tempos=(90.0,), meters=((3, 4),))
    assert check_piece(waltz, Targets(bars=3, seconds=6.0))["seconds"]["measured"] == 6.0
    # one 4/4 bar at 70 BPM lasts 3.428571... s, reported to the hundredth
    slow = score_piece({0: [(0, 4, 60, 80)]}, tempos=(70.0,))
    assert check_piece(slow, Targets(bars=1, seconds=3.0))["seconds"]["measured"] == 3.43


def test_seconds_exactly_at_the_tolerance_are_met():
    # one bar at 120 BPM is 2 s; the tolerance is half a bar plus a microsecond of float slack
    one_bar = score_piece({0: [(0, 4, 60, 80)]})
    edge = 2.0 - (2.0 / 2 + 1e-6)
    assert check_piece(one_bar, Targets(bars=1, seconds=edge))["seconds"]["ok"]
    assert not check_piece(one_bar, Targets(bars=1, seconds=edge - 1e-6))["seconds"]["ok"]


def test_meter_changes_are_listed():
    mixed = score_piece({0: [(0, 8, 60, 80)]}, meters=((6, 8), (3, 4)))
    assert check_piece(mixed, Targets(bars=2, time_signature=(3, 4)))["time_signature"] == {
        "asked": "3/4", "measured": ["3/4", "6/8"], "ok": False, "hard": True}


def test_drums_are_an_instrument_but_not_a_final_pitch():
    band = score_piece({40: [(0, 4, 67, 80), (0, 4, 72, 80)], 128: [(0, 1, 36, 100), (3, 1, 38, 100)]})
    found = check_piece(band, Targets(bars=1, programs=[128, 40], key=C_MAJOR, end_on_tonic=True))
    assert found["instruments"] == {"asked": ["Drums", "Violin"], "measured": ["Violin", "Drums"], "ok": True,
                                    "hard": True}
    assert found["end_on_tonic"]["measured"] == ["G4", "C5"] and found["end_on_tonic"]["ok"]
    off_tonic = score_piece({40: [(0, 4, 67, 80), (0, 4, 71, 80)]})
    assert not check_piece(off_tonic, Targets(bars=1, key=C_MAJOR, end_on_tonic=True))["end_on_tonic"]["ok"]


def test_a_loop_needs_its_bars_and_no_note_past_the_loop_point():
    hanging = score_piece({0: [(0, 4, 60, 80), (7, 2, 62, 80)]})  # the D ends a quarter into bar 3
    assert check_piece(hanging, Targets(bars=2, loopable=True))["loopable"] == {
        "asked": True, "measured": {"notes_past_loop_point": 1}, "ok": False, "hard": True}
    short = score_piece({0: [(0, 4, 60, 80)]})  # nothing past bar 2, but only one bar
    assert check_piece(short, Targets(bars=2, loopable=True))["loopable"]["ok"] is False


@pytest.mark.parametrize("notes, voices", [
    ([(0, 1, 60, 80), (1, 1, 62, 80), (2, 2, 64, 80)], 1),  # legato: each note ends as the next starts
    ([(0, 1.25, 60, 80), (1, 1, 62, 80)], 2),
    ([(0, 1, 60, 80), (1, 3, 62, 80), (2, 2, 64, 80), (3, 1, 67, 80)], 3),  # the C ends as the D starts
    ([], 0),
])
def test_monophony_counts_the_most_notes_sounding_at_once(notes, voices):
    found = check_piece(score_piece({0: notes}), Targets(bars=1, monophonic=True))["monophonic"]
    assert found == {"asked": True, "measured": voices, "ok": voices <= 1, "hard": True}


def test_a_harmonised_melody_must_stay_on_top():
    # soprano C5 D5 E5 F5 over an alto that rises above it on beat 3
    piece = score_piece({0: [(0, 1, 72, 80), (1, 1, 74, 80), (2, 1, 76, 80), (3, 1, 77, 80)],
                         1: [(0, 1, 67, 80), (1, 1, 69, 80), (2, 1, 79, 80), (3, 1, 70, 80)]})
    melody = [(0, 0.0, 72), (0, 0.25, 74), (0, 0.5, 76), (0, 0.75, 77)]
    found = check_piece(piece, Targets(bars=1, harmonise=True, extra={"melody": melody}))
    assert found["harmonise"] == {"asked": True, "measured": {"melody_notes_on_top": "3/4"}, "ok": False,
                                  "hard": True}
    assert check_piece(piece, Targets(bars=1, harmonise=True, extra={"melody": melody[:2] + melody[3:]}))[
        "harmonise"] == {"asked": True, "measured": {"melody_notes_on_top": "3/3"}, "ok": True, "hard": True}
    assert "harmonise" not in check_piece(piece, Targets(bars=1, harmonise=True))


def test_the_lowest_midi_note_can_be_the_melody():
    piece = score_piece({0: [(0, 1, 0, 80)]})
    assert checks.melody_on_top(piece, [(0, 0.0, 0)]) == 1


def test_per_bar_counts_put_a_note_on_the_last_bar_line_in_the_last_bar():
    # a zero-length note on the final bar line starts "in" bar 2 of a one-bar piece
    piece = score_piece({0: [(0, 4, 60, 90), (4, 0, 64, 61)], 1: [(1, 1, 55, 91), (2, 1, 57, 60)]})
    assert piece.bars == 1
    assert checks.notes_per_bar_list(piece) == [4]
    assert checks.velocity_per_bar(piece) == [75.5]  # (90+61+91+60)/4
    two = score_piece({0: [(0, 1, 60, 60), (1, 1, 62, 61), (2, 1, 64, 61), (8, 1, 64, 50)]})
    assert checks.velocity_per_bar(two) == [60.7, 0.0, 50.0]
    assert checks.notes_per_bar_list(two) == [3, 0, 1]


def test_final_onset_pitches():
    piece = score_piece({0: [(0, 1, 60, 80), (2, 2, 67, 80)], 1: [(2, 2, 64, 80), (1, 1, 72, 80)],
                         128: [(3, 1, 36, 80)]})
    assert checks.final_onset_pitches(piece) == [64, 67]
    assert checks.final_onset_pitches(score_piece({128: [(0, 1, 36, 80)]})) == []


@pytest.mark.parametrize("shape, per_bar, ok", [
    ("crescendo", [60.0, 80.0], True),
    ("crescendo", [70.0, 70.0], False),
    ("crescendo", [80.0, 60.0], False),
    ("crescendo", [70.0], False),  # one sounding bar has no shape
    ("crescendo", [60.0, 0.0, 80.0], True),  # an empty bar is not a quiet one
    ("crescendo", [1.0, 2.0], True),
    ("crescendo", [60.0, 70.0, 65.0], True),  # first half: bar 1; second half: bars 2 and 3
    ("diminuendo", [80.0, 60.0], True),
    ("diminuendo", [70.0, 70.0], False),
    ("diminuendo", [60.0, 80.0], False),
    ("diminuendo", [80.0, 75.0, 90.0], False),
    ("swell", [50.0, 80.0, 80.0, 50.0], True),
    ("swell", [40.0, 60.0, 60.0, 55.0], True),  # the middle is bars 2-3, not bar 1
    ("swell", [90.0, 100.0, 100.0, 50.0], True),  # nor bar 4
    ("swell", [50.0, 80.0, 80.0, 90.0], False),
    ("swell", [90.0, 80.0, 80.0, 50.0], False),
    ("swell", [60.0, 60.0, 60.0, 50.0], False),  # the middle must rise above the first bar...
    ("swell", [50.0, 60.0, 60.0, 60.0], False),  # ...and the last
    ("swell", [50.0, 80.0, 60.0], True),  # three bars: the middle is bars 1-2
    ("swell", [50.0, 80.0], False),
    ("swell", [40, 50, 90, 95, 99, 60, 50, 45], True),  # eight bars: the middle is bars 3-6
    ("swell", [30, 99, 40, 40, 40, 40, 99, 45], False),  # the loud bars 2 and 7 are not in the middle
    ("steady", [60.0, 100.0], True),
    ("steady", [60.0, 101.0], False),
    ("steady", [70.0], True),
    ("steady", [], True),
])
def test_dynamics_shapes(shape, per_bar, ok):
    assert checks._dynamics_ok(shape, per_bar) is ok


def test_enforce_names_every_unmet_hard_control(duet, asked):
    wrong = dataclasses.replace(asked, bars=3, tempo=90.0, key=Key(7, "major"), style="folk")
    found = check_piece(duet, wrong)
    with pytest.raises(ControlError) as raised:
        enforce(found, "take 1")
    assert str(raised.value) == ("take 1 does not meet its controls (bars: asked 3, got 2; "
                                 "tempo: asked 90.0, got 120.0; end_on_tonic: asked G major, got ['C5']; "
                                 "loopable: asked True, got {'notes_past_loop_point': 0})")


def test_enforce_logs_the_unmet_soft_controls(duet, asked, caplog):
    found = check_piece(duet, dataclasses.replace(asked, key=Key(7, "major"), scale=None, end_on_tonic=False,
                                                  style="folk"))
    with caplog.at_level(logging.WARNING, logger="tunesmith.generation.checks"):
        enforce(found, "take 1")
    assert [r.getMessage() for r in caplog.records] == ["take 1: key asked G major, measured C major",
                                                        "take 1: style asked folk, measured bach"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tunesmith.generation.checks"):
        enforce(check_piece(duet, asked), "take 1")
    assert caplog.records == []


def test_readme_shows_the_controls_table_the_families_declare(run_cli):
    from pathlib import Path

    from tunesmith.generation.control_table import control_table, how

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = readme.split("<!-- controls-table -->\n", 1)[1].split("<!-- /controls-table -->", 1)[0]
    assert shown == control_table()  # regenerate with `tunesmith models --controls`
    code, out, _ = run_cli("models", "--controls")
    assert code == 0 and out == control_table()
    assert [how(f, "scale_lock") for f in ("rnn", "vae", "gan", "polyphonic")] == ["sampling"] * 4
    assert (how("gan", "velocity"), how("gan", "infill"), how("vae", "infill")) == ("after", "refused", "sampling")
    assert "| --key | in sampling | in sampling | afterwards | afterwards (runs that learnt one home key) | afterwards |" in shown
