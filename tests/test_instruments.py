"""General MIDI facts, held once: names, families and the drum kit's number, as MidiTok's tables give them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tunesmith.instruments import (
    DRUMS,
    DRUMS_NAME,
    family_name,
    gm_families,
    gm_instrument_name,
    gm_names,
    instrument_name,
    program_number,
)


def test_program_names_and_the_drum_kit():
    assert len(gm_names()) == 128 and gm_names()[0] == "Acoustic Grand Piano" and gm_names()[127].startswith("Gunshot")
    assert instrument_name(40) == "Violin" and instrument_name(DRUMS) == DRUMS_NAME == "Drums"
    assert gm_instrument_name(73) == "Flute" and gm_instrument_name(0, is_drum=True) == "Drum kit"
    assert gm_instrument_name(128) == "Program 128" and gm_instrument_name(-1) == "Program -1"


def test_families_are_eight_programs_each_then_the_drums():
    assert len(gm_families()) == 17 and gm_families()[-1] == DRUMS_NAME
    assert [family_name(p) for p in (0, 7, 8, 40, 47, 48, 127)] == [
        "Piano", "Piano", "Chromatic Percussion", "Strings", "Strings", "Ensemble", "Sound Effects"]
    assert family_name(40, is_drum=True) == "Drums"


@pytest.mark.parametrize(("program", "is_drum", "number"), [(0, False, 0), (42, False, 42), (0, True, DRUMS),
                                                            (25, True, 128)])
def test_a_drum_track_counts_as_program_128(program, is_drum, number):
    assert program_number(program, is_drum) == number


def test_importing_the_facts_does_not_load_miditok():
    code = "import sys, tunesmith.instruments as i; print('miditok' in sys.modules, i.DRUMS)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "128"]
