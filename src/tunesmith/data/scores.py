"""Scores as tunesmith reads them: a symusic Score cleaned of empty tracks and repeated meta events, and
music21's streams (MusicXML, kern, ABC by music21) turned into one, with a pickup bar kept on its beat."""

from __future__ import annotations

import symusic


def clean_score(score: symusic.Score) -> symusic.Score:
    """Drop tracks without notes and repeated meta events (music21 writes them once per part)."""
    score = score.copy()
    keep = [t for t in score.tracks if len(t.notes)]
    score.tracks = symusic.core.TrackTickList(keep) if hasattr(symusic.core, "TrackTickList") else keep
    for attr in ("time_signatures", "key_signatures", "tempos"):
        events = getattr(score, attr)
        seen, unique = set(), []
        for ev in sorted(events, key=lambda e: e.time):
            sig = (ev.time, *(getattr(ev, a) for a in ("numerator", "denominator", "key", "tonality", "mspq")
                               if hasattr(ev, a)))
            if sig not in seen:
                seen.add(sig)
                unique.append(ev)
        events.clear()
        for ev in unique:
            events.append(ev)
    return score


def score_from_music21(stream) -> symusic.Score:
    """A music21 Score/Part -> symusic Score, through music21's own MIDI writer."""
    from music21.midi import translate

    midi_bytes = translate.streamToMidiFile(stream).writestr()
    score = clean_score(symusic.Score.from_midi(midi_bytes))
    pickup = _pickup_quarters(stream)
    if pickup:  # music21 writes a pickup at tick 0; move the notes so bar lines fall where the score has them
        for track in score.tracks:
            track.shift_time(int(round(pickup * score.ticks_per_quarter)), inplace=True)
    return score


def _pickup_quarters(stream) -> float:
    """How many quarter notes the first measure's pickup leaves out (its paddingLeft), else 0."""
    parts = getattr(stream, "parts", None)
    container = parts[0] if parts is not None and len(parts) else stream
    measures = container.getElementsByClass("Measure")
    if not len(measures):
        return 0.0
    return float(measures[0].paddingLeft or 0.0)
