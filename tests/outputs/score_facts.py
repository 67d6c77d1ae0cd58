"""Reading a written score back with music21, independently of how tunesmith wrote it: the notes each part
sounds (ties joined), how many ledger lines a note needs on its clef, and a four-part chorale made in code."""

from __future__ import annotations

from fractions import Fraction

import music21
import symusic

from tunesmith.piece import Piece

# the staff position (music21's diatonicNoteNum) of each clef sign's own note: G4 for G, F3 for F, C4 for C
SIGN_NOTE = {"G": music21.pitch.Pitch("G4").diatonicNoteNum, "F": music21.pitch.Pitch("F3").diatonicNoteNum,
             "C": music21.pitch.Pitch("C4").diatonicNoteNum}


def fraction(value) -> Fraction:
    """A music21 offset or quarter length (float or Fraction) as an exact fraction."""
    return Fraction(value).limit_denominator(10080)


def sounding_notes(*staves) -> list[tuple[int, Fraction, Fraction]]:
    """Sorted (MIDI pitch, onset, duration) of every note the staves sound, in quarters, a tied note once (ties
    joined as MusicXML joins them: same pitch, same staff, same voice)."""
    heard: list[list] = []
    open_ties: dict[tuple, list] = {}
    for number, staff in enumerate(staves):
        placed = []
        for measure in staff.getElementsByClass(music21.stream.Measure):
            for voice in measure.voices or [measure]:
                voice_id = str(voice.id) if isinstance(voice, music21.stream.Voice) else "1"
                for element in voice.notes:
                    if not isinstance(element, music21.harmony.Harmony):
                        placed.append((fraction(measure.offset + element.offset), voice_id, element))
        for onset, voice_id, element in sorted(placed, key=lambda p: p[0]):
            length = fraction(element.quarterLength)
            for single in (element.notes if element.isChord else [element]):
                key = (number, voice_id, single.pitch.midi)
                tie = single.tie.type if single.tie is not None else None
                held = open_ties.get(key)
                if tie in ("continue", "stop") and held is not None and held[1] + held[2] == onset:
                    held[2] += length
                    if tie == "stop":
                        del open_ties[key]
                    continue
                note = [single.pitch.midi, onset, length]
                heard.append(note)
                if tie == "start":
                    open_ties[key] = note
    return sorted((m, o, d) for m, o, d in heard)


def track_notes(piece: Piece, index: int, shift_ticks: int = 0) -> list[tuple[int, Fraction, Fraction]]:
    """Sorted (MIDI pitch, onset, duration) of a track's notes, in quarters, `shift_ticks` earlier."""
    tpq = piece.tpq
    return sorted((n.pitch, Fraction(n.time - shift_ticks, tpq), Fraction(n.duration, tpq))
                  for n in piece.score.tracks[index].notes)


def pickup_ticks(piece: Piece) -> int:
    """The tick of a 'pickup' marker (the padding a reader put before a pickup), else 0."""
    return next((int(m.time) for m in piece.score.markers if m.text == "pickup"), 0)


def ledger_lines(pitch, clef) -> int:
    """Ledger lines a written pitch needs on a clef, counted from the staff position of the clef's bottom line."""
    bottom = SIGN_NOTE[clef.sign] - 2 * (clef.line - 1) + 7 * (clef.octaveChange or 0)
    position = pitch.diatonicNoteNum
    return max(0, (position - (bottom + 8)) // 2, (bottom - position) // 2)


def most_ledger_lines(staff) -> int:
    """The most ledger lines any note of a staff needs on its (first) clef."""
    clef = staff.recurse().getElementsByClass(music21.clef.Clef).first()
    pitches = [p for n in staff.recurse().notes if not isinstance(n, music21.harmony.Harmony) for p in n.pitches]
    return max(ledger_lines(p, clef) for p in pitches)


def satb_chorale(bars: int = 4, name: str = "chorale", qpm: float = 96.4) -> Piece:
    """A four-part chorale in D major made in code: tracks Soprano, Alto, Tenor, Bass (all program 0), a D major
    key signature, half notes and quarters with some eighths, F#s in the soprano and the tenor."""
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    score.key_signatures.append(symusic.KeySignature(0, 2, 0))
    # one bar per chord: I, IV, V, vi ... (D, G, A, Bm), each voice's pitch per bar; rhythms vary by voice
    voicings = {"Soprano": (74, 74, 73, 78), "Alto": (69, 71, 69, 71), "Tenor": (57, 59, 57, 59),
                "Bass": (50, 55, 45, 47)}
    rhythms = {"Soprano": ((0, 480), (480, 480), (960, 960)), "Alto": ((0, 960), (960, 960)),
               "Tenor": ((0, 480), (480, 240), (720, 240), (960, 960)), "Bass": ((0, 1920),)}
    steps = {"Soprano": (0, 2, -1), "Alto": (0, -2), "Tenor": (0, 2, 4, 0), "Bass": (0,)}
    scale = (2, 4, 6, 7, 9, 11, 1)  # D major's pitch classes
    for voice, pitches in voicings.items():
        track = symusic.Track(voice, program=0)
        for bar in range(bars):
            base = pitches[bar % 4]
            for (start, length), step in zip(rhythms[voice], steps[voice], strict=True):
                pitch = base + step
                while pitch % 12 not in scale:
                    pitch -= 1
                track.notes.append(symusic.Note(bar * 1920 + start, length, pitch, 80))
        score.tracks.append(track)
    return Piece(score=score, name=name)


def unmatched_ties(xml: bytes) -> list[str]:
    """Ties in a MusicXML document that do not join: a tie that stops where none started, or starts while one is
    open, for the same pitch on the same staff in the same voice (how MusicXML readers match them)."""
    import xml.etree.ElementTree as ElementTree

    problems = []
    for part in ElementTree.fromstring(xml).iter("part"):
        open_ties: dict[tuple, str] = {}
        for measure in part.iter("measure"):
            for note in measure.iter("note"):
                pitch = note.find("pitch")
                if pitch is None:
                    continue
                key = (pitch.findtext("step"), pitch.findtext("alter") or "0", pitch.findtext("octave"),
                       note.findtext("staff") or "1", note.findtext("voice") or "1")
                types = [t.get("type") for t in note.findall("tie")]
                if "stop" in types and open_ties.pop(key, None) is None:
                    problems.append(f"bar {measure.get('number')}: {key} stops a tie that never started")
                if "start" in types:
                    if key in open_ties:
                        problems.append(f"bar {measure.get('number')}: {key} starts a tie while one is open")
                    open_ties[key] = measure.get("number") or ""
        problems.extend(f"bar {bar}: {key} starts a tie that never stops" for key, bar in open_ties.items())
    return problems
