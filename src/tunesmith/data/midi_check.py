"""The structure of a MIDI file checked in Python before the native reader sees it.

A standard MIDI file is a header chunk ('MThd', length 6: format, track count, division) and then chunks of
'MTrk' (tracks; other chunk kinds are allowed and skipped), each an id and a big-endian length. Checking that
structure costs microseconds and needs no process, and it rejects the common damage (a truncated download,
a file of another kind renamed .mid, a header that promises more tracks than the file holds) with a precise
reason. RIFF MIDI ('RMID', the .rmi files of Windows) wraps a standard MIDI file in a RIFF 'data' chunk;
`midi_bytes` unwraps it.
"""

from __future__ import annotations

import struct

from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits, past_limit
from tunesmith.errors import MusicFileError

# what a file that is not MIDI most often starts with
_KINDS = (
    (b"PK\x03\x04", "a ZIP archive (a compressed MusicXML file?)"),
    (b"<?xml", "XML text"),
    (b"<", "XML or HTML text"),
    (b"X:", "ABC text"),
    (b"**kern", "Humdrum kern text"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC file"),
    (b"%PDF", "a PDF file"),
    (b"\x1f\x8b", "a gzip archive"),
)


def _starts(data: bytes) -> str:
    """How the start of `data` reads: "'PK\\x03\\x04' (a ZIP archive ...)" or "'abcd'"."""
    head = repr(data[:8])[1:]
    kind = next((what for magic, what in _KINDS if data.startswith(magic)), None)
    return f"{head} ({kind})" if kind else head


def unwrap_riff(data: bytes) -> bytes:
    """The standard MIDI file inside a RIFF MIDI ('RMID') file; a ValueError says why when there is none."""
    if len(data) < 12 or data[8:12] != b"RMID":
        raise ValueError(f"a RIFF file of kind {repr(data[8:12])[1:]}, not RIFF MIDI ('RMID')")
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if chunk == b"data":
            if size > len(data) - at - 8:
                raise ValueError(f"the RIFF 'data' chunk says {size:,} bytes, but only {len(data) - at - 8:,} "
                                 "are left in the file")
            return data[at + 8:at + 8 + size]
        at += 8 + size + (size & 1)  # RIFF chunks are padded to an even length
    raise ValueError("a RIFF MIDI ('RMID') file without a 'data' chunk")


def midi_problem(data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> str | None:
    """What is wrong with the structure of the standard MIDI file `data` (one phrase), or None."""
    if not data.startswith(b"MThd"):
        return f"not a MIDI file: it starts with {_starts(data)} instead of 'MThd'"
    if len(data) < 14:
        return f"the file ends inside the MIDI header ({len(data)} bytes, a header takes 14)"
    length, fmt, tracks, division = struct.unpack_from(">IHHH", data, 4)
    if length != 6:
        return f"the MIDI header chunk says it is {length:,} bytes long, not 6"
    if fmt > 2:
        return f"the header gives MIDI format {fmt} (a MIDI file is format 0, 1 or 2)"
    if tracks == 0:
        return "the header says the file holds no tracks"
    if tracks > limits.tracks:
        return past_limit(f"{tracks:,} tracks", "tracks", limits)
    if division == 0:
        return "the header gives 0 ticks per quarter note"
    found, at = 0, 14
    while found < tracks and at < len(data):
        if len(data) - at < 8:
            return (f"the file ends inside the header of chunk {found + 1} "
                    f"({len(data) - at} bytes left at byte {at:,})")
        chunk, size = data[at:at + 4], struct.unpack_from(">I", data, at + 4)[0]
        left = len(data) - at - 8
        if size > left:
            what = f"track {found + 1}" if chunk == b"MTrk" else f"the chunk {repr(chunk)[1:]} at byte {at:,}"
            return f"{what} says it is {size:,} bytes long, but only {left:,} are left in the file"
        found += chunk == b"MTrk"
        at += 8 + size
    if found < tracks:
        return f"the header says {tracks:,} tracks, but the file holds {found:,}"
    return None


def midi_bytes(data: bytes, where: str, limits: ReadLimits = DEFAULT_LIMITS) -> bytes:
    """The standard MIDI file in `data` (unwrapped from RIFF MIDI), checked; a MusicFileError naming `where`
    (the file) and what is wrong when its structure is damaged."""
    if data.startswith(b"RIFF"):
        try:
            data = unwrap_riff(data)
        except ValueError as exc:
            raise MusicFileError(f"{where}: not a MIDI file: {exc}") from None
    problem = midi_problem(data, limits)
    if problem:
        raise MusicFileError(f"{where}: {problem}")
    return data
