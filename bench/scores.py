"""Scores a musician can read: the MusicXML round trip of the bundled corpora, engraving generated pieces with
verovio, and the time to export and engrave one 16-bar four-part piece.

    OMP_NUM_THREADS=1 python bench/scores.py [--folk 200] [--runs RUN ...] [--generate 50]

Prints one JSON line:
- round trip: each piece written as MusicXML (tunesmith.outputs.score) and read back with music21 alone; a
  piece is exact when every part has the track's name and sounds the track's notes (pitch, onset and duration
  in quarters, ties joined; the onsets of a pickup counted from the pickup, as the score writes them) and
  the key signature is the piece's (times to a 96th of a quarter note). All the Bach chorales and `--folk` tunes spread over the folk corpus.
- engraving: `--generate` pieces of 16 bars from each run in `--runs` (e.g. a chorale model and a folk model
  trained a few minutes), each written as MusicXML and engraved by verovio; a piece counts when verovio draws
  every note the MusicXML holds.
- timing: the median of five exports and engravings of one 16-bar four-part piece (the first 16 bars of a
  chorale, or a generated chorale when a run is given).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from fractions import Fraction
from pathlib import Path

import music21

from tunesmith.data import load_corpus
from tunesmith.outputs.engrave import engrave_musicxml
from tunesmith.outputs.score import musicxml_bytes
from tunesmith.piece import PICKUP_MARKER, Piece

GRID = 96  # times compared to a 96th of a quarter: abc2midi plays each note a tick short (239 of 480 ticks)


def _quarters(value) -> Fraction:
    return Fraction(round(Fraction(value) * GRID), GRID)


def piece_parts(piece: Piece) -> dict[str, Counter]:
    """Track name -> its notes (pitch, onset, duration in quarters), onsets counted from a pickup's start."""
    tpq = piece.tpq
    padding = next((int(m.time) for m in piece.score.markers if m.text == PICKUP_MARKER), 0)
    parts: dict[str, Counter] = {}
    for track in piece.score.tracks:
        if len(track.notes):
            parts.setdefault(track.name, Counter()).update(
                (int(n.pitch), _quarters(Fraction(int(n.time) - padding, tpq)), _quarters(Fraction(int(n.duration), tpq)))
                for n in track.notes)
    return parts


def score_parts(score) -> dict[str, Counter]:
    """Part name -> the notes music21 hears in it (the staves of a grand staff together, ties joined)."""
    parts: dict[str, Counter] = {}
    for part in score.parts:
        heard = parts.setdefault(part.partName or "", Counter())
        for element in part.stripTies().flatten().notes:
            if isinstance(element, music21.harmony.Harmony):
                continue
            onset, length = _quarters(element.offset), _quarters(element.quarterLength)
            heard.update((p.midi, onset, length) for p in element.pitches)
    return parts


def key_sharps(score) -> int | None:
    found = next(iter(score.recurse().getElementsByClass(music21.key.KeySignature)), None)
    return None if found is None else int(found.sharps)


def round_trip(piece: Piece) -> tuple[str, str]:
    """What differs when the piece comes back from its MusicXML ('' when nothing does), and how."""
    try:
        written = musicxml_bytes(piece)
        score = music21.converter.parseData(written, format="musicxml")
    except Exception as exc:  # noqa: BLE001 - the figure counts every failure
        return "not written or read", type(exc).__name__
    want, got = piece_parts(piece), score_parts(score)
    if set(want) != set(got):
        return "parts", f"{sorted(want)} came back as {sorted(got)}"
    for name in want:
        if want[name] != got[name]:
            missing, extra = want[name] - got[name], got[name] - want[name]
            return "notes", (f"{name}: {sum(missing.values())} not heard (e.g. {sorted(missing)[:2]}), "
                             f"{sum(extra.values())} others (e.g. {sorted(extra)[:2]})")
    signatures = sorted(piece.score.key_signatures, key=lambda k: k.time)
    if signatures and key_sharps(score) != int(signatures[0].key):
        return "key signature", f"{key_sharps(score)} instead of {int(signatures[0].key)}"
    return "", ""


def engraves(piece: Piece) -> bool:
    """verovio draws every note of the piece's MusicXML."""
    xml = musicxml_bytes(piece)
    notes = xml.count(b"<note") - xml.count(b"<rest")
    svg = engrave_musicxml(xml, piece.name)
    return svg.count('class="note"') == notes


def _corpus_round_trip(pieces: list[Piece]) -> dict:
    failures: Counter = Counter()
    examples: dict[str, str] = {}
    exact = 0
    for piece in pieces:
        kind, why = round_trip(piece)
        exact += not kind
        if kind:
            failures[kind] += 1
            examples.setdefault(kind, f"{piece.name}: {why}")
    return {"pieces": len(pieces), "exact": exact, "share": round(exact / max(1, len(pieces)), 4),
            "failures": dict(failures.most_common(8)), "examples": list(examples.values())[:5]}


def _timing(piece: Piece) -> dict:
    export, engrave = [], []
    for _ in range(5):
        start = time.perf_counter()
        xml = musicxml_bytes(piece)
        middle = time.perf_counter()
        engrave_musicxml(xml, piece.name)
        export.append(middle - start)
        engrave.append(time.perf_counter() - middle)
    return {"piece": piece.name, "bars": piece.bars, "notes": piece.note_count,
            "export_s": round(statistics.median(export), 3), "engrave_s": round(statistics.median(engrave), 3),
            "total_s": round(statistics.median(a + b for a, b in zip(export, engrave, strict=True)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bach", type=int, default=0, help="chorales in the round trip (0: all)")
    parser.add_argument("--folk", type=int, default=200, help="folk tunes in the round trip")
    parser.add_argument("--runs", nargs="*", default=[], help="trained runs whose pieces are engraved")
    parser.add_argument("--generate", type=int, default=50, help="pieces from each run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result: dict = {"bench": "scores"}
    started = time.perf_counter()
    bach = load_corpus("bach", progress=False).pieces
    result["bach_round_trip"] = _corpus_round_trip(bach[:args.bach] if args.bach else bach)
    if args.folk:
        folk = load_corpus("folk", progress=False).pieces
        step = max(1, len(folk) // args.folk)
        result["folk_round_trip"] = _corpus_round_trip(folk[::step][:args.folk])
    sample = bach[0].bars_slice(0, 16)
    if args.runs:
        from tunesmith.generation.run import load_run

        for path in args.runs:
            run = load_run(path)
            pieces = run.generate(num=args.generate, bars=16, seed=args.seed)
            result.setdefault("engraved", {})[Path(path).name] = {
                "pieces": len(pieces), "engraved": sum(engraves(p) for p in pieces),
                "tracks": dict(Counter(" / ".join(t.name for t in p.score.tracks) for p in pieces).most_common(3))}
            if len(pieces[0].score.tracks) == 4:
                sample = pieces[0]
    result["timing"] = _timing(sample)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
