"""The polyphonic benchmark model: the exact metric, the baselines, the joint key output, training, sampling."""

import math

import numpy as np
import pytest
import torch

from tunesmith.data.frames_json import KEYS
from tunesmith.models import get_family
from tunesmith.models.polyphonic import (
    PolyphonicConfig,
    PolyphonicModel,
    RollDataset,
    build_model,
    collate_rolls,
    make_dataset,
    model_scorer,
)
from tunesmith.models.polyphonic_score import (
    BernoulliBaseline,
    MarkovBaseline,
    bernoulli_nll,
    flat_frame_nll,
    mixture_scorer,
    score_rolls,
    transposed,
    transposition_mixture,
)
from tunesmith.representations.frames import FrameRepresentation


def roll_of(*frames):
    roll = np.zeros((len(frames), KEYS), dtype=np.uint8)
    for t, pitches in enumerate(frames):
        roll[t, [p - 21 for p in pitches]] = 1
    return roll


def bernoulli_model(probs: np.ndarray) -> PolyphonicModel:
    """A model whose every frame is independent keys with probabilities `probs`, whatever came before."""
    model = PolyphonicModel(PolyphonicConfig(hidden=8, made_hidden=8, dropout=0.0))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.key_bias.bias.copy_(torch.logit(torch.as_tensor(probs, dtype=torch.float32)))
    return model.eval()


def test_two_frame_case_matches_the_hand_computed_value():
    # frame 0 = {C4}, frame 1 = {C4, E4}; keys on with p 0.1, but C4 0.8 and E4 0.5
    probs = np.full(KEYS, 0.1)
    probs[60 - 21], probs[64 - 21] = 0.8, 0.5
    piece = roll_of([60], [60, 64])
    # only frame 1 is scored: -ln 0.8 - ln 0.5 - 86 ln 0.9
    expected = 0.2231435513 + 0.6931471806 + 86 * 0.1053605157
    assert expected == pytest.approx(9.977295, abs=1e-5)
    assert score_rolls(lambda r: bernoulli_nll(r, probs), [piece]) == pytest.approx(expected, abs=1e-7)
    assert score_rolls(model_scorer(bernoulli_model(probs)), [piece]) == pytest.approx(expected, abs=1e-4)


def test_scorer_skips_first_frames_and_averages_all_frames_in_one_list():
    per_frame = [np.array([100.0, 2.0]), np.array([100.0, 4.0, 6.0, 8.0])]
    # (2 + 4 + 6 + 8) / 4 frames = 5, not the mean of the pieces' means (2 + 6) / 2 = 4
    assert flat_frame_nll(per_frame) == pytest.approx(5.0)
    assert flat_frame_nll([np.array([7.0]), np.array([1.0, 3.0])]) == pytest.approx(3.0)


def test_model_predicting_a_known_bernoulli_gives_the_closed_form_nll():
    rng = np.random.default_rng(0)
    rolls = [(rng.random((n, KEYS)) < 0.05).astype(np.uint8) for n in (5, 9, 3)]
    p = 0.2
    notes = sum(int(r[1:].sum()) for r in rolls)
    frames = sum(len(r) - 1 for r in rolls)
    closed_form = (notes * -math.log(p) + (frames * KEYS - notes) * -math.log(1 - p)) / frames
    assert score_rolls(model_scorer(bernoulli_model(np.full(KEYS, p))), rolls) == pytest.approx(closed_form, rel=1e-5)


def test_mixture_frames_sum_to_the_nll_of_the_mixed_joint():
    # two models of independent keys; the mixture's per-frame terms are conditionals with posterior weights
    rng = np.random.default_rng(1)
    roll = (rng.random((6, KEYS)) < 0.1).astype(np.uint8)
    a, b = np.full(KEYS, 0.1), np.full(KEYS, 0.3)
    score = mixture_scorer([lambda r: bernoulli_nll(r, a), lambda r: bernoulli_nll(r, b)])
    per_frame = score(roll)
    joint = np.log(0.5 * np.exp(-bernoulli_nll(roll, a).sum()) + 0.5 * np.exp(-bernoulli_nll(roll, b).sum()))
    assert per_frame.sum() == pytest.approx(-joint, rel=1e-9)
    # the first frame: the plain average of the two models' probabilities
    first = -np.log(0.5 * np.exp(-bernoulli_nll(roll[:1], a)[0]) + 0.5 * np.exp(-bernoulli_nll(roll[:1], b)[0]))
    assert per_frame[0] == pytest.approx(first, rel=1e-9)
    # a mixture is never worse than its worst member and, here, close to its best
    assert bernoulli_nll(roll, a).sum() <= per_frame.sum() + np.log(2) + 1e-9


def test_transposition_mixture_drops_shifts_that_leave_the_keyboard():
    piece = roll_of([21, 60], [22, 64])  # A0 is the lowest key: a shift down pushes it off
    moved, lost = transposed(piece, -1)
    assert lost.tolist() == [1, 0] and moved[0, 59 - 21] == 1 and moved[1, 21 - 21] == 1
    probs = np.full(KEYS, 0.1)
    plain = lambda r: bernoulli_nll(r, probs)  # noqa: E731  (transposing changes nothing for a flat model...)
    mixed = transposition_mixture(plain, 1)(piece)
    # ...so the components for 0 and +1 agree and -1 is impossible: the mixture loses log(3/2) on frame 0 only
    assert mixed[0] == pytest.approx(plain(piece)[0] + np.log(1.5), rel=1e-9)
    assert mixed[1] == pytest.approx(plain(piece)[1], rel=1e-9)


def test_baselines_fit_by_counting():
    rolls = [roll_of([60], [60], [62]), roll_of([60], [], [])]
    bernoulli = BernoulliBaseline().fit(rolls)
    assert bernoulli.probs[60 - 21] == pytest.approx((3 + 1) / (6 + 2))
    assert bernoulli.probs[30] == pytest.approx(1 / 8)
    markov = MarkovBaseline().fit(rolls)
    # transitions from C4 on: 0->1 and 1->2 in piece 0, 0->1 in piece 1; it stayed on once
    assert markov.p_after_on[60 - 21] == pytest.approx((1 + 1) / (3 + 2))
    assert markov.p_after_off[62 - 21] == pytest.approx((1 + 1) / (4 + 2))


def test_each_key_depends_only_on_the_keys_below_it():
    model = PolyphonicModel(PolyphonicConfig(hidden=16, made_hidden=32)).eval()
    with torch.no_grad():
        model.direct.normal_()
    rolls = (torch.rand(1, 4, KEYS) < 0.3).float().requires_grad_(True)
    states, previous = model.context(rolls.detach())
    logits = model.key_logits(states, previous, rolls)
    jacobian = torch.stack([torch.autograd.grad(logits[0, 2, i], rolls, retain_graph=True)[0][0, 2]
                            for i in range(KEYS)])
    assert jacobian.triu().abs().sum() == 0
    assert jacobian.tril(-1).abs().sum() > 0


def test_frame_probabilities_sum_to_one_over_a_small_key_range():
    # with all keys but three forced off, the 8 possible frames must share probability 1
    model = PolyphonicModel(PolyphonicConfig(hidden=16, made_hidden=32)).eval()
    with torch.no_grad():
        model.direct.normal_()
        model.key_bias.bias.fill_(-60.0)
        model.key_bias.bias[[40, 41, 42]] = 0.0
    history = (torch.rand(1, 3, KEYS) < 0.1).float()
    frames = torch.zeros(8, 4, KEYS)
    frames[:, :3] = history
    for code in range(8):
        for bit in range(3):
            frames[code, 3, 40 + bit] = (code >> bit) & 1
    with torch.no_grad():
        nll = model.frame_nll(frames)[:, 3]
    assert torch.exp(-nll).sum().item() == pytest.approx(1.0, abs=1e-4)


def test_validation_loss_equals_the_benchmark_score():
    rng = np.random.default_rng(1)
    rolls = [(rng.random((n, KEYS)) < 0.04).astype(np.uint8) for n in (6, 11, 4)]
    model = PolyphonicModel(PolyphonicConfig(hidden=16, made_hidden=16)).eval()
    config = PolyphonicConfig(window=50)
    data = make_dataset(rolls, FrameRepresentation(), config, seed=0, train=False)
    with torch.no_grad():
        loss, stats = model.loss(collate_rolls([data[i] for i in range(len(data))]))
    assert stats["count"] == 18
    assert loss.item() == pytest.approx(score_rolls(model_scorer(model), rolls), rel=1e-5)


def test_transposition_keeps_pieces_on_the_keyboard():
    roll = roll_of([22, 30], [100])  # room for 1 semitone down, 8 up
    data = RollDataset([roll], window=10, transpose=12, seed=0)
    shifts = set()
    for _ in range(200):
        shifted = data[0]["roll"].numpy()
        assert shifted.sum() == 3
        shifts.add(int(np.flatnonzero(shifted[1])[0]) - (100 - 21))
    assert shifts == set(range(-1, 9))
    assert RollDataset([roll], window=1, transpose=0).items[1][0].shape == (1, KEYS)


ARCHITECTURES = ("lstm-nade", "tied")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_loss_falls_when_training(architecture):
    torch.manual_seed(0)
    pattern = [roll_of([60, 64, 67], [62, 65, 69], [64, 67, 71], [65, 69, 72]) for _ in range(4)]
    batch = collate_rolls([RollDataset(pattern, 8)[i] for i in range(4)])
    model = build_model(PolyphonicConfig(architecture=architecture, hidden=32, made_hidden=32, dropout=0.0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(batch)[0].item()
    for _ in range(60):
        loss, _ = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 4


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_sampling_is_seeded_and_decodes_to_a_piece(architecture):
    model = build_model(PolyphonicConfig(architecture=architecture, hidden=16, made_hidden=16)).eval()
    rolls = [model.sample(8, torch.Generator().manual_seed(3), num=2) for _ in range(2)]
    assert rolls[0].shape == (2, 8, KEYS)
    assert torch.equal(rolls[0], rolls[1])
    primer = torch.as_tensor(roll_of([60], [64]))
    primed = model.sample(5, torch.Generator().manual_seed(0), primer=primer)
    assert torch.equal(primed[0, :2], primer.float())
    piece = FrameRepresentation(frames_per_beat=2).decode(primed[0].numpy())
    assert piece.end_tick <= 5 * 240


def test_frames_representation_round_trip():
    rep = FrameRepresentation(frames_per_beat=2, tempo=90)
    roll = roll_of([60, 64], [60, 64], [60], [], [21, 108])
    piece = rep.decode(roll, name="x")
    notes = sorted((n.time, n.duration, n.pitch) for n in piece.score.tracks[0].notes)
    assert notes == [(0, 480, 64), (0, 720, 60), (960, 240, 21), (960, 240, 108)]
    assert piece.tempo == pytest.approx(90)
    assert np.array_equal(rep.encode(piece), roll)
    assert rep.frames_for(bars=16) == 128
    assert FrameRepresentation.from_dict(rep.to_dict()).to_dict() == rep.to_dict()


def test_family_is_registered():
    family = get_family("polyphonic")
    assert family.representation["kind"] == "frames"
    assert isinstance(family.build_model(PolyphonicConfig(), None), PolyphonicModel)
