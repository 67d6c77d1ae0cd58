"""Training throughput in 1 and in several processes on this machine (torch.distributed, gloo on CPU, each
process on one thread): the same model, corpus and global batch; training tokens per second, measured between
a warm-up step and the last step (corpus reading, start-up and validation left out), and the ratio of each to
one process.

    python bench/distributed.py [--procs 1 2] [--model transformer] [--steps 40] [--batch-size 16]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from tunesmith.training import distributed
from tunesmith.training.trainer import train

WARM = 5  # steps before the clock starts


def rate_of_training(job: dict[str, Any]) -> dict[str, float]:
    """Train `job` on one thread; the tokens (all processes') per second after the warm-up steps."""
    torch.set_num_threads(1)
    seen: dict[str, float] = {"tokens": 0.0}

    def clock(step: int, record: dict) -> None:
        if step == WARM:
            seen["started"] = time.perf_counter()
        elif step > WARM:
            seen["tokens"] += record.get("tokens", 0)
            seen["ended"] = time.perf_counter()

    train(**job, callbacks=[clock])
    return {"tokens_per_s": seen["tokens"] / (seen["ended"] - seen["started"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="transformer")
    parser.add_argument("--corpus", default="bach")
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for n in args.procs:
            job = {"model": args.model, "corpus": args.corpus, "out": Path(folder) / f"run-{n}", "limit": args.limit,
                   "progress": False, "device": args.device,
                   "training_overrides": {"max_steps": args.steps, "batch_size": args.batch_size, "log_every": 1,
                                          "valid_every": 10**9, "augment": False}}
            result = distributed.launch(n, rate_of_training, (job,))[0] if n > 1 else rate_of_training(job)
            rates[n] = result["tokens_per_s"]
    print(json.dumps({"model": args.model, "batch_size": args.batch_size, "steps": args.steps, "device": args.device,
                      "tokens_per_s": {str(n): round(r) for n, r in rates.items()},
                      "ratio_to_1": {str(n): round(r / rates[min(rates)], 3) for n, r in rates.items()}}))


if __name__ == "__main__":
    main()
