"""Scores as tunesmith reads them: a symusic Score cleaned of empty tracks and repeated meta events, and
music21's streams (MusicXML, kern, ABC by music21) turned into one as they are played.

What a score says beyond its notes is kept in the Score's markers:

- a pickup (anacrusis) is moved onto its beat: the notes start `padding` ticks late, so that bar lines fall at
  multiples of a bar, and a marker "pickup" at tick `padding` (0 < padding < one bar) says so; a writer that
  removes the padding can write the pickup measure again;
- chord symbols (a lead sheet's "Cmaj7") are annotations, not notes: each is a marker "chord:" + its figure
  at its tick.

Repeats (repeat bar lines, first and second endings, D.C. and D.S.) are unfolded: the notes come as played.
"""

from __future__ import annotations

import copy
import logging
import re
from fractions import Fraction

import symusic

log = logging.getLogger(__name__)

PICKUP = "pickup"  # the marker's text; its tick is the padding before the pickup's first note
CHORD = "chord:"  # a chord symbol's marker is CHORD + its figure ("chord:F#m7")
_FLAT_ROOT = re.compile(r"(^|/)([A-G])(-+)")  # music21's flat root or bass: 'B-7/A-'


def clean_score(score: symusic.Score) -> symusic.Score:
    """Drop tracks without notes and repeated meta events (music21 writes them once per part); markers are
    repeats only when both their tick and their text are the same."""
    score = score.copy()
    keep = [t for t in score.tracks if len(t.notes)]
    score.tracks = symusic.core.TrackTickList(keep) if hasattr(symusic.core, "TrackTickList") else keep
    for attr in ("time_signatures", "key_signatures", "tempos", "markers"):
        events = getattr(score, attr)
        seen, unique = set(), []
        for ev in sorted(events, key=lambda e: e.time):
            sig = (ev.time, *(getattr(ev, a) for a in ("numerator", "denominator", "key", "tonality", "mspq", "text")
                               if hasattr(ev, a)))
            if sig not in seen:
                seen.add(sig)
                unique.append(ev)
        events.clear()
        for ev in unique:
            events.append(ev)
    return score


def bar_ticks(score: symusic.Score) -> int:
    """The first bar's length in ticks (4/4 where the score has no time signature)."""
    first = min(score.time_signatures, key=lambda ts: ts.time) if len(score.time_signatures) else None
    numerator, denominator = (first.numerator, first.denominator) if first is not None else (4, 4)
    return int(round(score.ticks_per_quarter * 4 * numerator / max(1, denominator)))


def pad_pickup(score: symusic.Score, padding: int) -> None:
    """Start the notes `padding` ticks later, so that a pickup ends the first bar, and mark it: a marker
    "pickup" at tick `padding`. Meta events after tick 0 move with the notes; those at 0 hold from the start."""
    if padding <= 0:
        return
    for track in score.tracks:
        track.shift_time(padding, inplace=True)
    for events in (score.time_signatures, score.key_signatures, score.tempos, score.markers):
        for event in events:
            if event.time > 0:
                event.time = event.time + padding
    score.markers.append(symusic.TextMeta(padding, PICKUP))


def add_chords(score: symusic.Score, chords: list[tuple[int, str]]) -> None:
    """A marker "chord:<figure>" for each (tick, figure), once for each tick and figure."""
    for tick, figure in sorted(set(chords)):
        score.markers.append(symusic.TextMeta(tick, CHORD + figure))


def score_from_music21(stream, *, play_chords: bool = False) -> symusic.Score:
    """A music21 Score/Part -> symusic Score as it is played, through music21's own MIDI writer.

    Repeats are unfolded (a score whose repeats music21 cannot unfold is read as written). Chord symbols are
    markers ("chord:Cmaj7" at their tick), not notes; `play_chords=True` also plays them, as music21 voices
    them. A pickup measure ends the first bar and is marked ("pickup" at the padding's tick).
    """
    from music21 import harmony

    # music21's MIDI writer unfolds repeats itself; a stream with chord symbols is unfolded here first, for their
    # ticks as played, and is then a copy of ours to take them out of
    has_chords = stream.recurse().getElementsByClass(harmony.ChordSymbol).first() is not None
    played = _unfolded(stream) if has_chords else stream
    if has_chords and played is stream:
        played = copy.deepcopy(stream)
    symbols = list(played.recurse().getElementsByClass(harmony.ChordSymbol))
    chords = [(Fraction(symbol.getOffsetInHierarchy(played)), _figure(symbol)) for symbol in symbols]
    if play_chords:
        for part in _parts(played):
            harmony.realizeChordSymbolDurations(part)  # each sounds until the next one
    elif symbols:
        played.remove(symbols, recurse=True)
    try:
        midi_bytes = _midi(played)
    except Exception as exc:  # noqa: BLE001 - the writer's own unfolding failed: read as written, else re-raise
        if not _repeat_marks(played):
            raise
        played = _as_written(played, exc)
        midi_bytes = _midi(played)
    score = clean_score(symusic.Score.from_midi(midi_bytes))
    tpq = score.ticks_per_quarter
    padding = int(round(_pickup_quarters(played) * tpq))
    if 0 < padding < bar_ticks(score):  # music21 writes a pickup at tick 0: move it so bar lines fall on bars
        pad_pickup(score, padding)
    else:
        padding = 0
    add_chords(score, [(int(round(offset * tpq)) + padding, figure) for offset, figure in chords if figure])
    return clean_score(score)


def _parts(stream) -> list:
    """A score's parts, or the stream itself when it has none."""
    parts = getattr(stream, "parts", None)
    return list(parts) if parts is not None and len(parts) else [stream]


def _repeat_marks(stream) -> list:
    """The stream's repeat bar lines, endings (first and second) and D.C./D.S./Segno/Coda/Fine marks."""
    from music21 import bar, repeat, spanner

    return list(stream.recurse().getElementsByClass((bar.Repeat, repeat.RepeatExpression, spanner.RepeatBracket)))


def _midi(stream) -> bytes:
    """The stream as a MIDI file, written by music21 (repeats unfolded)."""
    from music21.midi import translate

    return bytes(translate.streamToMidiFile(stream).writestr())


def _unfolded(stream):
    """The stream with its repeats unfolded (a new stream), or the stream itself when it has none to unfold; if
    music21 cannot unfold them, a copy without them, read as written."""
    if not _repeat_marks(stream):
        return stream
    try:
        return stream.expandRepeats()
    except Exception as exc:  # noqa: BLE001 - music21 raises several kinds for repeats it cannot follow
        return _as_written(stream, exc)


def _as_written(stream, why: Exception):
    """A copy of the stream without its repeat marks, for repeats music21 cannot unfold."""
    from music21 import bar

    log.info("repeats not unfolded, read as written (%s)", str(why).splitlines()[0] if str(why) else
             type(why).__name__)
    written = copy.deepcopy(stream)
    marks = _repeat_marks(written)
    for measure in written.recurse().getElementsByClass("Measure"):  # a bar line is a measure's attribute
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(measure, side), bar.Repeat):
                setattr(measure, side, bar.Barline("regular"))
    others = [mark for mark in marks if not isinstance(mark, bar.Repeat)]
    if others:
        written.remove(others, recurse=True)
    return written


def _figure(symbol) -> str:
    """A chord symbol's figure as a lead sheet writes it ('Cmaj7', 'F#m7', 'Bb7/Ab', 'N.C.'; music21 writes a
    flat root 'B-'), '' when it has none."""
    try:
        figure = symbol.figure
    except Exception:  # noqa: BLE001 - music21 can fail to name a chord it was given by its notes only
        figure = None
    return _FLAT_ROOT.sub(lambda m: m.group(1) + m.group(2) + "b" * len(m.group(3)), str(figure).strip()) if figure else ""


def _pickup_quarters(stream) -> float:
    """How many quarter notes the first measure's pickup leaves out (its paddingLeft), else 0."""
    container = _parts(stream)[0]
    measures = container.getElementsByClass("Measure")
    if not len(measures):
        return 0.0
    return float(measures[0].paddingLeft or 0.0)
