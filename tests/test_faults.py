"""Faults while writing: a process killed (SIGKILL) half-way through writing the corpus cache or generated
pieces leaves nothing half-written where the next command reads, and the next command reuses what is whole or
makes it again; a folder that cannot be written to and a run directory with damaged files are one-line errors
naming the file. (A kill or a full disk during a checkpoint: tests/training/test_checkpoint_faults.py.)

The faults come at a chosen write, not after a guessed sleep: tests/faults.py runs `tunesmith` in a child
process that kills itself (or hits a file-size limit) at the Nth write of a file of a given name.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import symusic

from faults import run_tunesmith
from tunesmith.data.corpora import CACHE_VERSION

KILLED = -signal.SIGKILL


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


# ---------------- the corpus cache ----------------

@pytest.mark.parametrize("kill", ["00004.mid@1", "index.json@1"])
def test_a_corpus_cache_build_killed_half_way_is_built_again_whole(tmp_path, monkeypatch, kill):
    """Killed while it writes the fifth piece's MIDI file, or the index: the next command finds no cache under
    the name it reads, builds it again, and it is the cache an unbroken build makes; the one after reuses it."""
    from tunesmith.data import load_corpus

    cache = tmp_path / "cache"
    env = {"TUNESMITH_CACHE": str(cache), "TUNESMITH_LOG": "INFO"}
    stats = ("corpus", "stats", "folk", "--limit", "1", "--quiet", "--json")  # a book of 200 tunes
    killed = run_tunesmith(*stats, tmp_path / "killed.json", kill=kill, env=env)
    assert killed.returncode == KILLED, killed.stderr
    folder = cache / "corpora" / f"folk-v{CACHE_VERSION}-first1"
    assert not folder.exists() and not (tmp_path / "killed.json").exists()
    half_built = [p for p in folder.parent.iterdir() if p != folder]
    assert len(half_built) == 1 and not (half_built[0] / "index.json").exists()  # the kill came mid-build

    again = run_tunesmith(*stats, tmp_path / "again.json", env=env)
    assert again.returncode == 0, again.stderr
    assert "building the folk corpus cache" in again.stderr
    assert f"removing {half_built[0]}, a corpus cache whose build was stopped" in again.stderr
    assert list(folder.parent.iterdir()) == [folder]  # the killed build's folder is gone
    index = json.loads((folder / "index.json").read_text())
    assert len(index["pieces"]) == 200 and json.loads((tmp_path / "again.json").read_text())["pieces"] == 200

    # the same pieces, byte for byte, as a cache built without a kill
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "unbroken"))
    unbroken = load_corpus("folk", limit=1, progress=False)
    assert [e["name"] for e in index["pieces"]] == [p.name for p in unbroken.pieces]
    for entry, piece in zip(index["pieces"], unbroken.pieces, strict=True):
        assert (folder / "midi" / entry["file"]).read_bytes() == bytes(piece.score.dumps_midi())

    # and the next command reuses it as it is
    before = (folder / "index.json").stat()
    reused = run_tunesmith(*stats, tmp_path / "reused.json", env=env)
    assert reused.returncode == 0, reused.stderr
    assert "building" not in reused.stderr
    after = (folder / "index.json").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert json.loads((tmp_path / "reused.json").read_text()) == json.loads((tmp_path / "again.json").read_text())


@pytest.mark.parametrize("full", ["00004.mid@1", "index.json@1"])
def test_a_full_disk_while_building_the_corpus_cache_is_a_one_line_error_and_leaves_nothing(tmp_path, full):
    cache = tmp_path / "cache"
    stats = ("corpus", "stats", "folk", "--limit", "1", "--quiet")
    stopped = run_tunesmith(*stats, fsize=full, env={"TUNESMITH_CACHE": str(cache)})
    folder = cache / "corpora" / f"folk-v{CACHE_VERSION}-first1"
    assert stopped.returncode == 2, stopped.stderr
    assert stopped.stderr.splitlines() == [f"error: could not write {folder}: File too large"]
    assert list(folder.parent.iterdir()) == []  # no cache, and no half-built one left behind


# ---------------- generated pieces ----------------

GENERATE = ("--num", "3", "--bars", "4", "--seed", "5", "--no-wav", "--no-png")


def _midi_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_generate_killed_while_writing_leaves_whole_pieces_and_is_done_again_whole(tiny_rnn_run, tmp_path, run_cli):
    from tunesmith.data import load_corpus

    out = tmp_path / "out"
    killed = run_tunesmith("generate", tiny_rnn_run, "--out", out, *GENERATE, kill="*.mid@2")
    assert killed.returncode == KILLED, killed.stderr
    [first] = _midi_files(out)  # the second piece's file was half-written when the kill came: not there
    [stale] = _temporaries(out)
    assert stale.startswith(".") and ".mid." in stale
    written = load_corpus(out, progress=False)  # what reads the folder sees the whole piece only
    assert [p.name for p in written.pieces] == [Path(first).stem] and written.rejected == []
    kept = (out / first).read_bytes()

    code, printed, err = run_cli("generate", tiny_rnn_run, "--out", out, *GENERATE)
    assert code == 0, err
    assert len(_midi_files(out)) == 3 and _temporaries(out) == []  # the killed process's temporary is gone
    assert (out / first).read_bytes() == kept  # the same seed, the same piece
    for name in _midi_files(out):
        assert len(symusic.Score.from_midi((out / name).read_bytes()).tracks) > 0


def test_generate_into_a_read_only_folder_is_a_one_line_error_before_generating(tiny_rnn_run, tmp_path):
    """A real read-only folder: as root, the child gives up the capability that lets root write anywhere."""
    out = tmp_path / "read-only"
    out.mkdir()
    out.chmod(0o555)
    try:
        refused = run_tunesmith("generate", tiny_rnn_run, "--out", out, *GENERATE, permissions_apply=True)
    finally:
        out.chmod(0o755)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [f"error: could not write {out}: Permission denied"]
    assert refused.stdout == "" and list(out.iterdir()) == []


def test_generate_onto_a_read_only_filesystem_is_a_one_line_error(tiny_rnn_run, tmp_path, run_cli, monkeypatch):
    """EROFS, made by hand (mounting needs privileges tests do not have): no file can be created in `out`."""
    import errno
    import os

    from tunesmith import fileio

    out = tmp_path / "mounted"
    out.mkdir()
    real = fileio.tempfile.mkstemp

    def mkstemp(**kwargs):
        if Path(kwargs["dir"]) == out:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(out / "x"))
        return real(**kwargs)

    monkeypatch.setattr(fileio.tempfile, "mkstemp", mkstemp)
    code, printed, err = run_cli("generate", tiny_rnn_run, "--out", out, *GENERATE)
    assert code == 2 and printed == ""
    assert err.splitlines() == [f"error: could not write {out}: Read-only file system"]

    # a folder that turns read-only after the check: the piece's file is named
    monkeypatch.setattr(fileio, "check_writable", lambda folder: Path(folder))
    code, printed, err = run_cli("generate", tiny_rnn_run, "--out", out, *GENERATE)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"error: could not write {out}/")
    assert err.rstrip().endswith(".mid: Read-only file system")


# ---------------- damaged run directories ----------------

@pytest.fixture
def run_copy(tiny_rnn_run, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_rnn_run, tmp_path / "run"))


def _one_line_error(run_cli, *args) -> str:
    code, printed, err = run_cli(*args)
    assert code == 2 and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err.strip()


@pytest.mark.parametrize("keep", [0, 7, 100, 0.5, -1])
def test_a_truncated_model_is_a_one_line_error_naming_it(run_copy, run_cli, tmp_path, keep):
    model = run_copy / "model.safetensors"
    data = model.read_bytes()
    model.write_bytes(data[:int(len(data) * keep) if isinstance(keep, float) else keep if keep >= 0 else len(data) - 1])
    for command in (("generate", run_copy, "--out", tmp_path / "out", *GENERATE),
                    ("evaluate", run_copy, "--num", "2", "--bars", "2", "--reference", "bach")):
        err = _one_line_error(run_cli, *command)
        assert err.startswith(f"error: {model} is damaged (Error while deserializing header: "), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, reason", [
    (b'{"family": "rnn", "model": ', "Expecting value"),
    (b"", "Expecting value"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not text: byte 0 is not UTF-8"),
    (b'["rnn"]', "a JSON list, not an object of settings"),
])
def test_a_config_that_is_not_json_is_a_one_line_error_naming_it(run_copy, run_cli, tmp_path, content, reason):
    (run_copy / "config.json").write_bytes(content)
    for command in (("generate", run_copy, "--out", tmp_path / "out", *GENERATE),
                    ("train", "--model", "rnn", "--out", run_copy, "--resume", "--quiet")):
        assert _one_line_error(run_cli, *command) == f"error: {run_copy / 'config.json'} is damaged ({reason})"


def test_a_damaged_tokenizer_is_a_one_line_error_naming_it(run_copy, run_cli, tmp_path):
    tokenizer = run_copy / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes()[:200])
    err = _one_line_error(run_cli, "generate", run_copy, "--out", tmp_path / "out", *GENERATE)
    assert err.startswith(f"error: {tokenizer} is damaged (")
