"""Set against set, as in MGEval: distance distributions, their kernel density estimates, overlap and KL.

For each feature, the intra-set distances of the reference (every pair of its pieces) and the inter-set
distances (every generated piece against every reference piece) are two samples; each is smoothed with a
Gaussian kernel density estimate, and the two densities are compared by their overlapping area (1: the
generated pieces lie among the reference pieces as the reference pieces lie among themselves) and the
Kullback-Leibler divergence KL(intra || inter) in nats (0: the same).

    Li-Chia Yang and Alexander Lerch, "On the evaluation of generative models in music," Neural
    Computing and Applications 32, 2020 (MGEval).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.integrate import trapezoid  # np.trapezoid only from numpy 2.0; the same sum
from scipy.spatial.distance import cdist, pdist

GRID_POINTS = 2048


@dataclass(frozen=True)
class Spread:
    """Mean and standard deviation of a sample (NaN when empty)."""

    mean: float
    std: float
    count: int

    @classmethod
    def of(cls, values: np.ndarray) -> Spread:
        values = np.asarray(values, dtype=float)
        if not len(values):
            return cls(math.nan, math.nan, 0)
        return cls(float(values.mean()), float(values.std()), len(values))


@dataclass
class FeatureComparison:
    """One feature's MGEval figures: distance spreads, overlapping area and KL(intra_ref || inter)."""

    feature: str
    reference_intra: Spread
    generated_intra: Spread
    inter: Spread
    overlap: float
    kl: float
    trivial: bool = False  # every piece of both sets has the same value: overlap 1 says nothing
    grid: np.ndarray | None = None
    intra_density: np.ndarray | None = None
    inter_density: np.ndarray | None = None

    def to_dict(self) -> dict:
        """The figures (without the density curves), JSON-ready."""
        return {"feature": self.feature, "reference_intra": asdict(self.reference_intra),
                "generated_intra": asdict(self.generated_intra), "inter": asdict(self.inter),
                "overlap": self.overlap, "kl": self.kl, "trivial": self.trivial}


def _rows(values: np.ndarray) -> np.ndarray:
    """Feature values as [pieces, dims], pieces with any NaN dropped."""
    values = np.asarray(values, dtype=float)
    values = values.reshape(len(values), -1)
    return values[~np.isnan(values).any(1)]


def distances_within(values: np.ndarray) -> np.ndarray:
    """Euclidean distances between every pair of pieces of one set (each pair once, (0, 1), (0, 2) ... first)."""
    return pdist(_rows(values))


def distances_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances from every piece of set `a` to every piece of set `b` (a's rows one after another)."""
    return cdist(_rows(a), _rows(b)).reshape(-1)


def scott_bandwidth(sample: np.ndarray) -> float:
    """Scott's rule for a 1-D Gaussian kernel: std (ddof=1) * n^(-1/5), as scipy.stats.gaussian_kde."""
    sample = np.asarray(sample, dtype=float)
    if len(sample) < 2:
        return 0.0
    return float(sample.std(ddof=1) * len(sample) ** (-1 / 5))


def kde_on_grid(sample: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian kernel density of `sample` at the points of an evenly spaced `grid`, integrating to 1.

    The sample is first spread onto the grid by linear binning, then convolved with the kernel: exact
    to the grid's spacing and linear in the sample size, so 60,000 distances cost milliseconds. Not
    scipy.stats.gaussian_kde: it sums every kernel at every grid point (exact, but sample x grid work, and
    the figures move by about 1e-6) and refuses a sample of equal values.
    """
    sample = np.asarray(sample, dtype=float)
    step = grid[1] - grid[0]
    position = np.clip((sample - grid[0]) / step, 0, len(grid) - 1)
    left = np.minimum(np.floor(position).astype(int), len(grid) - 2)
    frac = position - left
    weights = np.bincount(left, 1 - frac, minlength=len(grid)) + np.bincount(left + 1, frac, minlength=len(grid))
    reach = min(int(math.ceil(5 * bandwidth / step)), 2 * len(grid))
    offsets = np.arange(-reach, reach + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    density = np.convolve(weights, kernel)[reach:reach + len(grid)]
    area = trapezoid(density, grid)
    return density / area if area > 0 else density


def compare_samples(intra: np.ndarray, inter: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """(overlapping area, KL(intra || inter), grid, intra density, inter density) of two distance samples.

    Each sample gets its Scott bandwidth, never narrower than 1/200 of the pooled range (a feature every
    piece shares, such as a constant velocity, gives all-equal distances); the grid reaches 4 bandwidths
    past the pooled extremes so no mass is cut off. KL is taken over the grid's points, the inter density
    floored at 1e-12 per point, so disjoint sets give about 27.6 rather than infinity.
    """
    intra, inter = np.asarray(intra, dtype=float), np.asarray(inter, dtype=float)
    if len(intra) < 2 or len(inter) < 2:
        return math.nan, math.nan, np.zeros(0), np.zeros(0), np.zeros(0)
    pooled = np.concatenate([intra, inter])
    low, high = float(pooled.min()), float(pooled.max())
    floor = (high - low) / 200 if high > low else max(abs(high), 1.0) * 1e-3
    h_intra, h_inter = max(scott_bandwidth(intra), floor), max(scott_bandwidth(inter), floor)
    reach = 4 * max(h_intra, h_inter)
    grid = np.linspace(low - reach, high + reach, GRID_POINTS)
    p, q = kde_on_grid(intra, grid, h_intra), kde_on_grid(inter, grid, h_inter)
    overlap = float(np.clip(trapezoid(np.minimum(p, q), grid), 0.0, 1.0))
    pn, qn = p / p.sum(), q / q.sum()
    mask = pn > 0
    kl = float(np.sum(pn[mask] * np.log(pn[mask] / np.maximum(qn[mask], 1e-12))))
    return overlap, max(kl, 0.0), grid, p, q


def compare_feature(name: str, reference: np.ndarray, generated: np.ndarray, *, keep_curves: bool = False,
                    ) -> FeatureComparison:
    """MGEval figures of one feature: reference intra-set vs reference-to-generated inter-set distances."""
    intra_ref = distances_within(reference)
    intra_gen = distances_within(generated)
    inter = distances_between(generated, reference)
    overlap, kl, grid, p, q = compare_samples(intra_ref, inter)
    trivial = bool(len(intra_ref) and len(inter) and not intra_ref.any() and not inter.any())
    result = FeatureComparison(name, Spread.of(intra_ref), Spread.of(intra_gen), Spread.of(inter), overlap, kl,
                               trivial)
    if keep_curves and len(grid):
        result.grid, result.intra_density, result.inter_density = grid, p, q
    return result


def compare_sets(reference: dict[str, np.ndarray], generated: dict[str, np.ndarray], *, keep_curves: bool = False,
                 ) -> dict[str, FeatureComparison]:
    """MGEval figures for every feature two feature tables share (features.feature_table)."""
    return {name: compare_feature(name, reference[name], generated[name], keep_curves=keep_curves)
            for name in reference if name in generated}


def mean_overlap(comparisons: dict[str, FeatureComparison]) -> float:
    """The overlapping area averaged over the features where it is defined and not trivial (1 = indistinguishable).

    A feature every piece of both sets shares exactly (the chorales' constant velocity) is left out: its
    overlap of 1 would only flatter the mean.
    """
    values = [c.overlap for c in comparisons.values() if not math.isnan(c.overlap) and not c.trivial]
    return float(np.mean(values)) if values else math.nan
