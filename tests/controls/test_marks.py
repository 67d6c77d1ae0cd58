"""Every generated piece carries the marks a score needs: a key signature (the asked key, else its own, else the
primer's, else the key its notes are in), a time signature, and a whole-number tempo unless one was asked."""

from __future__ import annotations

import pytest
import symusic

from tunesmith.controls.marks import key_signature_of, write_marks
from tunesmith.piece import Piece
from tunesmith.theory import Key, parse_key

SIGNATURES = {"C major": 0, "G major": 1, "D major": 2, "A major": 3, "E major": 4, "B major": 5, "F# major": 6,
              "F major": -1, "Bb major": -2, "Eb major": -3, "Ab major": -4, "Db major": -5, "A minor": 0,
              "E minor": 1, "B minor": 2, "F# minor": 3, "D minor": -1, "G minor": -2, "C minor": -3,
              "F minor": -4, "Bb minor": -5}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_a_key_has_its_signature_and_back(name):
    key = parse_key(name)
    assert key.sharps == SIGNATURES[name]
    assert Key.from_signature(key.sharps, minor=key.mode == "minor") == key


def _d_major(qpm=120.43, signature: tuple[int, int] | None = None) -> Piece:
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=qpm))
    if signature is not None:
        score.key_signatures.append(symusic.KeySignature(0, *signature))
    track = symusic.Track("Soprano", program=0)
    for i, pitch in enumerate([62, 64, 66, 67, 69, 71, 73, 74, 69, 66, 62]):  # D major, up and down
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    return Piece(score, name="d")


def _signature(piece: Piece) -> list[tuple[int, int, int]]:
    return [(int(k.time), int(k.key), int(k.tonality)) for k in piece.score.key_signatures]


def test_a_piece_without_marks_gets_its_measured_key_a_metre_and_a_round_tempo():
    piece = write_marks(_d_major())
    assert _signature(piece) == [(0, 2, 0)]
    assert [(int(t.numerator), int(t.denominator)) for t in piece.score.time_signatures] == [(4, 4)]
    assert [round(float(t.qpm), 6) for t in piece.score.tempos] == [120.0]
    assert piece.note_count == 11 and piece.name == "d"


def test_the_asked_key_wins_and_an_asked_tempo_is_kept_exactly():
    piece = write_marks(_d_major(qpm=97.5, signature=(1, 0)), key=parse_key("Bb minor"), tempo=97.5)
    assert _signature(piece) == [(0, -5, 1)]
    assert [round(float(t.qpm), 3) for t in piece.score.tempos] == [97.5]  # MIDI keeps whole microseconds


def test_the_pieces_own_signature_then_the_primers():
    assert _signature(write_marks(_d_major(signature=(-1, 1)))) == [(0, -1, 1)]  # its own: D minor
    primer = _d_major(signature=(3, 0))
    assert _signature(write_marks(_d_major(), primer=primer)) == [(0, 3, 0)]
    assert key_signature_of(primer) == parse_key("A major") and key_signature_of(_d_major()) is None


def test_generated_pieces_carry_the_asked_key_or_their_own(tiny_rnn_run):
    from tunesmith.generation.run import load_run

    run = load_run(tiny_rnn_run)
    asked = run.generate(num=1, bars=2, seed=3, key="A major")
    assert _signature(asked[0]) == [(0, 3, 0)]
    own = run.generate(num=2, bars=2, seed=4)
    for piece in own:
        [(_, sharps, minor)] = _signature(piece)
        assert Key.from_signature(sharps, bool(minor)) == piece.key
        assert all(abs(float(t.qpm) - round(float(t.qpm))) < 1e-3 for t in piece.score.tempos)
        assert len(piece.score.time_signatures) >= 1
