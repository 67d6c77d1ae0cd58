"""Faults on purpose, for the tests: a file-size limit inside the test process, and `tunesmith` run in a child
process that is killed (SIGKILL) or stopped by a file-size limit at a chosen write, not after a guessed sleep.

Run as a script, `python tests/faults.py ARGS...` is `tunesmith ARGS...` with hooks chosen by the environment:

    TUNESMITH_FAULT_KILL=NAME@N    at the Nth write of a file whose name matches NAME (a glob), once half of its
                                   bytes are on disk, the process SIGKILLs itself
    TUNESMITH_FAULT_FSIZE=NAME@N   before the Nth write of NAME, the file as it is is copied to
                                   $TUNESMITH_FAULT_KEEP, then no file may grow past half its size (RLIMIT_FSIZE,
                                   SIGXFSZ ignored): the write fails with EFBIG, as on a full disk with ENOSPC
                                   (a new file written with Path.write_bytes: past half the bytes written)

The writes seen are the atomic ones (tunesmith.fileio.atomic_path: checkpoints, weights, configs, generated
files, the corpus cache's index) and Path.write_bytes (the corpus cache's MIDI files).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

SCRIPT = Path(__file__).resolve()


@contextmanager
def file_size_limit(size: int) -> Iterator[None]:
    """No file can grow past `size` bytes in this process: a write past it fails with EFBIG, as a full disk
    fails with ENOSPC (SIGXFSZ, which would kill the process instead, is ignored meanwhile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def run_tunesmith(*args: object, kill: str | None = None, fsize: str | None = None, keep: Path | None = None,
                  env: dict[str, str] | None = None, permissions_apply: bool = False,
                  timeout: float = 300) -> subprocess.CompletedProcess:
    """`tunesmith ARGS` in a child process with the hooks above (`kill`, `fsize`: 'NAME@N'); returns it done.
    `permissions_apply`: a root child loses the power to write where permission bits forbid it."""
    child_env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    for name, value in (("TUNESMITH_FAULT_KILL", kill), ("TUNESMITH_FAULT_FSIZE", fsize),
                        ("TUNESMITH_FAULT_KEEP", keep)):
        child_env.pop(name, None)
        if value is not None:
            child_env[name] = str(value)
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], env=child_env, capture_output=True,
                          text=True, timeout=timeout,
                          preexec_fn=_drop_permission_override if permissions_apply and os.geteuid() == 0 else None)


def _drop_permission_override() -> None:
    """In the child, before it runs Python: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set
    (prctl PR_CAPBSET_DROP), so that root, once it has exec'd, is held to permission bits as any user is."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "could not drop a capability")


# ---------- in the child ----------

class _Trigger:
    """NAME@N from the environment: fires at the Nth write of a file whose name matches NAME."""

    def __init__(self, variable: str):
        value = os.environ.get(variable, "")
        self.pattern, _, nth = value.rpartition("@")
        self.nth, self.seen = (int(nth) if value else 0), 0

    def fires(self, path: Path) -> bool:
        if not self.pattern or not fnmatch(path.name, self.pattern):
            return False
        self.seen += 1
        return self.seen == self.nth


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _install() -> None:
    import tunesmith.fileio as fileio  # before anything imports atomic_path by name

    kill, fsize = _Trigger("TUNESMITH_FAULT_KILL"), _Trigger("TUNESMITH_FAULT_FSIZE")
    atomic_path, write_bytes = fileio.atomic_path, Path.write_bytes

    @contextmanager
    def hooked_atomic_path(path):
        path = Path(path)
        dying = kill.fires(path)
        limited = fsize.fires(path)
        if limited:
            existing = path.stat().st_size if path.exists() else 2
            if os.environ.get("TUNESMITH_FAULT_KEEP") and path.exists():
                shutil.copyfile(path, os.environ["TUNESMITH_FAULT_KEEP"])
            limit = file_size_limit(max(1, existing // 2))
            limit.__enter__()
        try:
            with atomic_path(path) as tmp:
                yield tmp
                if dying:  # the writer is done: cut its file to half, as a kill half-way leaves it
                    os.truncate(tmp, tmp.stat().st_size // 2)
                    _kill_self()
        finally:
            if limited:
                limit.__exit__(None, None, None)

    def hooked_write_bytes(self, data):
        if kill.fires(self):
            write_bytes(self, bytes(data)[:len(data) // 2])
            _kill_self()
        if fsize.fires(self):
            with file_size_limit(max(1, len(data) // 2)):
                return write_bytes(self, data)
        return write_bytes(self, data)

    fileio.atomic_path = hooked_atomic_path
    Path.write_bytes = hooked_write_bytes  # type: ignore[method-assign]


if __name__ == "__main__":
    _install()
    from tunesmith.cli.main import main

    sys.argv = ["tunesmith", *sys.argv[1:]]
    main()
