"""Scores every run in pretrained/ on the valid split it was trained against: as the run scores (its own
transposition mixture) and the network alone. Prints one JSON line of full-precision NLLs per frame; with
`--compare FILE` (a line this script printed before), also whether every figure is the same to the last digit.

    python bench/pretrained_scores.py --compare bench/pretrained_scores.reference.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from tunesmith.training.polyphonic_benchmark import score_run

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="a JSON line printed before, to compare with")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    scores = {}
    for run in sorted(p for p in (ROOT / "pretrained").iterdir() if (p / "model.safetensors").exists()):
        valid = (ROOT / json.loads((run / "results.json").read_text())["files"]["valid"]).resolve()
        as_run = score_run(run, {"valid": valid})["valid"]
        alone = score_run(run, {"valid": valid}, mixture=0)["valid"]
        scores[run.name] = {"as_run": as_run, "network_alone": alone}
    line = {"bench": "pretrained_scores", "machine": "2-core CPU", "scores": scores,
            "seconds": round(time.perf_counter() - started, 1)}
    if args.compare:
        line["same_as_compared"] = json.loads(args.compare.read_text())["scores"] == scores
    print(json.dumps(line))


if __name__ == "__main__":
    main()
