"""Originality: how much of a generated piece is, bar for bar, a piece of the training set.

A bar is the set of the notes that start in it as (pitch, onset in the bar, duration up to the barline) on
a grid of 12 steps per quarter, all tracks merged, taken relative to the bar's lowest pitch so transposed
bars compare equal. Bars are
hashed; the training pieces are indexed at every quarter-note offset, so a copy shifted by whole beats
(a pickup bar) is still found. For each generated piece this gives:

- the longest run of consecutive bars that equals consecutive bars of one training piece at one
  transposition, and where it comes from;
- the share of its 4-bar segments (every bar a start) that occur verbatim, up to transposition, in the
  training set.

A piece copies when it shares a run of at least `copy_bars` (default 4) bars with a training piece.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from tunesmith.evaluation.metrics import note_table
from tunesmith.piece import Piece
from tunesmith.progress import progress_bar

log = logging.getLogger(__name__)

GRID = 12  # steps per quarter note: 16ths and 8th-note triplets
SEGMENT_BARS = 4

# One bar: its hash (None when it has no onsets) and its lowest pitch.
Bar = tuple[int | None, int]


@dataclass
class Originality:
    """How much of one generated piece is found in the training set."""

    name: str
    bars: int
    longest_run: int
    copied_share: float
    copies: bool
    source: str | None = None
    source_bar: int | None = None
    source_offset_beats: int | None = None
    transposition: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return asdict(self)

    def describe(self) -> str:
        """'6 bars = bwv26.6 from bar 3, up 2 semitones', or '-' when nothing is shared."""
        if not self.longest_run or self.source is None:
            return "-"
        shift = self.transposition or 0
        moved = "" if shift == 0 else f", {'up' if shift > 0 else 'down'} {abs(shift)} semitones"
        unit = "bar" if self.longest_run == 1 else "bars"
        offset = f" (bars shifted {self.source_offset_beats} beats)" if self.source_offset_beats else ""
        return f"{self.longest_run} {unit} = {self.source} from bar {(self.source_bar or 0) + 1}{offset}{moved}"


def bar_signatures(piece: Piece, offset_steps: int = 0) -> list[Bar]:
    """The piece's bars (starting `offset_steps` grid steps in) as (content hash, lowest pitch)."""
    notes = note_table(piece).pitched()
    bar_steps = int(round(piece.bar_ticks * GRID / piece.tpq))
    if not len(notes) or bar_steps < 1:
        return []
    onset = np.round(notes.time * (GRID / piece.tpq)).astype(np.int64) - offset_steps
    duration = np.maximum(1, np.round((notes.end - notes.time) * (GRID / piece.tpq)).astype(np.int64))
    keep = onset >= 0
    onset, duration, pitch = onset[keep], duration[keep], notes.pitch[keep]
    if not len(onset):
        return []
    bar_index = onset // bar_steps
    # a note held over the barline is cut there, so an excerpt that ends mid-note still matches
    duration = np.minimum(duration, (bar_index + 1) * bar_steps - onset)
    n_bars = int(bar_index.max()) + 1
    order = np.lexsort((duration, onset, pitch, bar_index))
    groups: list[list[tuple[int, int, int]]] = [[] for _ in range(n_bars)]
    for i in order.tolist():
        groups[bar_index[i]].append((int(pitch[i]), int(onset[i] % bar_steps), int(duration[i])))
    out: list[Bar] = []
    for notes_in_bar in groups:
        if not notes_in_bar:
            out.append((None, 0))
            continue
        low = min(p for p, _, _ in notes_in_bar)
        content = tuple(sorted({(p - low, o, d) for p, o, d in notes_in_bar}))
        out.append((hash((bar_steps, content)), low))
    return out


class TrainingIndex:
    """Every bar of the training pieces, at every quarter-note offset, found by its hash."""

    def __init__(self, pieces: Sequence[Piece], *, progress: bool = False):
        self.names = [p.name for p in pieces]
        self._bars: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
        with progress_bar(len(pieces), "indexing training bars", enabled=progress, unit="pieces") as bar:
            for index, piece in enumerate(pieces):
                bar_steps = int(round(piece.bar_ticks * GRID / piece.tpq))
                for phase, offset in enumerate(range(0, max(bar_steps, 1), GRID)):
                    for position, (key, low) in enumerate(bar_signatures(piece, offset)):
                        if key is not None:
                            self._bars[key].append((index, phase, position, low))
                bar.advance()
        log.debug("indexed %d bar hashes from %d pieces", len(self._bars), len(pieces))

    def __len__(self) -> int:
        return len(self.names)

    def check(self, piece: Piece, *, copy_bars: int = SEGMENT_BARS) -> Originality:
        """The longest run this piece shares with one training piece, and its share of copied segments."""
        bars = bar_signatures(piece)
        run_ending = np.zeros(len(bars), dtype=int)
        best: tuple[int, int, int, int, int] = (0, -1, 0, 0, 0)  # run, piece, phase, end bar, shift
        previous: dict[tuple[int, int, int, int], int] = {}
        for i, (key, low) in enumerate(bars):
            current: dict[tuple[int, int, int, int], int] = {}
            for index, phase, position, train_low in self._bars.get(key, ()) if key is not None else ():
                shift = low - train_low
                run = previous.get((index, phase, position - 1, shift), 0) + 1
                current[(index, phase, position, shift)] = run
                if run > run_ending[i]:
                    run_ending[i] = run
                if run > best[0]:
                    best = (run, index, phase, position, shift)
            previous = current
        n_segments = len(bars) - SEGMENT_BARS + 1
        copied = float((run_ending[SEGMENT_BARS - 1:] >= SEGMENT_BARS).sum() / n_segments) if n_segments > 0 else math.nan
        run, index, phase, end_bar, shift = best
        return Originality(
            name=piece.name, bars=len(bars), longest_run=int(run),
            copied_share=copied, copies=bool(run >= copy_bars),
            source=self.names[index] if run else None, source_bar=int(end_bar - run + 1) if run else None,
            source_offset_beats=int(phase) if run else None,
            transposition=int(shift) if run else None,
        )


def check_originality(pieces: Sequence[Piece], training: Sequence[Piece] | TrainingIndex, *,
                      copy_bars: int = SEGMENT_BARS, progress: bool = False) -> list[Originality]:
    """Originality of every piece against the training pieces (or a prebuilt TrainingIndex)."""
    index = training if isinstance(training, TrainingIndex) else TrainingIndex(training, progress=progress)
    results = []
    with progress_bar(len(pieces), "checking for copies", enabled=progress, unit="pieces") as bar:
        for piece in pieces:
            results.append(index.check(piece, copy_bars=copy_bars))
            bar.advance()
    return results
