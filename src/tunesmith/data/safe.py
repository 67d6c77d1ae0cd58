"""Reading users' files where a crash cannot reach the caller.

The parsers are native code (symusic's MIDI and ABC readers) or large (music21), and a damaged file can crash,
hang or exhaust them. Every file is therefore parsed in a worker process; a worker that dies, runs past the
time limit or past the memory limit takes only its file with it, which becomes a `Rejected` with the reason,
and reading goes on. What needs no process (a file's kind, its size, a MIDI file's structure: data/midi_check.py)
is checked first, in the caller.

The workers are a `pebble.ProcessPool` (over loky: a time limit per task, and a pool that goes on after a
worker dies): a dead worker fails only its own task (`ProcessExpired`, with the exit code or signal) and is
replaced; the pool of concurrent.futures breaks as a whole when one worker dies. Files go to the workers in
chunks, which costs no more than reading them in one process; a worker also ends itself (SIGALRM, which works
inside native code too) when one file takes longer than the time limit. A worker marks which file of its
chunk it is on (a few bytes written to a file of the caller's, not synced): when it dies, that file is
rejected with the reason its death gives (a signal, the time limit, the memory limit) and the chunk's other
files are sent again, so a file that hangs costs the time limit once. A death with no mark to read (the worker
died before its first file) has the chunk's files read one at a time by a worker kept for that (`read_alone`,
also what `read_piece` uses), which finds the file that killed it.

Why a kept pool of one and not a process forked per file (pebble.concurrent.process): such a process reports
its death by closing its pipe, and a pool worker forked at the same moment inherits the pipe and keeps it
open, so the death went unseen until the time limit. A pool watches its workers' exit instead.
"""

from __future__ import annotations

import faulthandler
import math
import multiprocessing
import multiprocessing.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, TypeVar

from pebble import ProcessExpired, ProcessPool

from tunesmith.data.abc import seed_c_random
from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits, show_number
from tunesmith.data.parse import MB, check_file, parse_piece, reader_name
from tunesmith.errors import MusicFileError
from tunesmith.piece import Piece
from tunesmith.progress import progress_bar

# fork on Linux: a worker starts in milliseconds with everything already imported (spawn re-imports torch)
CONTEXT = multiprocessing.get_context("fork" if sys.platform == "linux" else None)
MOST_PER_TASK = 64  # files sent to a worker at once
T = TypeVar("T")


class Rejected(NamedTuple):
    """A file that was not read, and why: `reason` is one line that names the file. A (source, reason) pair,
    as the rejected files of a Corpus are."""

    source: str
    reason: str


reader: Callable[[Path, ReadLimits], Piece] = parse_piece
"""What a worker runs on each file. Tests replace it (before the workers start; they are forked, so they see
the replacement) with one that crashes, hangs or eats memory on purpose."""


# ---------- in the worker ----------

def limit_memory(memory_mb: float) -> None:
    """Let this process take at most `memory_mb` more address space than it holds now (Linux; elsewhere no cap).
    A forked worker starts with its parent's address space, so the cap is counted from there."""
    try:
        import resource

        with open("/proc/self/statm") as statm:
            held = int(statm.read().split()[0]) * resource.getpagesize()
    except (ImportError, OSError, ValueError):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = held + int(memory_mb * MB)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _start_worker(memory_mb: float) -> None:
    limit_memory(memory_mb)
    seed_c_random()
    faulthandler.disable()  # a crash here is a rejection with its reason, not a traceback on the user's terminal
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the per-file alarm ends the worker, even inside native code


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_here(path: str, limits: ReadLimits) -> Piece | Rejected:
    """One file with `reader`, in this process; every failure a Rejected."""
    try:
        return reader(Path(path), limits)
    except MusicFileError as exc:
        return Rejected(path, str(exc))
    except MemoryError:
        return Rejected(path, _too_much_memory(path, limits))
    except Exception as exc:  # noqa: BLE001 - a parser's own error; the user needs the file and the reason
        return Rejected(path, f"{path}: not readable as music ({_first_line(exc)})")


def _read_chunk(paths: list[str], limits: ReadLimits, mark: str | None = None) -> list[Piece | Rejected]:
    """Files one after the other, each under the time limit, until all are read or the chunk has taken
    `limits.seconds` (the caller sends the rest again), so that no chunk runs for long. Before each file its
    number in `paths` is written to the file `mark`, for the caller to read if this process dies on it."""
    out: list[Piece | Rejected] = []
    start = time.monotonic()
    alarm = limits.seconds if math.isfinite(limits.seconds) else 0.0
    try:
        marker = os.open(mark, os.O_WRONLY | os.O_CREAT, 0o600) if mark else None
    except OSError:  # no mark: a death here has the caller read the files one at a time
        marker = None
    try:
        for number, path in enumerate(paths):
            if out and time.monotonic() - start > limits.seconds:
                break
            if marker is not None:
                os.pwrite(marker, b"%08d" % number, 0)
            signal.setitimer(signal.ITIMER_REAL, alarm)
            try:
                out.append(_read_here(path, limits))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        if marker is not None:
            os.close(marker)
    return out


# ---------- reasons ----------

def _too_long(path: str, limits: ReadLimits) -> str:
    return f"{path}: reading took longer than {show_number(limits.seconds)} s (--read-limit seconds=...)"


def _too_much_memory(path: str, limits: ReadLimits) -> str:
    return (f"{path}: reading needed more memory than the limit of {show_number(limits.memory_mb)} MB "
            "(--read-limit memory_mb=...)")


def _died(path: str, code: int | None, limits: ReadLimits) -> str:
    """Why a reader's process ended without an answer, from its exit code (-N: killed by signal N)."""
    what = f"the {reader_name(Path(path))} reader"
    if code is None or code >= 0:
        return f"{path}: {what} stopped on this file (exit code {code})"
    number = -code
    if number == signal.SIGALRM:
        return _too_long(path, limits)
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    if number == signal.SIGKILL:
        return (f"{path}: {what} was killed on this file (signal 9, SIGKILL: the system does that when memory "
                f"runs out; the limit is {show_number(limits.memory_mb)} MB, --read-limit memory_mb=...)")
    return f"{path}: {what} crashed on this file (signal {number}, {name})"


def _wait(future: Future[T], pool: ProcessPool) -> T:
    """The future's result; BrokenProcessPool when its pool broke first (a broken pebble pool never answers the
    tasks it had not started)."""
    while not wait([future], timeout=1.0).done:
        if not pool.active:
            raise BrokenProcessPool("the pool of readers stopped")
    return future.result()


class _OneAtATime:
    """A kept pool of one worker that reads one file at a time: `read_piece`'s files, and the files of a chunk
    whose worker died, to find the one that killed it. Kept, a file costs a message to the worker, not a
    fork; the worker is replaced when it dies, and the pool started again when the reader or the memory limit
    changes (the worker runs the `reader` it was forked with)."""

    def __init__(self) -> None:
        self.pool: ProcessPool | None = None
        self.made_for: tuple[object, float] | None = None
        self.lock = threading.Lock()
        self.stopped_at_exit = 0  # the process that has registered close() to run when it ends

    def read(self, path: str, limits: ReadLimits) -> Piece | Rejected:
        with self.lock:
            for _ in range(2):
                pool = self._pool(limits)
                future = pool.schedule(_read_chunk, args=([path], limits), timeout=limits.seconds + 5)
                try:
                    return _wait(future, pool)[0]
                except ProcessExpired as exc:
                    return Rejected(path, _died(path, exc.exitcode, limits))
                except TimeoutError:
                    return Rejected(path, _too_long(path, limits))
                except BrokenProcessPool:  # pebble saw the worker die before it saw the task start: once more
                    self.close()
                except Exception as exc:  # noqa: BLE001 - e.g. an answer that could not be sent back
                    return Rejected(path, f"{path}: not readable as music ({_first_line(exc)})")
            return Rejected(path, f"{path}: the {reader_name(Path(path))} reader crashed on this file")

    def _pool(self, limits: ReadLimits) -> ProcessPool:
        wanted = (reader, limits.memory_mb)
        if self.pool is not None and (self.made_for != wanted or not self.pool.active):
            self.close()
        if self.pool is None:
            self.pool = ProcessPool(max_workers=1, initializer=_start_worker, initargs=(limits.memory_mb,),
                                    context=CONTEXT)
            self.made_for = wanted
            if self.stopped_at_exit != os.getpid():
                # its worker is not a daemon: a multiprocessing child would wait for it forever when it ends
                # (multiprocessing joins its children before the atexit handlers, pebble's among them, run)
                multiprocessing.util.Finalize(self, self.close, exitpriority=10)
                self.stopped_at_exit = os.getpid()
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.stop()
            self.pool.join()
            self.pool = None


    def forget(self) -> None:
        """In a forked child: the kept pool is the parent's (its threads did not come along), so start afresh."""
        self.pool, self.made_for, self.lock = None, None, threading.Lock()


_ONE_AT_A_TIME = _OneAtATime()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ONE_AT_A_TIME.forget)


def read_alone(path: str | Path, limits: ReadLimits = DEFAULT_LIMITS) -> Piece | Rejected:
    """One file, read by a worker process kept for that: a crash, a time-out or the memory limit there is a
    Rejected with the reason."""
    return _ONE_AT_A_TIME.read(str(path), limits)


# ---------- in the caller ----------

class _Chunk:
    """Files read by one task: the ones the cheap checks rejected, and the rest sent to a worker."""

    def __init__(self, paths: list[str], limits: ReadLimits):
        self.paths, self.limits = paths, limits
        self.done: dict[int, Piece | Rejected] = {}
        for i, path in enumerate(paths):
            try:
                check_file(Path(path), limits)
            except MusicFileError as exc:
                self.done[i] = Rejected(path, str(exc))
        self.todo = [i for i in range(len(paths)) if i not in self.done]
        self.future: Future[list[Piece | Rejected]] | None = None
        self.pool: ProcessPool | None = None  # the pool it was sent to
        self.mark: Path | None = None  # where its worker writes which of the files sent it is on
        self.sent_again = False

    def results(self, workers: _Workers) -> list[Piece | Rejected]:
        """Every file's Piece or Rejected, in order (waiting for the worker)."""
        while self.todo:
            try:
                answer = self._answer()
            except BrokenProcessPool:  # the pool itself failed (it rarely does): once more in a new one
                if self.sent_again:
                    self._each_alone()
                    break
                self.sent_again = True
                workers.send(self)
                continue
            except (ProcessExpired, TimeoutError) as exc:  # its worker died: on the file its mark names
                if not self._reject_marked(exc):
                    self._each_alone()
                    break
                workers.send(self)
                continue
            except Exception:  # noqa: BLE001 - e.g. an answer that could not be sent back: find which file
                self._each_alone()
                break
            for i, item in zip(self.todo, answer, strict=False):
                self.done[i] = item
            self.todo = self.todo[len(answer):]
            if self.todo:  # the chunk ran out of time: the rest again
                workers.send(self)
        return [self.done[i] for i in range(len(self.paths))]

    def _answer(self) -> list[Piece | Rejected]:
        assert self.future is not None and self.pool is not None
        return _wait(self.future, self.pool)

    def _reject_marked(self, death: ProcessExpired | TimeoutError) -> bool:
        """Reject the file the dead worker was on, by its mark; False when there is no mark to read."""
        try:
            number = int(self.mark.read_bytes()) if self.mark is not None else -1
        except (OSError, ValueError):
            return False
        if not 0 <= number < len(self.todo):
            return False
        i = self.todo.pop(number)
        path = self.paths[i]
        if isinstance(death, ProcessExpired):
            self.done[i] = Rejected(path, _died(path, death.exitcode, self.limits))
        else:  # pebble ended a task that ran past its own time-out
            self.done[i] = Rejected(path, _too_long(path, self.limits))
        return True

    def _each_alone(self) -> None:
        for i in self.todo:
            self.done[i] = read_alone(self.paths[i], self.limits)
        self.todo = []


class _Workers:
    """A pebble pool, started when the first file needs it and started again if it breaks."""

    def __init__(self, count: int, limits: ReadLimits):
        self.count, self.limits = count, limits
        self.pool: ProcessPool | None = None
        self.marks: Path | None = None  # a folder for the chunks' marks, removed with the pool
        self.sent = 0

    def send(self, chunk: _Chunk) -> None:
        if not chunk.todo:
            return
        if self.pool is not None and not self.pool.active:
            self.close()
        if self.pool is None:
            self.pool = ProcessPool(max_workers=self.count, initializer=_start_worker,
                                    initargs=(self.limits.memory_mb,), context=CONTEXT)
        if self.marks is None:
            self.marks = Path(tempfile.mkdtemp(prefix="tunesmith-reading-"))
        self.sent += 1
        chunk.mark = self.marks / str(self.sent)
        # each file is held to limits.seconds by its alarm and a chunk stops after limits.seconds: this
        # time-out only ends a task whose worker died unnoticed
        chunk.pool = self.pool
        chunk.future = self.pool.schedule(_read_chunk, args=([chunk.paths[i] for i in chunk.todo], self.limits,
                                                             str(chunk.mark)),
                                          timeout=2 * self.limits.seconds + 10)

    def remove_marks(self) -> None:
        if self.marks is not None:
            shutil.rmtree(self.marks, ignore_errors=True)
            self.marks = None

    def close(self, wait: bool = True) -> None:
        """Stop the workers; with wait=False (every task answered) the caller goes on while they stop (pebble
        takes up to a tenth of a second to notice, a fifth of reading POP909's 909 files)."""
        if self.pool is None:
            return
        self.pool.stop()
        if wait:
            self.pool.join()
        else:
            threading.Thread(target=self.pool.join, name="stop readers", daemon=True).start()
        self.pool = None


def read_pieces(paths: Iterable[str | Path], *, limits: ReadLimits = DEFAULT_LIMITS, workers: int | None = None,
                timeout: float | None = None, progress: bool = False,
                description: str = "reading") -> Iterator[Piece | Rejected]:
    """Each file as a Piece or a Rejected (with the reason), in the order of `paths`, read in `workers`
    processes (default: one a CPU) that may crash or hang without taking the caller down. `timeout` (seconds
    a file may take) overrides `limits.seconds`."""
    files = [str(p) for p in paths]
    if not files:
        return
    if timeout is not None:
        limits = replace(limits, seconds=timeout)
    count = max(1, min(workers or os.cpu_count() or 1, len(files)))
    size = max(1, min(MOST_PER_TASK, len(files) // (count * 8)))
    chunks = (files[i:i + size] for i in range(0, len(files), size))
    pool = _Workers(count, limits)
    finished = False
    try:
        with progress_bar(len(files), description, enabled=progress, unit="files") as bar:
            waiting: deque[_Chunk] = deque()

            def send_next() -> None:
                paths = next(chunks, None)
                if paths is not None:
                    waiting.append(_Chunk(paths, limits))
                    pool.send(waiting[-1])

            for _ in range(4 * count):  # enough in flight to keep the workers busy, few enough to hold
                send_next()
            while waiting:
                chunk = waiting.popleft()
                send_next()
                for item in chunk.results(pool):
                    yield item
                    bar.advance()
        finished = True
    finally:
        pool.close(wait=not finished)  # finished: every task answered
        pool.remove_marks()
