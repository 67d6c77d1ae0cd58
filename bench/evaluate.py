"""Evaluation benchmark: time to evaluate 100 generated pieces against the Bach chorales, and the ceiling.

    TUNESMITH_CACHE=/tmp/tc python bench/evaluate.py [--generated FOLDER | --run RUN_DIR] [--num 100]
        [--report DIR]

Without --generated or --run the 100 "generated" pieces are a stand-in made here: 16-bar, four-voice
random walks in chorale rhythms (the timing depends on how many notes there are, not on their quality).
The ceiling is the corpus against itself, split into alternate halves: the overlap a model that writes
exactly like Bach would reach, and how many chorales share 4+ bars with a chorale of the other half.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import symusic

from tunesmith.data import load_corpus
from tunesmith.evaluation import evaluate_sets
from tunesmith.evaluation.report import write_report
from tunesmith.piece import Piece


def stand_in_pieces(count: int, bars: int = 16, seed: int = 0) -> list[Piece]:
    """Four-voice random walks in quarters, halves and eighths, in 4/4 at the chorales' 10080 ticks per quarter."""
    rng = np.random.default_rng(seed)
    tpq = 10080
    pieces = []
    for index in range(count):
        score = symusic.Score(tpq)
        score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
        score.tempos.append(symusic.Tempo(0, qpm=100.0))
        for name, start in (("Soprano", 72), ("Alto", 65), ("Tenor", 58), ("Bass", 48)):
            track, pitch, time_q = symusic.Track(name, program=0), start, 0.0
            while time_q < bars * 4:
                length = float(rng.choice([0.5, 1.0, 1.0, 1.0, 2.0]))
                track.notes.append(symusic.Note(int(time_q * tpq), int(length * tpq), pitch, 90))
                pitch = int(np.clip(pitch + rng.choice([-2, -1, 0, 1, 2]), start - 10, start + 10))
                time_q += length
            score.tracks.append(track)
        pieces.append(Piece(score, name=f"stand-in-{index:03d}"))
    return pieces


def main() -> None:
    """Time one evaluation of --num pieces against bach (report included), print figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", help="folder of generated MIDI files (default: the stand-in pieces)")
    parser.add_argument("--run", help="run directory to generate the pieces from (generation is not timed)")
    parser.add_argument("--num", type=int, default=100)
    parser.add_argument("--report", help="keep the report here (default: a temporary folder)")
    args = parser.parse_args()

    reference = load_corpus("bach", progress=False).pieces  # cached; reading is not what is measured
    if args.run:
        from tunesmith.controls.controls import Controls
        from tunesmith.generation.run import load_run

        generated, source = load_run(args.run).generate(Controls(num=args.num, bars=16, seed=0)), args.run
    elif args.generated:
        generated, source = load_corpus(args.generated, progress=False).pieces[: args.num], args.generated
    else:
        generated, source = stand_in_pieces(args.num), "stand-in random walks"

    started = time.perf_counter()
    evaluation = evaluate_sets({"generated": (source, generated)}, reference, reference_label="bach")
    evaluated = time.perf_counter()
    report_dir = args.report or tempfile.mkdtemp(prefix="tunesmith-bench-evaluate-")
    write_report(evaluation, report_dir)
    finished = time.perf_counter()

    ceiling = evaluation.ceiling
    result = {
        "bench": "evaluate",
        "generated": source,
        "generated_pieces": len(generated),
        "reference_pieces": len(reference),
        "cpu_count": os.cpu_count(),
        "seconds_evaluate": round(evaluated - started, 2),
        "seconds_report": round(finished - evaluated, 2),
        "seconds_total": round(finished - started, 2),
        "generated_mean_overlap": round(evaluation.sets[0].mean_overlap, 4),
        "generated_copies": len(evaluation.sets[0].copies),
        "ceiling": {
            "mean_overlap": round(ceiling.mean_overlap, 4),
            "copies": ceiling.copies,
            "pieces": ceiling.pieces,
            "overlap": {n: round(c.overlap, 3) for n, c in ceiling.comparison.items()},
            "kl": {n: round(c.kl, 4) for n, c in ceiling.comparison.items()},
        },
        "report": report_dir,
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
