"""Every control on the zoo's models: the share of pieces meeting each hard control, whether the soft ones move
the music the asked way, and what the controls cost in time.

For each model and each setting below, `--num` pieces of `--bars` bars (seeds 0..num-1, `--attempts`, default
3): the share of pieces whose checks (generation/checks.py, the measurements `generate --json` reports) meet
every hard control asked. Soft controls are measured in pairs of pieces drawn with the same seed: --density
high against low (notes per bar), --dynamics crescendo against diminuendo (mean velocity of the second half
minus the first). Cost: the seconds for `--num` pieces with every hard control the family honours against the
same pieces with none (one attempt each, so that both draw the same number of pieces).

    OMP_NUM_THREADS=1 python bench/controls.py [--models NAME...] [--num 50] [--bars 8] [--cost-only] [--repeats N]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

import numpy as np

from tunesmith.controls.controls import UNIVERSAL, Controls
from tunesmith.errors import ControlError
from tunesmith.generation.checks import velocity_per_bar
from tunesmith.generation.run import Run, load_run
from tunesmith.piece import Piece

MODELS = ("bach-transformer", "folk-transformer", "bach-rnn", "folk-vae-2bar", "folk-vae-16bar", "bach-gan",
          "pop909-gan")
# (setting, controls); a family that refuses a control of a setting skips that setting
SETTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("key+scale-lock", {"key": "D minor", "scale_lock": True}),
    ("tempo", {"tempo": 90}),
    ("time-signature", {"time_signature": "3/4"}),
    ("instruments", {}),  # the model's own number of parts, as other instruments (INSTRUMENTS)
    ("pitch-range", {"pitch_range": "C3-C6"}),
    ("velocity", {"velocity": "60-90"}),
    ("end-on-tonic", {"key": "G major", "end_on_tonic": True}),
    ("loopable", {"loopable": True}),
    ("everything", {"key": "F major", "scale_lock": True, "tempo": 100, "pitch_range": "C3-C6",
                    "velocity": "50-100", "end_on_tonic": True, "loopable": True}),
)
INSTRUMENTS = ("flute", "clarinet", "bassoon", "cello")


def parts(run: Run) -> int:
    """How many instruments the model's pieces usually have."""
    piece = run.generate(Controls(num=1, bars=2, seed=0, attempts=1))[0]
    return max(1, min(len(INSTRUMENTS), sum(1 for t in piece.score.tracks if len(t.notes))))


def honoured(run: Run, asked: dict[str, Any]) -> bool:
    return set(asked) - UNIVERSAL <= run.family.supported_controls


def hard_share(pieces: list[Piece]) -> dict[str, Any]:
    """The share of pieces meeting every hard control asked, the misses by control, and the draws taken."""
    missed: dict[str, int] = {}
    for piece in pieces:
        for name in piece.tags.get("missed", []):
            missed[name] = missed.get(name, 0) + 1
    met = sum(1 for p in pieces if not p.tags.get("missed"))
    return {"met": round(met / len(pieces), 4), "missed": missed,
            "draws": round(float(np.mean([p.tags.get("attempts", 1) for p in pieces])), 3)}


def second_half_rise(piece: Piece) -> float:
    """Mean velocity of the second half of the bars minus the first half's (bars with notes)."""
    bars = [v for v in velocity_per_bar(piece) if v > 0]
    half = len(bars) // 2
    return float(np.mean(bars[half:]) - np.mean(bars[:half])) if half else 0.0


def soft_pairs(run: Run, base: Controls) -> dict[str, Any]:
    """Pairs drawn with the same seeds: density high against low, crescendo against diminuendo."""
    out: dict[str, Any] = {}
    if honoured(run, {"density": "high"}):
        try:
            low, high = (run.generate(dataclasses.replace(base, density=d)) for d in ("low", "high"))
            rate = [(h.note_count / max(1, h.bars), lo.note_count / max(1, lo.bars)) for h, lo in zip(high, low, strict=True)]
            out["density_high_above_low"] = round(float(np.mean([h > lo for h, lo in rate])), 4)
        except ControlError as exc:
            out["density_high_above_low"] = f"refused: {exc}"
    if honoured(run, {"dynamics": "crescendo"}):
        up, down = (run.generate(dataclasses.replace(base, dynamics=d)) for d in ("crescendo", "diminuendo"))
        out["crescendo_above_diminuendo"] = round(float(np.mean(
            [second_half_rise(u) > second_half_rise(d) for u, d in zip(up, down, strict=True)])), 4)
    return out


def cost(run: Run, base: Controls, everything: dict[str, Any], repeats: int = 1) -> dict[str, Any]:
    """Seconds for the pieces with every honoured hard control against none (one draw each), measured `repeats`
    times in turn; the ratio is the median's (the ratios of one run of the same code vary by about 0.1 here)."""
    once = dataclasses.replace(base, attempts=1)
    steered_controls = dataclasses.replace(once, **{k: v for k, v in everything.items() if honoured(run, {k: v})})
    plain, steered = [], []
    for _ in range(repeats):
        for controls, times in ((once, plain), (steered_controls, steered)):
            start = time.perf_counter()
            run.generate(controls)
            times.append(time.perf_counter() - start)
    ratios = sorted(s / p for s, p in zip(steered, plain, strict=True))
    out: dict[str, Any] = {"plain_s": round(float(np.median(plain)), 2),
                           "controlled_s": round(float(np.median(steered)), 2), "ratio": round(float(np.median(ratios)), 3)}
    if repeats > 1:
        out["ratios"] = [round(r, 3) for r in ratios]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--num", type=int, default=50)
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--cost-only", action="store_true", help="only the time with every hard control / without")
    parser.add_argument("--repeats", type=int, default=1, help="measure the cost this many times (the median)")
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "controls", "num": args.num, "bars": args.bars, "attempts": args.attempts}
    for name in args.models:
        run = load_run(name)
        base = Controls(num=args.num, bars=args.bars, seed=0, attempts=args.attempts)
        found: dict[str, Any] = {"family": run.family.name}
        for setting, asked in () if args.cost_only else SETTINGS:
            if setting == "instruments":
                asked = {"instruments": list(INSTRUMENTS[:parts(run)])}
            if not honoured(run, asked):
                found[setting] = "refused"
                continue
            try:
                found[setting] = hard_share(run.generate(dataclasses.replace(base, **asked)))
            except ControlError as exc:  # e.g. a metre the grid cannot hold
                found[setting] = f"refused: {exc}"
        if not args.cost_only:
            found["soft"] = soft_pairs(run, base)
        found["cost"] = cost(run, base, dict(SETTINGS)["everything"], args.repeats)
        result[name] = found
        print(json.dumps({name: found}), flush=True, file=__import__("sys").stderr)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
