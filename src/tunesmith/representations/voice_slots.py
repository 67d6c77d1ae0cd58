"""Voice slots: tracks that share a program kept apart in one MidiTok token stream, with their names.

MidiTok's one-stream tokenizations (REMI, TSD with `one_token_stream_for_programs`) know a note's track only
by its Program token, so the four voices of a chorale (Soprano, Alto, Tenor and Bass, all General MIDI
program 0) would come back as one track "Acoustic Grand Piano". `VoiceSlots` is the corpus's table of
voices, fitted once: each voice plays a real program and is written with the Program token of its *slot*.
The first voice of a program writes that program's own token; the other voices of the same program write
the tokens of General MIDI programs that no piece of the corpus plays (127, 126, ... downwards). The
vocabulary and the number of tokens per note stay what they were: only which Program token a note gets
changes. Encoding relabels each track's program to its voice's slot (on a copy of the score); decoding maps
each slot back to its voice's program and name, the tracks in the table's order.

The table is fitted from the tracks with notes, programs counted as the controls count them (128 = drums):
- the corpus's usual line-up (its most common list of (program, name)) gives the first voices, in its order;
- a program has as many voices as the most tracks it has in one piece; they take the names the line-up
  gives, then the names its tracks have most often, then '<instrument> 2', '<instrument> 3'...;
- drums are one voice (MidiTok writes drum notes with their own pitch tokens under Program -1);
- the slots go to the extra voices found in the most pieces first; a voice left without one is left out,
  and its tracks share their program's first voice (as without voice slots).

A piece is matched to the table track by track: first by (program, name), then each remaining track takes
the next free voice of its program in table order; a track beyond its program's voices shares the program's
first voice, and a program the corpus never played keeps its own token (a slot it happens to collide with
is read as that slot's voice).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import symusic

from tunesmith.errors import TunesmithError
from tunesmith.instruments import DRUMS, instrument_name, program_number
from tunesmith.piece import Piece

VOICE_KEYS = ("slot", "program", "name")


@dataclasses.dataclass(frozen=True)
class Voice:
    """One voice of the corpus: the instrument it plays and the Program token (as a program) it is written with."""

    slot: int  # the General MIDI program whose Program token writes it (DRUMS for the drum kit)
    program: int  # the program it plays (DRUMS = drums)
    name: str


def _line_up(piece: Piece) -> list[tuple[int, str]]:
    """(program, name) of each track with notes, in the piece's order."""
    return [(program_number(p, d), name.strip()) for name, p, d in piece.instruments]


class VoiceSlots:
    """The voices of a corpus and the Program token that writes each: see the module's docstring."""

    def __init__(self, voices: list[Voice]):
        self.voices = list(voices)
        slots = [v.slot for v in self.voices]
        if len(set(slots)) != len(slots):
            raise TunesmithError(f"the voice table gives one slot to two voices: {slots}")
        self.by_slot = {v.slot: v for v in self.voices}
        self.by_program: dict[int, list[Voice]] = {}
        for v in self.voices:
            self.by_program.setdefault(v.program, []).append(v)
        self.by_name = {(v.program, v.name): v for v in reversed(self.voices)}  # a repeated name: its first voice

    # --- fitting ---
    @classmethod
    def fit(cls, pieces: list[Piece]) -> VoiceSlots:
        """The table of `pieces`' voices."""
        line_ups = [_line_up(p) for p in pieces]
        used = {program for line_up in line_ups for program, _ in line_up}
        most: Counter[int] = Counter()  # program -> the most tracks it has in one piece
        pieces_with: Counter[tuple[int, int]] = Counter()  # (program, k) -> pieces with more than k of its tracks
        named: dict[int, Counter[str]] = {}  # program -> name -> pieces with such a track
        for line_up in line_ups:
            counts = Counter(program for program, _ in line_up)
            for program, count in counts.items():
                count = 1 if program == DRUMS else count
                most[program] = max(most[program], count)
                pieces_with.update((program, k) for k in range(count))
            for program, name in dict.fromkeys(line_up):  # each once, in order (a set's order is hashing's)
                if name:
                    named.setdefault(program, Counter())[name] += 1
        usual = Counter(tuple(line_up) for line_up in line_ups if line_up).most_common(1)
        usual_line_up = list(usual[0][0]) if usual else []
        names: dict[int, list[str]] = {}
        for program in sorted(most):
            given = [name for p, name in usual_line_up if p == program and name]
            frequent = [name for name, _ in (named.get(program) or Counter()).most_common()]
            chosen = list(dict.fromkeys(given + frequent))[:most[program]]
            base = instrument_name(program)
            chosen += [base if k == 0 else f"{base} {k + 1}" for k in range(len(chosen), most[program])]
            names[program] = [_unique(name, chosen[:k]) for k, name in enumerate(chosen)]
        # table order: the usual line-up's voices, then the others by program
        order: list[tuple[int, int]] = []
        for program, _ in usual_line_up:
            k = sum(1 for p, _ in order if p == program)
            if k < most[program]:
                order.append((program, k))
        order += [(program, k) for program in sorted(most) for k in range(most[program]) if (program, k) not in order]
        free = [program for program in range(127, -1, -1) if program not in used]
        extra = sorted((key for key in order if key[1] > 0), key=lambda key: (-pieces_with[key], order.index(key)))
        slot = {key: free[i] for i, key in enumerate(extra[:len(free)])}
        slot.update({(program, 0): program for program in most})
        return cls([Voice(slot[key], key[0], names[key[0]][key[1]]) for key in order if key in slot])

    def usual(self, pieces: list[Piece], share: float) -> list[int]:
        """The slots of the voices that play in at least `share` of `pieces` (all of them when none does): the
        corpus's usual line-up, in the table's order."""
        playing: Counter[int] = Counter()
        for piece in pieces:
            playing.update({slot for slot in self.slots_of(_line_up(piece)) if slot is not None})
        usual = [v.slot for v in self.voices if playing[v.slot] >= share * len(pieces)]
        return usual or [v.slot for v in self.voices]

    # --- saving ---
    def to_list(self) -> list[dict[str, Any]]:
        """The table as config.json stores it: [{"slot": 0, "program": 0, "name": "Soprano"}, ...]."""
        return [dataclasses.asdict(v) for v in self.voices]

    @classmethod
    def from_list(cls, values: list[Any]) -> VoiceSlots:
        """Rebuild from `to_list()` output; a malformed entry is a one-line error."""
        if not isinstance(values, list):
            raise TunesmithError(f"tokens representation setting voices must be a list of voices (got {values!r})")
        voices = []
        for entry in values:
            if not isinstance(entry, dict) or sorted(entry) != sorted(VOICE_KEYS):
                raise TunesmithError(f"a voice of the tokens representation is {{'slot', 'program', 'name'}} "
                                     f"(got {entry!r})")
            slot, program, name = entry["slot"], entry["program"], entry["name"]
            if not all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= DRUMS for x in (slot, program)) \
                    or not isinstance(name, str):
                raise TunesmithError(f"a voice's slot and program are 0-{DRUMS} and its name is text (got {entry!r})")
            voices.append(Voice(slot, program, name))
        return cls(voices)

    # --- pieces <-> slots ---
    def slots_of(self, line_up: list[tuple[int, str]]) -> list[int]:
        """The slot of each (program, name) track of one piece: by name, else the next free voice of its program."""
        out: list[int | None] = [None] * len(line_up)
        taken: set[Voice] = set()
        for i, key in enumerate(line_up):
            voice = self.by_name.get(key)
            if voice is not None and voice not in taken:
                out[i] = voice.slot
                taken.add(voice)
        for i, (program, _) in enumerate(line_up):
            if out[i] is None:
                voices = self.by_program.get(program, [])
                voice = next((v for v in voices if v not in taken), None)
                if voice is not None:
                    taken.add(voice)
                out[i] = voice.slot if voice is not None else voices[0].slot if voices else program
        return [slot for slot in out if slot is not None]

    def relabel(self, score: symusic.Score) -> symusic.Score:
        """A copy of `score` whose tracks carry their voices' slots as programs (drums stay drums)."""
        out = score.copy()
        tracks = [t for t in out.tracks if len(t.notes)]
        line_up = [(program_number(int(t.program), bool(t.is_drum)), str(t.name).strip()) for t in tracks]
        for track, slot in zip(tracks, self.slots_of(line_up), strict=True):
            if not track.is_drum:
                track.program = 0 if slot == DRUMS else slot
        return out

    def restore(self, score: symusic.Score) -> symusic.Score:
        """`score` (decoded, programs being slots) with each track's real program and name, in table order; a
        track whose slot is no voice's keeps its program and name."""
        order = {v.slot: i for i, v in enumerate(self.voices)}
        placed = []
        for position, track in enumerate(score.tracks):
            slot = program_number(int(track.program), bool(track.is_drum))
            voice = self.by_slot.get(slot)
            if voice is not None:
                track.program = 0 if voice.program == DRUMS else voice.program
                track.is_drum = voice.program == DRUMS
                track.name = voice.name
            placed.append((order.get(slot, len(order)), position, track))
        score.tracks = symusic.core.TrackTickList([track for _, _, track in sorted(placed, key=lambda x: x[:2])])
        return score

    def slots_for(self, programs: list[int]) -> list[int]:
        """The slots of the voices that play these programs, in table order (a program without voices: itself)."""
        wanted = set(programs)
        out = [v.slot for v in self.voices if v.program in wanted]
        return out + sorted(p for p in wanted if p not in self.by_program)

    def voices_for(self, programs: list[int]) -> list[Voice]:
        """The voices playing these programs, in table order."""
        wanted = set(programs)
        return [v for v in self.voices if v.program in wanted]


def _unique(name: str, before: list[str]) -> str:
    """`name`, numbered when an earlier voice of the program has it already."""
    k, out = 1, name
    while out in before:
        k += 1
        out = f"{name} {k}"
    return out
