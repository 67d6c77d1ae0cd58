from collections import Counter

import pytest

from tunesmith.representations import representation_from_dict
from tunesmith.representations.tokens import TokenRepresentation


def note_events(piece):
    """(onset in quarters, pitch, duration in quarters) of every note, as a multiset."""
    tpq = piece.tpq
    return Counter((round(n.time / tpq, 3), n.pitch, round(n.duration / tpq, 3))
                   for t in piece.score.tracks for n in t.notes)


@pytest.mark.parametrize("tokenization", ["REMI", "TSD"])
def test_round_trip_of_real_chorales(chorales, tokenization):
    rep = TokenRepresentation(tokenization=tokenization)
    for piece in chorales:
        back = rep.decode(rep.encode(piece))
        assert note_events(back) == note_events(piece), piece.name
        velocities = sorted(n.velocity for t in back.score.tracks for n in t.notes)
        original = sorted(n.velocity for t in piece.score.tracks for n in t.notes)
        assert max(abs(a - b) for a, b in zip(velocities, original, strict=True)) <= 8


def test_bars_counted_and_dict_round_trip(chorales, tmp_path):
    rep = TokenRepresentation()
    ids = rep.encode(chorales[0])
    assert rep.bars_in(ids) == chorales[0].bars
    rep.save(tmp_path)
    again = representation_from_dict(rep.to_dict(), tmp_path)
    assert again.encode(chorales[0]) == ids
    assert again.vocab_size == rep.vocab_size


def test_transposition_in_token_space_matches_transposing_the_piece(chorales):
    rep = TokenRepresentation()
    piece = chorales[1]
    shifted = rep.transpose_table(3)[rep.encode(piece)].tolist()
    assert shifted == rep.encode(piece.transpose(3))
    assert rep.transpose_table(200)[rep.tokenizer["Pitch_60"]] == -1
