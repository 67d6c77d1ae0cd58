"""MGEval set comparison: distances, the kernel density estimate, overlap and KL."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunesmith.evaluation.compare import (
    compare_feature,
    compare_samples,
    compare_sets,
    distances_between,
    distances_within,
    kde_on_grid,
    mean_overlap,
    scott_bandwidth,
)
from tunesmith.evaluation.features import feature_table


def test_distances_by_hand():
    values = np.array([0.0, 1.0, 3.0, np.nan])  # the NaN piece is left out
    assert sorted(distances_within(values)) == [1.0, 2.0, 3.0]
    assert sorted(distances_between(np.array([0.0, 10.0]), np.array([1.0, 2.0]))) == [1.0, 2.0, 8.0, 9.0]
    vectors = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert distances_within(vectors) == pytest.approx([5.0])


def test_kde_matches_scipy():
    from scipy import stats

    sample = np.random.default_rng(0).gamma(2.0, 1.0, size=500)
    grid = np.linspace(-5, 20, 2048)
    ours = kde_on_grid(sample, grid, scott_bandwidth(sample))
    points = np.linspace(0, 10, 50)
    assert np.interp(points, grid, ours) == pytest.approx(stats.gaussian_kde(sample)(points), abs=2e-3)
    assert scott_bandwidth(sample) == pytest.approx(stats.gaussian_kde(sample).factor * sample.std(ddof=1))


def test_identical_samples_overlap_fully():
    sample = np.random.default_rng(1).normal(size=300)
    overlap, kl, *_ = compare_samples(sample, sample)
    assert overlap == pytest.approx(1.0, abs=1e-9)
    assert kl == pytest.approx(0.0, abs=1e-9)


def test_constant_feature_overlaps_fully():
    overlap, kl, *_ = compare_samples(np.zeros(50), np.zeros(80))
    assert overlap == pytest.approx(1.0) and kl == pytest.approx(0.0)


def test_disjoint_sets_overlap_near_zero():
    rng = np.random.default_rng(2)
    near, far = rng.normal(10, 1, size=60), rng.normal(100, 1, size=60)
    result = compare_feature("pitch_range", near, far)
    assert result.overlap < 0.01
    assert result.kl > 10
    assert result.inter.mean == pytest.approx(90, abs=2)
    assert result.reference_intra.mean == pytest.approx(2 / math.sqrt(math.pi), abs=0.3)  # E|X-Y|, sd 1


def test_set_against_itself_is_near_one_and_against_noise_far(chorales, piece_builder):
    table = feature_table(chorales[:40])
    itself = compare_sets(table, table)
    # the inter-set distances of a set with itself include each piece's zero distance to itself
    assert all(c.overlap > 0.9 for c in itself.values())
    assert mean_overlap(itself) > 0.95
    rng = np.random.default_rng(3)
    noise = [piece_builder([[(i / 4, 1 / 4, int(p), int(v)) for i, (p, v) in
                             enumerate(zip(rng.integers(21, 108, 64), rng.integers(20, 127, 64), strict=True))]],
                           tpq=480) for _ in range(20)]
    against_noise = compare_sets(table, feature_table(noise))
    assert against_noise["pitch_range"].overlap < 0.05
    assert against_noise["polyphony"].overlap < 0.05
    assert mean_overlap(against_noise) < 0.5


def test_too_few_pieces_give_nan():
    result = compare_feature("pitch_range", np.array([1.0]), np.array([2.0, 3.0]))
    assert math.isnan(result.overlap) and math.isnan(result.kl)


def _pinned_sets() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """A small fixed sample: scalar, 12-dim and constant features, with a NaN piece in two of them."""
    rng = np.random.default_rng(20240611)
    reference = {"pitch_range": rng.normal(24, 4, 30).round(), "velocity_mean": rng.normal(80, 6, 30),
                 "scale_degree_histogram": rng.dirichlet(np.ones(12), 30), "velocity_spread": np.zeros(30)}
    generated = {"pitch_range": rng.normal(28, 6, 25).round(), "velocity_mean": rng.normal(70, 10, 25),
                 "scale_degree_histogram": rng.dirichlet(np.full(12, 0.5), 25), "velocity_spread": np.zeros(25)}
    reference["velocity_mean"][3] = np.nan
    generated["scale_degree_histogram"][7, 2] = np.nan
    return reference, generated


# (overlap, kl, reference intra mean/std, generated intra mean/std, inter mean/std), (the three counts), trivial:
# the figures of the hand-written distances and KDE, pinned so a rewrite (e.g. onto scipy) cannot move them.
PINNED = {
    "pitch_range": ((0.6332516380683717, 0.40785525849501425, 3.4298850574712643, 2.565290642157773,
                     7.1466666666666665, 5.225433528000864, 7.589333333333333, 5.881214689349661),
                    (435, 300, 750), False),
    "velocity_mean": ((0.6508224212660054, 0.368158911966912, 5.97521096401127, 4.314916048587064,
                       9.896624405398851, 8.79942246714272, 12.003783315211125, 9.263329961241553),
                      (406, 300, 725), False),
    "scale_degree_histogram": ((0.8614645773192845, 0.07329213131948585, 0.40060573706467356,
                                0.09943613801086755, 0.47814601199371054, 0.1337351500877021,
                                0.4409726358008455, 0.11406936326847925), (435, 276, 720), False),
    "velocity_spread": ((1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (435, 300, 750), True),
}


def test_figures_are_pinned():
    comparisons = compare_sets(*_pinned_sets())
    assert set(comparisons) == set(PINNED)
    for name, (figures, counts, trivial) in PINNED.items():
        c = comparisons[name]
        got = (c.overlap, c.kl, c.reference_intra.mean, c.reference_intra.std, c.generated_intra.mean,
               c.generated_intra.std, c.inter.mean, c.inter.std)
        assert got == pytest.approx(figures, rel=1e-9, abs=1e-9), name
        assert (c.reference_intra.count, c.generated_intra.count, c.inter.count) == counts, name
        assert c.trivial is trivial, name
