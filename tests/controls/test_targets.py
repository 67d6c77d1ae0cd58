"""The controls' text parsed into numbers: instruments, density levels, lengths, and what cannot be met."""

from __future__ import annotations

import dataclasses

import pytest

from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import length_in_bars, parse_density, parse_instrument, resolve_targets
from tunesmith.errors import ControlError


def test_impossible_scale_and_range_is_a_clear_error():
    with pytest.raises(ControlError, match="impossible request"):
        resolve_targets(Controls(key="C major", scale_lock=True, pitch_range="C#4-C#4", density="high"))


@pytest.mark.parametrize(("controls", "message"), [
    (Controls(key="C major", scale_lock=True, pitch_range="C#4-C#4"),
     "impossible request: --scale-lock in C major leaves no note inside --pitch-range C#4-C#4"),
    (Controls(end_on_tonic=True), "--end-on-tonic needs a --key"),
    (Controls(key="G major", end_on_tonic=True, pitch_range="C4-F#4"),
     "impossible request: --end-on-tonic, but no G major tonic lies inside --pitch-range C4-F#4"),
    (Controls(scale_lock=True), "--scale-lock needs a --key"),
])
def test_controls_that_contradict_each_other_are_named(controls, message):
    with pytest.raises(ControlError, match=f"^{message}"):
        resolve_targets(controls)
    resolve_targets(dataclasses.replace(controls, pitch_range=None, key=controls.key or "D minor"))  # met alone


@pytest.mark.parametrize(("text", "program"), [("violin", 40), ("Trumpet", 56), ("acoustic grand", 0), ("7", 7),
                                               ("drums", 128), ("percussion", 128)])
def test_instruments_by_name_alias_or_program(text, program):
    assert parse_instrument(text) == program


@pytest.mark.parametrize(("text", "message"), [("128", "outside General MIDI's 0-127"), ("kazoo", "unknown instrument")])
def test_an_unknown_instrument_is_named(text, message):
    with pytest.raises(ControlError, match=message):
        parse_instrument(text)


def test_density_levels_split_at_the_edges():
    edges = (6.0, 12.0)
    assert parse_density("low", edges) == ((3, 6), "low (3-6 notes per bar)")
    assert parse_density("medium", edges) == ((6, 12), "medium (6-12 notes per bar)")
    assert parse_density("high", edges) == ((12, 18), "high (12-18 notes per bar)")
    assert parse_density(" 5 ", edges) == ((5, 5), "5 notes per bar")


def test_density_uses_a_runs_edges_or_six_and_twelve_notes_a_bar():
    assert resolve_targets(Controls(density="high")).density == (12, 18)
    assert resolve_targets(Controls(density="high"), density_edges=[4.0, 6.0]).density == (6, 9)


def test_seconds_become_whole_bars():
    assert length_in_bars(12, (3, 4), None) == (8, 120.0)  # 8 bars of 3/4 at 120 BPM last 12 seconds
    assert length_in_bars(12, (4, 4), 90) == (4, 90)  # at a fixed tempo, the nearest whole bars


def test_the_targets_in_the_users_words():
    targets = resolve_targets(Controls(instruments=["drums", "violin"], seconds=10, time_signature="3/4", tempo=90))
    assert targets.programs == [128, 40]
    assert targets.asked() == {"bars": 5, "seconds": 10, "tempo": 90.0, "time_signature": "3/4",
                               "instruments": ["Drums", "Violin"]}
