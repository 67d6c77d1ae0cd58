"""Atomic writes: a file is either the old one or the complete new one, never half written.

A write the system refuses (a full disk, a file-size limit, a read-only or forbidden folder) is a
`WriteError`: one line naming the file, which the command line prints as it is.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

_UMASK = os.umask(0)
os.umask(_UMASK)
# the temporary beside `name`: .NAME.PID-RANDOM.tmp, so that one left by a killed process can be told apart
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[^.]+\.tmp$")


class WriteError(TunesmithError):
    """A file could not be written (no space, a size limit, no permission, a read-only folder)."""

    def __init__(self, path: str | os.PathLike, error: OSError):
        self.path, self.error = Path(path), error
        reason = error.strerror or str(error) or type(error).__name__
        # name the other file too when the system's complaint is about one (a SoundFont the writer reads)
        other = Path(error.filename) if isinstance(error.filename, str) else None
        ours = (self.path, self.path.parent)  # the file, its temporary's folder, or a folder being checked
        if other is not None and other not in ours and other.parent not in ours:
            reason += f" ({other})"
        super().__init__(f"could not write {self.path}: {reason}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename. An OSError on the
    way (creating the folder or the temporary, writing, syncing, renaming) is a WriteError naming `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise WriteError(path, exc) from exc
    try:
        yield Path(tmp)
        # mkstemp makes owner-only files; give the result the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_UMASK)
        _fsync(tmp)  # the bytes reach the disk before the name does: a power cut leaves the old file or the new
        os.replace(tmp, path)
        _fsync(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(path, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: str | os.PathLike) -> Path:
    """Say now, with a WriteError, when files cannot be written into `folder`: a command that would write
    there learns it before its work, not after. The filesystem itself is asked (a temporary file made and
    removed in `folder`, or in its nearest existing parent when it does not exist yet, which is left as it
    is): permission bits say nothing for root, nor on a read-only mount."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise TunesmithError(f"{existing} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tunesmith-probe.", suffix=".tmp", dir=existing)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise WriteError(folder, exc) from exc
    return folder


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporaries in `folder` that atomic_path left when its process was killed mid-write (the
    process that made them is gone); a live process's temporary is left alone. Returns what was removed."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        match = _TEMPORARY.match(tmp.name)
        if match and not process_alive(int(match["pid"])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs on this machine (this process counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def fsync_folder(path: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename into it) to the disk."""
    _fsync(path)


def _fsync(path: str | os.PathLike) -> None:
    """Flush a file's (or a folder's) contents to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    """Call `writer(tmp_path)` and move the result onto `path` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to `path` atomically."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON to `path` atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    return write_bytes_atomic(path, text.encode())


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line and flush it, so a killed run keeps every finished line."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=float) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise WriteError(path, exc) from exc
