"""Building and opening the token store (representations/store.py).

    python bench/store.py --data ../shared/data/pop909/midi            # ingest: files/s into a store
    python bench/store.py --synthetic 100000 [--every 10000]           # a large corpus made from the chorales

`--data`: the folder encoded into a new store in a temporary folder; files per second over the whole build
(reading, checking and tokenizing, in worker processes), and the peak memory of the building process and of its
largest worker.

`--synthetic N`: N files made by transposing (-5..+6) and cutting (windows of 4 to 8 bars) the bundled chorales,
written to a temporary folder, then built into a store `--every` files at a time (each step adds the next files
to the folder and grows the store), so that files/s can be read at 10,000, 20,000 ... N files; the peak memory;
and the training start-up (from `train` called to its first step, a small transformer) on a store of 1,000
files against the store of N.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from tunesmith.data import load_corpus
from tunesmith.representations.store import build_store


def peak_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest finished child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"builder_peak_mb": round(own), "worker_peak_mb": round(child)}


def synthetic_files(folder: Path, count: int, start: int = 0) -> None:
    """Files number start..count-1 of the synthetic corpus (a chorale, transposed and cut), written to `folder`."""
    chorales = [p.score for p in load_corpus("bach", progress=False).pieces]
    for n in range(start, count):
        score = chorales[n % len(chorales)]
        shift, bars = n // len(chorales) % 12 - 5, 4 + n % 5
        beat = score.tpq * 4
        first = (n // (len(chorales) * 12)) % 4 * beat
        cut = score.clip(first, first + bars * beat, clip_end=True).shift_time(-first)
        cut = cut.shift_pitch(shift)
        if not sum(len(t.notes) for t in cut.tracks):
            cut = score.shift_pitch(shift)
        sub = folder / f"{n // 1000:04d}"
        sub.mkdir(exist_ok=True)
        cut.dump_midi(str(sub / f"{n:06d}.mid"))


def startup_s(store: Path, out: Path) -> float:
    """Seconds from `train` called on `store` to its first step done (a small transformer)."""
    from tunesmith.training.trainer import train

    started, first = time.perf_counter(), []

    def clock(step: int, record: dict) -> None:
        if step == 1:
            first.append(time.perf_counter() - started)

    train("transformer", str(store), out, model_overrides={"layers": 1, "width": 64, "heads": 2, "window": 128},
          training_overrides={"max_steps": 1, "batch_size": 8, "valid_every": 10**9}, progress=False,
          callbacks=[clock])
    return first[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--synthetic", type=int)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    if not (args.data or args.synthetic):
        parser.error("give --data FOLDER or --synthetic N")
    with tempfile.TemporaryDirectory() as temp:
        tmp = Path(temp)
        if args.data:
            started = time.perf_counter()
            report = build_store(args.data, tmp / "store", workers=args.workers, progress=False)
            seconds = time.perf_counter() - started
            print(json.dumps({"data": str(args.data), "files": report.encoded, "rejected": len(report.rejected),
                              "seconds": round(seconds, 1), "files_per_s": round(report.encoded / seconds, 1),
                              **peak_mb()}))
            return
        source, rates = tmp / "music", {}
        source.mkdir()
        synthetic_files(source, 1000)
        build_store(source, tmp / "small", workers=args.workers, progress=False)
        for done in range(args.every, args.synthetic + 1, args.every):
            synthetic_files(source, done, done - args.every if done > args.every else 0)
            started = time.perf_counter()
            report = build_store(source, tmp / "store", workers=args.workers, progress=False)
            rates[done] = round(report.encoded / (time.perf_counter() - started), 1)
        memory = peak_mb()
        startup_s(tmp / "small", tmp / "run-warm")  # imports and first-call costs, once
        small, large = startup_s(tmp / "small", tmp / "run-small"), startup_s(tmp / "store", tmp / "run-large")
        print(json.dumps({"synthetic_files": args.synthetic, "files_per_s_by_size": rates, **memory,
                          "startup_s_1000": round(small, 2), f"startup_s_{args.synthetic}": round(large, 2),
                          "startup_ratio": round(large / small, 2),
                          "store_mb": round(sum(f.stat().st_size for f in (tmp / "store").rglob("*")) / 2**20, 1)}))


if __name__ == "__main__":
    main()
