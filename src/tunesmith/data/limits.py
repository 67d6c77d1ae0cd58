"""The limits a file must keep to be read, with their defaults in this one place.

A file past a limit is rejected with the limit named and the option that changes it. The defaults leave room
for any real piece (a 39-minute piano piece, a file with thousands of tempo changes) and stop the damaged or
hostile ones: a stray event hours after the music, millions of notes, a reader that loops or eats memory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from tunesmith.errors import TunesmithError


@dataclass(frozen=True)
class ReadLimits:
    """How large a file may be, and how long and how much memory reading it may take."""

    file_mb: float = 64.0  # size of the file on disk
    tracks: int = 1_000  # MIDI track chunks, and tracks with notes
    notes: int = 500_000
    tempos: int = 100_000  # tempo changes
    minutes: float = 120.0  # from the start to the end of the last note (or pedal, or control), at its tempos
    seconds: float = 60.0  # time to read one file (a reader that loops)
    memory_mb: int = 2_048  # memory one reader may take on top of what its process holds


DEFAULT_LIMITS = ReadLimits()

LIMIT_NAMES = tuple(f.name for f in fields(ReadLimits))
_KINDS = {f.name: float if f.type in (float, "float") else int for f in fields(ReadLimits)}

_WHAT = {"file_mb": "file size", "tempos": "tempo changes", "minutes": "length",
         "seconds": "to read one file", "memory_mb": "for one reader"}


def describe_limits(limits: ReadLimits = DEFAULT_LIMITS) -> str:
    """'file_mb=64 (file size), tracks=1,000, ...' for help texts."""
    return ", ".join(f"{name}={show_number(getattr(limits, name))}" + (f" ({_WHAT[name]})" if name in _WHAT else "")
                     for name in LIMIT_NAMES)


def show_number(value: float) -> str:
    """64 -> '64', 500000 -> '500,000', 0.5 -> '0.5'."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


def parse_read_limits(items: list[str] | None, base: ReadLimits = DEFAULT_LIMITS) -> ReadLimits:
    """['notes=1000000', 'minutes=240'] -> `base` with those limits changed (a one-line error otherwise)."""
    changes: dict[str, Any] = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or name not in LIMIT_NAMES:
            raise TunesmithError(f"--read-limit takes NAME=VALUE with NAME one of {', '.join(LIMIT_NAMES)}; "
                                 f"got {item!r}")
        kind = _KINDS[name]
        try:
            value = kind(text.replace("_", "").replace(",", "").strip())
        except ValueError:
            raise TunesmithError(f"--read-limit {name} takes a {'whole ' if kind is int else ''}number, "
                                 f"got {text.strip()!r}") from None
        if not value > 0:  # nan too
            raise TunesmithError(f"--read-limit {name} must be more than 0, got {text.strip()!r}")
        changes[name] = value
    return replace(base, **changes)


def changed_limits(limits: ReadLimits) -> dict[str, float]:
    """The limits that differ from the defaults, by name (what a run records, to read its corpus again so)."""
    return {name: getattr(limits, name) for name in LIMIT_NAMES
            if getattr(limits, name) != getattr(DEFAULT_LIMITS, name)}


def merged_limits(recorded: dict[str, Any], given: ReadLimits) -> ReadLimits:
    """The limits a run recorded (`changed_limits`), with the ones `given` changes from the defaults on top."""
    kept: dict[str, Any] = {name: _KINDS[name](value) for name, value in recorded.items() if name in LIMIT_NAMES}
    return replace(DEFAULT_LIMITS, **{**kept, **changed_limits(given)})


def past_limit(amount: str, name: str, limits: ReadLimits) -> str:
    """'812,345 notes, more than the limit of 500,000 (--read-limit notes=...)'."""
    return f"{amount}, more than the limit of {show_number(getattr(limits, name))} (--read-limit {name}=...)"
