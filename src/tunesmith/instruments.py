"""General MIDI instruments, the facts every layer shares: the programs' names and families, and the number
tunesmith gives a drum kit.

The tables are MidiTok's (`miditok.constants`), read the first time they are needed: importing miditok takes
about a second, which a command that never names an instrument should not pay.
"""

from __future__ import annotations

from functools import cache

DRUMS = 128  # a drum kit's program number here (General MIDI's are 0-127; drums are a channel, not a program)
DRUMS_NAME = "Drums"


@cache
def gm_names() -> tuple[str, ...]:
    """General MIDI's 128 program names, by program number ('Acoustic Grand Piano', ...)."""
    from miditok.constants import MIDI_INSTRUMENTS

    return tuple(entry["name"] for entry in MIDI_INSTRUMENTS)


@cache
def gm_families() -> tuple[str, ...]:
    """General MIDI's 16 instrument families, eight programs each ('Piano' for 0-7, ...), then 'Drums'."""
    from miditok.constants import INSTRUMENT_CLASSES

    return (*(c["name"] for c in INSTRUMENT_CLASSES if c["program_range"].start >= 0), DRUMS_NAME)


def instrument_name(program: int) -> str:
    """General MIDI name of a program, 'Drums' for DRUMS (as the controls name instruments)."""
    return DRUMS_NAME if program == DRUMS else gm_names()[program]


def gm_instrument_name(program: int, is_drum: bool = False) -> str:
    """General MIDI name of a track's program ('Acoustic Grand Piano'); 'Drum kit' for a drum track."""
    if is_drum:
        return "Drum kit"
    names = gm_names()
    return names[int(program)] if 0 <= int(program) < len(names) else f"Program {program}"


def family_name(program: int, is_drum: bool = False) -> str:
    """The General MIDI family of a track's program ('Strings' for 40); 'Drums' for a drum track."""
    return DRUMS_NAME if is_drum else gm_families()[int(program) // 8]


def program_number(program: int, is_drum: bool) -> int:
    """A track's program as the controls count it: DRUMS for a drum track."""
    return DRUMS if is_drum else int(program)
