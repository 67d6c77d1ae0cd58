"""Each mask on hand-made logits: what it lets through and what it forbids."""

from __future__ import annotations

import numpy as np
import pytest

from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import resolve_targets
from tunesmith.generation.masks import MusicConstraints, RowState, apply_mask
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.theory import parse_key


@pytest.fixture(scope="module")
def rep() -> TokenRepresentation:
    return TokenRepresentation(programs=[0, 40, 42])


def state_after(constraints: MusicConstraints, tokens: list[str]) -> RowState:
    s = RowState()
    for name in tokens:
        constraints.advance(s, constraints.vocab.ids[name])
    return s


def allowed_names(constraints: MusicConstraints, s: RowState) -> set[str]:
    names = constraints.rep.token_names()
    logits = np.zeros((1, constraints.vocab.size), dtype=np.float32)
    masked = apply_mask(logits, constraints.allowed(s).numpy()[None])
    return {names[i] for i in np.flatnonzero(np.isfinite(masked[0]))}


NOTE_START = ["Bar_None", "TimeSig_4/4", "Position_0", "Program_0"]


def test_apply_mask_sets_forbidden_to_minus_infinity():
    logits = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    out = apply_mask(logits, np.array([[True, False, True]]))
    assert out[0, 0] == 1.0 and out[0, 2] == 3.0 and out[0, 1] == float("-inf")


def test_scale_lock_allows_only_scale_pitches(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(key="D minor", scale_lock=True)))
    pitches = {int(n.split("_")[1]) % 12 for n in allowed_names(c, state_after(c, NOTE_START))}
    assert pitches == set(parse_key("D minor").scale)


def test_pitch_range_bounds(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(pitch_range="C4-E4")))
    assert allowed_names(c, state_after(c, NOTE_START)) == {"Pitch_60", "Pitch_61", "Pitch_62", "Pitch_63", "Pitch_64"}


def test_velocity_range(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(velocity="60-80")))
    names = allowed_names(c, state_after(c, NOTE_START + ["Pitch_60"]))
    assert names and all(n.startswith("Velocity_") and 60 <= int(n.split("_")[1]) <= 80 for n in names)


def test_crescendo_moves_the_velocity_window_up(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(bars=8, dynamics="crescendo")))
    first = c.velocity_ok(0) & c.velocity
    last = c.velocity_ok(7) & c.velocity
    assert c.vocab.value[first].max() < c.vocab.value[last].min()


def test_programs_mask(rep):
    c = MusicConstraints(rep, resolve_targets(Controls()), programs=[40, 42])
    names = allowed_names(c, state_after(c, ["Bar_None", "TimeSig_4/4", "Position_0"]))
    assert {n for n in names if n.startswith("Program_")} == {"Program_40", "Program_42"}


def test_time_signature_and_tempo_masks(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(time_signature="3/4", tempo=100)))
    assert allowed_names(c, state_after(c, ["Bar_None"])) == {"TimeSig_3/4"}
    tempos = {n for n in allowed_names(c, state_after(c, ["Bar_None", "TimeSig_3/4", "Position_0"])) if n.startswith("Tempo_")}
    assert len(tempos) == 1 and abs(float(tempos.pop().split("_")[1]) - 100) < 3


def test_bars_given_before_the_music_keep_the_row_in_their_metre(rep):
    c = MusicConstraints(rep, resolve_targets(Controls()))
    s = RowState()
    for name in ["Bar_None", "TimeSig_3/4", "Position_0", "Bar_None", "TimeSig_4/4"]:  # the bars a loop closes
        c.condition(s, c.vocab.ids[name])
    c.advance(s, c.vocab.ids["Bar_None"])
    assert allowed_names(c, s) == {"TimeSig_3/4"}  # the first metre given, not the last
    fixed = MusicConstraints(rep, resolve_targets(Controls(time_signature="2/4")))
    s = RowState()
    fixed.condition(s, fixed.vocab.ids["TimeSig_3/4"])
    fixed.advance(s, fixed.vocab.ids["Bar_None"])
    assert allowed_names(fixed, s) == {"TimeSig_2/4"}  # an asked metre wins


def test_note_grammar_after_program(rep):
    c = MusicConstraints(rep, resolve_targets(Controls()))
    assert all(n.startswith("Pitch_") for n in allowed_names(c, state_after(c, NOTE_START)))
    assert all(n.startswith("Duration_") for n in allowed_names(c, state_after(c, NOTE_START + ["Pitch_60", "Velocity_63"])))


def test_first_event_is_a_bar_line_and_the_end_waits_for_the_bars(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(bars=2)))
    assert allowed_names(c, RowState()) == {"Bar_None"}
    one_note = NOTE_START + ["Pitch_60", "Velocity_63", "Duration_1.0.8"]
    assert "EOS_None" not in allowed_names(c, state_after(c, one_note))
    assert "EOS_None" in allowed_names(c, state_after(c, one_note + one_note))


def test_density_caps_and_floors_notes_per_bar(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(bars=4, density=2)))
    note = ["Program_0", "Pitch_60", "Velocity_63", "Duration_1.0.8"]
    one = state_after(c, ["Bar_None", "TimeSig_4/4", "Position_0"] + note)
    assert "Bar_None" not in allowed_names(c, one)  # one note: the bar cannot close yet
    two = state_after(c, ["Bar_None", "TimeSig_4/4", "Position_0"] + note + ["Position_8"] + note[:1] + ["Pitch_62"] + note[2:])
    names = allowed_names(c, two)
    assert "Bar_None" in names and "Program_0" not in names


def test_end_on_tonic_restricts_the_last_bar(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(bars=1, key="C major", end_on_tonic=True)))
    pitches = {int(n.split("_")[1]) % 12 for n in allowed_names(c, state_after(c, NOTE_START))}
    assert pitches == {0, 4, 7}
    on_e = state_after(c, NOTE_START + ["Pitch_64", "Velocity_63", "Duration_1.0.8"])
    assert "EOS_None" not in allowed_names(c, on_e)  # the last onset lacks the tonic
    on_c = state_after(c, NOTE_START + ["Pitch_64", "Velocity_63", "Duration_1.0.8", "Program_0", "Pitch_60",
                                        "Velocity_63", "Duration_1.0.8"])
    assert "EOS_None" in allowed_names(c, on_c)


def test_an_onset_that_took_every_pitch_left_to_it_starts_no_more_notes(rep):
    # the last bar must sound the tonic's chord: within C4-G4 that is C4, E4, G4; once an onset holds all three,
    # a fourth note there would have no pitch (the sampler found this dead end), so no note may start
    c = MusicConstraints(rep, resolve_targets(Controls(bars=1, key="C major", end_on_tonic=True,
                                                       pitch_range="C4-G4")))
    chord = [token for pitch in (60, 64, 67) for token in ("Program_0", f"Pitch_{pitch}", "Velocity_63",
                                                           "Duration_1.0.8")]
    full = state_after(c, ["Bar_None", "TimeSig_4/4", "Position_0"] + chord)
    names = allowed_names(c, full)
    assert "Program_0" not in names and "EOS_None" in names
    two = state_after(c, ["Bar_None", "TimeSig_4/4", "Position_0"] + chord[:8])
    assert "Program_0" in allowed_names(c, two)  # G4 is still free


def test_monophonic_forbids_a_second_note_at_an_onset(rep):
    c = MusicConstraints(rep, resolve_targets(Controls(monophonic=True)))
    s = state_after(c, NOTE_START + ["Pitch_60", "Velocity_63", "Duration_2.0.8"])
    names = allowed_names(c, s)
    assert "Program_0" not in names
    assert "Position_8" not in names and "Position_16" in names  # the half note ends on beat 3

