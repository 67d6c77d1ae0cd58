"""A token model writes for its corpus's usual line-up unless asked otherwise: a voice that plays in a few of its
pieces (a horn in 4 of 350 chorales, even one written as program 0 as the chorales' instruments are) is left
out of what it writes by default."""

from __future__ import annotations

import pytest
import symusic

from tunesmith.piece import Piece
from tunesmith.representations.tokens import TokenRepresentation


def _chorale(horn: bool, horn_program: int = 60) -> Piece:
    score = symusic.Score(480)
    parts = [("Soprano", 0, 72), ("Alto", 0, 67), ("Tenor", 0, 60), ("Bass", 0, 48)]
    parts += [("Horn 1", horn_program, 72)] if horn else []
    for name, program, pitch in parts:
        track = symusic.Track(name, program=program)
        for i in range(4):
            track.notes.append(symusic.Note(i * 480, 480, pitch + i % 3, 80))
        score.tracks.append(track)
    return Piece(score, name="c")


def _names(rep, slots):
    return [rep.voice_slots.by_slot[slot].name for slot in slots]


@pytest.mark.parametrize("horn_program", [60, 0])  # a horn of its own program, or written as program 0
def test_the_usual_line_up_leaves_out_a_voice_of_a_few_pieces(horn_program):
    rep = TokenRepresentation().fit([_chorale(horn=i == 0, horn_program=horn_program) for i in range(6)])
    assert _names(rep, rep.usual_voices) == ["Soprano", "Alto", "Tenor", "Bass"] and rep.usual_programs == [0]
    again = TokenRepresentation.from_dict(rep.to_dict())
    assert again.usual_voices == rep.usual_voices and again.usual_programs == [0]
    two = TokenRepresentation().fit([_chorale(horn=i < 2, horn_program=horn_program) for i in range(6)])
    assert _names(two, two.usual_voices) == ["Soprano", "Alto", "Tenor", "Bass", "Horn 1"]


def test_a_representation_saved_without_it_writes_every_voice_it_saw():
    rep = TokenRepresentation().fit([_chorale(horn=i == 0) for i in range(6)])
    saved = {k: v for k, v in rep.to_dict().items() if k != "usual_voices"}
    assert TokenRepresentation.from_dict(saved).usual_voices is None
    assert TokenRepresentation.from_dict(saved).usual_programs is None


def test_a_chorale_model_writes_its_voices_and_no_stray_instrument(tiny_rnn_run):
    from tunesmith.generation.run import load_run

    run = load_run(tiny_rnn_run)
    assert run.representation.usual_programs == [0]
    assert _names(run.representation, run.representation.usual_voices) == ["Soprano", "Alto", "Tenor", "Bass"]
    for piece in run.generate(num=4, bars=2, seed=21):
        assert {t.name for t in piece.score.tracks} <= {"Soprano", "Alto", "Tenor", "Bass"}


def test_velocity_tokens_decode_to_the_corpus_velocities():
    """The chorales play at 90, which MidiTok's 16 velocity values write as 87: decoded, it is 90 again (and
    left as the token says when a velocity range was asked)."""
    piece = _chorale(horn=False)
    rep = TokenRepresentation().fit([piece])
    assert rep.settings["velocity_values"] == {"79": 80}  # the notes are played at 80 here
    back = rep.decode(rep.encode(piece))
    assert {int(n.velocity) for t in back.score.tracks for n in t.notes} == {80}
    assert {int(n.velocity) for t in rep.decode(rep.encode(piece), corpus_velocities=False).score.tracks
            for n in t.notes} == {79}
    assert TokenRepresentation.from_dict(rep.to_dict()).settings["velocity_values"] == {"79": 80}
