"""Controls met by the zoo's music models: each piece generated alone with `--key --scale-lock --tempo --bars`
(its own seed and key), then measured here, independently of generation/checks.py: its key signature is the
asked key's, every pitched note is in the key's scale, its one tempo is the asked one, and it has the asked
number of bars. A piece that generation refuses (a hard control it could not meet) counts as missed.

    OMP_NUM_THREADS=1 python bench/zoo_controls.py [--models bach-transformer folk-transformer] [--num 100]

Prints one JSON line: per model, the pieces, the share that met all four controls, and the misses by control.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from tunesmith.controls.controls import Controls
from tunesmith.errors import TunesmithError
from tunesmith.generation.run import load_run
from tunesmith.piece import Piece
from tunesmith.theory import Key, parse_key

KEYS = ("C major", "G major", "D major", "F major", "Bb major", "A minor", "E minor", "D minor", "G minor")
TEMPOS = (72, 84, 96, 108, 120)


def misses(piece: Piece, key: Key, tempo: float, bars: int) -> list[str]:
    """The controls the piece does not meet."""
    out = []
    if [(int(k.key), bool(k.tonality)) for k in piece.score.key_signatures] != [(key.sharps, key.mode == "minor")]:
        out.append("key")
    scale = set(key.scale)
    if any(int(n.pitch) % 12 not in scale for t in piece.score.tracks if not t.is_drum for n in t.notes):
        out.append("scale_lock")
    if [round(float(t.qpm), 2) for t in piece.score.tempos] != [float(tempo)]:
        out.append("tempo")
    if piece.bars != bars:
        out.append("bars")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bach-transformer", "folk-transformer"])
    parser.add_argument("--num", type=int, default=100)
    parser.add_argument("--bars", type=int, default=8)
    args = parser.parse_args()
    result: dict = {"bench": "zoo_controls", "bars": args.bars}
    for name in args.models:
        run = load_run(name)
        missed: Counter[str] = Counter()
        met = 0
        start = time.perf_counter()
        for i in range(args.num):
            key, tempo = parse_key(KEYS[i % len(KEYS)]), TEMPOS[i % len(TEMPOS)]
            try:
                [piece] = run.generate(Controls(num=1, seed=i, bars=args.bars, key=str(key), scale_lock=True,
                                                tempo=tempo))
            except TunesmithError:
                missed["refused"] += 1
                continue
            failed = misses(piece, key, tempo, args.bars)
            missed.update(failed)
            met += not failed
        result[name] = {"pieces": args.num, "met_all": round(met / args.num, 4), "missed": dict(missed),
                        "seconds": round(time.perf_counter() - start, 1)}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
