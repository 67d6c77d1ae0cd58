"""The notation plan: a Piece as bars, parts, staves and voices of notatable notes, before music21 sees it.

Done here rather than by music21's makeMeasures / makeVoices / makeTies, because generated music needs what those
lack: a quantization grid chosen per beat (see Grid: exact rhythms, 32nds and triplet sixteenths too, are written
exactly; a timing wobble snaps to sixteenths or triplet eighths and never makes 32nds), pickup bars (the padding
a reader added before a pickup taken away again), voices that follow the lines, and notes cut only where notation
must cut them (at bar lines, and at the beats around a triplet or a 32nd figure). music21 then spells the
durations, beams, tuplet brackets and accidentals (outputs/score.py).

A marker "pickup" at tick t (0 < t < one bar) says the ticks before t are padding a reader put before a pickup;
markers "chord:FIGURE" are chord symbols (piece.py names both).

Times are in quarter notes (exact fractions) on the piece's own time line, padding included: bar lines are where
the piece's time signatures put them, and a pickup bar is the first bar with its first `pickup` quarters cut.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from tunesmith.instruments import gm_instrument_name
from tunesmith.outputs.spelling import KeyMap, Signature, Spelled, signature_for, spell
from tunesmith.outputs.staves import StaffNotes, TimedPitch, staves_for
from tunesmith.piece import CHORD_MARKER, PICKUP_MARKER, Piece

log = logging.getLogger(__name__)

# the grids a beat may have, as divisions of a quarter: first every grid, coarsest first (sixteenths, triplet
# eighths, 32nds, triplet sixteenths, sixteenths mixed with triplet sixteenths, 64ths), then sixteenths only,
# should music21 fail to write a rhythm
QUANTIZATIONS: tuple[tuple[int, ...], ...] = ((4, 3, 8, 6, 12, 16), (4,))
# the grids of a beat whose times sit on none (played or generated unevenly): the nearer of these
LOOSE_GRIDS = (4, 3)
# how far a time may be from a grid line and still be on it: two ticks (abc2midi plays each note a tick short),
# at most an eighth of the grid's step
SLACK_TICKS = 2
SLACK_OF_STEP = Fraction(1, 8)
# a track with fewer of its times on a grid than this is played, not written: its beats get the loose grids only
EXACT_SHARE = 0.9
# the lengths one written note can have, in quarters, longest first: a 64th to a breve, plain, dotted and
# double-dotted, and the triplet 32nd, sixteenth, eighth, quarter and half
NOTE_VALUES = sorted({Fraction(2) ** k * dots for k in range(-4, 4) for dots in (1, Fraction(3, 2), Fraction(7, 4))}
                     | {Fraction(2) ** k * Fraction(2, 3) for k in range(-3, 2)}, reverse=True)
# the lengths of a note that starts or ends on a triplet's division: triplet values only (a dotted triplet
# sixteenth would read as a plain sixteenth)
TRIPLET_VALUES = [value for value in NOTE_VALUES if value.denominator % 3 == 0]
_NOTE_VALUE_SET = frozenset(NOTE_VALUES)
_TRIPLET_VALUE_SET = frozenset(TRIPLET_VALUES)


@dataclass(frozen=True)
class Bar:
    """One bar: where it starts, how long it is (quarters) and its time signature."""

    start: Fraction
    length: Fraction
    meter: tuple[int, int]

    @property
    def end(self) -> Fraction:
        return self.start + self.length

    @property
    def compound(self) -> bool:
        """6/8, 9/8, 12/8...: beats of three eighths, where a triplet eighth has no place."""
        numerator, denominator = self.meter
        return denominator >= 8 and numerator % 3 == 0 and numerator > 3


@dataclass(frozen=True)
class Event:
    """A note or chord of one voice: what sounds from onset to end."""

    onset: Fraction
    end: Fraction
    pitches: tuple[Spelled, ...]  # low to high


@dataclass(frozen=True)
class Written:
    """A note, chord or rest as written in a bar: offset from the bar's first written beat, and its tie."""

    offset: Fraction
    length: Fraction
    pitches: tuple[Spelled, ...]  # empty: a rest
    tie: str | None = None  # 'start', 'continue', 'stop' or None


@dataclass
class Staff:
    """A staff: its clef and its voices, each a list of events that never overlap."""

    clef: str
    voices: list[list[Event]]


@dataclass
class Part:
    """A track as written: its name, General MIDI program and staves (two for a grand staff)."""

    name: str
    program: int
    is_drum: bool
    staves: list[Staff]


@dataclass
class Plan:
    """Everything a score needs, in musician's terms."""

    title: str
    bars: list[Bar]
    pickup: Fraction  # quarters cut from the start of the first bar (0: the first bar is whole)
    keys: KeyMap
    tempo: int  # quarter notes per minute, a whole number
    parts: list[Part]
    chords: list[tuple[Fraction, str]] = field(default_factory=list)  # (time, music21 figure)

    def bar_index(self, time: Fraction) -> int:
        """The bar that holds `time`."""
        return max(0, bisect.bisect_right([bar.start for bar in self.bars], time) - 1)

    def written_start(self, index: int) -> Fraction:
        """Where bar `index`'s first written beat is (after the pickup's cut, in the first bar)."""
        return self.bars[index].start + (self.pickup if index == 0 else 0)


def make_bars(piece: Piece, end: Fraction) -> list[Bar]:
    """Bars covering [0, end) by the piece's time signatures (4/4 where none is given). A change that falls
    inside a bar takes effect at the nearer bar line."""
    tpq = piece.tpq
    changes = {Fraction(int(ts.time), tpq): (int(ts.numerator), int(ts.denominator))
               for ts in piece.score.time_signatures}
    if Fraction(0) not in changes:
        changes[Fraction(0)] = min(changes.items())[1] if changes else (4, 4)
    ordered = sorted(changes.items())
    bars: list[Bar] = []
    start, index = Fraction(0), 0
    while start < end or not bars:
        while index + 1 < len(ordered) and ordered[index + 1][0] < start + _length(ordered[index][1]) / 2:
            index += 1
        meter = ordered[index][1]
        bars.append(Bar(start, _length(meter), meter))
        start += _length(meter)
    return bars


def _length(meter: tuple[int, int]) -> Fraction:
    return Fraction(4 * meter[0], meter[1])


class Grid:
    """Where onsets and ends may fall, per beat: the coarsest of `divisors` (divisions of a quarter) on which all
    the beat's times lie within `slack` quarters (at most SLACK_OF_STEP of the grid's step); for a beat whose
    times lie on none of them, or in a track that is played rather than written (see EXACT_SHARE), the nearer of
    sixteenths and triplet eighths. Triplet eighths need a whole beat outside compound bars; a grid must divide
    its beat (an x/8 bar's last beat is an eighth long)."""

    def __init__(self, bars: list[Bar], times: Sequence[Fraction], divisors: tuple[int, ...],
                 slack: Fraction = Fraction(SLACK_TICKS, 480)):
        self.bars = bars
        self._starts = [bar.start for bar in bars]
        self.plain = divisors[0]
        offsets: dict[Fraction, list[Fraction]] = defaultdict(list)
        allowed: dict[Fraction, list[int]] = {}
        for time in times:
            beat, length, bar = self.beat(time)
            offsets[beat].append(time - beat)
            if beat not in allowed:
                allowed[beat] = [d for d in divisors
                                 if (length * d).denominator == 1 and (d != 3 or (length == 1 and not bar.compound))]
        fitting = {beat: next((d for d in allowed[beat] if _on_grid(found, d, slack)), None)
                   for beat, found in offsets.items()}
        on_grid = sum(len(found) if fitting[beat] else
                      sum(any(_on_grid([offset], d, slack) for d in allowed[beat]) for offset in found)
                      for beat, found in offsets.items())
        exact = on_grid >= EXACT_SHARE * len(times)
        self.divisions: dict[Fraction, int] = {}  # beats whose grid is not `plain`
        for beat, found in offsets.items():
            division = fitting[beat] if exact else None
            if division is None:
                division = _nearest_grid(found, [d for d in allowed[beat] if d in LOOSE_GRIDS] or [self.plain])
            if division != self.plain:
                self.divisions[beat] = division

    @property
    def triplet_beats(self) -> set[Fraction]:
        """The beats written in triplet eighths or triplet sixteenths."""
        return {beat for beat, division in self.divisions.items() if division % 3 == 0}

    def beat(self, time: Fraction) -> tuple[Fraction, Fraction, Bar]:
        """(start, length, bar) of the beat (a quarter from the bar line, shorter at an x/8 bar's end) at `time`."""
        bar = self.bars[min(len(self.bars) - 1, max(0, bisect.bisect_right(self._starts, time) - 1))]
        start = bar.start + math.floor(time - bar.start)
        return start, min(Fraction(1), bar.end - start), bar

    def step(self, time: Fraction) -> Fraction:
        """The grid's spacing in the beat at `time`."""
        return Fraction(1, self.divisions.get(self.beat(time)[0], self.plain))

    def snap(self, time: Fraction) -> Fraction:
        """`time` moved to the nearest point of its beat's grid."""
        beat, _, _ = self.beat(time)
        return beat + _snap(time - beat, self.step(time))


def _on_grid(offsets: Sequence[Fraction], division: int, slack: Fraction) -> bool:
    """Whether every offset (from a beat) lies on the grid of `division` to a quarter, within the slack."""
    step = Fraction(1, division)
    within = min(slack, step * SLACK_OF_STEP)
    return all(abs(offset - _snap(offset, step)) <= within for offset in offsets)


def _nearest_grid(offsets: Sequence[Fraction], divisions: Sequence[int]) -> int:
    """Of `divisions`, the grid the offsets sit nearest in all (the first on a tie)."""
    def error(division: int) -> Fraction:
        step = Fraction(1, division)
        return sum((abs(offset - _snap(offset, step)) for offset in offsets), Fraction(0))

    return min(divisions, key=error)


def _snap(value: Fraction, step: Fraction) -> Fraction:
    return round(value / step) * step


def plan_score(piece: Piece, divisors: tuple[int, ...] = QUANTIZATIONS[0]) -> Plan:
    """The notation plan of `piece`, quantized to `divisors` (see QUANTIZATIONS)."""
    tpq = piece.tpq
    tracks = [track for track in piece.score.tracks if len(track.notes)]
    raw = [[(Fraction(int(n.time), tpq), Fraction(int(n.end), tpq), int(n.pitch)) for n in track.notes]
           for track in tracks]
    end = max((note[1] for notes in raw for note in notes), default=Fraction(0))
    bars = make_bars(piece, end + 1)
    pickup = _pickup(piece, bars[0])
    keys = _keys(piece)
    parts = []
    for track, notes in zip(tracks, raw, strict=True):
        # a track's own grid per beat
        grid = Grid(bars, [time for note in notes for time in note[:2]], divisors, Fraction(SLACK_TICKS, tpq))
        timed = _quantized(notes, grid, pickup, keys, bool(track.is_drum))
        if not timed:
            continue
        name = str(track.name).strip() or gm_instrument_name(int(track.program), bool(track.is_drum))
        staves = staves_for(timed, name, int(track.program), bool(track.is_drum))
        parts.append(Part(name, int(track.program), bool(track.is_drum), [_staff(s) for s in staves]))
    last = max((e.end for p in parts for s in p.staves for v in s.voices for e in v), default=Fraction(1))
    bars = bars[:max(1, bisect.bisect_left([bar.start for bar in bars], last))]
    plain = Grid(bars, [], divisors)
    chords = [(max(pickup, plain.snap(time)), figure) for time, figure in _chord_markers(piece)]
    tempo = max(1, math.floor(piece.tempo + 0.5))  # a metronome mark is a whole number: 120.43 -> 120
    return Plan(piece.name, bars, pickup, keys, tempo, parts, chords)


def _pickup(piece: Piece, first: Bar) -> Fraction:
    """Quarters of padding before a pickup, from a 'pickup' marker inside the first bar (else 0)."""
    for marker in piece.score.markers:
        if str(marker.text) == PICKUP_MARKER:
            time = Fraction(int(marker.time), piece.tpq)
            if 0 < time < first.length:
                return time
            log.info("%s: pickup marker at %s quarters is not inside the first bar; ignored", piece.name, time)
    return Fraction(0)


def _chord_markers(piece: Piece) -> list[tuple[Fraction, str]]:
    """(time, figure) of each 'chord:FIGURE' marker."""
    return [(Fraction(int(m.time), piece.tpq), str(m.text)[len(CHORD_MARKER):].strip())
            for m in piece.score.markers if str(m.text).startswith(CHORD_MARKER)]


def _keys(piece: Piece) -> KeyMap:
    """The piece's key signatures; where it has none, the key estimated from its notes."""
    changes = [(Fraction(int(k.time), piece.tpq), Signature(int(k.key), "minor" if int(k.tonality) else "major"))
               for k in piece.score.key_signatures if -7 <= int(k.key) <= 7]
    if not changes:
        with np.errstate(invalid="ignore", divide="ignore"):  # notes spread evenly over all 12 pitch classes
            changes = [(Fraction(0), signature_for(piece.key))]
    return KeyMap(changes)


def _quantized(notes: list[tuple[Fraction, Fraction, int]], grid: Grid, pickup: Fraction, keys: KeyMap,
               is_drum: bool) -> list[TimedPitch]:
    """A track's notes on the grid, spelled, the pickup's padding dropped, a repeated note kept once."""
    kept: dict[tuple[Fraction, int], Fraction] = {}
    for onset, end, pitch in notes:
        start, stop = grid.snap(onset), grid.snap(end)
        if stop <= start:
            stop = start + grid.step(start)
        if stop <= pickup:
            continue
        start = max(start, pickup)
        kept[(start, pitch)] = max(stop, kept.get((start, pitch), stop))
    drums = Signature(0)
    return [TimedPitch(start, stop, spell(pitch, drums if is_drum else keys.at(start)))
            for (start, pitch), stop in sorted(kept.items())]


def _staff(staff: StaffNotes) -> Staff:
    """A staff's notes as voices: notes struck and released together make a chord; each chord goes to the
    voice, among those free by then, whose last chord was nearest in pitch (the highest chord first when
    several start together), or to a new voice when none is free."""
    chords: dict[tuple[Fraction, Fraction], dict[int, Spelled]] = defaultdict(dict)
    for note in staff.notes:
        chords[(note.onset, note.end)][note.pitch.midi] = note.pitch
    events = sorted((Event(onset, end, tuple(p for _, p in sorted(pitches.items())))
                     for (onset, end), pitches in chords.items()),
                    key=lambda e: (e.onset, -e.pitches[-1].midi))
    voices: list[list[Event]] = []
    for event in events:
        free = [v for v in voices if v[-1].end <= event.onset]
        if free:
            min(free, key=lambda v: abs(_middle(v[-1]) - _middle(event))).append(event)
        else:
            voices.append([event])
    return Staff(staff.clef, voices)


def _middle(event: Event) -> float:
    return (event.pitches[0].midi + event.pitches[-1].midi) / 2


def voice_in_bars(events: Sequence[Event], plan: Plan) -> list[list[Written]]:
    """One voice written bar by bar: notes cut at bar lines and into single note values (tied), rests in the
    gaps. A bar where the voice has nothing is an empty list."""
    bars = plan.bars
    written: list[list[Written]] = [[] for _ in bars]
    for event in events:
        index = plan.bar_index(event.onset)
        while index < len(bars) and bars[index].start < event.end:
            bar = bars[index]
            start, stop = max(event.onset, bar.start), min(event.end, bar.end)
            tie_in, tie_out = event.onset < bar.start, event.end > bar.end
            pieces = _pieces(start, stop, bar)
            for i, (a, b) in enumerate(pieces):
                written[index].append(Written(a - plan.written_start(index), b - a, event.pitches,
                                              _tie(tie_in or i > 0, tie_out or i < len(pieces) - 1)))
            index += 1
    for index, notes in enumerate(written):
        if notes:
            written[index] = _with_rests(notes, bars[index], plan.written_start(index))
    return written


def _tie(from_before: bool, to_after: bool) -> str | None:
    if from_before and to_after:
        return "continue"
    if to_after:
        return "start"
    return "stop" if from_before else None


def _pieces(start: Fraction, stop: Fraction, bar: Bar) -> list[tuple[Fraction, Fraction]]:
    """[start, stop) as notes of one written value each, to be tied: cut at the beats around a finer note than a
    sixteenth, then, where a length is not one value, first at the next beat (so that a syncopation's tail starts
    on the beat), inside a beat at the next point of the next coarser division (a 32nd, then an eighth from
    1/8 to 3/4), and else into the longest values that fit. A note that starts or ends on a triplet's division
    is written in triplet values. (music21 would split them itself, but loses a chord's ties.)"""
    pieces = []
    for a, b in _beat_pieces(start, stop, bar):
        while a < b:
            cut = _first_value_end(a, b, bar)
            pieces.append((a, cut))
            a = cut
    return pieces


def _first_value_end(a: Fraction, b: Fraction, bar: Bar) -> Fraction:
    """Where the first written value of [a, b) ends."""
    offset = a - bar.start
    triplet = offset.denominator % 3 == 0 or (b - bar.start).denominator % 3 == 0
    values, value_set = (TRIPLET_VALUES, _TRIPLET_VALUE_SET) if triplet else (NOTE_VALUES, _NOTE_VALUE_SET)
    if b - a in value_set:
        return b
    if offset.denominator != 1:
        next_beat = bar.start + math.floor(offset) + 1
        if next_beat < b:
            return next_beat
        unit = Fraction(_smallest_factor(offset.denominator), offset.denominator)
        coarser = bar.start + (offset // unit + 1) * unit
        if coarser < b:
            return coarser
    return a + next((v for v in values if v <= b - a), b - a)


def _smallest_factor(number: int) -> int:
    return next(factor for factor in range(2, number + 1) if number % factor == 0)


def _beat_pieces(start: Fraction, stop: Fraction, bar: Bar) -> list[tuple[Fraction, Fraction]]:
    """[start, stop) as one piece when both ends lie on the sixteenth grid, else cut at each beat between
    them, so that a triplet or a 32nd figure is written inside its beat."""
    if ((start - bar.start) * 4).denominator == 1 and ((stop - bar.start) * 4).denominator == 1:
        return [(start, stop)]
    cuts = [bar.start + k for k in range(math.floor(start - bar.start) + 1, math.ceil(stop - bar.start))]
    edges = [start, *cuts, stop]
    return list(zip(edges, edges[1:], strict=False))


def _with_rests(notes: list[Written], bar: Bar, written_start: Fraction) -> list[Written]:
    """The bar's notes with rests filling every gap between its first written beat and its end."""
    out: list[Written] = []
    cursor = written_start
    for note in sorted(notes, key=lambda n: n.offset):
        at = written_start + note.offset
        if at > cursor:
            out.extend(Written(a - written_start, b - a, ()) for a, b in _pieces(cursor, at, bar))
        out.append(note)
        cursor = at + note.length
    if cursor < bar.end:
        out.extend(Written(a - written_start, b - a, ()) for a, b in _pieces(cursor, bar.end, bar))
    return out
