"""Logit masks for event-token models: the hard controls, as pure functions of what a row has written.

`TokenVocab` reads what each id means (type, pitch, velocity, position, duration, program, meter) once.
`MusicConstraints` holds the static masks built from the Targets (scale, pitch range, velocities, programs,
meter, tempo, rhythm) and `allowed(state)` combines them with the row's `RowState` (bar, position, notes in
the bar, the last event) into the ids allowed next. Every mask is a bool vector over the vocabulary, so
each can be checked on hand-made logits (`apply_mask`). REMI's note grammar (Program, Pitch, Velocity,
Duration) is kept, so a masked choice never breaks a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from tunesmith.controls.targets import Targets
from tunesmith.errors import ControlError
from tunesmith.instruments import DRUMS
from tunesmith.representations.tokens import TokenRepresentation

SIMPLE_DURATIONS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)  # beats
MAX_CHORD = 12  # notes starting together, at most


def apply_mask(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """`logits` [..., V] with every id not `allowed` [..., V] set to -inf (what the sampler draws from)."""
    return np.where(allowed, logits, np.float32(-np.inf))


class TokenVocab:
    """What each token id of a representation means, as tensors over the vocabulary."""

    def __init__(self, rep: TokenRepresentation):
        names = rep.token_names()
        self.size = len(names)
        self.kind = [n.split("_", 1)[0] if i < rep.base_vocab_size else "Cond" for i, n in enumerate(names)]
        self.pos_res = int(max(rep.tokenizer.config.beat_res.values()))
        self.value = torch.full((self.size,), -1.0)
        self.meter: dict[int, tuple[int, int]] = {}
        for i, name in enumerate(names[:rep.base_vocab_size]):
            kind, _, raw = name.partition("_")
            if kind in ("Pitch", "PitchDrum", "Velocity", "Position", "Program"):
                self.value[i] = float(raw)
            elif kind == "Duration":
                whole, frac, res = (int(v) for v in raw.split("."))
                self.value[i] = (whole + frac / res) * self.pos_res
            elif kind == "Tempo":
                self.value[i] = float(raw)
            elif kind == "TimeSig":
                num, den = (int(v) for v in raw.split("/"))
                self.meter[i] = (num, den)
        self.ids = {name: i for i, name in enumerate(names)}
        self.values = self.value.tolist()  # the same as floats (reading one from the tensor costs more)

    def of(self, *kinds: str) -> torch.Tensor:
        """Bool mask of the ids of these kinds ('Pitch', 'Bar', 'Cond'...)."""
        return torch.tensor([k in kinds for k in self.kind])


@dataclass
class RowState:
    """What a row has written since its music began: enough to decide the next allowed events."""

    bars: int = 0  # bar lines written (the current bar is bars - 1)
    last: str = ""  # kind of the last event
    pos: int = -1  # current position in the bar
    notes_in_bar: int = 0
    onset_pitches: list[int] = field(default_factory=list)  # pitches at the latest onset
    busy_until: float = 0.0  # time (positions from the first bar line) when the last note ends
    meter_id: int | None = None
    bar_start: float = 0.0
    bar_len: int = 32
    last_pitch: int = -1
    ended: bool = False
    melody_open: bool = False  # writing the melody's note at this onset
    melody_placed: bool = False  # the melody's note at this onset is written


class MusicConstraints:
    """The hard controls for one generation: static masks plus per-row rules.

    `total_bars` bars are written after the music starts (REMI: each begins with a Bar token). In infill
    mode the row writes `total_bars` bars beginning at bar `bar_offset` of the piece, then `end_id`.
    """

    def __init__(self, rep: TokenRepresentation, targets: Targets, *, programs: list[int] | None = None,
                 voices: list[int] | None = None, meter: str | None = None, total_bars: int | None = None, bar_offset: int = 0,
                 piece_bars: int | None = None, end_id: int | None = None,
                 melody: list[tuple[int, int, int, int, int]] | None = None):
        self.rep, self.targets, self.vocab = rep, targets, TokenVocab(rep)
        v = self.vocab
        self.total_bars = total_bars or targets.bars
        self.piece_bars = piece_bars or targets.bars
        self.bar_offset, self.end_id = bar_offset, end_id
        self.bar_id = rep.bar_id
        if self.bar_id is None:
            raise ControlError("these controls need bar tokens: the run's tokenization has none (use REMI)")
        self.pitch = v.of("Pitch")
        self.velocity, self.position, self.duration = v.of("Velocity"), v.of("Position"), v.of("Duration")
        self.program, self.timesig, self.tempo = v.of("Program"), v.of("TimeSig"), v.of("Tempo")
        self.has_programs = bool(self.program.any())
        self.pitch_id = {int(v.value[i]): i for i in self.pitch.nonzero().flatten().tolist()}
        self.note_start = self.program if self.has_programs else (self.pitch | v.of("PitchDrum"))
        # music events only: no PAD/BOS/MASK, no conditioning or infilling tokens
        self.music = ~v.of("PAD", "BOS", "EOS", "MASK", "Cond")
        self.music[self.bar_id] = True
        # the Program tokens (as programs, 128 = drums) that write the allowed programs' voices, top voice first
        self.slots = rep.program_slots(programs) if programs is not None else None
        if voices is not None:  # only these voices (slots) of those programs: the corpus's usual line-up
            self.slots = [slot for slot in (self.slots if self.slots is not None else voices) if slot in voices]
        self.pitch_ok = self._pitch_mask(targets.scale, targets.pitch_range)
        self.tonic_only: torch.Tensor | None = None  # the tonic alone, for the piece's very last note
        self.tonic_ok = self._tonic_mask()
        # the tonic the last bar must sound (with --end-on-tonic), else None
        self.tonic = targets.key.tonic if self.tonic_ok is not None and targets.key is not None else None
        self.program_ok = self._program_mask(self.slots)
        self.duration_ok = self._duration_mask()
        self.meter_id = self._meter_id(meter or ("{}/{}".format(*targets.time_signature) if targets.time_signature else None))
        self.tempo_ok = self._tempo_mask(targets.tempo)
        # REMI's note grammar: after Program comes Pitch, then Velocity, then Duration
        self.kinds = {"Program": self.pitch, "ProgramDrum": v.of("PitchDrum"), "Pitch": self.velocity,
                      "PitchDrum": self.velocity, "Velocity": self.duration}
        # outside a note, only its first part may come
        inside = self.velocity | self.duration
        self.between = ~(inside | self.pitch | v.of("PitchDrum")) if self.has_programs else ~inside
        self._velocity_cache: dict[int, torch.Tensor] = {}
        self._position_cache: dict[tuple[int, int, int], torch.Tensor] = {}
        self._duration_cache: dict[int, torch.Tensor] = {}
        self._note_cache: dict[tuple, torch.Tensor] = {}
        self._free_cache: dict[tuple, torch.Tensor] = {}  # allowed() outside a note, by what decides it
        self.melody = Melody(self, melody) if melody is not None else None

    # --- static masks ---
    def _pitch_mask(self, scale, pitch_range) -> torch.Tensor:
        values = self.vocab.value.long()
        ok = torch.ones(self.vocab.size, dtype=torch.bool)
        if scale is not None:
            ok &= ~self.pitch | torch.isin(values % 12, torch.tensor(sorted(scale)))
        if pitch_range is not None:
            ok &= ~self.pitch | ((values >= pitch_range[0]) & (values <= pitch_range[1]))
        if not (ok & self.pitch).any():
            raise ControlError("impossible request: no pitch the model can write fits --scale-lock and --pitch-range")
        return ok

    def _tonic_mask(self) -> torch.Tensor | None:
        key = self.targets.key
        if not self.targets.end_on_tonic or key is None:
            return None
        third = 3 if key.mode == "minor" else 4
        triad = torch.tensor([key.tonic, (key.tonic + third) % 12, (key.tonic + 7) % 12])
        ok = self.pitch_ok & (~self.pitch | torch.isin(self.vocab.value.long() % 12, triad))
        if self.targets.monophonic:  # one voice: its last notes are the tonic itself
            ok &= ~self.pitch | (self.vocab.value.long() % 12 == key.tonic)
        tonic = self.pitch & ok & (self.vocab.value.long() % 12 == key.tonic)
        if not tonic.any():
            raise ControlError(f"impossible request: --end-on-tonic, but no {key} tonic fits the other controls")
        self.tonic_only = ~self.pitch | tonic
        return ok

    def _program_mask(self, slots: list[int] | None) -> torch.Tensor:
        """Program tokens limited to `slots`: every voice of the allowed programs (a run's voice table maps an
        instrument to the slots of its voices; without one a program is its own token)."""
        ok = torch.ones(self.vocab.size, dtype=torch.bool)
        if slots is not None and self.has_programs:
            allowed = torch.tensor([-1 if p == DRUMS else p for p in slots])  # MidiTok's drums are Program_-1
            ok &= ~self.program | torch.isin(self.vocab.value.long(), allowed)
        return ok

    def _duration_mask(self) -> torch.Tensor:
        ok = torch.ones(self.vocab.size, dtype=torch.bool)
        if self.targets.simple_rhythm:
            simple = torch.tensor([d * self.vocab.pos_res for d in SIMPLE_DURATIONS])
            ok &= ~self.duration | torch.isin(self.vocab.value, simple)
        return ok

    def _meter_id(self, meter: str | None) -> int | None:
        if meter is None:
            return None
        token = self.vocab.ids.get(f"TimeSig_{meter}")
        if token is None:
            known = ", ".join(sorted(f"{n}/{d}" for n, d in self.vocab.meter.values()))
            raise ControlError(f"--time-signature {meter} is not one this run can write (it knows: {known})")
        return token

    def _tempo_mask(self, tempo: float | None) -> torch.Tensor:
        ok = torch.ones(self.vocab.size, dtype=torch.bool)
        if tempo is not None and self.tempo.any():
            values = torch.where(self.tempo, self.vocab.value, torch.tensor(1e9))
            ok &= ~self.tempo
            ok[int(torch.argmin((values - tempo).abs()))] = True
        return ok

    def velocity_ok(self, bar: int) -> torch.Tensor:
        """Velocities allowed in `bar` of the piece (the --velocity range or the dynamics curve)."""
        if bar not in self._velocity_cache:
            window = self.targets.velocity_at(bar)
            ok = torch.ones(self.vocab.size, dtype=torch.bool)
            if window is not None:
                values = self.vocab.value
                inside = self.velocity & (values >= window[0]) & (values <= window[1])
                if not inside.any():  # no velocity bin in the window: the nearest one inside the range
                    lo, hi = self.targets.velocity or (1, 127)
                    candidates = self.velocity & (values >= lo) & (values <= hi)
                    if not candidates.any():
                        raise ControlError(f"impossible request: no velocity the model can write lies in {lo}-{hi}")
                    centre = (window[0] + window[1]) / 2
                    dist = torch.where(candidates, (values - centre).abs(), torch.tensor(1e9))
                    inside = torch.zeros_like(ok)
                    inside[int(torch.argmin(dist))] = True
                ok = ~self.velocity | inside
            self._velocity_cache[bar] = ok
        return self._velocity_cache[bar]

    def _positions_after(self, pos: int, bar_len: int, earliest: int) -> torch.Tensor:
        key = (pos, bar_len, earliest)
        if key not in self._position_cache:
            values = self.vocab.value
            ok = ~self.position | ((values > pos) & (values >= earliest) & (values < bar_len))
            if self.targets.simple_rhythm:
                ok &= ~self.position | (values % (self.vocab.pos_res // 2) == 0)
            self._position_cache[key] = ok
        return self._position_cache[key]

    # --- per row ---
    def bar_complete(self, s: RowState) -> bool:
        """May the current bar be closed (by a bar line or the end)?"""
        if s.bars == 0:
            return True
        lo = self.targets.density[0] if self.targets.density else 1
        if s.notes_in_bar < lo or s.last in self.kinds:
            return False
        if self.tonic is not None and self.bar_offset + s.bars == self.piece_bars:
            return any(p % 12 == self.tonic for p in s.onset_pitches)
        return True

    def allowed(self, s: RowState) -> torch.Tensor:
        """Bool [V]: the ids this row may write next (not to be changed in place: it may be kept)."""
        if s.bars == 0:
            ok = torch.zeros_like(self.music)
            ok[self.bar_id] = True
            return ok
        hi = self.targets.density[1] if self.targets.density else None
        if s.last in self.kinds:  # inside a note: its next part only
            pitches = self._note_pitches(s, hi)
            velocities = self.velocity_ok(self.bar_offset + s.bars - 1)
            key = (s.last, id(pitches), id(velocities))  # both are kept tensors: their ids stay theirs
            if key not in self._note_cache:
                self._note_cache[key] = self.music & self.kinds[s.last] & pitches & velocities & self.duration_ok
            ok = self._note_cache[key]
            if s.last == "Program" and s.onset_pitches:  # no pitch twice at one onset (MIDI would merge them)
                taken = (key, *sorted(s.onset_pitches))
                if taken not in self._note_cache:
                    self._note_cache[taken] = ok.clone()
                    self._note_cache[taken][[self.pitch_id[p] for p in s.onset_pitches if p in self.pitch_id]] = False
                ok = self._note_cache[taken]
            if self.targets.monophonic and s.last == "Velocity":
                ok = ok & self._durations_within(s.bar_len - max(s.pos, 0))
            return self.melody.restrict(ok, s) if self.melody else ok
        capped = hi is not None and s.notes_in_bar >= hi
        chord_full = (len(s.onset_pitches) >= (1 if self.targets.monophonic else MAX_CHORD)
                      or not self._pitch_left(s, hi))  # no note can start where no pitch is left for it
        closing, last_bar = self.bar_complete(s), s.bars >= self.total_bars
        # the rest depends on these alone: the same state's mask is kept (a melody to place reads more)
        state = (s.last, s.meter_id, s.pos, s.bar_len, self._earliest(s), capped, chord_full, closing, last_bar)
        kept = self._free_cache.get(state) if self.melody is None else None
        if kept is None:
            ok = self._between_notes(s, capped, chord_full or s.pos < 0, closing, last_bar)
            if self.melody is None:
                self._free_cache[state] = ok
            else:  # restrict() changes the mask in place: this one is fresh, never kept
                ok = self.melody.restrict(ok, s)
            return ok
        return kept

    def _note_pitches(self, s: RowState, hi: int | None) -> torch.Tensor:
        """The pitches a note may take at this onset (kept tensors): the scale and range, and in a last bar that
        must sound the tonic, the tonic's chord (the tonic alone for a last note still without it)."""
        in_last_bar = self.tonic is not None and self.bar_offset + s.bars == self.piece_bars
        if in_last_bar and self.tonic_ok is not None and self.tonic_only is not None:
            tonic_missing = self.tonic not in {p % 12 for p in s.onset_pitches}
            last_note = (hi is not None and s.notes_in_bar >= hi - 1) or self.targets.monophonic
            return self.tonic_only if tonic_missing and last_note else self.tonic_ok
        return self.pitch_ok

    def _pitch_left(self, s: RowState, hi: int | None) -> bool:
        """Whether a new note at this onset has a pitch left (the onset's own pitches are taken)."""
        if not s.onset_pitches:
            return True
        pitches = self._note_pitches(s, hi)
        key = ("left", id(pitches), *sorted(s.onset_pitches))
        if key not in self._note_cache:
            free = (self.pitch & pitches).clone()
            free[[self.pitch_id[p] for p in s.onset_pitches if p in self.pitch_id]] = False
            self._note_cache[key] = free.any().reshape(1)
        return bool(self._note_cache[key])

    def _between_notes(self, s: RowState, capped: bool, no_note: bool, closing: bool, last_bar: bool) -> torch.Tensor:
        """`allowed` outside a note: where the next onset may be, a new note at this one, the bar's end..."""
        ok = self.music.clone()
        if s.last == "Bar" and self.timesig.any():
            ok &= self.timesig
        if self.meter_id is not None or s.meter_id is not None:
            ok &= ~self.timesig
            ok[self.meter_id if self.meter_id is not None else s.meter_id] = s.last == "Bar" or not self.timesig.any()
        ok &= self.tempo_ok & self.program_ok & self.between
        ok &= self._positions_after(s.pos, s.bar_len, self._earliest(s))
        if capped or no_note:
            ok &= ~self.note_start
        if capped:  # no new onset can get a note
            ok &= ~self.position
        if s.last != "Position":  # REMI writes a tempo change right after a position
            ok &= ~self.tempo
        if s.last in ("Position", "Tempo"):  # an onset gets at least one note
            ok &= self.note_start | (self.tempo if s.last == "Position" else False)
            return ok
        ok[self.bar_id] = bool(closing and (self.end_id is None or not last_bar))
        ok[self.rep.eos_id] = bool(closing and last_bar and self.end_id is None)
        if self.end_id is not None:
            ok[self.end_id] = bool(closing and last_bar)
        return ok

    def _durations_within(self, positions: int) -> torch.Tensor:
        if positions not in self._duration_cache:
            self._duration_cache[positions] = ~self.duration | (self.vocab.value <= positions)
        return self._duration_cache[positions]

    def _earliest(self, s: RowState) -> int:
        if not self.targets.monophonic:
            return 0
        return int(max(0.0, s.busy_until - s.bar_start))

    def condition(self, s: RowState, token: int) -> None:
        """Note an event written before the music: a CondTimeSig fixes the row's meter, and so does the first
        TimeSig of bars given before it (the piece a loop's last bar is written for)."""
        if self.meter_id is not None:
            return
        if token < self.rep.base_vocab_size:
            if s.meter_id is None and token in self.vocab.meter:
                s.meter_id = token
            return
        name = self.rep.conditions.names[token - self.rep.base_vocab_size]
        if name.startswith("CondTimeSig_"):
            s.meter_id = self.vocab.ids.get("TimeSig_" + name.split("_", 1)[1])

    def advance(self, s: RowState, token: int) -> None:
        """Update `s` after the row wrote `token`."""
        kind = self.vocab.kind[token]
        value = self.vocab.values[token]
        if token == self.bar_id:
            if s.bars > 0:
                s.bar_start += s.bar_len
            s.bars += 1
            s.pos, s.notes_in_bar, s.onset_pitches = -1, 0, []
            s.melody_placed = False
        elif kind == "TimeSig":
            num, _den = self.vocab.meter[token]
            s.bar_len = num * self.vocab.pos_res
            if s.meter_id is None:
                s.meter_id = token
        elif kind == "Position":
            s.pos = int(value)
            s.onset_pitches = []
            s.melody_placed = False
        elif kind == "Program" and value == -1:
            kind = "ProgramDrum"
        elif kind == "Program" and self.melody is not None:
            s.melody_open = self.melody.pending(s)
        elif kind in ("Pitch", "PitchDrum"):
            s.notes_in_bar += 1
            s.onset_pitches.append(int(value))
            s.last_pitch = int(value)
        elif kind == "Duration":
            if s.melody_open:
                s.melody_open, s.melody_placed = False, True
            s.busy_until = max(s.busy_until, s.bar_start + max(s.pos, 0) + value)
        elif token == self.rep.eos_id or token == self.end_id:
            s.ended = True
        s.last = kind

    def done(self, s: RowState, token: int) -> bool:
        """Has the row finished (the end event, or the bar line after the last bar)?"""
        if token == self.rep.eos_id or (self.end_id is not None and token == self.end_id):
            return True
        return self.end_id is None and token == self.bar_id and s.bars > self.total_bars


class Melody:
    """A melody kept on top (harmonisation): at each of its onsets its note is written first, the onset
    then gets four notes in all, and every other note lies below the melody note sounding."""

    VOICES = 4

    def __init__(self, c: MusicConstraints, notes: list[tuple[int, int, int, int, int]]):
        self.c = c
        v = c.vocab
        self.onsets: dict[int, dict[int, tuple[int, int, int]]] = {}
        self.timeline: list[tuple[int, int, int]] = []  # (bar, position, pitch)
        velocities = v.of("Velocity").nonzero().flatten()
        durations = v.of("Duration").nonzero().flatten()
        for bar, pos, pitch, length, velocity in sorted(notes):
            if pitch not in c.pitch_id:
                raise ControlError(f"--harmonise: the melody's {pitch} is outside what the model can write")
            vel = int(velocities[torch.argmin((v.value[velocities] - velocity).abs())])
            dur = int(durations[torch.argmin((v.value[durations] - length).abs())])
            self.onsets.setdefault(bar, {})[pos] = (c.pitch_id[pitch], vel, dur)
            self.timeline.append((bar, pos, pitch))
        # the melody's voice: the top one allowed (the voice table's order; else the lowest program)
        programs = [i for i in c.program.nonzero().flatten().tolist() if c.program_ok[i] and v.values[i] >= 0]
        rank = {slot: k for k, slot in enumerate(c.slots or [])}
        programs.sort(key=lambda i: (rank.get(int(v.values[i]), len(rank)), i))
        self.program = programs[0] if programs else None

    def here(self, s: RowState) -> tuple[int, int, int] | None:
        return self.onsets.get(self.c.bar_offset + s.bars - 1, {}).get(s.pos)

    def pending(self, s: RowState) -> bool:
        """Is the melody's note at this onset still to be written?"""
        return self.here(s) is not None and not s.melody_placed

    def sounding(self, s: RowState) -> int:
        """Pitch of the melody note sounding at the row's current position (128 before the first)."""
        now = (self.c.bar_offset + s.bars - 1, s.pos)
        before = [p for b, q, p in self.timeline if (b, q) <= now]
        return before[-1] if before else 128

    def restrict(self, ok: torch.Tensor, s: RowState) -> torch.Tensor:
        """`ok` narrowed to what the melody allows. Inside a note it returns a new mask; outside one it changes
        `ok` in place (the caller gives it a fresh one)."""
        c, here = self.c, self.here(s)
        if s.melody_open and here is not None:  # the melody's own note: its pitch, velocity and duration
            part = {"Program": 0, "Pitch": 1, "Velocity": 2}[s.last]
            only = torch.zeros_like(ok)
            only[here[part]] = True
            return ok & only
        if s.last == "Program":  # a lower voice
            return ok & (~c.pitch | (c.vocab.value < self.sounding(s)))
        if s.last in c.kinds:
            return ok
        if self.pending(s):  # the melody's note comes first at its onset
            only = torch.zeros_like(ok)
            if self.program is not None:
                only[self.program] = True
            return ok & only
        bar = self.onsets.get(c.bar_offset + s.bars - 1, {})
        later = [p for p in bar if p > s.pos]
        if later:  # no skipping past the next melody onset, no leaving the bar before it
            ok &= ~c.position | (c.vocab.value <= min(later))
            ok[c.bar_id] = ok[c.rep.eos_id] = False
            if c.end_id is not None:
                ok[c.end_id] = False
        if here is not None and len(s.onset_pitches) < self.VOICES and s.pos >= 0:
            ok &= ~c.position
            ok[c.bar_id] = ok[c.rep.eos_id] = False
            if c.end_id is not None:
                ok[c.end_id] = False
        if len(s.onset_pitches) >= (self.VOICES if here is not None else self.VOICES - 1):
            ok &= ~c.note_start
        return ok
