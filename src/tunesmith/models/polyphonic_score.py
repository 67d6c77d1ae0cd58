"""The polyphonic benchmark's metric (Boulanger-Lewandowski et al. 2012) and its two sanity baselines.

NLL of a frame = -log p(frame t | frames < t), the 88 keys' terms summed, in nats. The score of a
split is the flat average over every scored frame of every piece (longer pieces weigh more); the
first frame of each piece is not scored (as in Bai et al. 2018's code).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tunesmith.errors import TunesmithError

# -log p for each frame of one piece: [frames, 88] roll -> [frames]
FrameScorer = Callable[[np.ndarray], np.ndarray]


def flat_frame_nll(per_frame_nll: Sequence[np.ndarray]) -> float:
    """Flat average of per-frame NLLs over all pieces, each piece's first frame left out."""
    total, count = 0.0, 0
    for nll in per_frame_nll:
        nll = np.asarray(nll, dtype=np.float64)
        total += float(nll[1:].sum())
        count += max(len(nll) - 1, 0)
    if count == 0:
        raise TunesmithError("no frame to score: every piece has a single frame")
    return total / count


def score_rolls(scorer: FrameScorer, rolls: Sequence[np.ndarray]) -> float:
    """The benchmark score (nats per frame) of `scorer` on a list of [frames, 88] rolls."""
    return flat_frame_nll([scorer(roll) for roll in rolls])


def bernoulli_nll(roll: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per-frame NLL of a roll under independent key probabilities `probs` ([88] or [frames, 88])."""
    x = np.asarray(roll, dtype=np.float64)
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1 - 1e-12)
    return -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=-1)


class BernoulliBaseline:
    """Each key on with its own fixed probability, fitted on train with add-one smoothing."""

    def __init__(self, probs: np.ndarray | None = None):
        self.probs = None if probs is None else np.asarray(probs, dtype=np.float64)

    def fit(self, rolls: Sequence[np.ndarray]) -> BernoulliBaseline:
        """Count how often each key sounds across all frames of `rolls`."""
        stacked = np.concatenate([np.asarray(r) for r in rolls])
        self.probs = (stacked.sum(0) + 1.0) / (len(stacked) + 2.0)
        return self

    def __call__(self, roll: np.ndarray) -> np.ndarray:
        if self.probs is None:
            raise TunesmithError("the Bernoulli baseline has no probabilities: fit it first")
        return bernoulli_nll(roll, np.broadcast_to(self.probs, np.shape(roll)))


class MarkovBaseline:
    """Each key on with a probability that depends on whether it sounded in the previous frame."""

    def fit(self, rolls: Sequence[np.ndarray]) -> MarkovBaseline:
        """Fit p(on | off before) and p(on | on before) per key, and p(on) for first frames, add-one."""
        prev = np.concatenate([np.asarray(r)[:-1] for r in rolls]).astype(np.float64)
        cur = np.concatenate([np.asarray(r)[1:] for r in rolls]).astype(np.float64)
        self.p_after_on = ((cur * prev).sum(0) + 1) / (prev.sum(0) + 2)
        self.p_after_off = ((cur * (1 - prev)).sum(0) + 1) / ((1 - prev).sum(0) + 2)
        self.first = BernoulliBaseline().fit(rolls).probs
        return self

    def __call__(self, roll: np.ndarray) -> np.ndarray:
        roll = np.asarray(roll, dtype=np.float64)
        probs = np.empty_like(roll)
        probs[0] = self.first
        probs[1:] = np.where(roll[:-1] > 0, self.p_after_on, self.p_after_off)
        return bernoulli_nll(roll, probs)


def baseline_scores(train: Sequence[np.ndarray], splits: dict[str, Sequence[np.ndarray]]) -> dict[str, dict]:
    """Bernoulli and Markov baselines fitted on `train`, scored on each split: {name: {split: nll}}."""
    bernoulli, markov = BernoulliBaseline().fit(train), MarkovBaseline().fit(train)
    return {"bernoulli": {s: score_rolls(bernoulli, r) for s, r in splits.items()},
            "markov": {s: score_rolls(markov, r) for s, r in splits.items()}}


def transposed(roll: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """`roll` [frames, 88] moved up `shift` keys, and how many of each frame's notes fell off the keyboard."""
    roll = np.asarray(roll)
    out = np.zeros_like(roll)
    if shift >= 0:
        out[:, shift:] = roll[:, :roll.shape[1] - shift]
        lost = roll[:, roll.shape[1] - shift:].sum(1)
    else:
        out[:, :shift] = roll[:, -shift:]
        lost = roll[:, :-shift].sum(1)
    return out, lost


def mixture_scorer(components: Sequence[FrameScorer]) -> FrameScorer:
    """Per-frame NLL of the equal-weight mixture of several sequence models.

    p(x) = (1/K) sum_k p_k(x), scored frame by frame as the benchmark asks:
    -log p(x_t | x_<t) = -log sum_k w_k(t) p_k(x_t | x_<t), where w_k(t) is component k's posterior weight
    given the frames before t. The per-frame terms sum exactly to -log p(x), so this is the NLL of a proper
    model (Bayesian model averaging over the components), not a bound.
    """

    def score(roll: np.ndarray) -> np.ndarray:
        log_joint = np.stack([-np.cumsum(np.asarray(c(roll), dtype=np.float64)) for c in components])  # [K, T]
        mixed = np.logaddexp.reduce(log_joint, axis=0) - np.log(len(components))  # log p(x_<=t)
        return -(mixed - np.concatenate([[0.0], mixed[:-1]]))

    return score


def transposition_mixture(scorer: FrameScorer, largest: int) -> FrameScorer:
    """The mixture of one network read in every transposition from -largest to +largest semitones.

    Component s scores the piece moved s keys; a component whose transposition pushes a note off the
    88 keys gives that frame (and so the rest of the piece) probability zero, so the mixture stays a
    (slightly deficient) distribution over the untransposed frames.
    """

    def component(shift: int) -> FrameScorer:
        def score(roll: np.ndarray) -> np.ndarray:
            moved, lost = transposed(roll, shift)
            nll = np.asarray(scorer(moved), dtype=np.float64)
            nll[np.cumsum(lost) > 0] = np.inf
            return nll

        return score

    return mixture_scorer([component(s) for s in range(-largest, largest + 1)])

