"""Corpora by name or folder: the bundled Bach chorales and folk tunes (cached), or any folder."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import symusic

from tunesmith.data.abc import read_abc_tune, seed_c_random, split_tunes
from tunesmith.data.files import MUSIC_SUFFIXES, read_piece
from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits
from tunesmith.data.safe import Rejected, read_pieces
from tunesmith.data.scores import score_from_music21
from tunesmith.data.shipped import pack, read_shipped
from tunesmith.errors import TunesmithError
from tunesmith.fileio import WriteError, fsync_folder, process_alive, write_json_atomic
from tunesmith.piece import Piece
from tunesmith.progress import progress_bar

log = logging.getLogger(__name__)

CACHE_VERSION = 5  # 2: pickup bars aligned to the bar lines; 3: ABC books read by symusic; 4: pickup and chord markers, ABC annotations no longer played; 5: ABC tracks named Melody, Voice 2... instead of the title
BUNDLED = {
    "bach": "J.S. Bach's four-voice chorales from music21's corpus (about 350, de-duplicated)",
    "folk": "Folk tunes in ABC from music21's corpus: Essen, Ryan's Mammoth, O'Neill's 1850, Aird's Airs (about 12,600)",
}
FOLK_COLLECTIONS = ("essenFolksong", "ryansMammoth", "oneills1850", "airdsAirs")


@dataclass
class Corpus:
    """Pieces from one source, and the files that were skipped with the reason for each ((file, reason) pairs)."""

    name: str
    pieces: list[Piece]
    rejected: list[Rejected] = field(default_factory=list)


def cache_root() -> Path:
    """$TUNESMITH_CACHE, else the user cache directory (~/.cache/tunesmith)."""
    if os.environ.get("TUNESMITH_CACHE"):
        return Path(os.environ["TUNESMITH_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tunesmith"


def load_corpus(source: str | Path, *, limit: int | None = None, progress: bool = True,
                workers: int | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> Corpus:
    """A bundled corpus by name ('bach', 'folk') or every music file below a folder (each read in a worker
    process, within `limits`: data/safe.py)."""
    if str(source) in BUNDLED:
        return _load_bundled(str(source), limit=limit, progress=progress, workers=workers)
    path = Path(source)
    if not path.exists():
        raise TunesmithError(f"no corpus {str(source)!r}: not a bundled corpus ({', '.join(BUNDLED)}) nor an existing path")
    if path.is_file():
        return Corpus(path.stem, [read_piece(path, limits)])
    return load_folder(path, limit=limit, progress=progress, workers=workers, limits=limits)


# ---------- folders ----------

def music_files(folder: Path) -> list[Path]:
    """Every supported music file below `folder`, in a stable order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MUSIC_SUFFIXES)


def parallel_map(fn: Callable, items: list, workers: int | None, progress: bool, description: str,
                 unit: str = "files", chunk: int | None = None) -> Iterable:
    """`fn` over `items` in worker processes (in order), with a progress bar. Items go to the workers in
    chunks of `chunk` (by default up to 64: cheap items such as MIDI files; give 1 for slow ones, so that
    the bar moves and the workers share the load). For trusted input (the bundled corpora): users' files are
    read with data/safe.py's `read_pieces`, where a worker may crash."""
    workers = workers or os.cpu_count() or 1
    with progress_bar(len(items), description, enabled=progress, unit=unit) as bar:
        if workers <= 1 or len(items) < 16:
            for item in items:
                yield fn(item)
                bar.advance()
            return
        chunk = chunk or max(1, min(64, len(items) // (workers * 8)))
        with ProcessPoolExecutor(workers, initializer=seed_c_random) as pool:
            for result in pool.map(fn, items, chunksize=chunk):
                yield result
                bar.advance()


def load_folder(folder: Path, *, limit: int | None = None, progress: bool = True, workers: int | None = None,
                limits: ReadLimits = DEFAULT_LIMITS) -> Corpus:
    """Read every music file below `folder`; unreadable files (and files past `limits`) are skipped and listed."""
    files = music_files(folder)
    if limit:
        files = files[:limit]
    if not files:
        raise TunesmithError(f"no music files in {folder} (looked for {', '.join(MUSIC_SUFFIXES)})")
    pieces: list[Piece] = []
    rejected: list[Rejected] = []
    for file, read in zip(files, read_pieces(files, limits=limits, workers=workers, progress=progress,
                                             description=f"reading {folder.name}"), strict=True):
        if isinstance(read, Rejected):
            rejected.append(read)
            continue
        read.source = str(file.relative_to(folder))
        pieces.append(read)
    for _, reason in rejected:
        log.warning("skipped %s", reason)
    if not pieces:
        raise TunesmithError(f"no readable music in {folder}: all {len(rejected)} files were rejected")
    return Corpus(folder.name, pieces, rejected)


# ---------- bundled corpora (parsed once with music21, cached as MIDI; the chorales ship converted) ----------

def _bundled_files(name: str) -> list[str]:
    from music21 import corpus

    if name == "bach":
        names = list(dict.fromkeys(corpus.chorales.Iterator(returnType="filename")))
        return [_chorale_file(corpus.getWork(n), n) for n in names]
    return [str(p) for p in corpus.getPaths() if any(f"/{c}/" in str(p) for c in FOLK_COLLECTIONS)]


def _chorale_file(found, name: str) -> str:
    """getWork returns a list when several files match ('bwv245.3' also matches 'bwv245.37')."""
    if not isinstance(found, list):
        return str(found)
    stem = name.split("/")[-1]
    exact = [p for p in found if Path(p).stem == stem]
    return str(sorted(exact or found, key=lambda p: Path(p).suffix != ".mxl")[0])


def _convert_bundled(path: str) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str]]]:
    """Parse one corpus file (a chorale, or a book of tunes) into (name, identity, MIDI bytes)."""
    p = Path(path)
    if p.suffix == ".abc":  # symusic reads a tune in milliseconds, music21 in about a second
        tunes = split_tunes(p.read_text(encoding="utf-8", errors="replace"))
        return _convert_scores(p, [(t.number or i + 1, partial(read_abc_tune, t.text)) for i, t in enumerate(tunes)])
    import music21

    try:
        parsed = music21.converter.parse(path)
    except Exception as exc:
        return [], [(path, f"{path}: not readable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")]
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    return _convert_scores(p, [(s.metadata.number if s.metadata and s.metadata.number else i + 1,
                                partial(score_from_music21, s)) for i, s in enumerate(scores)])


def _convert_scores(path: Path, items: list[tuple[Any, Callable[[], symusic.Score]]]
                    ) -> tuple[list[tuple[str, str, bytes]], list[tuple[str, str]]]:
    """(name, identity, MIDI bytes) for each (number, convert) of a file; the ones that fail or have no notes
    are listed with the reason."""
    out, bad = [], []
    for number, convert in items:
        name = path.stem if len(items) == 1 else f"{path.stem}-{number}"
        where = f"{path.parent.name}/{name}"
        try:
            score = convert()
        except Exception as exc:  # noqa: BLE001 - the parsers raise many kinds
            bad.append((f"{path}#{number}", f"{where}: not convertible ({type(exc).__name__})"))
            continue
        if not sum(len(t.notes) for t in score.tracks):
            bad.append((f"{path}#{number}", f"{where}: no notes"))
            continue
        out.append((name, where, score.dumps_midi()))
    return out, bad


def _note_fingerprint(score: symusic.Score) -> str:
    h = hashlib.sha1()
    for track in score.tracks:
        arr = track.notes.numpy()
        for key in ("time", "duration", "pitch"):
            h.update(arr[key].tobytes())
    return h.hexdigest()


def _load_bundled(name: str, *, limit: int | None, progress: bool, workers: int | None) -> Corpus:
    shipped = read_shipped(name, CACHE_VERSION) if limit is None else None  # converted already (data/shipped.py)
    if shipped is not None:
        return Corpus(name, *shipped)
    folder = cache_root() / "corpora" / (f"{name}-v{CACHE_VERSION}" + (f"-first{limit}" if limit else ""))
    corpus = _read_cache(name, folder)
    if corpus is None:
        with _building(folder):  # another process building the same cache: wait for it, then read its cache
            corpus = _read_cache(name, folder)
            if corpus is None:
                _build_bundled_cache(name, folder, limit=limit, progress=progress, workers=workers)
                corpus = _read_cache(name, folder)
    if corpus is None:
        raise TunesmithError(f"the {name} corpus cache in {folder} could not be read back after building it")
    return corpus


def _read_cache(name: str, folder: Path) -> Corpus | None:
    """The cached corpus, or None when there is none yet. A damaged cache (an index that is not the JSON
    written, a MIDI file it lists gone or unreadable) is removed with a warning, to be built again."""
    index_path = folder / "index.json"
    if not index_path.exists():
        return None
    try:
        index = json.loads(index_path.read_text())
        pieces = [Piece(symusic.Score(str(folder / "midi" / e["file"])), name=e["name"], source=e["source"],
                        tags={"corpus": name}) for e in index["pieces"]]
        return Corpus(name, pieces, [Rejected(*r) for r in index["rejected"]])
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:  # symusic: RuntimeError
        log.warning("the %s corpus cache in %s is damaged (%s): building it again", name, folder,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        shutil.rmtree(folder, ignore_errors=True)
        return None


@contextmanager
def _building(folder: Path) -> Iterator[None]:
    """Hold locks/NAME.lock beside the corpora (an flock, let go when the holder ends, however it ends) for a
    build of the cache, so that processes and threads started together build it once: the others wait, then
    read it."""
    locks = folder.parent.parent / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{folder.name}.lock", "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process building the corpus cache %s", folder)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_stale_builds(folder: Path) -> None:
    """The half-built caches (FOLDER.partial-PID.THREAD) that a killed process left: its process is gone."""
    for stale in folder.parent.glob(f"{folder.name}.partial-*"):
        pid = stale.name.rpartition("-")[2].partition(".")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            log.info("removing %s, a corpus cache whose build was stopped", stale)
            shutil.rmtree(stale, ignore_errors=True)


def _build_bundled_cache(name: str, folder: Path, *, limit: int | None, progress: bool, workers: int | None) -> None:
    """Convert the corpus into FOLDER.partial-PID.THREAD (several processes and threads may build at once), then rename it onto
    `folder` in one step: a reader finds the whole cache or none. A full disk is a WriteError, with the
    half-built folder removed; a build killed half-way is removed by the next one."""
    files = _bundled_files(name)
    if limit:
        files = files[:limit]
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(folder)
    log.info("building the %s corpus cache in %s (%d files, once)", name, folder, len(files))
    tmp = folder.with_name(f"{folder.name}.partial-{os.getpid()}.{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / "midi").mkdir(parents=True)
        entries, rejected = _convert_into(name, files, tmp / "midi", workers=workers, progress=progress)
        write_json_atomic(tmp / "index.json", {"corpus": name, "version": CACHE_VERSION, "pieces": entries,
                                               "rejected": rejected})
        os.sync()  # every MIDI file on the disk before the folder's name says the cache is whole
    except (OSError, WriteError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteError(folder, exc.error if isinstance(exc, WriteError) else exc) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.replace(tmp, folder)
        fsync_folder(folder.parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "index.json").exists():
            raise WriteError(folder, exc) from exc
        # another process finished the same cache first: keep theirs


def _convert_into(name: str, files: list[str], midi_folder: Path, *, workers: int | None, progress: bool
                  ) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """Each file's pieces written into `midi_folder` as NNNNN.mid (pieces with the same notes once); the index
    entries and the rejected files."""
    entries: list[dict[str, str]] = []
    rejected: list[tuple[str, str]] = []
    seen: set[str] = set()
    for converted, bad in parallel_map(_convert_bundled, files, workers, progress, f"building {name} corpus",
                                     chunk=1):  # a file can be a book of hundreds of tunes
        rejected.extend(bad)
        for piece_name, identity, midi in converted:
            fingerprint = _note_fingerprint(symusic.Score.from_midi(midi))
            if fingerprint in seen:  # the chorale iterator lists some chorales twice
                continue
            seen.add(fingerprint)
            file = f"{len(entries):05d}.mid"
            (midi_folder / file).write_bytes(midi)
            entries.append({"name": piece_name, "source": identity, "file": file})
    return entries, rejected


def ship_bundled(name: str) -> Path:
    """Convert the bundled corpus `name` as its cache is built, and write it as the zip that ships with
    tunesmith (data/shipped.py)."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / name
        _build_bundled_cache(name, folder, limit=None, progress=True, workers=None)
        return pack(folder, name)
