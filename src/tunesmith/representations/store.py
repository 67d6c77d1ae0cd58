"""The token store: a corpus encoded once into shards of memory-mapped arrays, for corpora too large to hold.

A store is a folder:

    store.json                 the representation (tokens), the source folder, the format
    tokenizer.json             the tokenizer, as a run keeps it
    shard-P-NNNNN/             one shard: up to `shard_size` files of the source
        tokens.npy             every piece's token ids, one after another (uint16)
        offsets.npy            where each piece starts in tokens.npy, and the end (int64, pieces + 1)
        meta.json              the files it holds (name, size, mtime), its pieces' names, the rejected files

numpy's own `.npy` files, opened with `mmap_mode="r"`: a reader maps them and touches only the pages of the
windows it trains on; opening a store reads the small offsets of each shard, never the tokens. (Arrow would
add a dependency for what two arrays do here.) A shard is written under a temporary name and renamed when
whole, so a build killed at any point resumes without encoding again the files of the shards it finished;
files added to the source later go into new shards. `part = (i, n)` builds the i-th of n parts of the source
(by a hash of each file's name), on as many machines, into folders that `join_stores` puts together.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tunesmith.data.corpora import music_files
from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits
from tunesmith.data.safe import Rejected, read_pieces
from tunesmith.data.splits import split_of
from tunesmith.errors import TunesmithError
from tunesmith.fileio import atomic_path, fsync_folder, write_json_atomic
from tunesmith.piece import Piece
from tunesmith.progress import progress_bar
from tunesmith.representations.tokens import TokenRepresentation

log = logging.getLogger(__name__)

STORE_FILE = "store.json"
INDEX_FILE = "index.npz"
FORMAT = 1
SHARD_SIZE = 1000  # files a shard holds
SPLITS = ("train", "valid", "test")  # splits.npy's codes
FIT_FILES = 200  # files, spread over the source, that a new store's representation is fitted to


def is_store(path: str | Path) -> bool:
    """Whether `path` is a token store (a folder with store.json)."""
    return (Path(path) / STORE_FILE).is_file()


@dataclass
class BuildReport:
    """What one build did: files encoded now, files already in the store, files rejected now (with reasons)."""

    encoded: int = 0
    kept: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    shards: int = 0


# ---------- building ----------

def build_store(source: Path, store: Path, *, representation: dict[str, Any] | None = None,
                shard_size: int = SHARD_SIZE, part: tuple[int, int] = (0, 1), workers: int | None = None,
                limits: ReadLimits = DEFAULT_LIMITS, progress: bool = True) -> BuildReport:
    """Encode the music files below `source` into the token store `store` (created, or grown by the files it
    does not hold yet). `representation`: the token settings of a new store (else REMI's defaults)."""
    source, store = Path(source), Path(store)
    index, count = part
    if not (0 <= index < count):
        raise TunesmithError(f"a part is i/N with 0 <= i < N (got {index}/{count})")
    if not source.is_dir():
        raise TunesmithError(f"no folder {source} to build a store from")
    files = music_files(source)
    if not files:
        raise TunesmithError(f"no music files in {source}")
    rep = _open_or_create(store, source, files, representation, limits, workers)
    names = [str(f.relative_to(source)) for f in files]
    mine = [n for n in names if zlib.crc32(n.encode()) % count == index]
    held = {entry[0] for meta in _metas(store) for entry in meta["files"]}
    todo = [n for n in mine if n not in held]
    report = BuildReport(kept=len(mine) - len(todo))
    _remove_partial(store)
    number = max((int(p.name.rsplit("-", 1)[1]) for p in _shard_folders(store, f"shard-{index}of{count}-")),
                 default=-1) + 1
    with (progress_bar(len(todo), f"encoding {source.name}", enabled=progress, unit="files") as bar,
          ProcessPoolExecutor(max(1, workers or os.cpu_count() or 1), initializer=_start_encoder,
                              initargs=(rep.to_dict(), str(store))) as pool):
        for start in range(0, len(todo), shard_size):
            chunk = todo[start:start + shard_size]
            folder = store / f"shard-{index}of{count}-{number:05d}"
            _write_shard(folder, source, chunk, pool, limits, workers, report)
            number += 1
            report.shards += 1
            bar.advance(len(chunk))
    write_index(store)
    return report


def _open_or_create(store: Path, source: Path, files: list[Path], settings: dict[str, Any] | None,
                    limits: ReadLimits, workers: int | None) -> TokenRepresentation:
    """The store's representation; a new store's is fitted to FIT_FILES files spread over the source (the same
    files on every machine that builds a part of it, so that the parts can be joined)."""
    if is_store(store):
        saved = read_store(store)
        return TokenRepresentation.from_dict(saved["representation"], store)
    values = {k: v for k, v in (settings or {}).items() if k != "kind"}
    if values.get("conditioning") or values.get("infill"):
        raise TunesmithError("a token store holds the pieces' tokens only: conditioning and infilling need the "
                             "pieces themselves (train on the folder)")
    rep = TokenRepresentation(**values)
    step = max(1, len(files) // FIT_FILES)
    sample = [p for p in read_pieces(files[::step][:FIT_FILES], limits=limits, workers=workers)
              if isinstance(p, Piece)]
    if not sample:
        raise TunesmithError(f"no readable music among the first files of {source}")
    rep.fit(sample)
    store.mkdir(parents=True, exist_ok=True)
    rep.save(store)
    write_json_atomic(store / STORE_FILE, {"format": FORMAT, "kind": "tokens", "source": str(source),
                                           "representation": rep.to_dict()})
    return rep


_ENCODER: TokenRepresentation | None = None


def _start_encoder(settings: dict[str, Any], store: str) -> None:
    global _ENCODER
    _ENCODER = TokenRepresentation.from_dict(settings, Path(store))


def _encode(midi: bytes) -> np.ndarray:
    """One piece's token ids (in an encoder process)."""
    import symusic

    assert _ENCODER is not None
    return np.asarray(_ENCODER.encode(Piece(symusic.Score.from_midi(midi))), dtype=np.uint16)


def _write_shard(folder: Path, source: Path, chunk: list[str], pool: ProcessPoolExecutor, limits: ReadLimits,
                 workers: int | None, report: BuildReport) -> None:
    """Read `chunk` (crash-isolated readers), encode its pieces in `pool`, and write the shard whole or not at all."""
    pieces: list[tuple[str, bytes]] = []
    rejected: list[list[str]] = []
    for name, read in zip(chunk, read_pieces([source / n for n in chunk], limits=limits, workers=workers),
                          strict=True):
        if isinstance(read, Rejected):
            rejected.append([name, read.reason])
            report.rejected.append(read)
        else:
            pieces.append((name, read.score.dumps_midi()))
    encoded = list(pool.map(_encode, [midi for _, midi in pieces], chunksize=8))
    kept = [(name, ids) for (name, _), ids in zip(pieces, encoded, strict=True) if len(ids)]
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(ids) for _, ids in kept])
    tmp = folder.with_name(f".partial-{folder.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "tokens.npy", np.concatenate([ids for _, ids in kept]) if kept else np.zeros(0, np.uint16))
    np.save(tmp / "offsets.npy", offsets)
    np.save(tmp / "splits.npy", np.asarray([SPLITS.index(split_of(name)) for name, _ in kept], dtype=np.uint8))
    stats = [(n, (source / n).stat()) for n in chunk]
    write_json_atomic(tmp / "meta.json", {"files": [[n, s.st_size, s.st_mtime_ns] for n, s in stats],
                                          "pieces": [name for name, _ in kept], "rejected": rejected})
    for written in tmp.iterdir():
        with open(written, "rb") as f:
            os.fsync(f.fileno())
    os.replace(tmp, folder)
    fsync_folder(folder.parent)
    report.encoded += len(chunk)


def _remove_partial(store: Path) -> None:
    """Shards a killed build left half-written."""
    for partial in store.glob(".partial-shard-*"):
        shutil.rmtree(partial, ignore_errors=True)


def _shard_folders(store: Path, prefix: str = "shard-") -> list[Path]:
    return sorted(p for p in Path(store).glob(f"{prefix}*") if p.is_dir() and (p / "meta.json").exists())


def _metas(store: Path) -> Iterator[dict[str, Any]]:
    for folder in _shard_folders(store):
        yield json.loads((folder / "meta.json").read_text())


def read_store(store: Path) -> dict[str, Any]:
    """store.json, or a one-line error when `store` is not a store."""
    if not is_store(store):
        raise TunesmithError(f"{store} is not a token store (no {STORE_FILE})")
    try:
        values = json.loads((Path(store) / STORE_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TunesmithError(f"{Path(store) / STORE_FILE} is damaged ({exc})") from exc
    if values.get("format") != FORMAT or values.get("kind") != "tokens":
        raise TunesmithError(f"{store} is a store of another format ({values.get('format')}) or kind")
    return values


def join_stores(parts: list[Path], store: Path) -> int:
    """Move the shards of stores built as parts (`part = (i, n)`) into `store` (created like the first part);
    they must hold the same representation. Returns the number of shards moved."""
    if not parts:
        raise TunesmithError("name the stores to join")
    first = read_store(parts[0])
    moved = 0
    if not is_store(store):
        store.mkdir(parents=True, exist_ok=True)
        shutil.copy2(parts[0] / "tokenizer.json", store / "tokenizer.json")
        write_json_atomic(store / STORE_FILE, first)
    elif read_store(store)["representation"] != first["representation"]:
        raise TunesmithError(f"{store} holds another representation than {parts[0]}")
    for part in parts:
        if read_store(part)["representation"] != first["representation"]:
            raise TunesmithError(f"{part} holds another representation than {parts[0]}: build every part "
                                 "with the same settings")
        for folder in _shard_folders(part):
            if (store / folder.name).exists():
                raise TunesmithError(f"{store} already holds a shard named {folder.name}")
            shutil.move(str(folder), store / folder.name)
            moved += 1
    fsync_folder(store)
    write_index(store)
    return moved


def write_index(store: Path) -> None:
    """index.npz: every shard's name, offsets and split codes in one file, so that opening the store is one read
    (a store whose shards changed since, e.g. a build killed before its end, is opened shard by shard)."""
    folders = _shard_folders(store)
    offsets = [np.load(f / "offsets.npy") for f in folders]
    with atomic_path(Path(store) / INDEX_FILE) as tmp, open(tmp, "wb") as f:
        np.savez(f, names=np.asarray([f.name for f in folders], dtype=str),
                 counts=np.asarray([len(o) - 1 for o in offsets], dtype=np.int64),
                 offsets=np.concatenate(offsets or [np.zeros(0, np.int64)]),
                 codes=np.concatenate([np.load(f / "splits.npy") for f in folders] or [np.zeros(0, np.uint8)]))


def _read_index(store: Path, names: list[str]) -> tuple[list[np.ndarray], np.ndarray] | None:
    """(each shard's offsets, every piece's split code) from index.npz, if it lists exactly the shards `names`."""
    path = store / INDEX_FILE
    if not path.exists():
        return None
    try:
        with np.load(path) as index:
            if index["names"].tolist() != names:
                return None
            ends = np.cumsum(index["counts"] + 1)
            return np.split(index["offsets"], ends[:-1]), index["codes"]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("%s is damaged (%s): the store is opened shard by shard", path, exc)
        return None


# ---------- reading ----------

class TokenStore:
    """A built store, opened: its representation and its pieces' token ids, memory-mapped shard by shard.
    Opening reads each shard's offsets only."""

    def __init__(self, store: Path):
        self.path = Path(store)
        self.values = read_store(self.path)
        self.folders = _shard_folders(self.path)
        index = _read_index(self.path, [f.name for f in self.folders])
        if index is not None:  # one read for the whole store
            self.offsets, self.codes = index
        else:
            self.offsets = [np.load(f / "offsets.npy", mmap_mode="r") for f in self.folders]
            self.codes = np.concatenate([np.load(f / "splits.npy") for f in self.folders] or [np.zeros(0, np.uint8)])
        self._tokens: dict[int, np.ndarray] = {}
        counts = np.asarray([len(o) - 1 for o in self.offsets], dtype=np.int64)
        self.first = np.concatenate([[0], np.cumsum(counts)])  # piece number of each shard's first piece

    def representation(self) -> TokenRepresentation:
        return TokenRepresentation.from_dict(self.values["representation"], self.path)

    def __len__(self) -> int:
        return int(self.first[-1])

    def _where(self, piece: int) -> tuple[int, int]:
        shard = int(np.searchsorted(self.first, piece, side="right")) - 1
        return shard, piece - int(self.first[shard])

    def length(self, piece: int) -> int:
        shard, k = self._where(piece)
        return int(self.offsets[shard][k + 1] - self.offsets[shard][k])

    def lengths(self) -> np.ndarray:
        """The token count of every piece, in piece order."""
        return np.concatenate([np.diff(o) for o in self.offsets] or [np.zeros(0, np.int64)])

    def __getitem__(self, piece: int) -> np.ndarray:
        """The token ids of piece number `piece` (a view of the memory map)."""
        shard, k = self._where(piece)
        if shard not in self._tokens:
            self._tokens[shard] = np.load(self.folders[shard] / "tokens.npy", mmap_mode="r")
        return self._tokens[shard][int(self.offsets[shard][k]):int(self.offsets[shard][k + 1])]

    def names(self) -> list[str]:
        """Every piece's name (its file below the source), in piece order (reads each shard's meta.json)."""
        return [name for folder in self.folders for name in json.loads((folder / "meta.json").read_text())["pieces"]]

    def split(self) -> dict[str, list[int]]:
        """Piece numbers by split, as `split_pieces` splits a folder's pieces (by a hash of each name, kept in
        each shard's splits.npy)."""
        out = {name: np.flatnonzero(self.codes == i).tolist() for i, name in enumerate(SPLITS)}
        if not out["valid"]:
            out["valid"] = list(out["train"])
        return out

    def rejected(self) -> list[tuple[str, str]]:
        return [(name, reason) for meta in _metas(self.path) for name, reason in meta["rejected"]]


class StoredSequences:
    """Some of a store's pieces (by number) as the token sequences a `TokenWindows` reads, lazily."""

    def __init__(self, store: TokenStore, pieces: list[int]):
        self.store, self.pieces = store, pieces

    def __len__(self) -> int:
        return len(self.pieces)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.store[self.pieces[k]]

    def lengths(self) -> np.ndarray:
        """Every sequence's length (from the offsets alone)."""
        return self.store.lengths()[np.asarray(self.pieces, dtype=np.int64)]


__all__ = ["STORE_FILE", "BuildReport", "StoredSequences", "TokenStore", "build_store", "is_store", "join_stores",
           "read_store"]
