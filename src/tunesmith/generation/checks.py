"""Every generated piece is measured against what was asked before it is written.

`check_piece(piece, targets)` returns {control: {"asked", "measured", "ok", "hard"}}. Hard controls
(bars, tempo, meter, instruments, pitch range, scale lock, velocity range, end on the tonic, loop seam)
are guaranteed by masks or by the piece helpers, so a failure there is an error (`enforce`);
soft ones (key without --scale-lock, density level, dynamics shape, style) steer the model and are
reported as measured.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import DRUMS, Targets, instrument_name, resolve_targets
from tunesmith.errors import ControlError
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


def _item(asked: Any, measured: Any, ok: bool, hard: bool) -> dict[str, Any]:
    return {"asked": asked, "measured": measured, "ok": bool(ok), "hard": hard}


def check_piece(piece: Piece, targets: Targets | Controls) -> dict[str, dict[str, Any]]:
    """Measure `piece` against `targets` (or the Controls they come from): one entry per asked control."""
    if isinstance(targets, Controls):
        targets = resolve_targets(targets, targets.primer_piece())
    out: dict[str, dict[str, Any]] = {}
    out["bars"] = _item(targets.bars, piece.bars, piece.bars == targets.bars, True)
    bar_seconds = piece.bar_ticks / piece.tpq * 60.0 / piece.tempo
    if targets.seconds is not None:
        length = round(piece.bars * bar_seconds, 2)
        out["seconds"] = _item(targets.seconds, length, abs(length - targets.seconds) <= bar_seconds / 2 + 1e-6, True)
    if targets.tempo is not None:
        tempos = [round(float(t.qpm), 3) for t in piece.score.tempos] or [120.0]
        ok = all(abs(t - targets.tempo) <= TEMPO_TOLERANCE for t in tempos)
        out["tempo"] = _item(targets.tempo, tempos[0] if len(set(tempos)) == 1 else tempos, ok, True)
    if targets.time_signature is not None:
        meters = sorted({f"{t.numerator}/{t.denominator}" for t in piece.score.time_signatures}) or ["4/4"]
        asked = "{}/{}".format(*targets.time_signature)
        out["time_signature"] = _item(asked, meters[0] if len(meters) == 1 else meters, meters == [asked], True)
    if targets.programs is not None:
        have = sorted(DRUMS if d else p for _, p, d in piece.instruments)
        out["instruments"] = _item([instrument_name(p) for p in targets.programs], [instrument_name(p) for p in have],
                                   have == sorted(targets.programs), True)
    pitches = piece.pitches()
    if targets.pitch_range is not None:
        lo, hi = targets.pitch_range
        measured = f"{pitch_name(int(pitches.min()))}-{pitch_name(int(pitches.max()))}" if len(pitches) else None
        ok = bool(len(pitches)) and lo <= int(pitches.min()) and int(pitches.max()) <= hi
        out["pitch_range"] = _item(f"{pitch_name(lo)}-{pitch_name(hi)}", measured, ok, True)
    if targets.key is not None:
        found = piece.key if len(pitches) else None
        if targets.scale is not None:
            outside = sorted({pitch_name(int(p)) for p in pitches if int(p) % 12 not in targets.scale})
            out["scale_lock"] = _item(str(targets.key), {"notes_outside_scale": outside}, not outside, True)
        # a key estimate from pitch counts often picks the relative key (same notes, other mode): that is
        # reported as such and counted as met, since the notes are the asked key's
        measured = str(found) if found else None
        if found is not None and found == targets.key.relative:
            measured = f"{found} (relative {found.mode} of {targets.key}: same notes)"
        out["key"] = _item(str(targets.key), measured, found in (targets.key, targets.key.relative), False)
    if targets.velocity is not None:
        velocities = [int(n.velocity) for t in piece.score.tracks for n in t.notes]
        lo, hi = targets.velocity
        measured = f"{min(velocities)}-{max(velocities)}" if velocities else None
        out["velocity"] = _item(f"{lo}-{hi}", measured, bool(velocities) and lo <= min(velocities) and max(velocities) <= hi, True)
    if targets.dynamics is not None:
        per_bar = velocity_per_bar(piece)
        out["dynamics"] = _item(targets.dynamics, per_bar, _dynamics_ok(targets.dynamics, per_bar), False)
    if targets.density is not None:
        counts = notes_per_bar_list(piece)
        lo, hi = targets.density
        out["density"] = _item(targets.density_label, counts, all(lo <= c <= hi for c in counts), False)
    if targets.end_on_tonic:
        last = final_onset_pitches(piece)
        ok = bool(last) and targets.key.tonic in {p % 12 for p in last}
        out["end_on_tonic"] = _item(str(targets.key), [pitch_name(p) for p in last], ok, True)
    if targets.loopable:
        end = targets.bars * piece.bar_ticks
        overhang = sum(1 for t in piece.score.tracks for n in t.notes if n.time + n.duration > end)
        out["loopable"] = _item(True, {"notes_past_loop_point": overhang}, overhang == 0 and piece.bars == targets.bars, True)
    if targets.monophonic:
        out["monophonic"] = _item(True, _max_polyphony(piece), _max_polyphony(piece) <= 1, True)
    if targets.harmonise and "melody" in targets.extra:
        kept = melody_on_top(piece, targets.extra["melody"])
        out["harmonise"] = _item(True, {"melody_notes_on_top": f"{kept}/{len(targets.extra['melody'])}"},
                                 kept == len(targets.extra["melody"]), True)
    if targets.style is not None:
        out["style"] = _item(targets.style, piece.tags.get("style"), piece.tags.get("style") == targets.style, False)
    return out


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
