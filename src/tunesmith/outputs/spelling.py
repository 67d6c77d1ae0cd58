"""Key signatures and pitch spelling for scores: which key is in force, and how each MIDI pitch is written in it.

A pitch of the key's scale takes the key signature's letter (F# in D major, Bb in F major, never Gb in D major).
A pitch outside it takes the letter that needs the smaller accidental (F natural in G major, not E#); between a
sharp and a flat, sharps in sharp keys and flats in flat keys, and in C major / A minor the usual C#, Eb, F#,
G#, Bb. In a minor key the leading tone is always the raised seventh degree (C# in D minor, not Db).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

from tunesmith.theory import Key

STEPS = "CDEFGAB"
NATURAL = (0, 2, 4, 5, 7, 9, 11)  # pitch class of each step without accidental
SHARP_ORDER = "FCGDAEB"  # the order sharps enter a key signature (flats: the reverse)
C_MAJOR_SHARPS = frozenset({1, 6, 8})  # with no key signature: C#, F#, G# (and Eb, Bb)


@dataclass(frozen=True)
class Signature:
    """A key signature: sharps (+) or flats (-), and the mode ('major' or 'minor') it stands for."""

    sharps: int
    mode: str = "major"

    def alter(self, step: str) -> int:
        """The accidental the signature gives `step`: +1, -1 or 0."""
        if self.sharps > 0 and step in SHARP_ORDER[:self.sharps]:
            return 1
        if self.sharps < 0 and step in SHARP_ORDER[::-1][:-self.sharps]:
            return -1
        return 0

    @property
    def tonic_step(self) -> int:
        """Index in STEPS of the tonic's letter (each sharp moves the major tonic a fifth, four letters, up)."""
        major = (4 * self.sharps) % 7
        return (major + 5) % 7 if self.mode == "minor" else major

    @property
    def tonic(self) -> int:
        """Pitch class of the tonic."""
        step = STEPS[self.tonic_step]
        return (NATURAL[self.tonic_step] + self.alter(step)) % 12


@dataclass(frozen=True)
class Spelled:
    """A MIDI pitch as written: letter, accidental (-2..2) and octave (middle C is C4)."""

    midi: int
    step: str
    alter: int
    octave: int

    @property
    def diatonic(self) -> int:
        """Staff position: seven per octave, C4 = 28 (what clefs and ledger lines count in)."""
        return self.octave * 7 + STEPS.index(self.step)

    @property
    def name(self) -> str:
        """'F#4', 'Bb3', 'C##5' (music21 writes flats as '-', converted where music21 is called)."""
        return f"{self.step}{'#' * self.alter if self.alter > 0 else 'b' * -self.alter}{self.octave}"


def signature_for(key: Key) -> Signature:
    """The key signature with the fewest accidentals for `key` (F# major over Gb major, Db over C#)."""
    major_tonic = key.tonic if key.mode == "major" else (key.tonic + 3) % 12
    sharps = (major_tonic * 7) % 12  # sharps of each major key, around the circle of fifths
    return Signature(sharps - 12 if sharps > 6 else sharps, key.mode)


def _written(midi: int, step_index: int) -> Spelled:
    """`midi` written on the letter STEPS[step_index], with whatever accidental that takes."""
    alter = (midi % 12 - NATURAL[step_index] + 6) % 12 - 6
    octave = (midi - alter - NATURAL[step_index]) // 12 - 1
    return Spelled(midi, STEPS[step_index], alter, octave)


def spell(midi: int, signature: Signature) -> Spelled:
    """How `midi` is written in `signature`'s key (see the module's docstring)."""
    candidates = [_written(midi, i) for i in range(7)]
    for spelled in candidates:
        if spelled.alter == signature.alter(spelled.step):
            return spelled
    if signature.mode == "minor" and midi % 12 == (signature.tonic + 11) % 12:
        return _written(midi, (signature.tonic_step + 6) % 7)
    if signature.sharps:
        prefer_sharp = signature.sharps > 0
    else:
        prefer_sharp = midi % 12 in C_MAJOR_SHARPS
    plain = [s for s in candidates if abs(s.alter) <= 1]
    return min(plain, key=lambda s: (abs(s.alter), (s.alter > 0) != prefer_sharp))


class KeyMap:
    """The key signatures in force over a score: at a time (in quarters), which Signature applies."""

    def __init__(self, changes: list[tuple[Fraction, Signature]]):
        by_time = dict(sorted(changes, key=lambda change: change[0]))  # two at one time: the later one stands
        kept: list[tuple[Fraction, Signature]] = []
        for time, signature in by_time.items():
            if not kept or kept[-1][1].sharps != signature.sharps:  # a repeated signature is no change
                kept.append((time, signature))
        self.changes = kept or [(Fraction(0), Signature(0))]
        self._times = [time for time, _ in self.changes]

    def at(self, time: Fraction) -> Signature:
        """The signature in force at `time` (the first one before any change)."""
        return self.changes[max(0, bisect.bisect_right(self._times, time) - 1)][1]
