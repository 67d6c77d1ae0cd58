"""A write the system stops half-way (a full disk, a file-size limit) is a one-line error naming the file, and
leaves the old file as it was and no temporary beside it, for every kind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faults import file_size_limit
from tunesmith.fileio import WriteError
from tunesmith.outputs import save_piece
from tunesmith.piece import Piece


@pytest.mark.parametrize("suffix", [".mid", ".wav", ".png", ".musicxml"])
def test_a_write_stopped_half_way_is_an_error_that_keeps_the_old_file(suffix, duet, tmp_path, monkeypatch):
    target = tmp_path / f"take{suffix}"
    save_piece(duet, target)
    old = target.read_bytes()
    assert len(old) > 100
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr("tunesmith.fileio.os.replace", lambda a, b: (renamed.append(a), real_replace(a, b))[1])
    with file_size_limit(len(old) // 2), pytest.raises(WriteError) as raised:
        save_piece(duet.transpose(2), target)
    # symusic's own MIDI and WAV writers do not check their writes: they would leave a cut-off file, no error
    assert str(raised.value) == f"could not write {target}: File too large"
    assert renamed == []  # the half-written temporary never replaced the file
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_failed_first_write_leaves_nothing(duet, tmp_path):
    with file_size_limit(20), pytest.raises(WriteError, match="first.mid: File too large$"):
        save_piece(duet, tmp_path / "new" / "first.mid")
    assert list((tmp_path / "new").iterdir()) == []


def test_a_full_disk_names_the_file(duet, tmp_path, monkeypatch):
    import errno

    def full(self, data):
        with open(self, "wb") as f:
            f.write(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(WriteError) as raised:
        save_piece(duet, tmp_path / "take.mid")
    assert str(raised.value) == f"could not write {tmp_path / 'take.mid'}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_a_successful_write_replaces_the_old_file_whole(duet, tmp_path):
    target = tmp_path / "take.mid"
    save_piece(duet, target)
    save_piece(duet.transpose(5), target)
    back = Piece.load(target)
    assert sorted(back.pitches().tolist()) == sorted((duet.pitches() + 5).tolist())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mid"]
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_midi_and_wav_are_the_bytes_symusic_writes(duet, tmp_path):
    """Python writes them now (its writes are checked), byte for byte what symusic's writers made."""
    import numpy as np
    import symusic

    from tunesmith.outputs.audio import _write_wav

    save_piece(duet, tmp_path / "take.mid")
    duet.score.dump_midi(str(tmp_path / "symusic.mid"))
    assert (tmp_path / "take.mid").read_bytes() == (tmp_path / "symusic.mid").read_bytes()
    audio = np.asfortranarray(np.random.default_rng(0).uniform(-1.2, 1.2, (2, 5000)).astype(np.float32))
    audio[:, :4] = [[1.0, -1.0, 0.5, 0.99999], [-0.5, 0.0, -0.00001, 1.5]]
    _write_wav(tmp_path / "take.wav", audio, 22050)
    symusic.dump_wav(str(tmp_path / "symusic.wav"), audio, 22050, use_int16=True)
    assert (tmp_path / "take.wav").read_bytes() == (tmp_path / "symusic.wav").read_bytes()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
