"""Music theory the whole package shares: pitch names, keys, scales, key estimation."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tunesmith.errors import TunesmithError

PITCH_CLASS_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor
HARMONIC_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 11)
# Note density in notes per bar: 'low' below the first edge, 'medium' up to the second, 'high' above it. A token
# run measures the edges on its corpus (its tertiles); these are the edges where none were measured.
DENSITY_LEVELS = ("low", "medium", "high")
DENSITY_EDGES = (6.0, 12.0)

# Krumhansl & Kessler (1982) probe-tone profiles, as used by the Krumhansl-Schmuckler algorithm.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class (0 = C) and mode ('major' or 'minor')."""

    tonic: int
    mode: str

    @property
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the key's scale (natural minor plus the leading tone for minor)."""
        steps = MAJOR_SCALE if self.mode == "major" else tuple(sorted(set(MINOR_SCALE) | {11}))
        return tuple(sorted((self.tonic + s) % 12 for s in steps))

    @property
    def diatonic(self) -> tuple[int, ...]:
        """The seven pitch classes of the key signature's scale."""
        steps = MAJOR_SCALE if self.mode == "major" else MINOR_SCALE
        return tuple(sorted((self.tonic + s) % 12 for s in steps))

    @property
    def relative(self) -> Key:
        """The key with the same key signature and the other mode (D minor <-> F major)."""
        if self.mode == "minor":
            return Key((self.tonic + 3) % 12, "major")
        return Key((self.tonic + 9) % 12, "minor")

    @property
    def sharps(self) -> int:
        """The key signature: sharps (above 0) or flats (below 0), -5..6 (F# major and D# minor take six sharps,
        as PITCH_CLASS_NAMES spells them)."""
        major = self.relative.tonic if self.mode == "minor" else self.tonic
        fifths = major * 7 % 12
        return fifths - 12 if fifths > 6 else fifths

    @classmethod
    def from_signature(cls, sharps: int, minor: bool = False) -> Key:
        """The key of a key signature (sharps above 0, flats below) in major or minor."""
        major = Key(sharps * 7 % 12, "major")
        return major.relative if minor else major

    def __str__(self) -> str:
        return f"{PITCH_CLASS_NAMES[self.tonic]} {self.mode}"


def parse_pitch_class(name: str) -> int:
    """'C', 'F#', 'Bb', 'c#' -> pitch class 0..11."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭]*)\s*", name)
    if not m:
        raise TunesmithError(f"not a pitch name: {name!r} (expected e.g. C, F#, Bb)")
    pc = _LETTER[m.group(1).upper()]
    pc += m.group(2).count("#") + m.group(2).count("♯") - m.group(2).count("b") - m.group(2).count("♭")
    return pc % 12


def parse_key(text: str) -> Key:
    """'D minor', 'F# major', 'Bbm', 'c' (lower case alone means minor) -> Key."""
    t = text.strip()
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]*)\s*(major|minor|maj|min|m|M)?", t)
    if not m:
        raise TunesmithError(f"not a key: {text!r} (expected e.g. 'D minor', 'F# major', 'Bbm')")
    tonic = parse_pitch_class(m.group(1))
    mode_word = m.group(2)
    if mode_word in ("minor", "min", "m"):
        mode = "minor"
    elif mode_word in ("major", "maj", "M"):
        mode = "major"
    else:
        mode = "minor" if m.group(1)[0].islower() else "major"
    return Key(tonic, mode)


def parse_pitch(text: str) -> int:
    """'C4' (middle C = 60), 'F#3', 'Bb5' or a MIDI number '60' -> MIDI pitch."""
    t = text.strip()
    if t.lstrip("-").isdigit():
        value = int(t)
    else:
        m = re.fullmatch(r"([A-Ga-g][#b♯♭]*)(-?\d+)", t)
        if not m:
            raise TunesmithError(f"not a pitch: {text!r} (expected e.g. C4, F#3 or a MIDI number)")
        value = parse_pitch_class(m.group(1)) + 12 * (int(m.group(2)) + 1)
        # B#/Cb cross the octave line: keep the written octave's meaning.
        letter = m.group(1)[0].upper()
        if letter == "C" and value % 12 == 11:
            value -= 12
        if letter == "B" and value % 12 == 0:
            value += 12
    if not 0 <= value <= 127:
        raise TunesmithError(f"pitch {text!r} is outside MIDI's range 0-127")
    return value


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> 'C4' style name (middle C = C4)."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


_CHORD_ROOT = re.compile(r"(^|/)([A-G][#b]*)")


def transpose_chord(figure: str, semitones: int) -> str:
    """A chord symbol moved by `semitones`: its root and bass note ('F#m7/C#' up 2 -> 'Abm7/Eb', spelled as
    PITCH_CLASS_NAMES spells pitch classes); 'N.C.' and other text without a root stay as they are."""
    def move(match: re.Match[str]) -> str:
        return match.group(1) + PITCH_CLASS_NAMES[(parse_pitch_class(match.group(2)) + semitones) % 12]

    return _CHORD_ROOT.sub(move, figure)


def estimate_key(pitch_class_weights: np.ndarray) -> Key:
    """Krumhansl-Schmuckler key finding: the key whose profile correlates best with the histogram.

    Krumhansl, C. L. (1990). Cognitive Foundations of Musical Pitch. Oxford University Press.
    `pitch_class_weights` is a length-12 histogram (usually note durations summed per pitch class).
    """
    w = np.asarray(pitch_class_weights, dtype=float)
    if w.shape != (12,) or w.sum() <= 0:
        return Key(0, "major")
    best, best_r = Key(0, "major"), -np.inf
    for tonic in range(12):
        for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            r = np.corrcoef(w, np.roll(profile, tonic))[0, 1]
            if np.isfinite(r) and r > best_r:
                best, best_r = Key(tonic, mode), r
    return best
