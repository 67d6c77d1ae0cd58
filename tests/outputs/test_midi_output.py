"""MIDI writing, dispatch by suffix, and the all-or-nothing file writes."""

from __future__ import annotations

import pytest
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.outputs import save_piece, write_piece_files
from tunesmith.piece import Piece


def _notes(piece: Piece) -> dict[str, list[tuple[int, int, int, int]]]:
    return {t.name: sorted((n.time, n.duration, n.pitch, n.velocity) for n in t.notes) for t in piece.score.tracks}


def test_midi_round_trip_keeps_every_note(tmp_path, duet, drum_groove):
    both = duet.copy()
    for track in drum_groove.score.tracks:
        both.score.tracks.append(track.copy())
    path = save_piece(both, tmp_path / "both.mid")
    back = Piece.load(path)
    assert back.tpq == 480
    assert _notes(back) == _notes(both)
    assert back.instruments == [("Melody", 73, False), ("Bass", 32, False), ("Drums", 0, True)]
    assert back.time_signature == (4, 4)
    assert back.tempo == pytest.approx(120.0)


def test_upper_case_suffix_and_midi_suffix(tmp_path, duet):
    assert Piece.load(save_piece(duet, tmp_path / "a.MID")).note_count == 11
    assert Piece.load(duet.save(tmp_path / "b.midi")).note_count == 11


def test_unknown_suffix_is_a_clear_error(tmp_path, duet):
    with pytest.raises(TunesmithError, match=r"cannot write a '\.mp3' file"):
        save_piece(duet, tmp_path / "x.mp3")
    with pytest.raises(TunesmithError, match="suffix-less"):
        save_piece(duet, tmp_path / "noname")


def test_write_piece_files_names_and_kinds(tmp_path, duet):
    written = write_piece_files(duet, tmp_path / "out", "take1", wav=False, png=True, musicxml=True)
    assert written == {"mid": tmp_path / "out" / "take1.mid", "png": tmp_path / "out" / "take1.png",
                       "musicxml": tmp_path / "out" / "take1.musicxml"}
    assert all(p.stat().st_size > 0 for p in written.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["take1.mid", "take1.musicxml", "take1.png"]


def test_a_score_of_nothing_is_refused_before_writing(tmp_path):
    empty = Piece(score=symusic.Score(480), name="empty")
    with pytest.raises(TunesmithError, match="no notes"):
        save_piece(empty, tmp_path / "empty.musicxml")
    # a write that fails half-way is tested in test_atomic_writes.py
