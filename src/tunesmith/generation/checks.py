"""Every generated piece is measured against what was asked before it is written.

`check_piece(piece, targets)` returns {control: {"asked", "measured", "ok", "hard"}}. Hard controls
(bars, tempo, meter, instruments, pitch range, scale lock, velocity range, end on the tonic, loop seam)
are guaranteed by masks or by the piece helpers, so a failure there is an error (`enforce`);
soft ones (key without --scale-lock, density level, dynamics shape, style) steer the model and are
reported as measured. Each control's check is one function registered with `@check(control, hard)`:
a new control's check is one more such function.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import Targets, resolve_targets
from tunesmith.errors import ControlError
from tunesmith.instruments import instrument_name, program_number
from tunesmith.piece import Piece
from tunesmith.theory import pitch_name

log = logging.getLogger(__name__)
TEMPO_TOLERANCE = 0.01  # MIDI stores microseconds per quarter note


def notes_per_bar_list(piece: Piece) -> list[int]:
    """Notes starting in each bar."""
    counts = [0] * piece.bars
    for track in piece.score.tracks:
        for n in track.notes:
            counts[min(piece.bars - 1, int(n.time) // piece.bar_ticks)] += 1
    return counts


def velocity_per_bar(piece: Piece) -> list[float]:
    """Mean velocity of the notes starting in each bar (0 for an empty bar)."""
    sums, counts = np.zeros(piece.bars), np.zeros(piece.bars)
    for track in piece.score.tracks:
        for n in track.notes:
            b = min(piece.bars - 1, int(n.time) // piece.bar_ticks)
            sums[b] += n.velocity
            counts[b] += 1
    return [round(float(s / c), 1) if c else 0.0 for s, c in zip(sums, counts, strict=True)]


def final_onset_pitches(piece: Piece) -> list[int]:
    """Pitches of the notes starting at the last onset."""
    notes = [(int(n.time), int(n.pitch)) for t in piece.score.tracks if not t.is_drum for n in t.notes]
    if not notes:
        return []
    last = max(t for t, _ in notes)
    return sorted(p for t, p in notes if t == last)


Measured = tuple[Any, Any, bool]  # what was asked, what the piece holds, whether that meets it
Check = Callable[[Piece, Targets], Measured | None]
CHECKS: dict[str, tuple[Check, bool]] = {}  # control -> (its check, whether it is hard), in report order


def check(name: str, hard: bool) -> Callable[[Check], Check]:
    """Register a control's check: (piece, targets) -> (asked, measured, ok), or None when it was not asked."""
    def register(function: Check) -> Check:
        CHECKS[name] = (function, hard)
        return function
    return register


def check_piece(piece: Piece, targets: Targets | Controls) -> dict[str, dict[str, Any]]:
    """Measure `piece` against `targets` (or the Controls they come from): one entry per asked control."""
    if isinstance(targets, Controls):
        targets = resolve_targets(targets, targets.primer_piece())
    out: dict[str, dict[str, Any]] = {}
    for name, (measure, hard) in CHECKS.items():
        found = measure(piece, targets)
        if found is not None:
            asked, measured, ok = found
            out[name] = {"asked": asked, "measured": measured, "ok": bool(ok), "hard": hard}
    return out


@check("bars", hard=True)
def _bars(piece: Piece, t: Targets) -> Measured:
    return t.bars, piece.bars, piece.bars == t.bars


@check("seconds", hard=True)
def _seconds(piece: Piece, t: Targets) -> Measured | None:
    if t.seconds is None:
        return None
    bar_seconds = piece.bar_ticks / piece.tpq * 60.0 / piece.tempo
    length = round(piece.bars * bar_seconds, 2)
    return t.seconds, length, abs(length - t.seconds) <= bar_seconds / 2 + 1e-6


@check("tempo", hard=True)
def _tempo(piece: Piece, t: Targets) -> Measured | None:
    if t.tempo is None:
        return None
    tempos = [round(float(tempo.qpm), 3) for tempo in piece.score.tempos] or [120.0]
    ok = all(abs(tempo - t.tempo) <= TEMPO_TOLERANCE for tempo in tempos)
    return t.tempo, tempos[0] if len(set(tempos)) == 1 else tempos, ok


@check("time_signature", hard=True)
def _time_signature(piece: Piece, t: Targets) -> Measured | None:
    if t.time_signature is None:
        return None
    meters = sorted({f"{m.numerator}/{m.denominator}" for m in piece.score.time_signatures}) or ["4/4"]
    asked = "{}/{}".format(*t.time_signature)
    return asked, meters[0] if len(meters) == 1 else meters, meters == [asked]


@check("instruments", hard=True)
def _instruments(piece: Piece, t: Targets) -> Measured | None:
    if t.programs is None:
        return None
    have = sorted(program_number(p, d) for _, p, d in piece.instruments)
    return [instrument_name(p) for p in t.programs], [instrument_name(p) for p in have], have == sorted(t.programs)


@check("pitch_range", hard=True)
def _pitch_range(piece: Piece, t: Targets) -> Measured | None:
    if t.pitch_range is None:
        return None
    pitches, (lo, hi) = piece.pitches(), t.pitch_range
    measured = f"{pitch_name(int(pitches.min()))}-{pitch_name(int(pitches.max()))}" if len(pitches) else None
    ok = bool(len(pitches)) and lo <= int(pitches.min()) and int(pitches.max()) <= hi
    return f"{pitch_name(lo)}-{pitch_name(hi)}", measured, ok


@check("scale_lock", hard=True)
def _scale_lock(piece: Piece, t: Targets) -> Measured | None:
    if t.key is None or t.scale is None:
        return None
    outside = sorted({pitch_name(int(p)) for p in piece.pitches() if int(p) % 12 not in t.scale})
    return str(t.key), {"notes_outside_scale": outside}, not outside


@check("key", hard=False)
def _key(piece: Piece, t: Targets) -> Measured | None:
    if t.key is None:
        return None
    found = piece.key if len(piece.pitches()) else None
    # a key estimate from pitch counts often picks the relative key (same notes, other mode): that is
    # reported as such and counted as met, since the notes are the asked key's
    measured = str(found) if found else None
    if found is not None and found == t.key.relative:
        measured = f"{found} (relative {found.mode} of {t.key}: same notes)"
    return str(t.key), measured, found in (t.key, t.key.relative)


@check("velocity", hard=True)
def _velocity(piece: Piece, t: Targets) -> Measured | None:
    if t.velocity is None:
        return None
    velocities = [int(n.velocity) for track in piece.score.tracks for n in track.notes]
    lo, hi = t.velocity
    measured = f"{min(velocities)}-{max(velocities)}" if velocities else None
    return f"{lo}-{hi}", measured, bool(velocities) and lo <= min(velocities) and max(velocities) <= hi


@check("dynamics", hard=False)
def _dynamics(piece: Piece, t: Targets) -> Measured | None:
    if t.dynamics is None:
        return None
    per_bar = velocity_per_bar(piece)
    return t.dynamics, per_bar, _dynamics_ok(t.dynamics, per_bar)


@check("density", hard=False)
def _density(piece: Piece, t: Targets) -> Measured | None:
    if t.density is None:
        return None
    counts, (lo, hi) = notes_per_bar_list(piece), t.density
    return t.density_label, counts, all(lo <= c <= hi for c in counts)


@check("end_on_tonic", hard=True)
def _end_on_tonic(piece: Piece, t: Targets) -> Measured | None:
    if not t.end_on_tonic:
        return None
    last = final_onset_pitches(piece)
    tonic = t.key.tonic if t.key is not None else None
    return str(t.key), [pitch_name(p) for p in last], bool(last) and tonic in {p % 12 for p in last}


@check("loopable", hard=True)
def _loopable(piece: Piece, t: Targets) -> Measured | None:
    if not t.loopable:
        return None
    end = t.bars * piece.bar_ticks
    overhang = sum(1 for track in piece.score.tracks for n in track.notes if n.time + n.duration > end)
    return True, {"notes_past_loop_point": overhang}, overhang == 0 and piece.bars == t.bars


@check("monophonic", hard=True)
def _monophonic(piece: Piece, t: Targets) -> Measured | None:
    if not t.monophonic:
        return None
    return True, _max_polyphony(piece), _max_polyphony(piece) <= 1


@check("harmonise", hard=True)
def _harmonise(piece: Piece, t: Targets) -> Measured | None:
    if not (t.harmonise and "melody" in t.extra):
        return None
    kept, melody = melody_on_top(piece, t.extra["melody"]), t.extra["melody"]
    return True, {"melody_notes_on_top": f"{kept}/{len(melody)}"}, kept == len(melody)


@check("style", hard=False)
def _style(piece: Piece, t: Targets) -> Measured | None:
    if t.style is None:
        return None
    return t.style, piece.tags.get("style"), piece.tags.get("style") == t.style


def melody_on_top(piece: Piece, melody: list[tuple[int, float, int]]) -> int:
    """How many melody notes (bar, fraction of the bar, pitch) are the highest note at their onset."""
    tops: dict[int, int] = {}
    for t in piece.score.tracks:
        for n in t.notes:
            tops[int(n.time)] = max(tops.get(int(n.time), -1), int(n.pitch))
    return sum(1 for bar, frac, pitch in melody if tops.get(int(round((bar + frac) * piece.bar_ticks))) == pitch)


def _max_polyphony(piece: Piece) -> int:
    events = sorted((int(n.time), 1) for t in piece.score.tracks for n in t.notes)
    events += sorted((int(n.time + n.duration), -1) for t in piece.score.tracks for n in t.notes)
    level, top = 0, 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        top = max(top, level)
    return top


def _dynamics_ok(shape: str, per_bar: list[float]) -> bool:
    values = [v for v in per_bar if v > 0]
    if len(values) < 2:
        return shape == "steady"
    half = len(values) // 2
    first, second = float(np.mean(values[:half])), float(np.mean(values[half:]))
    if shape == "crescendo":
        return second > first
    if shape == "diminuendo":
        return second < first
    if shape == "swell":
        middle = float(np.mean(values[len(values) // 4: max(len(values) // 4 + 1, 3 * len(values) // 4)]))
        return middle > values[0] and middle > values[-1]
    return max(values) - min(values) <= 40


def enforce(checks: dict[str, dict[str, Any]], name: str) -> None:
    """Raise a ControlError if a hard control was not met (log the soft ones that were not)."""
    failed = [k for k, v in checks.items() if v["hard"] and not v["ok"]]
    if failed:
        detail = "; ".join(f"{k}: asked {checks[k]['asked']}, got {checks[k]['measured']}" for k in failed)
        raise ControlError(f"{name} does not meet its controls ({detail})")
    for k, v in checks.items():
        if not v["ok"]:
            log.warning("%s: %s asked %s, measured %s", name, k, v["asked"], v["measured"])
