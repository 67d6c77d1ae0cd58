"""Guesses of the next few events of a row, read off the row itself, for speculative sampling.

A one-event step of a small model on a CPU costs about the same as a step over several events, so the
sampler feeds the model the event it just sampled together with guesses of the events after it, and keeps
the guesses that the sampler would have drawn anyway (sample.py). Many events of a token stream are near
certain once their neighbours are known: the velocity of a piece that keeps one dynamic, the duration that
the other notes of a chord had, the program of the next voice of a chord. The guesses cost no model work
and change nothing in what is sampled: a wrong guess only wastes the part of the step spent on it.

Each guess takes the kind that followed the last event's kind most recently in the same place (with as
many notes sounding at the onset, at the same position), and a value of that kind from one of six
predictors: the latest value of that kind; the value that followed the latest one the last time; the next
value of a steady step; the value the previous onset began with (a chord's notes share a duration more
often than consecutive onsets do); where the next sounding note ends (the next onset, in a chorale); the
value at the same position in the bar before (a folk tune's accents). The predictor right most often in
this row, for that kind, is used. The guesses stop where the chance that all of them come true (each
predictor's record so far) gets small: a pitch is seldom guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

GUESSES = 4  # at most this many events guessed ahead
MIN_CHANCE = 0.25  # guesses stop where the chance that all of them come true falls below this
ONSET = ("Position", "Bar")  # kinds that begin a new onset


@dataclass
class Recent:
    """What the predictors read: the latest values of each kind, the ones before them, and the values of
    each kind that began the current and the previous onset."""

    latest: dict[str, int] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)  # kind -> first value at the current onset
    first_before: dict[str, int] = field(default_factory=dict)  # ... at the onset before
    notes: int = 0  # notes at the current onset
    ends: list[float] = field(default_factory=list)  # where the notes begun in this bar end
    position: float = 0.0
    held: int = 0  # notes of earlier onsets of this bar still sounding at the current one
    bar: dict[tuple[float, str], int] = field(default_factory=dict)  # (position, kind) -> first value, this bar
    bar_before: dict[tuple[float, str], int] = field(default_factory=dict)  # ... in the bar before

    def copy(self) -> Recent:
        return Recent(dict(self.latest), dict(self.before), dict(self.first), dict(self.first_before), self.notes,
                      list(self.ends), self.position, self.held, dict(self.bar), self.bar_before)

    def place(self, kind: str) -> tuple:
        """Where in the music the next event comes after an event of `kind`: the kind, how many notes sound at
        the current onset (its own and the held ones), and the latest position."""
        return kind, self.notes + self.held, self.latest.get("Position")

    def add(self, kind: str, token: int, value: float) -> None:
        if kind in self.latest:
            self.before[kind] = self.latest[kind]
        self.latest[kind] = token
        self.first.setdefault(kind, token)
        if kind in ONSET and self.notes:
            self.notes, self.first_before, self.first = 0, self.first, {kind: token}
        elif kind == "Pitch":
            self.notes += 1
        if kind == "Bar":
            self.latest.pop("Position", None)
            self.ends, self.position, self.held, self.bar_before, self.bar = [], 0.0, 0, self.bar, {}
        elif kind == "Position":
            self.position = value
            self.held = sum(end > value for end in self.ends)
        elif kind == "Duration":
            self.ends.append(self.position + value)
        self.bar.setdefault((self.position, kind), token)


class Drafter:
    """Guesses for one row; `see` every event written to the row, `guess` the events that follow."""

    def __init__(self, kinds: list[str], values: list[float], limit: int = GUESSES):
        self.kinds, self.values, self.limit = kinds, values, limit
        self.ids = {(k, values[i]): i for i, k in enumerate(kinds) if k in ("Position", "Duration")}
        self.recent = Recent()
        self.successor: dict[int, int] = {}  # id -> id of the same kind that came next, last time
        self.next_kind: dict[tuple, str] = {}  # place (see Recent.place), or its first parts -> next kind
        self.hits: dict[str, list[int]] = defaultdict(lambda: [0] * (PREDICTORS + 1))  # kind -> [tries, hits...]
        self.previous: str | None = None  # kind of the latest event

    def _predict(self, kind: str, recent: Recent) -> list[int | None]:
        """What each predictor expects of the next value of `kind`."""
        last = recent.latest.get(kind)
        if last is None:
            return [None] * PREDICTORS
        before = recent.before.get(kind)
        step = None if before is None else 2 * last - before
        if step is not None and not (0 <= step < len(self.kinds) and self.kinds[step] == kind):
            step = None
        onset = last if kind in recent.first else recent.first_before.get(kind)
        ending = None  # the next end of a sounding note: where the next onset is, or where this note ends
        if kind in ("Position", "Duration"):
            ends = [end for end in recent.ends if end > recent.position]
            if ends:
                ending = self.ids.get((kind, min(ends) - (recent.position if kind == "Duration" else 0)))
        bar = recent.bar_before.get((recent.position, kind)) if kind not in recent.first else last
        return [last, self.successor.get(last), step, onset, ending, bar]

    def see(self, token: int) -> None:
        kind, recent = self.kinds[token], self.recent
        if self.previous is not None:
            place = recent.place(self.previous)
            self.next_kind[place] = self.next_kind[place[:2]] = self.next_kind[place[:1]] = kind
        if kind in recent.latest:
            hits = self.hits[kind]
            hits[0] += 1
            for i, value in enumerate(self._predict(kind, recent)):
                hits[i + 1] += value == token
            self.successor[recent.latest[kind]] = token
        recent.add(kind, token, self.values[token])
        self.previous = kind

    def _value(self, kind: str, recent: Recent) -> tuple[int | None, float]:
        """The best predictor's value for `kind`, and how often that predictor has been right."""
        hits = self.hits.get(kind)
        if hits is None:
            return None, 0.0
        most = max(hits[1:])
        best = hits.index(most, 1) - 1  # the first predictor with the most hits
        return self._predict(kind, recent)[best], (most + 1) / (hits[0] + 2)

    def guess(self) -> list[int]:
        """Up to `limit` ids expected after the events seen so far, while the chance that all of them come
        true stays above MIN_CHANCE (fewer, or none, when unsure)."""
        guesses: list[int] = []
        kind, recent, chance = self.previous, self.recent, 1.0
        while kind is not None and len(guesses) < self.limit:
            place = recent.place(kind)
            kind = self.next_kind.get(place) or self.next_kind.get(place[:2]) or self.next_kind.get(place[:1])
            if kind is None:
                break
            value, rate = self._value(kind, recent)
            chance *= rate
            if value is None or chance < MIN_CHANCE:
                break
            guesses.append(value)
            if len(guesses) == 1:
                recent = recent.copy()
            recent.add(kind, value, self.values[value])
        return guesses


PREDICTORS = 6  # latest, successor, step, onset, the next end of a sounding note, the bar before
