"""Files per second to read a folder of MIDI files the way `corpus stats` and `train` do, and to tokenize them.

    OMP_NUM_THREADS=1 python bench/ingest.py --data ../shared/data/pop909/midi [--workers 2] [--limit N] [--repeat 5]

Reading is `load_corpus(folder)`: the cheap checks in this process, each file parsed in a worker process that may
crash (data/safe.py), the Pieces back here. It takes well under a second on POP909, so it runs `--repeat` times
and the median counts. Tokenizing (REMI) the Pieces then runs once, in worker processes. Prints one JSON line:
read_files_per_s (reading alone), files_per_s (reading and tokenizing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import symusic

from tunesmith.data import load_corpus
from tunesmith.data.corpora import parallel_map
from tunesmith.piece import Piece

_REP = None


def tokenize(midi: bytes) -> int:
    """The number of REMI tokens of one piece (given as MIDI bytes)."""
    global _REP
    from tunesmith.representations.tokens import TokenRepresentation

    if _REP is None:  # one tokenizer per worker process
        _REP = TokenRepresentation()
    return len(_REP.encode(Piece(symusic.Score.from_midi(midi))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=5, help="times to read the folder (the median counts)")
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        corpus = load_corpus(args.data, limit=args.limit, progress=False, workers=args.workers)
        times.append(time.perf_counter() - start)
    read_s = statistics.median(times)
    files = len(corpus.pieces) + len(corpus.rejected)
    start = time.perf_counter()
    counts = list(parallel_map(tokenize, [bytes(p.score.dumps_midi()) for p in corpus.pieces], args.workers, False,
                               "tokenize"))
    tokenize_s = time.perf_counter() - start
    seconds = read_s + tokenize_s
    print(json.dumps({"bench": "ingest", "data": str(args.data), "files": files, "rejected": len(corpus.rejected),
                      "workers": args.workers, "read_s": round(read_s, 3),
                      "read_s_each": [round(t, 3) for t in times], "read_files_per_s": round(files / read_s, 1),
                      "tokenize_s": round(tokenize_s, 2), "seconds": round(seconds, 2),
                      "files_per_s": round(files / seconds, 1), "tokens": sum(counts),
                      "tokens_per_s": round(sum(counts) / seconds)}))


if __name__ == "__main__":
    main()
