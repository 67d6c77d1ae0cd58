"""Files per second to read and tokenize a folder of MIDI files, spread over worker processes.

    python bench/ingest.py --data ../shared/data/pop909/midi [--workers 2] [--limit N]
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from tunesmith.data.corpora import music_files, parallel_map
from tunesmith.errors import MusicFileError

_REP = None


def read_and_tokenize(path: str) -> int:
    """Read one file and tokenize it with REMI; the number of tokens (-1 when unreadable)."""
    global _REP
    from tunesmith.data import read_piece
    from tunesmith.representations.tokens import TokenRepresentation

    if _REP is None:  # one tokenizer per worker process
        _REP = TokenRepresentation()
    try:
        return len(_REP.encode(read_piece(path)))
    except MusicFileError:
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    files = [str(f) for f in music_files(args.data)][: args.limit]
    start = time.perf_counter()
    counts = list(parallel_map(read_and_tokenize, files, args.workers, False, "ingest"))
    seconds = time.perf_counter() - start
    good = [c for c in counts if c >= 0]
    print(json.dumps({"bench": "ingest", "data": str(args.data), "files": len(files), "rejected": len(files) - len(good),
                      "workers": args.workers, "seconds": round(seconds, 2),
                      "files_per_s": round(len(files) / seconds, 1), "tokens": sum(good),
                      "tokens_per_s": round(sum(good) / seconds)}))


if __name__ == "__main__":
    main()
