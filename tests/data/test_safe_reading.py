"""Reading in worker processes that may die: a file that crashes the reader (SIGSEGV), makes it loop or makes
it eat memory is rejected with the reason, the caller lives on, and every other file is still read, in order.
The reader is replaced by one that does each on purpose, by the file's name (hostile_files.py)."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from hostile_files import hostile_reader, midi
from tunesmith.data import ReadLimits, Rejected, load_corpus, read_piece, read_pieces, safe
from tunesmith.errors import MusicFileError
from tunesmith.piece import Piece


@pytest.fixture
def hostile(monkeypatch):
    """The workers' reader crashes on crash-*, hangs on hang-*, eats memory on hog-* (workers fork after this)."""
    monkeypatch.setattr(safe, "reader", hostile_reader)


def _folder(tmp_path, names):
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(midi((60 + i % 12, 64, 67)))
    return [tmp_path / name for name in names]


def test_a_crash_of_the_reader_is_a_rejection_and_the_rest_is_read(tmp_path, hostile):
    paths = _folder(tmp_path, ["a.mid", "crash-b.mid", "c.mid"])
    items = list(read_pieces(paths, workers=2))
    assert [type(item) for item in items] == [Piece, Rejected, Piece]
    assert items[1] == Rejected(str(paths[1]), f"{paths[1]}: the MIDI reader crashed on this file (signal 11, SIGSEGV)")
    assert [items[0].name, items[2].name] == ["a", "c"]


def test_a_crash_inside_a_chunk_costs_only_its_file_and_the_order_holds(tmp_path, hostile):
    names = [f"{i:03d}.mid" for i in range(150)]  # 150 files on 2 workers: chunks of 9
    for i in (4, 5, 77, 149):
        names[i] = f"crash-{i:03d}.mid"
    paths = _folder(tmp_path, names)
    pid = os.getpid()
    items = list(read_pieces(paths, workers=2))
    assert os.getpid() == pid
    assert [item.source if isinstance(item, Rejected) else item.name for item in items] == [
        str(p) if p.name.startswith("crash-") else p.stem for p in paths]
    assert [i for i, item in enumerate(items) if isinstance(item, Rejected)] == [4, 5, 77, 149]
    assert all("crashed on this file (signal 11" in item.reason for item in items if isinstance(item, Rejected))


def test_a_reader_that_loops_is_stopped_at_the_time_limit(tmp_path, hostile):
    paths = _folder(tmp_path, ["a.mid", "hang-b.mid", "c.mid"] + [f"d{i}.mid" for i in range(30)])
    start = time.monotonic()
    items = list(read_pieces(paths, workers=2, timeout=1))
    assert time.monotonic() - start < 30
    assert items[1].reason == f"{paths[1]}: reading took longer than 1 s (--read-limit seconds=...)"
    assert sum(isinstance(item, Piece) for item in items) == len(paths) - 1


def test_a_file_that_hangs_is_tried_once_and_the_rest_of_its_chunk_is_read(tmp_path, monkeypatch):
    """The dead worker's mark names the file it was on: that file is rejected without being read again (a
    hang costs the time limit once), the files of its chunk before and after it are read."""
    log = tmp_path / "attempts.log"

    def logging_reader(path, limits):
        with open(log, "a") as out:
            out.write(path.name + "\n")
        return hostile_reader(path, limits)

    monkeypatch.setattr(safe, "reader", logging_reader)
    folder = tmp_path / "music"
    folder.mkdir()
    paths = _folder(folder, [f"{i:02d}.mid" for i in range(40)])
    hang = paths[17].with_name("hang-17.mid")
    paths[17].rename(hang)
    paths[17] = hang
    items = list(read_pieces(paths, workers=1, timeout=1))  # one worker: chunks of 5, the hang in the middle
    assert [i for i, item in enumerate(items) if isinstance(item, Rejected)] == [17]
    assert items[17].reason == f"{hang}: reading took longer than 1 s (--read-limit seconds=...)"
    attempts = log.read_text().split()
    assert attempts.count("hang-17.mid") == 1
    assert sorted(set(attempts)) == sorted(p.name for p in paths)


def test_the_marks_of_the_workers_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(safe.tempfile, "tempdir", None)  # TMPDIR is read again
    paths = _folder(tmp_path, [f"{i:02d}.mid" for i in range(20)])
    assert all(isinstance(item, Piece) for item in read_pieces(paths, workers=2))
    assert list(tmp_path.glob("tunesmith-reading-*")) == []


def test_a_reader_past_the_memory_limit_is_stopped(tmp_path, hostile):
    paths = _folder(tmp_path, ["hog-a.mid", "b.mid"])
    items = list(read_pieces(paths, workers=1, limits=ReadLimits(memory_mb=300)))
    assert items[0].reason == (f"{paths[0]}: reading needed more memory than the limit of 300 MB "
                               "(--read-limit memory_mb=...)")
    assert isinstance(items[1], Piece)


def test_read_piece_is_isolated_too(tmp_path, hostile):
    crash, hang, hog, good = _folder(tmp_path, ["crash-a.mid", "hang-b.mid", "hog-c.mid", "d.mid"])
    pid = os.getpid()
    with pytest.raises(MusicFileError, match="crash-a.mid: the MIDI reader crashed on this file"):
        read_piece(crash)
    with pytest.raises(MusicFileError, match="hang-b.mid: reading took longer than 1 s"):
        read_piece(hang, ReadLimits(seconds=1))
    with pytest.raises(MusicFileError, match="hog-c.mid: reading needed more memory than the limit of 300 MB"):
        read_piece(hog, ReadLimits(memory_mb=300))
    with pytest.raises(MusicFileError, match="crash-a.mid: the MIDI reader crashed"):
        Piece.load(crash)  # primers, render, evaluate sets and the VAE commands read through here
    assert read_piece(good).note_count == 3 and os.getpid() == pid


def test_a_folder_with_a_crasher_is_a_corpus_and_its_rejections(tmp_path, hostile):
    _folder(tmp_path, ["a.mid", "crash-b.mid", "c.mid"])
    (tmp_path / "d.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x03\x01\xe0")  # promises 3 tracks
    corpus = load_corpus(tmp_path, progress=False, workers=2)
    assert [p.source for p in corpus.pieces] == ["a.mid", "c.mid"]
    assert [(r.source.split("/")[-1], r.reason.split(": ", 1)[1]) for r in corpus.rejected] == [
        ("crash-b.mid", "the MIDI reader crashed on this file (signal 11, SIGSEGV)"),
        ("d.mid", "the header says 3 tracks, but the file holds 0")]


def test_a_broken_pool_is_started_again(tmp_path, monkeypatch):
    """Should the pool itself fail (pebble gives up on it when a worker dies before it saw the task start),
    its chunks go to a new pool, and after a second failure each file to a process of its own."""
    paths = _folder(tmp_path, [f"{i:02d}.mid" for i in range(40)])
    answer = safe._Chunk._answer
    failed: set[int] = set()

    def fail_once(chunk):
        if id(chunk) not in failed:
            failed.add(id(chunk))
            from concurrent.futures.process import BrokenProcessPool

            raise BrokenProcessPool("for the test")
        return answer(chunk)

    monkeypatch.setattr(safe._Chunk, "_answer", fail_once)
    assert [item.name for item in read_pieces(paths, workers=2)] == [p.stem for p in paths]


def _workers() -> set[int]:
    return {p.pid for p in multiprocessing.active_children() if p.name == "pebble_pool_worker"}


def test_stopping_early_stops_the_workers(tmp_path):
    paths = _folder(tmp_path, [f"{i:02d}.mid" for i in range(60)])
    before = _workers()  # read_piece's kept worker may be among them
    reading = read_pieces(paths, workers=2)
    assert next(reading).name == "00"
    assert len(_workers() - before) == 2
    reading.close()
    assert _workers() <= before


def _read_both_ways(path) -> None:
    assert read_piece(path).name == "a" and next(read_pieces([path, path])).name == "a"


def test_a_forked_child_reads_with_its_own_workers_ends_and_leaves_the_parents_alone(tmp_path):
    """A multiprocessing child waits for its children when it ends: the kept worker is stopped before that."""
    (path,) = _folder(tmp_path, ["a.mid"])
    assert read_piece(path).name == "a"  # the kept worker now exists
    # its pid (not every pebble worker alive now: another test's pool may still be stopping)
    kept = set(safe._ONE_AT_A_TIME.pool._pool_manager.worker_manager.workers)
    assert len(kept) == 1 and kept <= _workers()
    child = multiprocessing.get_context("fork").Process(target=_read_both_ways, args=(path,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert kept <= _workers() and read_piece(path).name == "a"
