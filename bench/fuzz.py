"""Fuzzing the readers: mutated real files fed to every reader, through the crash-isolated reading API.

    nice -n 10 python bench/fuzz.py [--inputs 100000] [--seed 0] [--workers 2] [--crashers tests/data/crashers]
Prints one JSON line: inputs, seconds, inputs/s and every outcome (pieces, rejections by reason, crashes and
hangs of a reader caught, crashes of the caller, Python tracebacks, crashers found).

Seeds: the bundled Bach chorales as MIDI (the corpus cache, `piece.score.dumps_midi()`), a few of them written
as MusicXML by music21 and a few of music21's compressed .mxl files, folk tunes in ABC from music21's corpus
(the books data/corpora.py reads), small Humdrum kern files, and hand-made MIDI edge cases (empty track,
zero-length notes, running status, huge delta times, SMPTE division, format 2, RIFF RMID, .kar, ...).
Mutations: for MIDI, byte and bit flips, interesting values, truncation, inserted and deleted bytes,
chunk-length, track-count, format and division edits, duplicated, removed and swapped chunks, MIDI tokens
(status bytes, meta events, overlong delta times) and splices of two files; for text (ABC, MusicXML, kern),
line deletions, duplications and swaps, character edits, format tokens and splices; a few inputs get another
kind's suffix. Each input is written to a tmpfs folder with its suffix and read in batches through
`tunesmith.data.read_pieces` (each file in a worker process that may crash or hang); a share (`--load-share`)
is read again one by one through `Piece.load` and `read_piece` (isolated inside: "one_by_one" in the JSON,
with "disagree" counting files whose two readings ended differently). The calling process is itself a child of this script, so
a crash of the caller is counted instead of ending the run.

The tool: hypothesis, not atheris. atheris is coverage-guided but runs the target in its own process, so a
segfault in symusic's C++ reader (the crash this looks for) ends the fuzzer, and symusic's native code is not
built with coverage instrumentation: atheris would see only tunesmith's thin Python wrapper around the MIDI
parser, so its guidance would have little to steer by. What finds crashes here is structure-aware mutation of
real files. The 100,000-input run uses a plain seeded mutator (`random.Random` seeded per input from
`--seed` and the input's number, so any input can be made again alone with `--replay N`); hypothesis drives
the same mutation functions in tests/data/test_fuzz.py (a `random.Random` seeded by `st.integers()`), where it is deterministic
(`derandomize=True`), shrinks a failing input to a few mutations, and runs in the test suite. hypothesis
itself is too slow per example for the bench's throughput, and its examples run one at a time in the test's
process, where this script reads in batches through a pool.

Every input that crashed or hung a reader is minimised (delta debugging: drop byte ranges while the input
still crashes the same way through read_pieces) and, with `--crashers DIR`, kept there as a small fixture.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# ---------- MIDI made by hand ----------


def vlq(value: int) -> bytes:
    """A MIDI variable-length quantity (7 bits a byte, high bit set on all but the last)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def chunk(tag: bytes, body: bytes, length: int | None = None) -> bytes:
    return tag + (len(body) if length is None else length).to_bytes(4, "big") + body


def header(fmt: int = 1, tracks: int = 1, division: int = 480) -> bytes:
    return chunk(b"MThd", fmt.to_bytes(2, "big") + tracks.to_bytes(2, "big") + division.to_bytes(2, "big"))


END_OF_TRACK = b"\x00\xff\x2f\x00"
TEMPO = b"\x00\xff\x51\x03\x07\xa1\x20"  # 120 quarter notes a minute
METER = b"\x00\xff\x58\x04\x04\x02\x18\x08"  # 4/4


def track(*events: bytes, end: bool = True) -> bytes:
    return chunk(b"MTrk", b"".join(events) + (END_OF_TRACK if end else b""))


def note(pitch: int, delta: int = 0, duration: int = 480, velocity: int = 90, channel: int = 0) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, velocity]) + vlq(duration) + bytes([0x80 | channel, pitch, 0])


def scale(start: int = 60, channel: int = 0, duration: int = 480) -> bytes:
    return b"".join(note(start + step, duration=duration, channel=channel) for step in (0, 2, 4, 5, 7, 9, 11, 12))


def riff_rmid(midi: bytes) -> bytes:
    """A MIDI file in a RIFF RMID wrapper (the .rmi layout): RIFF, size, RMID, a 'data' chunk."""
    data = b"data" + len(midi).to_bytes(4, "little") + midi + (b"\x00" if len(midi) % 2 else b"")
    return b"RIFF" + (4 + len(data)).to_bytes(4, "little") + b"RMID" + data


@dataclass(frozen=True)
class Seed:
    name: str
    suffix: str
    data: bytes

    @property
    def kind(self) -> str:
        return KIND_OF_SUFFIX[self.suffix]


KIND_OF_SUFFIX = {".mid": "midi", ".midi": "midi", ".kar": "midi", ".rmi": "midi", ".abc": "abc", ".musicxml": "musicxml",
                  ".xml": "musicxml", ".mxl": "mxl", ".krn": "kern"}


def edge_cases() -> list[Seed]:
    """Small MIDI files made by hand, each with one thing real files do now and then (some are rejected as
    they are: no notes, no tracks)."""
    plain = header(0, 1) + track(TEMPO, METER, scale())
    running = (b"\x00\x90\x3c\x50" + b"".join(vlq(240) + bytes([p, 80]) for p in (62, 64, 65))  # running status
               + b"".join(vlq(240) + bytes([p, 0]) for p in (60, 62, 64, 65)))  # note-off as velocity 0
    lyrics = b"".join(b"\x00\xff\x05" + vlq(len(w)) + w + note(60 + i, duration=240)
                      for i, w in enumerate([b"\\Twin", b"kle ", b"twin", b"kle"]))
    sysex = b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7" + b"\x00\xf7\x02\x43\x10"  # GM reset, then an escape
    controls = (b"\x00\xc0\x28" + b"\x00\xb0\x07\x64" + b"\x00\xe0\x00\x40" + b"\x00\xa0\x3c\x20"
                + b"\x00\xd0\x30" + b"\x00\xb0\x40\x7f")
    return [
        Seed("plain", ".mid", plain),
        Seed("format1-conductor", ".mid", header(1, 2) + track(TEMPO, METER) + track(scale())),
        Seed("empty-track", ".mid", header(1, 3) + track(TEMPO) + chunk(b"MTrk", b"") + track(scale())),
        Seed("end-of-track-only", ".mid", header(1, 1) + track()),
        Seed("no-tracks", ".mid", header(1, 0)),
        Seed("zero-length-notes", ".mid", header(0, 1) + track(note(60, duration=0), note(64, duration=0), scale())),
        Seed("running-status", ".mid", header(0, 1) + track(TEMPO, running)),
        Seed("huge-delta", ".mid", header(0, 1) + track(note(60), note(62, delta=0x0FFFFFFF), note(64))),
        Seed("huge-duration", ".mid", header(0, 1) + track(note(60, duration=0x0FFFFFFF), scale())),
        Seed("smpte-division", ".mid", header(0, 1, 0xE728) + track(scale(duration=40))),  # 25 fps, 40 ticks a frame
        Seed("division-zero", ".mid", header(0, 1, 0) + track(scale())),
        Seed("format2", ".mid", header(2, 2) + track(TEMPO, scale()) + track(TEMPO, scale(48))),
        Seed("riff-rmid", ".mid", riff_rmid(plain)),
        Seed("riff-rmi", ".rmi", riff_rmid(header(1, 2) + track(TEMPO, METER) + track(scale()))),
        Seed("karaoke", ".kar", header(1, 2) + track(b"\x00\xff\x01\x13@KMIDI KARAOKE FILE", TEMPO)
             + track(lyrics)),
        Seed("midi-suffix", ".midi", plain),
        Seed("sysex", ".mid", header(0, 1) + track(sysex, scale())),
        Seed("controls", ".mid", header(0, 1) + track(controls, scale())),
        Seed("drums", ".mid", header(0, 1) + track(scale(36, channel=9, duration=120))),
        Seed("sixteen-channels", ".mid", header(0, 1) + track(*(note(40 + c, channel=c) for c in range(16)))),
        Seed("overlapping-notes", ".mid", header(0, 1) + track(b"\x00\x90\x3c\x50\x60\x90\x3c\x50",
                                                                 b"\x60\x80\x3c\x00\x60\x80\x3c\x00")),
        Seed("note-off-without-on", ".mid", header(0, 1) + track(b"\x00\x80\x3c\x00", scale())),
        Seed("note-on-without-off", ".mid", header(0, 1) + track(b"\x00\x90\x3c\x50", scale())),
        Seed("no-end-of-track", ".mid", header(0, 1) + track(scale(), end=False)),
        Seed("trailing-garbage", ".mid", plain + b"\x00garbage after the last chunk\xff"),
        Seed("unknown-chunk", ".mid", header(1, 2) + track(TEMPO) + chunk(b"XFIH", b"\x00" * 12) + track(scale())),
        Seed("more-tracks-than-chunks", ".mid", header(1, 3) + track(TEMPO) + track(scale())),
        Seed("more-chunks-than-tracks", ".mid", header(1, 1) + track(scale()) + track(scale(48))),
        Seed("many-tempos", ".mid", header(0, 1)
             + track(b"".join(vlq(12) + b"\xff\x51\x03" + (400000 + 97 * i).to_bytes(3, "big") for i in range(3000)),
                     scale())),
        Seed("long-meta", ".mid", header(0, 1) + track(b"\x00\xff\x03" + vlq(5000) + b"n" * 5000, scale())),
    ]


# ---------- mutations ----------

Mutation = Callable[[bytearray, random.Random, Sequence[bytes]], bytearray]
INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x0F, 0x10, 0x3C, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0xB0, 0xC0, 0xE0, 0xF0,
                     0xF7, 0xFF)
INTERESTING_WORDS = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
MIDI_TOKENS = (b"MThd", b"MTrk", b"RIFF", b"RMID", END_OF_TRACK, b"\xff\x2f\x00", b"\x00\xff\x51\x03",
               b"\x00\xff\x51\x00", b"\x00\xff\x58\x04", b"\x00\xff\x59\x02\x80\x05", b"\x8f\xff\xff\x7f",
               b"\xff\xff\xff\xff\x7f", b"\x00\xf0", b"\x00\xf0\xff\xff\xff\x7f", b"\x00\xf7", b"\x00\xff\x7f\xff\xff\xff\x7f",
               b"\x00\xff\x01\x8f\xff\xff\x7f", b"\x00\x90", b"\x00\x90\x3c", b"\x00\x80\x3c\x00", b"\x00\xc9\x00",
               b"\x00\xff\x20\x01\x09", b"\x00\xff\x21\x01\x7f", b"\x00\xff\x54\x05", b"\x00\xff")
TEXT_TOKENS = {
    "abc": (b"X:1\n", b"X:\n", b"K:\n", b"K:Hp\n", b"K:C clef=bass\n", b"L:1/0\n", b"L:0\n", b"M:0/4\n", b"M:4/0\n",
            b"M:99999/1\n", b"Q:1/4=0\n", b"Q:0\n", b"(3", b"(9:1:999", b"[", b"]", b"|:", b":|", b"::", b"[1",
            b"[2", b"{", b"}", b"!", b'"', b"z999999", b"A/0", b"A0", b"A999999", b"^^^", b",,,,,,,,,,",
            b"''''''''", b"%%MIDI program 200\n", b"%%MIDI transpose 999\n", b"V:1\n", b"V:2\n", b"V:999\n",
            b"\\\n", b"&", b"-", b">>>>", b"<<<<", b"T:\n", b"P:ABAB\n", b"\x00", b"\xff"),
    "musicxml": (b"<", b">", b"/>", b"</note>", b"<note>", b"</measure>", b"<measure>", b"<divisions>0</divisions>",
                 b"<divisions>-1</divisions>", b"<duration>0</duration>", b"<duration>-480</duration>",
                 b"<duration>99999999999</duration>", b"<octave>99</octave>", b"<octave>-9</octave>",
                 b"<step>H</step>", b"<alter>999</alter>", b"<beats>0</beats>", b"<beat-type>0</beat-type>",
                 b"<backup><duration>999999</duration></backup>", b"<forward><duration>-1</duration></forward>",
                 b"<repeat direction=\"backward\"/>", b"<repeat direction=\"forward\"/>", b"<ending number=\"1\" type=\"start\"/>",
                 b"<time-modification><actual-notes>0</actual-notes><normal-notes>0</normal-notes></time-modification>",
                 b"<chord/>", b"<rest/>", b"<tie type=\"start\"/>", b"<voice>999</voice>", b"<staff>0</staff>",
                 b"<sound tempo=\"0\"/>", b"<sound tempo=\"-5\"/>", b"&", b"&amp;", b"<!DOCTYPE x [<!ENTITY a \"b\">]>",
                 b"<![CDATA[", b"]]>", b"\x00", b"\xff"),
    "kern": (b"**kern\n", b"*-\n", b"*^\n", b"*v\n", b"*v\t*v\n", b"*M0/0\n", b"*M4/0\n", b"*MM0\n", b"*MM-1\n",
             b"=\n", b"=:|!\n", b"!|:\n", b"4c\n", b"0c", b"1000000c", b"4.........c", b"4ccccccccccc", b"4CCCCCCCCCCC",
             b"4c#########", b"[", b"]", b"_", b"(", b")", b"\t", b"*>A\n", b"*>[A,A,A,A]\n", b"*k[f#c#g#d#a#e#b#]\n",
             b".\n", b"\x00", b"\xff"),
}
TEXT_TOKENS["mxl"] = TEXT_TOKENS["musicxml"]
MAX_INPUT_BYTES = 1 << 20


def _position(data: bytearray, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def flip_bits(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return data


def set_byte(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    if data:
        data[rng.randrange(len(data))] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    return data


def set_word(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    size = rng.choice((2, 4))
    if len(data) >= size:
        at = rng.randrange(len(data) - size + 1)
        value = rng.choice(INTERESTING_WORDS + (len(data), len(data) - at)) if rng.random() < 0.8 else rng.getrandbits(32)
        data[at:at + size] = (value % (1 << (8 * size))).to_bytes(size, "big")
    return data


def truncate(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    return data[: rng.randrange(len(data) + 1)]


def insert_random(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    at = _position(data, rng)
    data[at:at] = bytes(rng.randrange(256) for _ in range(rng.choice((1, 1, 2, 4, 16, 64))))
    return data


def delete_range(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    if data:
        at = rng.randrange(len(data))
        del data[at: at + rng.choice((1, 1, 2, 4, 16, 256))]
    return data


def duplicate_range(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    if data:
        at = rng.randrange(len(data))
        piece = bytes(data[at: at + rng.choice((1, 4, 16, 256, 4096))])
        where = _position(data, rng)
        data[where:where] = piece * rng.choice((1, 1, 2, 8))
    return data


def splice(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    other = rng.choice(others) if others else bytes(data)
    return data[: _position(data, rng)] + other[rng.randrange(len(other) + 1):]


def chunk_spans(data: bytes | bytearray) -> list[tuple[int, int]]:
    """(start, end) of every chunk (8-byte head and body) from the MThd on, by their declared lengths (the last
    one cut at the end of the file); none if there is no MThd near the start."""
    pos = bytes(data[:64]).find(b"MThd")
    if pos < 0:
        return []
    spans = []
    while pos + 8 <= len(data):
        end = min(len(data), pos + 8 + int.from_bytes(data[pos + 4: pos + 8], "big"))
        spans.append((pos, end))
        pos = end
    return spans


def chunk_length(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    spans = chunk_spans(data)
    if not spans:
        return set_word(data, rng, others)
    start, end = rng.choice(spans)
    actual = end - start - 8
    value = rng.choice((0, 1, 5, 6, actual - 1, actual + 1, actual * 2, len(data), 0x7FFFFFFF, 0xFFFFFFFF,
                        rng.getrandbits(32)))
    data[start + 4: start + 8] = (value % (1 << 32)).to_bytes(4, "big")
    return data


def _header_field(offset: int, values: tuple[int, ...]) -> Mutation:
    def mutate(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
        spans = chunk_spans(data)
        if not spans or spans[0][0] + 8 + offset + 2 > len(data):
            return set_word(data, rng, others)
        at = spans[0][0] + 8 + offset
        current = int.from_bytes(data[at:at + 2], "big")
        value = rng.choice(values + (current + 1, current - 1, rng.getrandbits(16)))
        data[at:at + 2] = (value % 0x10000).to_bytes(2, "big")
        return data

    mutate.__name__ = {0: "format", 2: "track_count", 4: "division"}[offset]
    return mutate


edit_format = _header_field(0, (0, 1, 2, 3, 0xFFFF))
edit_track_count = _header_field(2, (0, 1, 2, 64, 0xFFFF))
edit_division = _header_field(4, (0, 1, 0x7FFF, 0x8000, 0x8001, 0xE728, 0xE250, 0xFF00, 0xFFFF))


def _chunk_edit(data: bytearray, rng: random.Random, others: Sequence[bytes], what: str) -> bytearray:
    spans = chunk_spans(data)
    if len(spans) < 2:
        return delete_range(data, rng, others)
    start, end = rng.choice(spans[1:]) if what != "swap" else spans[rng.randrange(len(spans))]
    body = bytes(data[start:end])
    if what == "duplicate":
        data[end:end] = body * rng.choice((1, 1, 2, 16))
    elif what == "remove":
        del data[start:end]
    else:
        other_start, other_end = rng.choice(spans)
        if (other_start, other_end) != (start, end):
            first, second = sorted([(start, end), (other_start, other_end)])
            data = (data[: first[0]] + data[second[0]: second[1]] + data[first[1]: second[0]]
                    + data[first[0]: first[1]] + data[second[1]:])
    return data


def duplicate_chunk(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    return _chunk_edit(data, rng, others, "duplicate")


def remove_chunk(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    return _chunk_edit(data, rng, others, "remove")


def swap_chunks(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    return _chunk_edit(data, rng, others, "swap")


def midi_token(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    """A MIDI token (status byte, meta event head, overlong delta time, chunk tag) inserted or written over,
    inside a track where there is one."""
    spans = chunk_spans(data)[1:]
    if spans and rng.random() < 0.8:
        start, end = rng.choice(spans)
        at = rng.randrange(min(start + 8, end), end + 1)
    else:
        at = _position(data, rng)
    token = rng.choice(MIDI_TOKENS)
    if rng.random() < 0.5:
        data[at:at] = token
    else:
        data[at:at + len(token)] = token
    return data


BODY_MUTATIONS: tuple[Mutation, ...] = (flip_bits, set_byte, set_byte, insert_random, delete_range, duplicate_range,
                                        truncate, midi_token, midi_token, midi_token)


def edit_track_events(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    """Events inside one track changed (bytes, MIDI tokens, cuts) and the track's length written to match, so
    that the file's chunk structure stays sound and the change reaches the event parser."""
    spans = chunk_spans(data)[1:]
    if not spans:
        return midi_token(data, rng, others)
    start, end = rng.choice(spans)
    body = bytearray(data[start + 8:end])
    for _ in range(rng.choice((1, 1, 2, 3))):
        body = rng.choice(BODY_MUTATIONS)(body, rng, others)
    return data[:start + 4] + len(body).to_bytes(4, "big") + body + data[end:]


def _lines(data: bytearray) -> list[bytes]:
    return bytes(data).splitlines(keepends=True)


def delete_lines(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    lines = _lines(data)
    if lines:
        at = rng.randrange(len(lines))
        del lines[at: at + rng.choice((1, 1, 2, 5, 20))]
    return bytearray(b"".join(lines))


def duplicate_lines(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    lines = _lines(data)
    if lines:
        at = rng.randrange(len(lines))
        block = lines[at: at + rng.choice((1, 1, 3, 10))]
        where = rng.randrange(len(lines) + 1)
        lines[where:where] = block * rng.choice((1, 1, 2, 50))
    return bytearray(b"".join(lines))


def swap_lines(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    lines = _lines(data)
    if len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return bytearray(b"".join(lines))


def edit_character(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    at = _position(data, rng)
    char = rng.choice(b"0123456789/:|[](){}<>=-_^,'\"!%&ABCDEFGabcdefgzxXKLMQTV \n\t#*.")
    roll = rng.random()
    if roll < 0.4 and at < len(data):
        data[at] = char
    elif roll < 0.7:
        data[at:at] = bytes([char])
    else:
        del data[at:at + 1]
    return data


def text_token(kind: str) -> Mutation:
    def mutate(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
        token = rng.choice(TEXT_TOKENS[kind])
        lines = _lines(data)
        if token.endswith(b"\n") and lines:  # a field or a record: at the start of a line
            where = rng.randrange(len(lines) + 1)
            lines[where:where] = [token]
            return bytearray(b"".join(lines))
        at = _position(data, rng)
        data[at:at] = token
        return data

    mutate.__name__ = f"{kind}_token"
    return mutate


def splice_lines(data: bytearray, rng: random.Random, others: Sequence[bytes]) -> bytearray:
    other = _lines(bytearray(rng.choice(others))) if others else _lines(data)
    lines = _lines(data)
    return bytearray(b"".join(lines[: rng.randrange(len(lines) + 1)] + other[rng.randrange(len(other) + 1):]))


MIDI_MUTATIONS: tuple[Mutation, ...] = (
    flip_bits, flip_bits, set_byte, set_byte, set_word, truncate, insert_random, delete_range, duplicate_range,
    splice, chunk_length, chunk_length, edit_track_count, edit_format, edit_division, duplicate_chunk,
    remove_chunk, swap_chunks, midi_token, midi_token, midi_token, *(edit_track_events,) * 8)
TEXT_MUTATIONS: tuple[Mutation, ...] = (
    delete_lines, duplicate_lines, swap_lines, edit_character, edit_character, edit_character, truncate,
    splice_lines, flip_bits, delete_range, duplicate_range)


def mutations_for(kind: str) -> tuple[Mutation, ...]:
    if kind == "midi":
        return MIDI_MUTATIONS
    if kind == "mxl":  # a zip: bytes, as for MIDI, but no chunks
        return (flip_bits, set_byte, set_word, truncate, insert_random, delete_range, duplicate_range, splice)
    return TEXT_MUTATIONS + (text_token(kind),) * 3


def mutate(data: bytes, kind: str, rng: random.Random, others: Sequence[bytes] = ()) -> bytes:
    """`data` changed by one to eight mutations for its kind (fewer more often), at most 1 MiB."""
    out = bytearray(data)
    choices = mutations_for(kind)
    for _ in range(rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 8))):
        out = rng.choice(choices)(out, rng, others)
        del out[MAX_INPUT_BYTES:]
    return bytes(out)


# ---------- seeds from the corpora ----------

XML_CHORALES = ("bwv66.6", "bwv26.6", "bwv281", "bwv40.8", "bwv153.1")


def corpus_seeds(bach_limit: int | None, folk_tunes: int, tmp: Path) -> list[Seed]:
    """The bundled Bach corpus as MIDI; a few chorales written as MusicXML and a few .mxl files; folk tunes
    in ABC; small kern files."""
    from music21 import corpus

    from tunesmith.data import load_corpus
    from tunesmith.data.abc import split_tunes
    from tunesmith.data.corpora import FOLK_COLLECTIONS

    seeds = [Seed(f"bach-{p.name}", ".mid", p.score.dumps_midi())
             for p in load_corpus("bach", limit=bach_limit, progress=False).pieces]
    for name in XML_CHORALES:
        out = corpus.parse(name).write("musicxml", fp=tmp / f"{name}.musicxml")
        seeds.append(Seed(f"musicxml-{name}", ".musicxml", Path(out).read_bytes()))
    paths = corpus.getPaths()
    mxl = sorted((p for p in paths if p.suffix == ".mxl" and "bach" in p.parts), key=lambda p: p.stat().st_size)[:3]
    seeds += [Seed(f"mxl-{p.stem}", ".mxl", p.read_bytes()) for p in mxl]
    books = sorted(p for p in paths if p.suffix == ".abc" and any(c in p.parts for c in FOLK_COLLECTIONS))
    tunes = []
    for book in books[:: max(1, len(books) // 40)]:  # a spread of books over the four collections
        found = split_tunes(book.read_text(encoding="utf-8", errors="replace"))
        tunes += [(book.stem, t) for t in found[:: max(1, len(found) // 3)][:3]]
    step = max(1, len(tunes) // folk_tunes)
    seeds += [Seed(f"abc-{stem}-{t.number}", ".abc", t.text.encode()) for stem, t in tunes[::step][:folk_tunes]]
    kern = sorted((p for p in paths if p.suffix == ".krn"), key=lambda p: p.stat().st_size)
    seeds += [Seed(f"kern-{p.stem}", ".krn", p.read_bytes()) for p in kern[:: max(1, len(kern) // 6)][:6]]
    return seeds


# ---------- inputs ----------

KIND_WEIGHTS = {"midi": 0.885, "abc": 0.08, "musicxml": 0.02, "mxl": 0.01, "kern": 0.005}  # kern: ~0.4 s a file
OTHER_SUFFIX = 0.02  # a share of inputs written with another kind's suffix


@dataclass
class Input:
    number: int
    seed: str
    suffix: str
    data: bytes


def make_input(number: int, seed: int, by_kind: dict[str, list[Seed]]) -> Input:
    """Input `number`: a seed of a kind drawn by KIND_WEIGHTS, mutated; reproducible from (seed, number)."""
    rng = random.Random(f"{seed}:{number}")
    kinds = [k for k in KIND_WEIGHTS if by_kind.get(k)]
    kind = rng.choices(kinds, [KIND_WEIGHTS[k] for k in kinds])[0]
    chosen = rng.choice(by_kind[kind])
    data = mutate(chosen.data, kind, rng, [s.data for s in by_kind[kind]])
    suffix = chosen.suffix if rng.random() >= OTHER_SUFFIX else rng.choice(sorted(KIND_OF_SUFFIX))
    return Input(number, chosen.name, suffix, data)


# ---------- the calling process ----------


def _outcome(item: object, path: str) -> tuple[str, str]:
    from tunesmith.data import Rejected

    if isinstance(item, Rejected):
        return "rejected", str(item.reason)
    source = str(getattr(item, "source", ""))
    if source and Path(source).name != Path(path).name:
        return "traceback", f"out of order: {path} answered by {source}"
    count = item.note_count  # type: ignore[attr-defined]
    item.score.dumps_midi()  # type: ignore[attr-defined]  # a Piece that cannot be written again is a fault too
    return "piece", str(count)


def _caller(conn, workers: int, timeout: float) -> None:  # noqa: ANN001 - a multiprocessing Connection
    """The calling process: reads each batch it is sent through the API (read_pieces, or one by one through
    Piece.load and read_piece) and sends back one outcome a file:
    ("piece", notes), ("rejected", reason) or ("traceback", text) for any other exception."""
    from dataclasses import replace

    from tunesmith.data import DEFAULT_LIMITS, read_piece, read_pieces
    from tunesmith.errors import MusicFileError
    from tunesmith.piece import Piece

    limits = replace(DEFAULT_LIMITS, seconds=timeout)

    while (message := conn.recv()) is not None:
        mode, paths = message
        out: list[tuple[str, str]] = []
        if mode == "pieces":
            try:
                for path, item in zip(paths, read_pieces(paths, workers=workers, timeout=timeout), strict=True):
                    out.append(_outcome(item, path))
            except Exception:  # noqa: BLE001 - every exception out of the API is a finding
                out += [("traceback", traceback.format_exc())] * (len(paths) - len(out))
        else:
            for i, path in enumerate(paths):  # Piece.load (the default limits) and read_piece in turn
                try:
                    out.append(_outcome(Piece.load(path) if i % 2 == 0 else read_piece(path, limits), path))
                except MusicFileError as exc:
                    out.append(("rejected", str(exc)))
                except Exception:  # noqa: BLE001
                    out.append(("traceback", traceback.format_exc()))
        conn.send(out)


DEFAULT_SECONDS = 60.0  # the time limit Piece.load reads with (tunesmith.data.DEFAULT_LIMITS.seconds)


class Caller:
    """The calling process, started again when it dies (each death counted)."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.workers, self.timeout = workers, timeout
        self.crashes = self.hangs = 0
        self.process: multiprocessing.Process | None = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_caller, args=(child, self.workers, self.timeout), daemon=False)
        self.process.start()
        child.close()

    def run(self, mode: str, paths: list[str]) -> list[tuple[str, str]] | None:
        """One outcome per path, or None when the caller crashed or stopped answering."""
        if not paths:
            return []
        if self.process is None or not self.process.is_alive():
            self._start()
        per_file = self.timeout + 5 if mode == "pieces" else max(self.timeout, DEFAULT_SECONDS) + 30
        deadline = 120 + per_file * math.ceil(len(paths) / (self.workers if mode == "pieces" else 1))
        self.conn.send((mode, paths))
        try:
            if self.conn.poll(deadline):
                return self.conn.recv()
            self.hangs += 1
        except (EOFError, OSError):
            self.crashes += 1
        self.close(kill=True)
        return None

    def close(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if not kill and self.process.is_alive():
            self.conn.send(None)
            self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.process = None


# ---------- outcomes ----------

CRASH = re.compile(r"crash|signal|stopped on this file", re.IGNORECASE)
HANG = re.compile(r"timed out|time limit|took longer", re.IGNORECASE)


def reason_class(reason: str, path: str) -> str:
    """A rejection's reason without the file, numbers or quoted details: what kind of rejection it is."""
    text = reason.replace(path, "").replace(Path(path).name, "")
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"0x[0-9a-fA-F]+|\d+(,\d{3})*(\.\d+)?", "N", text)
    return re.sub(r"\s+", " ", text).strip(" :;,.-")[:90]


def well_formed(reason: str, path: str) -> bool:
    """A rejection's reason is one line and names the file."""
    return bool(reason.strip()) and "\n" not in reason.strip() and Path(path).name in reason


def signal_name(reason: str) -> str:
    found = re.search(r"signal (\d+)", reason)
    names = {"11": "segv", "6": "abort", "7": "bus", "8": "fpe", "4": "ill", "9": "kill"}
    return names.get(found.group(1), f"signal{found.group(1)}") if found else "crash"


def reader_name(suffix: str) -> str:
    return {"midi": "symusic", "abc": "abc", "kern": "music21", "musicxml": "music21",
            "mxl": "music21"}[KIND_OF_SUFFIX[suffix]]


# ---------- crashers: minimised and kept ----------


def _still(caller: Caller, tmp: Path, suffix: str, candidates: list[bytes], what: str) -> list[bool]:
    """Which candidates still crash (what='crash') or hang (what='hang') a reader through read_pieces."""
    folder = Path(tempfile.mkdtemp(dir=tmp, prefix="minimise-"))
    paths = []
    for i, data in enumerate(candidates):
        (folder / f"c{i:05d}{suffix}").write_bytes(data)
        paths.append(str(folder / f"c{i:05d}{suffix}"))
    outcomes = caller.run("pieces", paths) or [("caller", "")] * len(paths)
    shutil.rmtree(folder, ignore_errors=True)
    pattern = CRASH if what == "crash" else HANG
    return [kind == "rejected" and bool(pattern.search(reason)) for kind, reason in outcomes]


def _ddmin(data: bytes, build: Callable[[bytes], bytes], still: Callable[[list[bytes]], list[bool]],
           deadline: float, max_parts: int | None = None) -> bytes:
    """Delta debugging: drop the largest range of `data` that keeps `still(build(data))` true, halving the
    range size when none does, down to single bytes (or to 1/max_parts of the input: each candidate that
    still hangs costs a time limit); every size's candidates are tried in one batch."""
    parts = 2
    while len(data) > 1 and time.monotonic() < deadline:
        size = math.ceil(len(data) / parts)
        candidates = [data[:i] + data[i + size:] for i in range(0, len(data), size)]
        kept = [c for c, ok in zip(candidates, still([build(c) for c in candidates]), strict=True) if ok]
        finest = min(len(data), max_parts or len(data))
        if kept:
            data = min(kept, key=len)
            parts = max(parts - 1, 2)
        elif parts >= finest:
            break
        else:
            parts = min(parts * 2, finest)
    return data


def _track_count(header_body: bytes, change: int) -> bytes:
    if len(header_body) < 4:
        return header_body
    count = max(0, int.from_bytes(header_body[2:4], "big") + change)
    return header_body[:2] + count.to_bytes(2, "big") + header_body[4:]


def _minimise_midi(data: bytes, still: Callable[[list[bytes]], list[bool]], deadline: float,
                   max_parts: int | None) -> bytes:
    """A MIDI file made smaller chunk by chunk, its lengths and track count kept true, so that the structure
    checks still pass it to the parser: without its RIFF wrapper, then without whole chunks, then each
    chunk's body delta-debugged."""
    start = chunk_spans(data)[0][0]
    if start and still([data[start:]])[0]:
        data = data[start:]
    if not data.startswith(b"MThd"):
        return data
    spans = chunk_spans(data)
    tags = [data[a:a + 4] for a, _ in spans]
    bodies = [data[a + 8:b] for a, b in spans]
    tail = data[spans[-1][1]:]

    def build(bodies: list[bytes], tags: list[bytes] = tags, tail: bytes = tail) -> bytes:
        return b"".join(t + len(b).to_bytes(4, "big") + b for t, b in zip(tags, bodies, strict=True)) + tail

    removed = True
    while removed and len(tags) > 1 and time.monotonic() < deadline:
        options = []
        for i in range(1, len(tags)):
            fewer = bodies[:i] + bodies[i + 1:]
            fewer[0] = _track_count(bodies[0], -1 if tags[i] == b"MTrk" else 0)
            options.append((tags[:i] + tags[i + 1:], fewer))
        found = [o for o, ok in zip(options, still([build(b, t) for t, b in options]), strict=True) if ok]
        removed = bool(found)
        if found:
            tags, bodies = found[0]
    if tail and still([build(bodies, tags, b"")])[0]:
        tail = b""
    for i in sorted(range(1, len(tags)), key=lambda i: -len(bodies[i])):
        bodies[i] = _ddmin(bodies[i], lambda body, i=i: build(bodies[:i] + [body] + bodies[i + 1:], tags, tail),
                           still, deadline, max_parts)
    return build(bodies, tags, tail)


def minimise(caller: Caller, tmp: Path, suffix: str, data: bytes, what: str, deadline: float,
             max_parts: int | None = None) -> bytes:
    """The input made as small as it goes while it still crashes (or hangs) a reader through read_pieces: a
    MIDI file chunk by chunk (see _minimise_midi), then any file byte by byte."""
    def still(candidates: list[bytes]) -> list[bool]:
        return _still(caller, tmp, suffix, candidates, what)

    if KIND_OF_SUFFIX[suffix] == "midi" and chunk_spans(data):
        data = _minimise_midi(data, still, deadline, max_parts)
        if len(data) > 2048:  # byte by byte, most cuts break the structure: not worth it on a large file
            return data
    return _ddmin(data, lambda d: d, still, deadline, max_parts)


def keep_crashers(caller: Caller, quick: Caller, tmp: Path, found: list[tuple[Input, str, str]],
                  folder: Path | None, limit: int, seconds: float) -> list[dict]:
    """Minimise up to `limit` distinct crashers (spread over readers and signals, smallest inputs first) and
    write them to `folder`; each kept one is checked to crash (or hang) three times out of three. Hangs are
    minimised through `quick`, a caller with a shorter time limit."""
    deadline = time.monotonic() + seconds
    groups: dict[tuple[str, str], list[tuple[Input, str, str]]] = {}
    for item, reason, path in sorted(found, key=lambda f: len(f[0].data)):
        what = "hang" if HANG.search(reason) else signal_name(reason)
        groups.setdefault((reader_name(item.suffix), what), []).append((item, reason, path))
    order = [g[i] for i in range(max((len(g) for g in groups.values()), default=0)) for g in groups.values() if i < len(g)]
    kept, seen = [], set()
    existing = {hashlib.sha1(p.read_bytes()).hexdigest() for p in folder.iterdir()} if folder and folder.exists() else set()
    for done, (item, reason, path) in enumerate(order):
        if len(kept) >= limit or time.monotonic() > deadline:
            break
        what = "hang" if HANG.search(reason) else "crash"
        share = (deadline - time.monotonic()) / max(1, min(limit - len(kept), len(order) - done))
        small = minimise(quick if what == "hang" else caller, tmp, item.suffix, item.data, what,
                         time.monotonic() + share, 16 if what == "hang" else None)
        digest = hashlib.sha1(small).hexdigest()
        if digest in seen or not all(_still(caller, tmp, item.suffix, [small] * 3, what)):
            continue
        seen.add(digest)
        entry = {"input": item.number, "seed": item.seed, "bytes": len(item.data), "minimised_bytes": len(small),
                 "reason": reason_class(reason, path), "file": None}
        if folder is not None and digest not in existing:
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"{reader_name(item.suffix)}-{'hang' if what == 'hang' else signal_name(reason)}"
            number = 1 + sum(1 for p in folder.glob(f"{stem}-*"))
            path = folder / f"{stem}-{number:02d}{item.suffix}"
            path.write_bytes(small)
            entry["file"] = str(path)
        kept.append(entry)
    return kept


# ---------- the run ----------


def tmp_root() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="tunesmith-fuzz-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a reader may take on one file")
    parser.add_argument("--batch", type=int, default=1000, help="files a read_pieces call reads")
    parser.add_argument("--load-share", type=float, default=0.01,
                        help="share of inputs read again one by one, through Piece.load and read_piece")
    parser.add_argument("--bach", type=int, default=None, help="the first N chorales as seeds (default: all)")
    parser.add_argument("--folk", type=int, default=40, help="ABC folk tunes as seeds")
    parser.add_argument("--crashers", type=Path, default=None, help="folder to keep minimised crashers in")
    parser.add_argument("--keep", type=int, default=12, help="at most this many crashers minimised and kept")
    parser.add_argument("--minimise-seconds", type=float, default=480.0)
    parser.add_argument("--only", choices=sorted(KIND_WEIGHTS), default=None, help="seeds of one kind only")
    parser.add_argument("--replay", type=int, default=None, help="write input N to the current folder and stop (give the run's --seed, --bach, --folk, --only)")
    args = parser.parse_args()

    tmp = tmp_root()
    started = time.perf_counter()
    seeds = edge_cases() + corpus_seeds(args.bach, args.folk, tmp)
    by_kind: dict[str, list[Seed]] = {}
    for seed in seeds:
        if args.only and seed.kind != args.only:
            continue
        by_kind.setdefault(seed.kind, []).append(seed)
    if args.replay is not None:
        item = make_input(args.replay, args.seed, by_kind)
        path = Path(f"fuzz-{args.seed}-{item.number}{item.suffix}")
        path.write_bytes(item.data)
        print(f"{path} (from {item.seed}, {len(item.data)} bytes)")
        shutil.rmtree(tmp, ignore_errors=True)
        return
    seeds_seconds = time.perf_counter() - started

    caller = Caller(args.workers, args.timeout)
    counts: Counter[str] = Counter()
    rejections: Counter[str] = Counter()
    by_input_kind: dict[str, Counter[str]] = {}
    load: Counter[str] = Counter()
    crashers: list[tuple[Input, str, str]] = []
    failures = tmp / "failures"  # inputs that made a traceback, a malformed reason, a dead caller or a disagreement
    examples: list[str] = []

    def failure(item: Input, text: str) -> None:
        failures.mkdir(exist_ok=True)
        (failures / f"{item.number}{item.suffix}").write_bytes(item.data)
        if len(examples) < 5:
            examples.append(f"input {item.number} ({item.seed}{item.suffix}): {text.strip()[-600:]}")

    start = time.perf_counter()
    for first in range(0, args.inputs, args.batch):
        batch = [make_input(n, args.seed, by_kind) for n in range(first, min(args.inputs, first + args.batch))]
        folder = tmp / f"batch-{first:07d}"
        folder.mkdir()
        paths = [str(folder / f"{item.number:07d}{item.suffix}") for item in batch]
        for item, path in zip(batch, paths, strict=True):
            Path(path).write_bytes(item.data)
        outcomes = caller.run("pieces", paths)
        if outcomes is None:  # the caller died: every input of the batch is kept to find which one
            for item in batch:
                failure(item, "the calling process died on this batch")
            outcomes = [("caller", "")] * len(batch)
        for item, path, (kind, detail) in zip(batch, paths, outcomes, strict=True):
            tally = by_input_kind.setdefault(KIND_OF_SUFFIX[item.suffix], Counter())
            counts["inputs"] += 1
            if kind == "piece":
                counts["pieces"] += 1
                tally["pieces"] += 1
            elif kind == "rejected":
                counts["rejected"] += 1
                tally["rejected"] += 1
                rejections[reason_class(detail, path)] += 1
                if not well_formed(detail, path):
                    counts["malformed_reasons"] += 1
                    failure(item, f"reason: {detail!r}")
                if HANG.search(detail):
                    counts["reader_hangs"] += 1
                    crashers.append((item, detail, path))
                elif CRASH.search(detail):
                    counts["reader_crashes"] += 1
                    crashers.append((item, detail, path))
            elif kind == "traceback":
                counts["tracebacks"] += 1
                failure(item, detail)
        again = [i for i, item in enumerate(batch) if random.Random(f"load:{args.seed}:{item.number}").random() < args.load_share]
        loaded = caller.run("load", [paths[i] for i in again]) or [("caller", "")] * len(again)
        for i, (kind, detail) in zip(again, loaded, strict=True):
            load["reads"] += 1
            load[{"piece": "pieces", "rejected": "rejected"}.get(kind, kind + "s")] += 1
            if kind == "traceback" or (kind == "rejected" and not well_formed(detail, paths[i])):
                counts["tracebacks" if kind == "traceback" else "malformed_reasons"] += 1
                failure(batch[i], detail)
            if kind != outcomes[i][0]:
                load["disagree"] += 1
                failure(batch[i], f"read_pieces: {outcomes[i][1][:200]}; one by one: {detail[:200]}")
        shutil.rmtree(folder, ignore_errors=True)
        print(f"{counts['inputs']} inputs, {time.perf_counter() - start:.0f} s: {dict(counts)}", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - start

    minimise_start = time.perf_counter()
    quick = Caller(args.workers, min(args.timeout, 2.0))
    kept = keep_crashers(caller, quick, tmp, crashers, args.crashers, args.keep, args.minimise_seconds) if crashers else []
    minimise_seconds = time.perf_counter() - minimise_start
    caller.close()
    quick.close()
    for text in examples:
        print(text, file=sys.stderr)
    if failures.exists():
        print(f"inputs that failed are kept in {failures}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({
        "bench": "fuzz", "inputs": counts["inputs"], "seed": args.seed, "workers": args.workers,
        "timeout_s": args.timeout, "seconds": round(seconds, 1), "inputs_per_s": round(counts["inputs"] / seconds, 1),
        "seeds": {kind: len(found) for kind, found in sorted(by_kind.items())}, "seeds_seconds": round(seeds_seconds, 1),
        "outcomes": {"pieces": counts["pieces"], "rejected": counts["rejected"],
                     "reader_crashes": counts["reader_crashes"], "reader_hangs": counts["reader_hangs"],
                     "caller_crashes": caller.crashes, "caller_hangs": caller.hangs,
                     "tracebacks": counts["tracebacks"], "malformed_reasons": counts["malformed_reasons"]},
        "by_kind": {kind: dict(tally) for kind, tally in sorted(by_input_kind.items())},
        "rejections": dict(rejections.most_common(25)),
        "rejection_kinds": len(rejections),
        "one_by_one": {"reads": 0, "pieces": 0, "rejected": 0, "disagree": 0, **load},
        "crashers": {"found": len(crashers), "minimise_seconds": round(minimise_seconds, 1), "kept": kept,
                     "inputs": [f"{item.number} ({item.seed}{item.suffix}): {reason_class(reason, path)}"
                                for item, reason, path in crashers[:40]]},
    }))


if __name__ == "__main__":
    main()
