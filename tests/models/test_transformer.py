"""The Transformer family: shapes, loss, tying, the key/value cache and the sliding window, conditioned windows."""

from __future__ import annotations

import numpy as np
import pytest
import symusic
import torch

from tunesmith.errors import TunesmithError
from tunesmith.models import config_from_dict, get_family, transformer_decode
from tunesmith.models.token_lm import PITCH_FEATURES, pitch_feature_table
from tunesmith.models.transformer import TokenTransformer, TransformerConfig
from tunesmith.models.transformer_decode import LOOKAHEAD
from tunesmith.piece import Piece
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.representations.windows import token_windows
from tunesmith.runs.formats import format_1_to_2


def tiny(window: int = 16, **kw) -> TokenTransformer:
    torch.manual_seed(0)
    config = TransformerConfig(layers=2, width=32, heads=4, ff_mult=2, dropout=0.0, window=window, **kw)
    return TokenTransformer(config, vocab_size=50, pad_id=0).eval()


def test_forward_shapes_and_tied_weights():
    model = tiny()
    logits, (position, caches) = model(torch.randint(1, 50, (3, 10)))
    assert logits.shape == (3, 10, 50) and position == 10 and len(caches) == 2
    assert caches[0].ordered()[0].shape == (3, 4, 10, 8)
    assert model.head.weight is model.embed.weight


def test_loss_falls_when_fitting_one_batch():
    model = tiny().train()
    batch = {"tokens": torch.randint(1, 50, (4, 17))}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = float(model.loss(batch)[0].detach())
    for _ in range(30):
        loss, _ = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first - 1.0


def test_cache_gives_the_logits_of_the_full_pass():
    model = tiny(window=16)
    x = torch.randint(1, 50, (2, 14))
    full, _ = model(x)
    logits, state = model(x[:, :5])
    steps = [logits]
    for t in range(5, 14):
        out, state = model.step(x[:, t:t + 1], state)  # the one-event path with the ring cache
        steps.append(out[:, None])
    assert torch.allclose(full, torch.cat(steps, 1), atol=1e-5)
    more, _ = model(x[:, :3], state)  # a chunk after the ring: the same as one long pass
    assert torch.allclose(more, model(torch.cat([x, x[:, :3]], 1))[0][:, 14:], atol=1e-5)


def test_generation_past_the_window_attends_to_the_last_window_events():
    model = tiny(window=8)
    x = torch.randint(1, 50, (1, 30))
    _, state = model(x[:, :1])
    for t in range(1, 30):
        out, state = model.step(x[:, t:t + 1], state)
    assert state[1][0].n == 8 + LOOKAHEAD  # the ring keeps the window's events and room to guess ahead
    banded, _ = model(x)  # one pass with the same sliding window as a mask
    assert torch.allclose(out[0], banded[0, -1], atol=1e-5)


@pytest.mark.parametrize("streamed", [False, True])
def test_events_fed_ahead_and_taken_back_leave_the_state_of_the_kept_ones(streamed, monkeypatch):
    if streamed:  # the path of caches too big to stay in a core's caches (many rows)
        monkeypatch.setattr(transformer_decode, "STREAMED", 0)
    model = tiny(window=8)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(1, 50, (2, 120), generator=g)
    banded, _ = model(x)
    _, state = model(x[:, :3])
    got, at = [], 3
    while at < 115:  # several events at once; keep a random number of them, as a speculative sampler does
        t = int(torch.randint(1, 5, (), generator=g))
        keep = int(torch.randint(1, t + 1, (), generator=g))
        logits, pending = model.verify(x[:, at:at + t], state)
        assert torch.allclose(logits, banded[:, at:at + t], atol=1e-5)
        got.append(logits[:, :keep])
        state, at = model.commit(pending, keep), at + keep
    assert state[0] == at and len(got) > 30


def test_verify_refuses_too_many_events_or_a_model_it_cannot_decode():
    model = tiny(window=8)
    x = torch.randint(1, 50, (1, 20))
    with torch.no_grad():
        state = model(x[:, :4])[1]
        with pytest.raises(TunesmithError, match="fewer than"):
            model.verify(x[:, 4:4 + LOOKAHEAD], state)
        model.verify(x[:, 4:6], state)  # builds the numpy decoder
        model.double()  # drops it: the next call must not decode float64 weights with float32 copies
        assert not model.guessing
        with pytest.raises(TunesmithError, match="float32 model on a CPU"):
            model.verify(x[:, 4:6], model(x[:, :4])[1])


def test_the_decoder_follows_a_training_step():
    model = tiny(window=16)
    x = torch.randint(1, 50, (1, 12))
    with torch.no_grad():
        before = model.verify(x[:, 10:], model(x[:, :10])[1])[0]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    model.loss({"tokens": x})[0].backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        after = model.verify(x[:, 10:], model(x[:, :10])[1])[0]
        assert not torch.allclose(before, after, atol=1e-4)
        assert torch.allclose(after, model(x)[0][:, 10:], atol=1e-5)


def test_config_is_strict_and_heads_must_divide_the_width():
    with pytest.raises(TunesmithError, match="unknown model setting"):
        config_from_dict(TransformerConfig, {"depth": 3})
    with pytest.raises(TunesmithError, match="model setting width must be a whole number"):
        config_from_dict(TransformerConfig, {"width": "wide"})
    with pytest.raises(TunesmithError, match="tie_embeddings must be true or false"):
        config_from_dict(TransformerConfig, {"tie_embeddings": 1})
    assert config_from_dict(TransformerConfig, {"dropout": 0, "layers": 2}).dropout == 0  # a whole number is a number
    with pytest.raises(TunesmithError, match=r"^setting width must split into 4 heads of an even size \(got 30\)$"):
        TransformerConfig(width=30, heads=4)
    with pytest.raises(TunesmithError, match=r"^model setting window must be at least 2 \(got 1\)$"):
        config_from_dict(TransformerConfig, {"window": 1})
    with pytest.raises(TunesmithError, match="unknown model setting.*vocab_size"):  # the tokenizer's, not a setting
        config_from_dict(TransformerConfig, {"vocab_size": 300})
    assert get_family("transformer").name == "transformer"


def chorale_like(tonic: int) -> Piece:
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track(name="Piano", program=0)
    for i in range(32):
        for p in (48, 64, 67):
            track.notes.append(symusic.Note(i * 480, 480, tonic + p, 80))
    score.tracks.append(track)
    return Piece(score, name=f"p{tonic}", tags={"corpus": "demo"})


def test_conditioned_windows_start_with_the_head_and_transpose_the_key():
    pieces = [chorale_like(0), chorale_like(2)]
    rep = TokenRepresentation(conditioning=["style", "key", "instruments"], infill=True).fit(pieces)
    names = rep.token_names()
    data = token_windows(pieces, rep, window=64, transpose=False, seed=0)
    first = [names[i] for i in data[0]["tokens"].tolist()[:6]]
    assert first == ["BOS_None", "Style_demo", "Key_C_major", "Instrument_0", "CondEnd", "Bar_None"]
    table = rep.transpose_table(3)
    assert names[table[rep.conditions.ids["Key_C_major"]]] == "Key_Eb_major"
    train = token_windows(pieces, rep, window=64, transpose=True, seed=0)
    orders = []
    for i in range(len(train)):
        ids = [names[t] for t in train[i]["tokens"].tolist()]
        if "Infill_Suffix" in ids:
            orders.append([ids.index(m) for m in ("Infill_Suffix", "Infill_Prefix", "Infill_Middle", "Infill_End")])
    assert orders and all(o == sorted(o) for o in orders)


def test_runs_without_conditioning_keep_their_vocabulary():
    rep = TokenRepresentation()
    assert rep.vocab_size == rep.base_vocab_size and "conditioning" not in rep.to_dict()
    assert np.array_equal(rep.transpose_table(0), np.arange(rep.vocab_size))


def test_pitch_features_make_every_interval_the_same_rotation():
    pitches = torch.tensor([-1, 60, 67, 48, 55, 61])
    table = pitch_feature_table(pitches)
    assert table.shape == (6, PITCH_FEATURES) and not table[0].any()
    waves = table[:, :-1]  # sines then cosines: a fifth up anywhere gives the same products
    assert torch.allclose(waves[1] @ waves[2], waves[3] @ waves[4], atol=1e-5)
    assert not torch.allclose(waves[1] @ waves[2], waves[1] @ waves[5], atol=1e-2)
    assert torch.allclose(table[1, :6], table[3, :6], atol=1e-5)  # C4 and C3: one pitch class
    assert table[1, -1] == 0 and table[3, -1] == -0.5  # the height line


@pytest.mark.parametrize("family", ["transformer", "rnn"])
def test_pitch_features_are_read_and_written_by_the_tied_rows(family):
    rep = TokenRepresentation().fit([chorale_like(0)])
    spec = get_family(family)
    config = config_from_dict(spec.config_class, {"layers": 1, "width": 32, "dropout": 0.0, "pitch_features": True}
                              | ({"heads": 4, "window": 16} if family == "transformer" else {"embedding": 16}))
    torch.manual_seed(0)
    model = spec.build_model(config, rep).eval()
    pitch = int(np.flatnonzero(rep.pitch_of_token() == 60)[0])
    weight = model.token_weight()
    assert not torch.allclose(weight[pitch], model.embed.weight[pitch])  # the pitch rows carry the features
    assert torch.equal(weight[rep.bar_id], model.embed.weight[rep.bar_id])  # other rows do not
    assert "pitch_table" not in model.state_dict()  # rebuilt from the tokenizer when a run loads
    x = torch.tensor([[rep.bos_id, rep.bar_id, pitch, pitch, rep.bar_id]])
    full, _ = model(x)
    logits, state = model(x[:, :2])
    for t in range(2, 5):
        logits, state = model.step(x[:, t:t + 1], state)
    assert torch.allclose(logits, full[:, -1], atol=1e-5)  # the cached step reads the same rows
    with torch.no_grad():
        model.pitch_proj.weight.mul_(2)  # changed weights: the step gathers them again
    assert torch.allclose(model.step(x[:, 4:], model(x[:, :4])[1])[0], model(x)[0][:, -1], atol=1e-5)


def test_runs_saved_before_pitch_features_load_without_them():
    assert config_from_dict(TransformerConfig, {"layers": 2}).pitch_features  # new runs have them
    old = format_1_to_2({"family": "transformer", "model": {"layers": 2, "vocab_size": 300, "pad_id": 0}}, "old run")
    assert old["model"] == {"pitch_features": False, "layers": 2}  # the setting as it was; the vocabulary dropped
    assert config_from_dict(TransformerConfig, old["model"]).pitch_features is False
