"""Generation speed of trained runs: events per second and seconds of music per second of compute.

For each run: batch 1 and batch 32 (`--batches`); token families (rnn, transformer) with and without the
model state carried between steps (the Transformer's key/value cache, the RNN's hidden state; without it,
each step recomputes from the tokens of the last window); one Transformer row with the cache both with and
without guessing ahead (speculative sampling, generation/sample.py). Other families are timed through their
own `generate` (they have no cache). Prints one JSON line.

    python bench/generate_speed.py --runs runs/tf-bach runs/rnn-bach --threads 2 --bars 16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch


def measure(run, batch: int, bars: int, cache: bool | None, seed: int, guess: bool = True, calls: int = 1) -> dict:
    """Generate `batch` pieces of `bars` bars, `calls` times (seeds seed, seed+1...); timings and music length."""
    from tunesmith.controls.controls import Controls
    from tunesmith.generation.run import generate, generate_tokens

    pieces = []
    start_cpu, start = time.process_time(), time.perf_counter()
    for call in range(calls):
        controls = Controls(num=batch, bars=bars, seed=seed + call)
        if cache is None:
            pieces += generate(run, controls)
        else:
            pieces += generate_tokens(run, controls, use_cache=cache, guess=guess)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    music = sum(p.bars * p.bar_ticks / p.tpq * 60.0 / p.tempo for p in pieces)
    events = sum(int(p.tags.get("events", 0)) for p in pieces)
    out = {"family": run.family.name, "run": str(run.path), "batch": batch, "pieces": len(pieces), "bars": bars,
           "cache": cache, "guess": bool(guess and cache and batch == 1 and getattr(run.model, "guessing", False)),
           "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "music_s": round(music, 2),
           "x_realtime": round(music / wall, 1), "x_realtime_per_cpu_s": round(music / max(cpu, 1e-9), 1)}
    if events:  # per CPU second too: on a shared machine the wall clock includes waiting for a core
        out.update({"events": events, "events_per_s": round(events / wall, 1),
                    "events_per_cpu_s": round(events / max(cpu, 1e-9), 1)})
    return out


def reference_us() -> float:
    """Microseconds of one small matrix-vector product (the kind a one-event step is made of), the best of
    five timings: how fast the machine is at the moment of the run (a shared machine varies by 2x)."""
    x, w = torch.randn(1, 128), torch.randn(384, 128)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(2000):
            torch.nn.functional.linear(x, w)
        best = min(best, (time.perf_counter() - start) / 2000 * 1e6)
    return round(best, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="run directories (any family)")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--bars", type=int, default=16, help="bars per piece with the cache (and for other families)")
    parser.add_argument("--uncached-bars", type=int, default=4, help="bars per piece without the cache (it is slow)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target machine has 2 cores)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pieces", type=int, default=4,
                        help="batch 1 with the cache: pieces generated one after another (their density varies)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from tunesmith.generation.run import load_run

    results, reference = [], [reference_us()]
    for path in args.runs:
        run = load_run(path, device=args.device)
        token_family = run.family.generate is None
        measure(run, 1, 1, True if token_family else None, args.seed)  # warm-up
        for batch in args.batches:
            if token_family:
                calls = args.pieces if batch == 1 else 1
                results.append(measure(run, batch, args.bars, True, args.seed, calls=calls))
                if results[-1]["guess"]:  # the same without guessing ahead
                    print(json.dumps(results[-1]), file=sys.stderr)
                    results.append(measure(run, batch, args.bars, True, args.seed, guess=False, calls=calls))
                results.append(measure(run, batch, args.uncached_bars, False, args.seed))
            else:
                results.append(measure(run, batch, args.bars, None, args.seed))
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"benchmark": "generate_speed", "threads": args.threads, "load_average": os.getloadavg()[0],
                      "reference_us": reference + [reference_us()],  # before and after
                      "cpus": os.cpu_count(), "device": args.device,
                      "results": results}))


if __name__ == "__main__":
    main()
