"""Staves for a part: the clef that keeps every note within four ledger lines, or a grand staff.

A staff's lines are counted as staff positions (Spelled.diatonic: seven per octave, C4 = 28). A note more
than a step above the top line or below the bottom one needs a ledger line for every two steps further out.
Voices, instruments and wide parts that no single clef holds get a grand staff: two staves joined by a brace,
the notes split between the hands around middle C with hysteresis (a line near middle C stays in the hand
that was playing nearest to it, rather than jumping staff on every note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from tunesmith.outputs.spelling import Spelled

MAX_LEDGER_LINES = 4
# ledger lines per note that an octave clef must save to be chosen over a plain one: a tenor's treble clef
# (common) a little, the clefs an octave above treble or below bass (rare) a lot
OCTAVE_CLEF_COST = {"treble8vb": 0.5, "treble8va": 2.0, "bass8vb": 2.0}
# clef -> staff position of its bottom line (sounding: an octave clef moves the staff, not the notes)
BOTTOM_LINE = {
    "treble": 30,     # E4
    "bass": 18,       # G2
    "treble8vb": 23,  # E3: a tenor's treble clef with the 8 below
    "bass8vb": 11,    # G1
    "treble8va": 37,  # E5
}
SINGLE_STAFF_CLEFS = ("treble", "bass", "treble8vb", "bass8vb", "treble8va")
RIGHT_HAND_CLEFS = ("treble", "treble8va")
LEFT_HAND_CLEFS = ("bass", "bass8vb")
KEYBOARD_PROGRAMS = range(0, 8)  # General MIDI's pianos: always a grand staff
# Track names that mean a singer or a single line: a chorale's voices often carry program 0 (piano) only
# because it is MIDI's default
VOICE_NAMES = frozenset({"soprano", "alto", "contralto", "mezzo", "mezzo-soprano", "tenor", "baritone", "bass",
                         "voice", "vocals", "vocal", "melody", "choir"})
# the clef a singer's part is written in, when its notes fit it
VOICE_CLEFS = {"soprano": "treble", "mezzo": "treble", "mezzo-soprano": "treble", "alto": "treble",
               "contralto": "treble", "tenor": "treble8vb", "baritone": "bass", "bass": "bass"}
# hand split: at or above RIGHT_FROM always the right hand, at or below LEFT_UP_TO always the left
RIGHT_FROM, LEFT_UP_TO, MIDDLE_C = 65, 55, 60
HAND_SPAN = 14  # semitones one hand reaches among the notes it strikes together (a ninth)


@dataclass(frozen=True)
class TimedPitch:
    """One note on the quantized time line: onset and end in quarters, and its written pitch."""

    onset: Fraction
    end: Fraction
    pitch: Spelled


@dataclass
class StaffNotes:
    """One staff of a part: its clef and the notes written on it."""

    clef: str
    notes: list[TimedPitch]


def ledger_lines(position: int, clef: str) -> int:
    """How many ledger lines a note at staff position `position` needs on a `clef` staff."""
    bottom = BOTTOM_LINE[clef]
    return max(0, (position - (bottom + 8)) // 2, (bottom - position) // 2)


def best_clef(positions: Sequence[int], clefs: Sequence[str]) -> tuple[str, int]:
    """The clef among `clefs` (in order of preference) that keeps every note within four ledger lines with the
    fewest ledger lines in all (an octave clef counting more per note, OCTAVE_CLEF_COST, so that an alto keeps
    the plain treble clef); when none does, the one with the fewest at the worst note. Returns it and
    its worst note's ledger-line count."""
    def cost(clef: str) -> tuple[bool, int, float, int]:
        lines = [ledger_lines(p, clef) for p in positions]
        worst = max(lines, default=0)
        total = sum(lines) + OCTAVE_CLEF_COST.get(clef, 0) * len(lines)
        return worst > MAX_LEDGER_LINES, worst if worst > MAX_LEDGER_LINES else 0, total, clefs.index(clef)

    clef = min(clefs, key=cost)
    return clef, max((ledger_lines(p, clef) for p in positions), default=0)


def is_keyboard(name: str, program: int, is_drum: bool) -> bool:
    """A piano part (General MIDI 0-7), unless its track is named as a singer or a line (VOICE_NAMES)."""
    words = name.strip().lower().split()
    return not is_drum and program in KEYBOARD_PROGRAMS and not (words and words[0] in VOICE_NAMES)


def split_hands(notes: Sequence[TimedPitch], hysteresis: bool = True) -> tuple[list[TimedPitch], list[TimedPitch]]:
    """(right hand, left hand). The notes struck together are cut in two, the upper ones to the right hand, so
    that hands never cross: high notes (RIGHT_FROM up) right, low ones (LEFT_UP_TO down) left, and the cut
    between them where each hand stays within reach (HAND_SPAN) and, with `hysteresis`, nearest to where that
    hand just played (so a line near middle C stays on its staff); else at middle C."""
    right: list[TimedPitch] = []
    left: list[TimedPitch] = []
    last_right, last_left = 67, 48  # each hand's note nearest the other hand, as it last played
    by_onset: dict[Fraction, list[TimedPitch]] = {}
    for note in sorted(notes, key=lambda n: (n.onset, -n.pitch.midi)):
        by_onset.setdefault(note.onset, []).append(note)
    for struck in by_onset.values():  # highest first
        pitches = [n.pitch.midi for n in struck]
        first = sum(p >= RIGHT_FROM for p in pitches)
        last = len(pitches) - sum(p <= LEFT_UP_TO for p in pitches)
        costs = {cut: _cut_cost(pitches[:cut], pitches[cut:], (last_right, last_left) if hysteresis else None)
                 for cut in range(first, max(first, last) + 1)}
        cut = min(costs, key=costs.__getitem__)
        right.extend(struck[:cut])
        left.extend(struck[cut:])
        last_right = pitches[cut - 1] if cut else last_right
        last_left = pitches[cut] if cut < len(pitches) else last_left
    return right, left


def _cut_cost(upper: list[int], lower: list[int], last: tuple[int, int] | None) -> tuple[int, int, int]:
    """How bad a cut of the notes struck together is (lower is better): hands stretched past their reach, then
    (given each hand's `last` note) the distance from where the hands were, then notes on the wrong side of
    middle C."""
    out_of_reach = sum(len(hand) > 1 and hand[0] - hand[-1] > HAND_SPAN for hand in (upper, lower))
    distance = 0 if last is None else sum(abs(p - last[0]) for p in upper) + sum(abs(p - last[1]) for p in lower)
    across_c = sum(p < MIDDLE_C for p in upper) + sum(p >= MIDDLE_C for p in lower)
    return out_of_reach, distance, across_c


def staves_for(notes: Sequence[TimedPitch], name: str, program: int, is_drum: bool) -> list[StaffNotes]:
    """The staves of one part: a percussion staff, one staff (a singer's own clef, else the best one), or a
    grand staff."""
    if is_drum:
        return [StaffNotes("percussion", list(notes))]
    positions = [n.pitch.diatonic for n in notes]
    if not is_keyboard(name, program, is_drum):
        words = name.strip().lower().split()
        voice_clef = VOICE_CLEFS.get(words[0]) if words else None
        if voice_clef and best_clef(positions, [voice_clef])[1] <= MAX_LEDGER_LINES:
            return [StaffNotes(voice_clef, list(notes))]
        clef, worst = best_clef(positions, SINGLE_STAFF_CLEFS)
        if worst <= MAX_LEDGER_LINES:
            return [StaffNotes(clef, list(notes))]
    for hysteresis in (True, False):  # a hand that strayed too far for its clef: split at middle C instead
        right, left = split_hands(notes, hysteresis)
        right_clef, right_worst = best_clef([n.pitch.diatonic for n in right], RIGHT_HAND_CLEFS)
        left_clef, left_worst = best_clef([n.pitch.diatonic for n in left], LEFT_HAND_CLEFS)
        if max(right_worst, left_worst) <= MAX_LEDGER_LINES:
            break
    return [StaffNotes(right_clef, right), StaffNotes(left_clef, left)]
