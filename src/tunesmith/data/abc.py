"""ABC books read fast: split a file into its tunes and convert each with symusic's ABC reader (abc2midi).

music21 takes about a second a tune on this kind of machine, which made the ~12,600-tune folk corpus take hours
to build; symusic takes a few milliseconds (the whole corpus: ~40 s on 2 cores). music21 stays the reader for the
tunes symusic rejects.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import symusic

from tunesmith.data.scores import add_chords, clean_score, pad_pickup, score_from_music21

log = logging.getLogger(__name__)

# file-header fields that are defaults for every tune of a book (the title, T:, belongs to the book)
_HEADER_FIELDS = re.compile(r"^(?:[LMQ]:|%%MIDI)")


@dataclass
class AbcTune:
    number: str  # its X: field
    title: str  # its first T: field ('' if none)
    text: str  # the tune, with the book's default fields


def split_tunes(text: str) -> list[AbcTune]:
    """The tunes of an ABC file (each starts at an X: line), with the file header's L:/M:/Q: defaults."""
    parts = re.split(r"(?m)^(?=X:)", text)
    header = "" if parts[0].startswith("X:") else parts[0]
    defaults = [line for line in header.splitlines() if _HEADER_FIELDS.match(line)]
    tunes = []
    for part in parts:
        if not part.startswith("X:"):
            continue
        first, _, rest = part.partition("\n")
        title = re.search(r"(?m)^T:(.*)$", part)
        tunes.append(AbcTune(first[2:].strip(), title.group(1).strip() if title else "",
                             "\n".join([first, *defaults, rest])))
    return tunes


def seed_c_random() -> None:
    """Seed the C library's rand() with this process's id. symusic's ABC reader names the temporary files it
    hands abc2midi with rand(): worker processes forked from one parent start with the same rand() state,
    write the same names at the same time, and read back each other's tunes. Each worker calls this first."""
    try:
        ctypes.CDLL(None).srand(os.getpid() & 0xFFFFFFFF)
    except (OSError, AttributeError):  # no C library to load by that name: nothing shared to reseed
        pass


@contextlib.contextmanager
def _quiet_c_output() -> Iterator[None]:
    """Silence what abc2midi prints to the process's stdout/stderr (file descriptors 1 and 2)."""
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


_LENGTH = r"(\d*)(/*)(\d*)"
_NOTE = re.compile(r"\[([^\]|]*)\]" + _LENGTH + r"|(\(\d)|(?:\^{1,2}|_{1,2}|=)?[A-Ga-gzx][,']*" + _LENGTH)
_NOT_NOTES = re.compile(r'"[^"]*"|![^!]*!|\+[^+]*\+|\{[^}]*\}|%[^\n]*|^[A-Za-z]:.*$', re.MULTILINE)


def _meter(header: str) -> Fraction | None:
    """The tune's M: field as a fraction of a whole note (C and C| are 4/4 and 2/2), None if free or odd.
    The last M: of the header wins (the tune's own after the book's default)."""
    found = re.findall(r"(?m)^M:\s*(\S+)", header)
    text = found[-1] if found else "4/4"
    if text in ("C", "C|"):
        return Fraction(1)
    fraction = re.fullmatch(r"(\d+)/(\d+)", text)
    return Fraction(int(fraction.group(1)), int(fraction.group(2))) if fraction else None


def _length(number: str, slashes: str, divisor: str) -> Fraction:
    """An ABC length suffix (`3`, `/`, `//`, `3/2`, `/4`) in units of L:."""
    length = Fraction(int(number) if number else 1)
    if slashes:
        length /= int(divisor) if divisor else 2 ** len(slashes)
    return length


def pickup_length(tune: str) -> tuple[Fraction, Fraction] | None:
    """(length of the notes before the first bar line, length of a bar), both in whole notes; None where the
    text does not say plainly (a tuplet in the pickup, an unusual meter)."""
    parts = re.split(r"(?m)^K:.*$", tune, maxsplit=1)
    bar = _meter(parts[0])
    if bar is None or len(parts) < 2:
        return None
    found = re.findall(r"(?m)^L:\s*(\d+)/(\d+)", parts[0])
    unit = Fraction(int(found[-1][0]), int(found[-1][1])) if found else Fraction(1, 8 if bar >= Fraction(3, 4) else 16)
    body = _NOT_NOTES.sub("", parts[1]).lstrip(" \t\r\n|:")  # a leading bar line or repeat sign
    total = Fraction(0)
    for note in _NOTE.finditer(body.split("|", 1)[0]):  # broken rhythm (A>B) keeps the pair's length
        if note.group(5):
            return None
        if note.group(1) is not None:  # a chord: its first note's length, times the chord's own
            first = _NOTE.search(note.group(1))
            if first is None or first.group(6) is None:
                continue
            total += _length(*first.group(6, 7, 8)) * _length(*note.group(2, 3, 4))
        else:
            total += _length(*note.group(6, 7, 8))
    return total * unit, bar


# A quoted string in a tune's body: a chord symbol ("Cmaj7", "F#m7/C#", "N.C.") or an annotation ("^Segno",
# "D.C.", a fingering "4", a dynamic "f"). abc2midi plays every one that starts with a-g or A-G as a chord, so a
# dynamic "f" or a heading "A MINOR" came out as an accompaniment: none of them is given to abc2midi.
_CHORD_SYMBOL = re.compile(r"[A-G][#b]?(?:maj|min|dim|aug|sus|add|alt|mi|ma|m|M|o|\+|-|[#b]|\d+|[()])*"
                           r"(?:/[A-G][#b]?)?|N\.?C\.?")
# what a body line is made of, in the order that decides: a comment, a quoted string, a decoration, an inline
# field, a tie
_BODY_PARTS = re.compile(r'(%.*)|"([^"\n]*)"|(![^!"\s]*!|\[[A-Za-z]:[^\]\n]*\])|(-)')
_FIELD_LINE = re.compile(r"^(?:[A-Za-z+]:|%)")
_CHORD_CONTROLS = (110, 111)  # two undefined MIDI controllers carry a chord's number (high 7 bits, low 7 bits)


def _without_quotes(tune: str) -> tuple[str, str, list[str]]:
    """(the tune without its quoted strings, the tune with a chord symbol's number as MIDI controller events
    where each chord symbol is and without ties, the chord symbols' figures).

    abc2midi writes controller events where the text has them, so the second tune says where each chord sounds
    (repeats unfolded as abc2midi unfolds them); it would write one inside a tied note at the tie's start."""
    lines = tune.split("\n")
    body = next((i + 1 for i, line in enumerate(lines) if line.startswith("K:")), len(lines))
    figures: list[str] = []

    def part(match: re.Match[str], traced: bool) -> str:
        if match.group(2) is not None:
            figure = match.group(2).strip()
            if not traced or not _CHORD_SYMBOL.fullmatch(figure) or len(figures) >= 1 << 14:
                return ""
            figures.append(figure)
            number = len(figures) - 1
            return "".join(f"[I:MIDI control {c} {v}]"
                           for c, v in zip(_CHORD_CONTROLS, (number >> 7 & 127, number & 127), strict=True))
        return "" if traced and match.group(4) else match.group(0)

    plain, traced = lines[:body], lines[:body]
    for line in lines[body:]:
        field = bool(_FIELD_LINE.match(line))
        plain.append(line if field else _BODY_PARTS.sub(lambda m: part(m, False), line))
        traced.append(line if field else _BODY_PARTS.sub(lambda m: part(m, True), line))
    return "\n".join(plain), "\n".join(traced), figures


def _chord_times(traced: symusic.Score, figures: list[str]) -> list[tuple[int, str]]:
    """(tick, figure) of each chord symbol, from the controller events of `_without_quotes`'s second tune."""
    found = []
    for track in traced.tracks:
        high: dict[int, int] = {}
        for control in track.controls:
            if control.number == _CHORD_CONTROLS[0]:
                high[int(control.time)] = int(control.value)
            elif control.number == _CHORD_CONTROLS[1]:
                number = high.get(int(control.time), 0) << 7 | int(control.value)
                if number < len(figures):
                    found.append((int(control.time), figures[number]))
    return found


def score_from_abc(tune: str) -> symusic.Score:
    """One ABC tune as a Score, its bar lines where the tune has them and its chord symbols as markers.

    abc2midi starts every note one tick late and a pickup (anacrusis) at tick 0, so every later bar line
    would fall inside a bar: the notes are moved so that the pickup ends a first, otherwise silent bar, and a
    marker "pickup" at the padding's tick says so, as the music21 reader does. Quoted chord symbols ("G", "D7")
    are markers ("chord:D7" at their tick), not the chords abc2midi would play; annotations ("^Segno", "f")
    are left out. Raises ValueError (or RuntimeError) if symusic cannot read the tune.
    """
    plain, traced, figures = _without_quotes(tune)
    with _quiet_c_output():
        score = symusic.Score.from_abc(plain)
        try:
            chords = _chord_times(symusic.Score.from_abc(traced), figures) if figures else []
        except Exception as exc:  # noqa: BLE001 - the notes are read; the chord symbols are lost, not the tune
            log.info("chord symbols left out: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            chords = []
    onsets = np.concatenate([t.notes.numpy()["time"] for t in score.tracks if len(t.notes)] or [np.zeros(0)])
    # abc2midi starts each note a tick late: most onsets are odd (and none at 0) where it has
    late = int(len(onsets) > 0 and onsets.min() >= 1 and np.count_nonzero(onsets % 2) * 2 > len(onsets))
    padding = 0
    found = pickup_length(tune)
    if found is not None and 0 < found[0] < found[1]:
        padding = int(round((found[1] - found[0]) * 4 * score.ticks_per_quarter))
    for track in score.tracks:
        track.shift_time(-late, inplace=True)
    for events in (score.time_signatures, score.tempos, score.key_signatures, score.markers):
        for event in events:
            event.time = max(0, event.time - late * (event.time % 2))  # a tempo (Q:) comes a tick late too
    pad_pickup(score, padding)
    add_chords(score, [(time - late * (time % 2) + padding, figure) for time, figure in chords])
    _name_voices(score, tune)
    return score


def _name_voices(score: symusic.Score, tune: str) -> None:
    """abc2midi names a tune's first track after the tune's title and leaves the others unnamed: a track is a
    voice, so the first is "Melody" and the others "Voice 2", "Voice 3"... (a voice named in the tune keeps
    its name)."""
    found = re.search(r"^T:(.*)$", tune, re.MULTILINE)
    title = found.group(1).strip() if found else None
    for number, track in enumerate(score.tracks):
        if not track.name.strip() or track.name.strip() == title:
            track.name = "Melody" if number == 0 else f"Voice {number + 1}"


def read_abc_tune(tune: str) -> symusic.Score:
    """One ABC tune through symusic (score_from_abc), or through music21 if symusic cannot read it."""
    try:
        return clean_score(score_from_abc(tune))
    except Exception:  # noqa: BLE001 - symusic's reader raises several kinds; music21 gets a second try
        import music21

        return score_from_music21(music21.converter.parse(tune, format="abc"))
