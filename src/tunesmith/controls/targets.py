"""What the user asked, in musical numbers: the Controls' text parsed once, for every family.

`resolve_targets(controls, ...)` turns 'D minor', 'C3-C6', 'piano,violin', '60-100', 'crescendo', 'high'
and `--seconds` into a `Targets` of pitch classes, MIDI numbers, programs, bars and tempo, or raises a
one-line ControlError. Masks (token models), checks and the shared Piece helpers all read `Targets`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError, TunesmithError
from tunesmith.instruments import DRUMS, gm_names, instrument_name
from tunesmith.piece import Piece
from tunesmith.theory import DENSITY_EDGES, Key, parse_key, parse_pitch, pitch_name

INSTRUMENT_ALIASES = {
    "piano": 0, "grand piano": 0, "harpsichord": 6, "celesta": 8, "glockenspiel": 9, "vibraphone": 11,
    "marimba": 12, "xylophone": 13, "organ": 19, "church organ": 19, "accordion": 21, "harmonica": 22,
    "guitar": 24, "nylon guitar": 24, "steel guitar": 25, "electric guitar": 27, "bass": 32, "electric bass": 33,
    "violin": 40, "viola": 41, "cello": 42, "contrabass": 43, "double bass": 43, "harp": 46, "timpani": 47,
    "strings": 48, "choir": 52, "voice": 52, "trumpet": 56, "trombone": 57, "tuba": 58, "horn": 60,
    "french horn": 60, "brass": 61, "saxophone": 65, "sax": 65, "alto sax": 65, "tenor sax": 66, "oboe": 68,
    "english horn": 69, "bassoon": 70, "clarinet": 71, "piccolo": 72, "flute": 73, "recorder": 74,
    "pan flute": 75, "synth": 80, "lead": 80, "pad": 88, "drums": DRUMS, "drum kit": DRUMS, "percussion": DRUMS,
}
DYNAMICS = ("crescendo", "diminuendo", "swell", "steady")
DYNAMICS_ALIASES = {"cresc": "crescendo", "fade-in": "crescendo", "decrescendo": "diminuendo",
                    "dim": "diminuendo", "fade-out": "diminuendo", "hairpin": "swell", "flat": "steady"}
DEFAULT_VELOCITY = (40, 110)  # the span a dynamics curve moves through when --velocity is not given
_PITCH = r"[A-Ga-g][#b♯♭]*-?\d+|\d+"


@dataclass
class Targets:
    """Parsed controls. None means 'not asked'."""

    bars: int
    seconds: float | None = None
    tempo: float | None = None
    time_signature: tuple[int, int] | None = None
    key: Key | None = None
    scale: frozenset[int] | None = None  # pitch classes allowed (only with --scale-lock)
    pitch_range: tuple[int, int] | None = None
    velocity: tuple[int, int] | None = None
    dynamics: str | None = None
    density: tuple[int, int] | None = None  # notes per bar, inclusive
    density_label: str | None = None
    programs: list[int] | None = None  # General MIDI programs, 128 = drums
    end_on_tonic: bool = False
    loopable: bool = False
    monophonic: bool = False
    simple_rhythm: bool = False
    style: str | None = None
    harmonise: bool = False
    infill: tuple[int, int] | None = None  # bars [start, end) to regenerate, 0-based
    extra: dict[str, Any] = field(default_factory=dict)

    def velocity_at(self, bar: int) -> tuple[float, float] | None:
        """The velocity window allowed in `bar` (0-based): the --velocity range, or the dynamics curve."""
        lo, hi = self.velocity or DEFAULT_VELOCITY
        if self.dynamics is None or self.dynamics == "steady":
            return (lo, hi) if self.velocity else None
        t = bar / max(1, self.bars - 1)
        shape = {"crescendo": t, "diminuendo": 1 - t, "swell": 1 - abs(2 * t - 1)}[self.dynamics]
        target = lo + (hi - lo) * shape
        spread = max(6.0, (hi - lo) / 6)
        return (max(lo, target - spread), min(hi, target + spread))

    def asked(self) -> dict[str, Any]:
        """The targets in the user's words (for reports)."""
        out: dict[str, Any] = {"bars": self.bars}
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.tempo is not None:
            out["tempo"] = self.tempo
        if self.time_signature:
            out["time_signature"] = "{}/{}".format(*self.time_signature)
        if self.key:
            out["key"] = str(self.key)
            out["scale_lock"] = self.scale is not None
        if self.pitch_range:
            out["pitch_range"] = "{}-{}".format(*(pitch_name(p) for p in self.pitch_range))
        if self.velocity:
            out["velocity"] = "{}-{}".format(*self.velocity)
        if self.dynamics:
            out["dynamics"] = self.dynamics
        if self.density:
            out["density"] = self.density_label or "{}-{} notes per bar".format(*self.density)
        if self.programs is not None:
            out["instruments"] = [instrument_name(p) for p in self.programs]
        for flag in ("end_on_tonic", "loopable", "monophonic", "simple_rhythm", "harmonise"):
            if getattr(self, flag):
                out[flag] = True
        if self.style:
            out["style"] = self.style
        if self.infill:
            out["infill"] = f"{self.infill[0] + 1}-{self.infill[1]}"
        return out


def parse_instrument(text: str) -> int:
    """'violin', 'Acoustic Grand Piano', '40' -> General MIDI program (128 = drums)."""
    t = text.strip().lower()
    if t.isdigit():
        if int(t) > 127:
            raise ControlError(f"instrument program {t} is outside General MIDI's 0-127")
        return int(t)
    if t in INSTRUMENT_ALIASES:
        return INSTRUMENT_ALIASES[t]
    exact = [i for i, n in enumerate(gm_names()) if n.lower() == t]
    partial = [i for i, n in enumerate(gm_names()) if t in n.lower()]
    found = exact or partial
    if not found:
        raise ControlError(f"unknown instrument {text!r} (use a General MIDI name such as piano, violin, cello, "
                           "flute, or a program number 0-127)")
    return found[0]


def parse_range(text: str, what: str) -> tuple[int, int]:
    """'C3-C6' or '48-84' -> (48, 84)."""
    m = re.fullmatch(rf"\s*({_PITCH})\s*(?:-|–|to|\.\.)\s*({_PITCH})\s*", text or "")
    if not m:
        raise ControlError(f"--{what} takes LOW-HIGH, e.g. C3-C6 (got {text!r})")
    try:
        lo, hi = parse_pitch(m.group(1)), parse_pitch(m.group(2))
    except TunesmithError as exc:
        raise ControlError(f"--{what}: {exc}") from exc
    if lo > hi:
        raise ControlError(f"--{what} {text}: the low end is above the high end")
    return lo, hi


def parse_velocity(text: str) -> tuple[int, int]:
    """'60-100' -> (60, 100), each within 1-127."""
    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= 127:
        raise ControlError(f"--velocity takes LOW-HIGH within 1-127, e.g. 60-100 (got {text!r})")
    return int(m.group(1)), int(m.group(2))


def parse_time_signature(text: str) -> tuple[int, int]:
    """'3/4' -> (3, 4)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16, 32):
        raise ControlError(f"--time-signature takes N/D, e.g. 3/4 or 6/8 (got {text!r})")
    return int(m.group(1)), int(m.group(2))


def parse_density(value: str | float, edges: Sequence[float]) -> tuple[tuple[int, int], str]:
    """'low'|'medium'|'high' (tertiles of the training corpus' notes per bar) or N -> (min, max) notes per bar."""
    low_edge, high_edge = edges
    named = {"low": (max(1, math.floor(low_edge / 2)), max(1, math.floor(low_edge))),
             "medium": (max(1, math.ceil(low_edge)), max(1, math.ceil(low_edge), math.floor(high_edge))),
             "high": (math.ceil(high_edge), math.ceil(high_edge * 1.5))}
    text = str(value).strip().lower()
    if text in named:
        lo, hi = named[text]
        return (lo, hi), f"{text} ({lo}-{hi} notes per bar)"
    try:
        n = float(text)
    except ValueError:
        raise ControlError(f"--density takes low, medium, high or a number of notes per bar (got {value!r})") from None
    if n < 1 or n > 256:
        raise ControlError(f"--density {value}: notes per bar must be between 1 and 256")
    return (round(n), round(n)), f"{round(n)} notes per bar"


def parse_dynamics(text: str) -> str:
    """'crescendo', 'diminuendo', 'swell' or 'steady' (and common synonyms)."""
    t = text.strip().lower()
    t = DYNAMICS_ALIASES.get(t, t)
    if t not in DYNAMICS:
        raise ControlError(f"unknown --dynamics {text!r} (choose from: {', '.join(DYNAMICS)})")
    return t


def parse_infill(text: str, total_bars: int) -> tuple[int, int]:
    """'5-8' (1-based, inclusive) -> (4, 8), checked against the primer's bars."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text or "")
    if not m:
        raise ControlError(f"--infill takes bars FIRST-LAST, e.g. 5-8 (got {text!r})")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= first <= last:
        raise ControlError(f"--infill {text}: bars count from 1 and FIRST must not be after LAST")
    if last > total_bars:
        raise ControlError(f"--infill {text}: the primer has only {total_bars} bars")
    return first - 1, last


def length_in_bars(seconds: float, time_signature: tuple[int, int], tempo: float | None,
                   reference: float = 120.0) -> tuple[int, float]:
    """Bars and tempo that last `seconds`: with a fixed tempo, the nearest whole bars; else the whole bars
    nearest at the `reference` tempo (the family's usual one), with the tempo adjusted so the length is exact."""
    beats = time_signature[0] * 4 / time_signature[1]
    if tempo is not None:
        return max(1, round(seconds * tempo / 60 / beats)), tempo
    bars = max(1, round(seconds * reference / 60 / beats))
    return bars, round(bars * beats * 60 / seconds, 3)


def resolve_targets(controls: Controls, primer: Piece | None = None, density_edges: list[float] | None = None) -> Targets:
    """Parse every control into a Targets (one-line ControlError for text that is not understood)."""
    ts = parse_time_signature(controls.time_signature) if controls.time_signature else None
    tempo = float(controls.tempo) if controls.tempo is not None else None
    if tempo is not None and not 10 <= tempo <= 400:
        raise ControlError(f"--tempo {controls.tempo}: beats per minute must be between 10 and 400")
    bars = controls.bars or 16
    if controls.seconds is not None:
        ts = ts or (primer.time_signature if primer is not None else (4, 4))
        tempo_in = tempo if tempo is not None else (primer.tempo if primer is not None else None)
        bars, tempo = length_in_bars(controls.seconds, ts, tempo_in)
    key = parse_key(controls.key) if controls.key else None
    if controls.scale_lock and key is None:
        if primer is None:
            raise ControlError("--scale-lock needs a --key (or a --primer to take the key from)")
        key = primer.key
    if (controls.end_on_tonic) and key is None and primer is not None:
        key = primer.key
    density, label = (None, None)
    if controls.density is not None:
        density, label = parse_density(controls.density, density_edges or DENSITY_EDGES)
    targets = Targets(
        bars=bars, seconds=controls.seconds, tempo=tempo, time_signature=ts, key=key,
        scale=frozenset(key.scale) if controls.scale_lock and key else None,
        pitch_range=parse_range(controls.pitch_range, "pitch-range") if controls.pitch_range else None,
        velocity=parse_velocity(controls.velocity) if controls.velocity else None,
        dynamics=parse_dynamics(controls.dynamics) if controls.dynamics else None,
        density=density, density_label=label,
        programs=[parse_instrument(i) for i in controls.instruments] if controls.instruments else None,
        end_on_tonic=controls.end_on_tonic, loopable=controls.loopable,
        monophonic=getattr(controls, "monophonic", False), simple_rhythm=getattr(controls, "simple_rhythm", False),
        style=controls.style)
    if getattr(controls, "harmonise", False):
        if primer is None:
            raise ControlError("--harmonise needs a --primer holding the melody")
        targets.harmonise, targets.bars = True, primer.bars
    if controls.infill:
        if primer is None:
            raise ControlError("--infill needs a --primer whose bars to regenerate")
        targets.infill = parse_infill(controls.infill, primer.bars)
        targets.bars = primer.bars
    _check_possible(targets, controls)
    return targets


def _check_possible(targets: Targets, controls: Controls) -> None:
    """A one-line ControlError when the targets contradict each other (no note or no tonic in the range)."""
    key = targets.key
    if targets.scale is not None and targets.pitch_range is not None:
        lo, hi = targets.pitch_range
        if not any(p % 12 in targets.scale for p in range(lo, hi + 1)):
            raise ControlError(f"impossible request: --scale-lock in {key} leaves no note inside --pitch-range "
                               f"{controls.pitch_range}")
    if targets.end_on_tonic and key is None:
        raise ControlError("--end-on-tonic needs a --key (or a --primer to take the key from)")
    if targets.end_on_tonic and key is not None and targets.pitch_range is not None:
        lo, hi = targets.pitch_range
        if not any(p % 12 == key.tonic for p in range(lo, hi + 1)):
            raise ControlError(f"impossible request: --end-on-tonic, but no {key} tonic lies inside --pitch-range "
                               f"{controls.pitch_range}")
