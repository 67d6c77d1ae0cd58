"""The REMI ids made from note arrays (representations/remi_ids.py) are MidiTok's, id for id."""

import miditok
import pytest
import symusic
from tests.conftest import TPQ

from tunesmith.data import load_corpus
from tunesmith.piece import Piece
from tunesmith.representations.remi_ids import in_scope, remi_ids
from tunesmith.representations.tokens import TokenRepresentation


def miditok_ids(tokenizer, score):
    return list(tokenizer.encode(score).ids)


def ours(tokenizer, score):
    return remi_ids(tokenizer, tokenizer.preprocess_score(score))


def made_score(*, signatures=((0, 4, 4),), tempos=((0, 100.0),), start=0, drums=False, empty=False):
    """Two voices (and optionally drums and an empty track) from `start`, under the given changes."""
    score = symusic.Score(TPQ)
    for time, num, den in signatures:
        score.time_signatures.append(symusic.TimeSignature(time, num, den))
    for time, qpm in tempos:
        score.tempos.append(symusic.Tempo(time, qpm=qpm))
    upper, lower = symusic.Track(name="Soprano", program=0), symusic.Track(name="Bass", program=32)
    for i in range(40):
        t = start + i * TPQ // 2 + (i % 3) * TPQ // 8
        upper.notes.append(symusic.Note(t, TPQ // 2 + (i % 5) * TPQ // 4, 60 + (i * 7) % 19, 40 + (i * 13) % 80))
        if i % 2 == 0:
            lower.notes.append(symusic.Note(t, TPQ * 2, 36 + (i * 5) % 12, 70))
            upper.notes.append(symusic.Note(t, TPQ, 64 + i % 7, 90))  # a chord inside one track
    score.tracks.extend([upper, lower])
    if drums:
        kit = symusic.Track(name="Drums", program=0, is_drum=True)
        for i in range(16):
            kit.notes.append(symusic.Note(start + i * TPQ, TPQ // 4, (36, 38, 42)[i % 3], 100))
        score.tracks.append(kit)
    if empty:
        score.tracks.append(symusic.Track(name="Silent", program=40))
    return score


CASES = {
    "plain": {},
    "pickup": {"start": TPQ * 3 // 2},
    "tempo changes": {"tempos": ((0, 90.0), (TPQ * 5, 140.0), (TPQ * 5 + 3, 60.0), (TPQ * 11, 200.0))},
    "signature changes": {"signatures": ((0, 3, 4), (TPQ * 6, 6, 8), (TPQ * 12, 4, 4), (TPQ * 13, 5, 4))},
    "no signature": {"signatures": ()},
    "signature late": {"signatures": ((TPQ * 4, 3, 4),)},
    "drums and an empty track": {"drums": True, "empty": True},
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("settings", [{}, {"use_tempos": False}, {"use_time_signatures": False},
                                      {"num_velocities": 8}])
def test_made_scores_give_miditoks_ids(case, settings):
    tokenizer = TokenRepresentation(**settings).tokenizer
    score = made_score(**CASES[case])
    got = ours(tokenizer, score)
    assert got is not None
    assert got == miditok_ids(tokenizer, score)
    assert len(got) > 100


def test_the_bundled_corpora_give_miditoks_ids():
    for name, limit in (("bach", None), ("folk", 1)):
        pieces = load_corpus(name, limit=limit, progress=False).pieces
        rep = TokenRepresentation().fit(pieces[:100])
        for piece in pieces:
            score = rep.voice_slots.relabel(piece.score)
            assert ours(rep.tokenizer, score) == miditok_ids(rep.tokenizer, score), piece.name
            assert rep.encode(piece) == miditok_ids(rep.tokenizer, score), piece.name


def test_outside_its_scope_miditok_encodes():
    tsd = TokenRepresentation(tokenization="TSD").tokenizer
    assert not in_scope(tsd) and ours(tsd, made_score()) is None
    rests = miditok.REMI(miditok.TokenizerConfig(use_programs=True, one_token_stream_for_programs=True,
                                                 use_rests=True))
    assert not in_scope(rests) and ours(rests, made_score()) is None
    assert in_scope(TokenRepresentation().tokenizer)
    # the representation's encode is MidiTok's either way
    rep, piece = TokenRepresentation(tokenization="TSD"), Piece(made_score(), name="made")
    assert rep.encode(piece) == miditok_ids(rep.tokenizer, piece.score)


def test_an_empty_score_has_no_ids_but_its_signature_and_tempo():
    tokenizer = TokenRepresentation().tokenizer
    score = made_score()
    for track in score.tracks:
        track.notes.clear()
    assert ours(tokenizer, score) == miditok_ids(tokenizer, score)
