"""What a written MIDI file holds, read with mido alone (not through tunesmith or symusic), so that tests
check the product's files with code that shares nothing with the code that wrote them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import mido

DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Note:
    start: int  # ticks
    end: int
    pitch: int
    velocity: int
    program: int  # General MIDI program; 128 for the drum channel
    track: int


@dataclass
class MidiFacts:
    tpq: int
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per quarter note)
    meters: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, numerator, denominator)
    notes: list[Note] = field(default_factory=list)

    @property
    def meter(self) -> tuple[int, int]:
        """The one time signature the file must hold (4/4 when it holds none)."""
        meters = {(num, den) for _, num, den in self.meters} or {(4, 4)}
        assert len(meters) == 1, f"more than one time signature: {sorted(meters)}"
        return meters.pop()

    @property
    def beat_ticks(self) -> int:
        """Ticks per beat, the time signature's note value (a quaver in 6/8)."""
        return self.tpq * 4 // self.meter[1]

    @property
    def bar_ticks(self) -> int:
        return self.beat_ticks * self.meter[0]

    @property
    def end(self) -> int:
        """The tick where the last note ends (0 without notes)."""
        return max((n.end for n in self.notes), default=0)

    @property
    def bars(self) -> int:
        """Bars spanned by the notes, a partial last bar counted."""
        return math.ceil(self.end / self.bar_ticks)

    @property
    def bpm(self) -> float:
        """Quarter notes per minute of the one tempo the file must hold (120 when it holds none)."""
        values = {us for _, us in self.tempos} or {500_000}
        assert len(values) == 1, f"more than one tempo: {sorted(values)}"
        return 60_000_000 / values.pop()

    @property
    def seconds(self) -> float:
        """Length of the whole bars spanned, at the tempo."""
        return self.bars * self.bar_ticks / self.tpq * 60 / self.bpm

    @property
    def programs(self) -> list[int]:
        """The programs that play notes, one entry per track that plays."""
        return sorted(p for p, _ in {(n.program, n.track) for n in self.notes})

    def pitches(self) -> list[int]:
        return [n.pitch for n in self.notes if n.program != 128]

    def notes_per_bar(self) -> list[int]:
        counts = [0] * self.bars
        for n in self.notes:
            counts[n.start // self.bar_ticks] += 1
        return counts

    def velocities_per_bar(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in range(self.bars)]
        for n in self.notes:
            out[n.start // self.bar_ticks].append(n.velocity)
        return out

    def last_onset(self) -> list[Note]:
        """The notes starting at the last onset, lowest first."""
        last = max(n.start for n in self.notes)
        return sorted((n for n in self.notes if n.start == last), key=lambda n: n.pitch)

    def sounding_at_most(self) -> int:
        """The most notes sounding at once."""
        events = sorted([(n.end, -1) for n in self.notes] + [(n.start, 1) for n in self.notes])
        level = top = 0
        for _, step in events:
            level += step
            top = max(top, level)
        return top


def read_midi_independently(path: str | Path) -> MidiFacts:
    """Tempo, meter and note events of a Standard MIDI File, by mido, in absolute ticks."""
    midi = mido.MidiFile(str(path))
    facts = MidiFacts(tpq=midi.ticks_per_beat)
    for index, track in enumerate(midi.tracks):
        tick = 0
        programs = dict.fromkeys(range(16), 0)
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for message in track:
            tick += message.time
            if message.type == "set_tempo":
                facts.tempos.append((tick, message.tempo))
            elif message.type == "time_signature":
                facts.meters.append((tick, message.numerator, message.denominator))
            elif message.type == "program_change":
                programs[message.channel] = message.program
            elif message.type == "note_on" and message.velocity > 0:
                sounding.setdefault((message.channel, message.note), []).append((tick, message.velocity))
            elif message.type in ("note_on", "note_off"):
                started = sounding.get((message.channel, message.note))
                assert started, f"track {index}: a note-off without a note-on at tick {tick}"
                start, velocity = started.pop(0)
                program = 128 if message.channel == DRUM_CHANNEL else programs[message.channel]
                facts.notes.append(Note(start, tick, message.note, velocity, program, index))
        assert not any(sounding.values()), f"track {index}: notes never released"
    facts.notes.sort(key=lambda n: (n.start, n.pitch, n.track))
    return facts


def generate_and_read(run_cli, run_dir: Path, out: Path, *args) -> list[MidiFacts]:
    """`tunesmith generate RUN --out OUT ARGS` through the real entry point (no audio or picture unless ARGS
    ask), then every .mid it wrote, read independently, in name order."""
    code, _, err = run_cli("generate", run_dir, "--out", out, "--no-wav", "--no-png", *args)
    assert code == 0, err
    return [read_midi_independently(path) for path in sorted(Path(out).glob("*.mid"))]
