"""Quality of a trained run (by default the demo's): validation NLL per token from its metrics.jsonl,
and the share of generated notes in each piece's estimated key over 16 pieces of 16 bars.

    python bench/demo_quality.py [--run out/demo/run] [--num 16] [--bars 16] [--temperature 0.7]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tunesmith.controls.controls import Controls
from tunesmith.evaluation.metrics import in_key_ratio
from tunesmith.generation.run import load_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("out/demo/run"))
    parser.add_argument("--num", type=int, default=16)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--temperature", type=float, default=0.7)  # the demo's
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = load_run(args.run)
    records = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    valid = [r["valid_loss"] for r in records if "valid_loss" in r]
    start = time.perf_counter()
    pieces = run.generate(Controls(num=args.num, bars=args.bars, seed=args.seed, temperature=args.temperature))
    seconds = time.perf_counter() - start
    ratios = [in_key_ratio(p) for p in pieces]
    notes = [p.note_count for p in pieces]
    print(json.dumps({"bench": "demo_quality", "run": str(args.run), "family": run.family.name,
                      "train_steps": max((r["step"] for r in records), default=0),
                      "valid_nll_per_token": round(min(valid), 4) if valid else None,
                      "pieces": len(pieces), "bars": args.bars, "temperature": args.temperature,
                      "in_key_share_mean": round(float(np.mean(ratios)), 4),
                      "in_key_share_min": round(float(np.min(ratios)), 4),
                      "in_key_share_notes_weighted": round(float(np.average(ratios, weights=notes)), 4),
                      "notes_per_piece": round(float(np.mean(notes)), 1), "generate_seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
