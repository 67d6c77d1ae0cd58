"""Guesses of the next few events of a row, read off the row itself, for speculative sampling.

A one-event step of a small model on a CPU costs about the same as a step over several events, so the
sampler feeds the model the event it just sampled together with guesses of the events after it, and keeps
the guesses that the sampler would have drawn anyway (sample.py). Many events of a token stream are near
certain once their neighbours are known: the velocity of a piece that keeps one dynamic, the duration that
the other notes of a chord had, the program of the next voice of a chord. The guesses cost no model work
and change nothing in what is sampled: a wrong guess only wastes the part of the step spent on it.

Each guess takes the kind that followed the last event's kind most recently, and a value of that kind
from one of two predictors: the latest value of that kind, or the value that followed the latest one the
last time it occurred. Whichever has been right more often in this row is used. A kind whose guesses are
mostly wrong (pitch, say) ends the guesses.
"""

from __future__ import annotations

from collections import defaultdict

GUESSES = 4  # at most this many events guessed ahead
MIN_HIT_RATE = 0.25  # a kind guessed right less often than this ends the guesses (after a few tries)


class Drafter:
    """Guesses for one row; `see` every event written to the row, `guess` the events that follow."""

    def __init__(self, kinds: list[str], limit: int = GUESSES):
        self.kinds, self.limit = kinds, limit
        self.latest: dict[str, int] = {}  # kind -> latest id of that kind
        self.successor: dict[int, int] = {}  # id -> id of the same kind that came next, last time
        self.next_kind: dict[tuple, str] = {}  # (kind, onset full[, position]) -> the kind that came next
        self.hits: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # kind -> [tries, repeat, successor, step]
        self.before: dict[str, int] = {}  # kind -> the id of that kind before the latest
        self.previous: int | None = None
        self.notes, self.onset_notes = 0, 0  # notes at the current onset, and at the onset before

    def _full(self) -> bool:
        return self.notes >= self.onset_notes

    def see(self, token: int) -> None:
        kind = self.kinds[token]
        if self.previous is not None:
            key = (self.kinds[self.previous], self._full())
            self.next_kind[key] = self.next_kind[(*key, self.latest.get("Position"))] = kind
        latest = self.latest.get(kind)
        if latest is not None:
            hits = self.hits[kind]
            hits[0] += 1
            hits[1] += latest == token
            hits[2] += self.successor.get(latest) == token
            before = self.before.get(kind)
            hits[3] += before is not None and 2 * latest - before == token
            self.successor[latest] = token
            self.before[kind] = latest
        self.latest[kind] = token
        self.previous = token
        if kind == "Bar":
            self.latest.pop("Position", None)
        if kind in ("Position", "Bar"):
            if self.notes:
                self.notes, self.onset_notes = 0, self.notes
        elif kind == "Pitch":
            self.notes += 1

    def _value(self, kind: str, latest: dict[str, int]) -> int | None:
        hits = self.hits.get(kind)
        last = latest.get(kind)
        if hits is None or last is None or hits[0] >= 8 and max(hits[1:]) < MIN_HIT_RATE * hits[0]:
            return None
        best = max(range(1, 4), key=lambda i: hits[i])
        if best == 2 and last in self.successor:
            return self.successor[last]
        if best == 3 and kind in self.before:
            step = 2 * last - self.before[kind]
            return step if 0 <= step < len(self.kinds) and self.kinds[step] == kind else None
        return last

    def guess(self) -> list[int]:
        """Up to `limit` ids expected after the events seen so far (fewer, or none, when unsure)."""
        if self.previous is None:
            return []
        guesses: list[int] = []
        latest = self.latest
        kind = self.kinds[self.previous]
        notes = self.notes
        while len(guesses) < self.limit:
            key = (kind, notes >= self.onset_notes)
            kind = self.next_kind.get((*key, latest.get("Position")), self.next_kind.get(key))
            notes += kind == "Pitch"
            value = None if kind is None else self._value(kind, latest)
            if value is None:
                break
            guesses.append(value)
            if len(guesses) == 1:
                latest = dict(latest)
            latest[kind] = value
        return guesses
