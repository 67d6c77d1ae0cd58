"""The notation plan: a Piece as bars, parts, staves and voices of notatable notes, before music21 sees it.

Done here rather than by music21's makeMeasures / makeVoices / makeTies, because generated music needs what those
lack: a quantization grid chosen per beat (sixteenths or triplet eighths, never both in one beat), pickup bars
(the padding a reader added before a pickup taken away again), voices that follow the lines, and notes cut only
where notation must cut them (at bar lines, and at the beats around a triplet). music21 then spells the durations,
beams, tuplet brackets and accidentals (outputs/score.py).

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

# grids, finest first: sixteenths, or triplet eighths where a beat's notes fit those better; then sixteenths only
QUANTIZATIONS: tuple[tuple[int, ...], ...] = ((4, 3), (4,))
# the lengths one written note can have, in quarters, longest first: a 64th to a breve, plain, dotted and
# double-dotted, and the triplet sixteenth, eighth, quarter and half
NOTE_VALUES = sorted({Fraction(2) ** k * dots for k in range(-4, 4) for dots in (1, Fraction(3, 2), Fraction(7, 4))}
                     | {Fraction(2) ** k * Fraction(2, 3) for k in range(-2, 2)}, reverse=True)
_NOTE_VALUE_SET = frozenset(NOTE_VALUES)


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
    """Where onsets and ends may fall: per beat, sixteenths or (if the beat's notes sit nearer them) triplet
    eighths."""

    def __init__(self, bars: list[Bar], times: Sequence[Fraction], divisors: tuple[int, ...]):
        self.bars = bars
        self._starts = [bar.start for bar in bars]
        self.plain = Fraction(1, divisors[0])
        triplet = Fraction(1, 3) if 3 in divisors else None
        errors: dict[Fraction, list[Fraction]] = defaultdict(lambda: [Fraction(0), Fraction(0)])
        for time in times:
            beat, length, bar = self.beat(time)
            offset = time - beat
            if triplet is None or offset == 0 or length != 1 or bar.compound:
                continue
            errors[beat][0] += abs(offset - _snap(offset, self.plain))
            errors[beat][1] += abs(offset - _snap(offset, triplet))
        self.triplet_beats = {beat for beat, (plain, tri) in errors.items() if tri < plain}

    def beat(self, time: Fraction) -> tuple[Fraction, Fraction, Bar]:
        """(start, length, bar) of the beat (a quarter from the bar line, shorter at an x/8 bar's end) at `time`."""
        bar = self.bars[min(len(self.bars) - 1, max(0, bisect.bisect_right(self._starts, time) - 1))]
        start = bar.start + math.floor(time - bar.start)
        return start, min(Fraction(1), bar.end - start), bar

    def step(self, time: Fraction) -> Fraction:
        """The grid's spacing in the beat at `time`."""
        return Fraction(1, 3) if self.beat(time)[0] in self.triplet_beats else self.plain

    def snap(self, time: Fraction) -> Fraction:
        """`time` moved to the nearest point of its beat's grid."""
        beat, _, _ = self.beat(time)
        return beat + _snap(time - beat, self.step(time))


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
        grid = Grid(bars, [time for note in notes for time in note[:2]], divisors)  # a track's own triplets
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
    """[start, stop) as notes of one written value each, to be tied: cut at the beats around a triplet, then,
    where a length is not one value, first at the next beat (so that a syncopation's tail starts on the beat)
    and then into the longest values that fit. (music21 would split them itself, but loses a chord's ties.)"""
    pieces = []
    for a, b in _beat_pieces(start, stop, bar):
        while a < b:
            cut = b
            if b - a not in _NOTE_VALUE_SET:
                next_beat = bar.start + math.floor(a - bar.start) + 1
                if (a - bar.start).denominator != 1 and next_beat < b:
                    cut = next_beat
                else:
                    cut = a + next((v for v in NOTE_VALUES if v <= b - a), b - a)
            pieces.append((a, cut))
            a = cut
    return pieces


def _beat_pieces(start: Fraction, stop: Fraction, bar: Bar) -> list[tuple[Fraction, Fraction]]:
    """[start, stop) as one piece when both ends lie on the sixteenth grid, else cut at each beat between
    them, so that a triplet is written inside its beat."""
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
