"""Fuzzing in the suite: mutated MIDI bytes (bench/fuzz.py's mutations, drawn by hypothesis) end as a Piece or a
rejection with a one-line reason naming the file, and every crasher bench/fuzz.py kept in tests/data/crashers
is rejected as a crash (or a hang) of the reader while the test process lives on."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import symusic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tunesmith.data import DEFAULT_LIMITS, MUSIC_SUFFIXES, Rejected, read_piece, read_pieces
from tunesmith.errors import MusicFileError
from tunesmith.piece import Piece

CRASHERS = Path(__file__).parent / "crashers"
FIXTURES = sorted(p for p in CRASHERS.iterdir() if p.suffix in MUSIC_SUFFIXES) if CRASHERS.is_dir() else []
CRASHED = ("crash", "signal", "timed out", "time limit", "took longer")


def _bench_fuzz():
    """bench/fuzz.py as a module (its mutations and hand-made MIDI files)."""
    spec = importlib.util.spec_from_file_location("bench_fuzz", Path(__file__).parents[2] / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fuzz = _bench_fuzz()


def _two_voices() -> bytes:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=96.0))
    score.time_signatures.append(symusic.TimeSignature(0, 3, 4))
    for program, low in ((40, 67), (42, 43)):
        part = symusic.Track(name=f"program {program}", program=program)
        for i in range(24):
            part.notes.append(symusic.Note(i * 240, 240, low + (i * 5) % 12, 70 + i))
        score.tracks.append(part)
    return score.dumps_midi()


SEEDS = [s for s in fuzz.edge_cases() if s.kind == "midi"] + [fuzz.Seed("two-voices", ".mid", _two_voices())]
PLAIN = next(s.data for s in SEEDS if s.name == "plain")


def _rejected_well(reason: str, path: Path) -> None:
    assert reason.strip() and "\n" not in reason.strip(), f"a reason of more than one line: {reason!r}"
    assert path.name in reason, f"the reason does not name the file: {reason!r}"


# ---------- mutated bytes as MIDI ----------

@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# the mutation's random source is seeded from an integer: hypothesis draws no float (a library built with
# -ffast-math in this process turns subnormal floats off, and hypothesis's float strategies then refuse to run)
MUTATED = st.tuples(st.sampled_from(SEEDS), st.integers(0, 2**32 - 1)).map(
    lambda pair: fuzz.mutate(pair[0].data, "midi", random.Random(pair[1]), [s.data for s in SEEDS]))
RAW = st.binary(max_size=200).map(lambda tail: fuzz.header(1, 2) + tail)  # a valid head, then anything


SHORT = replace(DEFAULT_LIMITS, seconds=5)  # a file that loops a reader costs seconds, not the default minute
SETTINGS = settings(derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _write(folder: Path, data: bytes, suffix: str = ".mid") -> Path:
    path = folder / f"{len(os.listdir(folder)):05d}{suffix}"
    path.write_bytes(data)
    return path


@settings(SETTINGS, max_examples=300)
@given(data=st.one_of(MUTATED, MUTATED, MUTATED, RAW))
def test_mutated_midi_is_a_piece_or_a_one_line_rejection(data, fuzz_dir):
    """read_piece (the parser in a process of its own, as Piece.load reads)."""
    path = _write(fuzz_dir, data)
    try:
        piece = read_piece(path, SHORT)
    except MusicFileError as exc:
        _rejected_well(str(exc), path)
    else:
        assert isinstance(piece, Piece) and piece.note_count > 0


@settings(SETTINGS, max_examples=30)
@given(batch=st.lists(st.one_of(MUTATED, MUTATED, MUTATED, RAW), min_size=1, max_size=24))
def test_mutated_midi_read_together_end_each_as_a_piece_or_a_rejection(batch, fuzz_dir):
    """read_pieces: a batch in worker processes, every file answered in order, whatever the others do."""
    paths = [_write(fuzz_dir, data) for data in batch]
    items = list(read_pieces(paths, limits=SHORT, workers=2))
    assert len(items) == len(paths)
    for path, item in zip(paths, items, strict=True):
        if isinstance(item, Rejected):
            assert item.source == str(path)
            _rejected_well(item.reason, path)
        else:
            assert isinstance(item, Piece) and item.note_count > 0 and item.source == str(path)


def test_mutations_are_deterministic_and_change_the_file():
    for seed in SEEDS:
        once = [fuzz.mutate(seed.data, "midi", random.Random(f"{seed.name}:{n}")) for n in range(20)]
        again = [fuzz.mutate(seed.data, "midi", random.Random(f"{seed.name}:{n}")) for n in range(20)]
        assert once == again
        assert sum(m != seed.data for m in once) >= 15


def test_the_hand_made_edge_cases_are_midi_as_written():
    assert fuzz.vlq(0) == b"\x00" and fuzz.vlq(0x7F) == b"\x7f" and fuzz.vlq(0x80) == b"\x81\x00"
    assert fuzz.vlq(0x0FFFFFFF) == b"\xff\xff\xff\x7f"
    spans = fuzz.chunk_spans(PLAIN)
    assert [PLAIN[a:a + 4] for a, _ in spans] == [b"MThd", b"MTrk"] and spans[-1][1] == len(PLAIN)
    wrapped = next(s.data for s in SEEDS if s.name == "riff-rmid")
    assert wrapped[:4] == b"RIFF" and wrapped[8:12] == b"RMID" and PLAIN in wrapped
    assert symusic.Score.from_midi(PLAIN).note_num() == 8


# ---------- the crashers the fuzzer found ----------

@pytest.mark.parametrize("crasher", FIXTURES or [pytest.param(None, marks=pytest.mark.skip(
    reason="bench/fuzz.py has kept no crasher in tests/data/crashers"))], ids=lambda p: p.name if p else "none")
def test_a_crasher_is_rejected_and_the_rest_is_read(crasher, tmp_path):
    """A crasher between two good files: the good ones are read, the crasher is rejected as a crash (or a
    reader past its time limit: the kept hangs take music21 seconds, so one second is the limit here)."""
    limits = replace(DEFAULT_LIMITS, seconds=1) if "hang" in crasher.name else SHORT
    good = tmp_path / "good.mid"
    good.write_bytes(PLAIN)
    first, rejected, last = read_pieces([good, crasher, good], limits=limits, workers=2)
    assert isinstance(first, Piece) and isinstance(last, Piece)
    assert isinstance(rejected, Rejected)
    _rejected_well(rejected.reason, crasher)
    assert any(word in rejected.reason for word in CRASHED), rejected.reason
    with pytest.raises(MusicFileError) as caught:
        read_piece(crasher, limits)
    _rejected_well(str(caught.value), crasher)
    assert any(word in str(caught.value) for word in CRASHED), str(caught.value)
    if "hang" not in crasher.name:  # Piece.load: the default limits (a minute for a hang)
        with pytest.raises(MusicFileError, match="crashed"):
            Piece.load(crasher)
    assert Piece.load(good).note_count == 8  # this process is alive and reads on
