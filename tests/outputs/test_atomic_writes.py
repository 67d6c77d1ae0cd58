"""A write that fails half-way leaves the old file as it was and no temporary beside it, for every kind."""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path

import matplotlib.figure
import pytest
import symusic

from tunesmith.outputs import save_piece
from tunesmith.piece import Piece


def _disk_full(path: str | Path, written: bytes = b"half a file") -> None:
    """Write some bytes to `path`, then fail as a full disk does."""
    with open(path, "wb") as f:  # not Path.write_bytes, which the MusicXML case replaces
        f.write(written)
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


class _ScoreThatFillsTheDisk:
    """A stand-in for symusic.Score whose MIDI serializer writes part of the file, then fails."""

    def __init__(self, score: symusic.Score):
        self._score = score

    def __getattr__(self, name):
        return getattr(self._score, name)

    def dump_midi(self, path: str) -> None:
        _disk_full(path, bytes(self._score.dumps_midi())[:20])


def _break_midi(monkeypatch, piece: Piece) -> Piece:
    return dataclasses.replace(piece, score=_ScoreThatFillsTheDisk(piece.score))


def _break_wav(monkeypatch, piece: Piece) -> Piece:
    monkeypatch.setattr(symusic, "dump_wav", lambda path, *args, **kwargs: _disk_full(path))
    return piece


def _break_png(monkeypatch, piece: Piece) -> Piece:
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, path, **kwargs: _disk_full(path))
    return piece


def _break_musicxml(monkeypatch, piece: Piece) -> Piece:
    monkeypatch.setattr(Path, "write_bytes", lambda self, data: _disk_full(self, data[:50]))
    return piece


@pytest.mark.parametrize("suffix, break_writer", [(".mid", _break_midi), (".wav", _break_wav),
                                                  (".png", _break_png), (".musicxml", _break_musicxml)])
def test_a_write_failing_half_way_keeps_the_old_file_and_leaves_no_temporary(suffix, break_writer, duet, tmp_path,
                                                                            monkeypatch):
    target = tmp_path / f"take{suffix}"
    save_piece(duet, target)
    old = target.read_bytes()
    assert len(old) > 100
    seen = []
    real_replace = __import__("os").replace
    monkeypatch.setattr("tunesmith.fileio.os.replace", lambda a, b: (seen.append(a), real_replace(a, b))[1])
    with monkeypatch.context() as patch:
        broken = break_writer(patch, duet.transpose(2))
        with pytest.raises(OSError, match="No space left"):
            save_piece(broken, target)
    assert seen == []  # the half-written temporary never replaced the file
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_failed_first_write_leaves_nothing(duet, tmp_path, monkeypatch):
    broken = _break_midi(monkeypatch, duet)
    with pytest.raises(OSError):
        save_piece(broken, tmp_path / "new" / "first.mid")
    assert list((tmp_path / "new").iterdir()) == []


def test_a_successful_write_replaces_the_old_file_whole(duet, tmp_path):
    target = tmp_path / "take.mid"
    save_piece(duet, target)
    save_piece(duet.transpose(5), target)
    back = Piece.load(target)
    assert sorted(back.pitches().tolist()) == sorted((duet.pitches() + 5).tolist())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mid"]
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
