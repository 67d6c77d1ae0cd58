"""Atomic writes: the file is the old one or the whole new one, never half written, and no temporary is left."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

from tunesmith import fileio
from tunesmith.errors import TunesmithError
from tunesmith.fileio import (
    WriteError,
    append_jsonl,
    atomic_path,
    check_writable,
    remove_stale_temporaries,
    write_atomic,
    write_bytes_atomic,
    write_json_atomic,
)


class HalfWritten(Exception):
    """What the writers below raise after writing part of the file."""


def _fails_half_way(tmp: Path) -> None:
    with open(tmp, "wb") as f:
        f.write(b"the first half of a new fi")
    raise HalfWritten("the disk filled up")


def test_the_new_bytes_land_in_a_new_folder(tmp_path):
    target = tmp_path / "deep" / "er" / "take.bin"
    returned = write_bytes_atomic(str(target), b"\x00new\xff")
    assert returned == target and isinstance(returned, Path)
    assert target.read_bytes() == b"\x00new\xff"
    assert sorted(p.name for p in target.parent.iterdir()) == ["take.bin"]


def test_a_second_write_replaces_the_first_whole(tmp_path):
    target = tmp_path / "take.bin"
    write_bytes_atomic(target, b"old and long contents")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.bin"]


@pytest.mark.parametrize("error", [HalfWritten, KeyboardInterrupt])
def test_a_write_failing_half_way_keeps_the_old_file_and_removes_the_temporary(tmp_path, error):
    target = tmp_path / "take.bin"
    target.write_bytes(b"the old file")

    def writer(tmp: Path) -> None:
        try:
            _fails_half_way(tmp)
        except HalfWritten:
            raise error("stopped half-way") from None

    with pytest.raises(error, match="stopped half-way"):
        write_atomic(target, writer)
    assert target.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.bin"]


def test_a_failed_first_write_leaves_no_file(tmp_path):
    with pytest.raises(HalfWritten, match="the disk filled up"):
        write_atomic(tmp_path / "new.bin", _fails_half_way)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_removed_its_temporary_still_reports_its_own_error(tmp_path):
    def writer(tmp: Path) -> None:
        tmp.unlink()
        raise HalfWritten("gone")

    with pytest.raises(HalfWritten, match="gone"):
        write_atomic(tmp_path / "x.bin", writer)
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_is_a_hidden_file_beside_the_target_and_replaces_it_in_one_rename(tmp_path, monkeypatch):
    target = tmp_path / "take.mid"
    seen: dict[str, object] = {}
    renames: list[tuple[str, str]] = []
    real_replace = os.replace
    monkeypatch.setattr(fileio.os, "replace", lambda a, b: (renames.append((str(a), str(b))), real_replace(a, b))[1])

    def writer(tmp: Path) -> None:
        seen["tmp"], seen["existed"] = tmp, tmp.exists()
        tmp.write_bytes(b"MThd")

    write_atomic(target, writer)
    tmp = seen["tmp"]
    assert isinstance(tmp, Path) and seen["existed"]
    assert tmp.parent == target.parent  # same filesystem, so the rename is atomic
    assert tmp.name.startswith(".take.mid.") and tmp.name.endswith(".tmp")
    assert renames == [(str(tmp), str(target))]
    assert not tmp.exists() and target.read_bytes() == b"MThd"


def test_the_temporary_file_descriptor_is_closed(tmp_path, monkeypatch):
    opened: list[int] = []
    closed: list[int] = []
    real_mkstemp, real_close = fileio.tempfile.mkstemp, os.close

    def mkstemp(**kwargs):
        fd, name = real_mkstemp(**kwargs)
        opened.append(fd)
        return fd, name

    monkeypatch.setattr(fileio.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(fileio.os, "close", lambda fd: (closed.append(fd), real_close(fd))[1])
    write_bytes_atomic(tmp_path / "a.bin", b"a")
    assert len(opened) == 1 and opened[0] in closed


def test_the_result_has_the_permissions_of_a_plain_open(tmp_path):
    target = tmp_path / "take.bin"
    write_bytes_atomic(target, b"x")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o666 & ~fileio._UMASK


def test_a_context_that_raises_leaves_the_target_alone(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("kept")
    with pytest.raises(ValueError, match="no"):
        with atomic_path(target) as tmp:
            tmp.write_text("replaced")
            raise ValueError("no")
    assert target.read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_json_is_indented_sorted_and_ends_with_a_newline(tmp_path):
    target = tmp_path / "config.json"
    returned = write_json_atomic(target, {"b": [1, 2], "a": Path("x/y")})
    assert returned == target
    assert target.read_text() == '{\n  "a": "x/y",\n  "b": [\n    1,\n    2\n  ]\n}\n'


def test_append_jsonl_writes_one_line_per_record_and_syncs_each(tmp_path, monkeypatch):
    target = tmp_path / "metrics.jsonl"
    on_disk_at_sync: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        on_disk_at_sync.append(target.read_text())  # flushed before the sync
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    append_jsonl(target, {"step": 1, "loss": np.float32(0.5)})
    append_jsonl(target, {"step": 2, "loss": 0.25})
    first = '{"step": 1, "loss": 0.5}\n'
    assert target.read_text() == first + '{"step": 2, "loss": 0.25}\n'
    assert on_disk_at_sync == [first, target.read_text()]
    assert [json.loads(line)["step"] for line in target.read_text().splitlines()] == [1, 2]


def test_the_bytes_are_synced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    monkeypatch.setattr(fileio.os, "replace", lambda a, b: (events.append(("replace", str(b))), real_replace(a, b))[1])
    target = tmp_path / "out" / "take.bin"
    fileio.write_bytes_atomic(target, b"music")
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    assert Path(events[0][1]).name.startswith(".take.bin.") and events[0][1].endswith(".tmp")
    assert events[1][1] == str(target) and events[2][1] == str(target.parent)


# ---------------- writes the system refuses ----------------

def test_the_temporary_name_holds_the_writing_process(tmp_path):
    seen = []
    write_atomic(tmp_path / "take.mid", lambda tmp: (seen.append(tmp.name), tmp.write_bytes(b"x")))
    assert seen[0].startswith(f".take.mid.{os.getpid()}-") and seen[0].endswith(".tmp")
    assert fileio._TEMPORARY.match(seen[0])["pid"] == str(os.getpid())


@pytest.mark.parametrize("number, reason", [(errno.ENOSPC, "No space left on device"), (errno.EFBIG, "File too large"),
                                            (errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied"),
                                            (errno.EDQUOT, "Disk quota exceeded")])
def test_a_refused_write_is_one_line_naming_the_file(tmp_path, number, reason):
    target = tmp_path / "take.bin"
    target.write_bytes(b"old")

    def writer(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(number, os.strerror(number), str(tmp))

    with pytest.raises(WriteError) as raised:
        write_atomic(target, writer)
    assert str(raised.value) == f"could not write {target}: {reason}"
    assert isinstance(raised.value, TunesmithError) and raised.value.path == target
    assert raised.value.error.errno == number and "\n" not in str(raised.value)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["take.bin"]


def test_a_writer_s_complaint_about_another_file_names_it_too(tmp_path):
    def writer(tmp: Path) -> None:
        open("/nonexistent/soundfont.sf2", "rb")

    with pytest.raises(WriteError) as raised:
        write_atomic(tmp_path / "take.wav", writer)
    assert str(raised.value) == (f"could not write {tmp_path / 'take.wav'}: No such file or directory "
                                 "(/nonexistent/soundfont.sf2)")


def test_an_error_that_is_not_the_system_s_passes_through(tmp_path):
    with pytest.raises(ValueError, match="not music"):
        write_atomic(tmp_path / "take.bin", lambda tmp: (_ for _ in ()).throw(ValueError("not music")))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("number", [errno.EACCES, errno.EROFS])
def test_a_folder_that_cannot_be_written_to_is_named_before_any_temporary(tmp_path, monkeypatch, number):
    """As root, permission bits do not stop a write, so the refusal is the system's answer made by hand: the
    temporary cannot be created, as in a read-only folder or on a read-only mount."""
    def refused(**kwargs):
        raise OSError(number, os.strerror(number), os.path.join(kwargs["dir"], ".take.mid.123-abc.tmp"))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refused)
    with pytest.raises(WriteError) as raised:
        write_bytes_atomic(tmp_path / "out" / "take.mid", b"MThd")
    assert str(raised.value) == f"could not write {tmp_path / 'out' / 'take.mid'}: {os.strerror(number)}"
    with pytest.raises(WriteError) as raised:
        check_writable(tmp_path / "out")
    assert str(raised.value) == f"could not write {tmp_path / 'out'}: {os.strerror(number)}"


def test_a_folder_under_a_file_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    with pytest.raises(WriteError, match=r"could not write .*plain/deeper/take.bin: Not a directory"):
        write_bytes_atomic(tmp_path / "plain" / "deeper" / "take.bin", b"x")
    with pytest.raises(TunesmithError) as raised:
        check_writable(tmp_path / "plain" / "deeper")
    assert str(raised.value) == f"{tmp_path / 'plain'} is a file, not a folder"
    with pytest.raises(TunesmithError, match="is a file, not a folder"):
        check_writable(tmp_path / "plain")


def test_check_writable_leaves_no_trace(tmp_path):
    assert check_writable(tmp_path / "new" / "folder") == tmp_path / "new" / "folder"
    assert list(tmp_path.iterdir()) == []  # a folder that does not exist yet is not made
    (tmp_path / "there").mkdir()
    check_writable(tmp_path / "there")
    assert list((tmp_path / "there").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a folder whatever its permission bits")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="read-only/take.mid: Permission denied$"):
            write_bytes_atomic(folder / "take.mid", b"MThd")
        with pytest.raises(WriteError, match="read-only: Permission denied$"):
            check_writable(folder)
    finally:
        folder.chmod(0o755)


def test_append_jsonl_on_a_full_disk_names_the_file(tmp_path, monkeypatch):
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(WriteError) as raised:
        append_jsonl(tmp_path / "metrics.jsonl", {"step": 1})
    assert str(raised.value) == f"could not write {tmp_path / 'metrics.jsonl'}: No space left on device"


def test_stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    names = {f".take.mid.{dead_pid}-x1y2.tmp": False,  # its process has ended: removed
             f".take.mid.{os.getpid()}-a8b9.tmp": True,  # this process's: it may still be writing
             ".take.mid.1-q7.tmp": True,  # pid 1 is alive
             ".old-style.mid.abc123.tmp": True,  # no process in the name: cannot tell, kept
             "take.mid": True}
    for name in names:
        (tmp_path / name).write_bytes(b"half")
    removed = remove_stale_temporaries(tmp_path)
    assert [p.name for p in removed] == [f".take.mid.{dead_pid}-x1y2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, kept in names.items() if kept)
    assert remove_stale_temporaries(tmp_path / "missing") == []
