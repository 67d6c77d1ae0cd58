"""Polyphonic benchmark figures: the two sanity baselines and, with --run, a trained run, on each split given.

    python bench/polyphonic.py --train ../shared/data/jsb_chorales/jsb_chorales_train.json \
        --valid ../shared/data/jsb_chorales/jsb_chorales_valid.json --run pretrained/polyphonic-jsb

Several --run give their equal-weight mixture (an ensemble); --mixture N overrides the runs' transposition
mixture (0: each network alone).

Prints one JSON line: NLL in nats per frame (first frames not scored, flat average over all frames).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tunesmith.data.frames_json import load_frames_json
from tunesmith.models.polyphonic_score import baseline_scores
from tunesmith.training.polyphonic_benchmark import score_run


def main() -> None:
    """Score the baselines (fitted on --train) and an optional run on --valid/--test; print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--valid", required=True)
    parser.add_argument("--test")
    parser.add_argument("--run", action="append", help="a trained run (repeat for an ensemble)")
    parser.add_argument("--mixture", type=int, default=None, help="transpositions -N..+N to mix (0: none)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    files = {k: v for k, v in {"valid": args.valid, "test": args.test}.items() if v}
    started = time.perf_counter()
    result = {"bench": "polyphonic", "train": args.train,
              "baselines": baseline_scores(load_frames_json(args.train),
                                           {k: load_frames_json(v) for k, v in files.items()})}
    if args.run:
        result["run"], result["mixture"] = args.run, args.mixture
        result["model"] = score_run([Path(r) for r in args.run], files, mixture=args.mixture)
    result["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
