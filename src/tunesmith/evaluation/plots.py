"""Figures for the evaluation report: feature histograms (reference and sets overlaid) and overlaps.

matplotlib's object API (Figure + Agg canvas, no pyplot), written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tunesmith.evaluation.evaluate import Evaluation
from tunesmith.evaluation.features import Feature
from tunesmith.evaluation.metrics import IOI_CLASS_NAMES
from tunesmith.fileio import write_atomic

DPI = 100
REFERENCE_COLOUR = "#7d8590"
SET_COLOURS = ["#1f77b4", "#e8710a", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DEGREE_NAMES = ["1", "b2", "2", "b3", "3", "4", "#4", "5", "b6", "6", "b7", "7"]


def set_colour(index: int) -> str:
    """The colour of the index-th generated set in every figure."""
    return SET_COLOURS[index % len(SET_COLOURS)]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, facecolor="white"))


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _value_panel(ax, evaluation: Evaluation, feature: Feature) -> None:
    """Histogram of the feature's values: the reference filled, each set as an outline."""
    ref = _finite(evaluation.reference_features[feature.name])
    samples = [_finite(s.features[feature.name]) for s in evaluation.sets]
    pooled = np.concatenate([ref, *samples]) if len(ref) or any(len(s) for s in samples) else np.zeros(0)
    if not len(pooled):
        ax.text(0.5, 0.5, "not defined for these pieces", transform=ax.transAxes, ha="center", va="center")
        return
    low, high = float(pooled.min()), float(pooled.max())
    integer = np.allclose(pooled, np.round(pooled))
    if integer and high - low <= 60:
        bins = np.arange(low - 0.5, high + 1.5)
    else:
        bins = np.linspace(low, high if high > low else low + 1, 31)
    if len(ref):
        ax.hist(ref, bins=bins, weights=np.full(len(ref), 1 / len(ref)), color=REFERENCE_COLOUR, alpha=0.45,
                label=f"{evaluation.reference_label} (reference)")
    for i, (s, values) in enumerate(zip(evaluation.sets, samples, strict=True)):
        if len(values):
            ax.hist(values, bins=bins, weights=np.full(len(values), 1 / len(values)), histtype="step", lw=1.8,
                    color=set_colour(i), label=s.label)
    ax.set_xlabel(f"{feature.label}" + (f" ({feature.unit})" if feature.unit else ""))
    ax.set_ylabel("share of pieces")


def _profile_panel(ax, evaluation: Evaluation, feature: Feature) -> None:
    """A vector feature: the mean profile of the reference (bars) and of each set (lines)."""
    names = DEGREE_NAMES if feature.name == "scale_degree_histogram" else IOI_CLASS_NAMES
    ref = evaluation.reference_features[feature.name]
    x = np.arange(ref.shape[1] if ref.ndim == 2 else len(names))
    if ref.ndim == 2 and len(ref):
        ax.bar(x, np.nanmean(ref, 0), color=REFERENCE_COLOUR, alpha=0.45,
               label=f"{evaluation.reference_label} (reference)")
    for i, s in enumerate(evaluation.sets):
        values = s.features[feature.name]
        if values.ndim == 2 and np.isfinite(values).any():
            ax.plot(x, np.nanmean(values, 0), marker="o", lw=1.6, color=set_colour(i), label=s.label)
    ax.set_xticks(x, names[: len(x)], fontsize=8, rotation=45 if len(x) > 8 else 0)
    ax.set_ylabel("mean share")


def _distance_panel(ax, evaluation: Evaluation, feature: Feature) -> None:
    """Kernel densities of the reference's intra-set distances and each set's inter-set distances."""
    drawn = False
    for i, s in enumerate(evaluation.sets):
        c = s.comparison.get(feature.name)
        if c is None or c.grid is None:
            continue
        if not drawn:
            ax.fill_between(c.grid, c.intra_density, color=REFERENCE_COLOUR, alpha=0.35,
                            label="reference to reference")
            drawn = True
        ax.plot(c.grid, c.inter_density, color=set_colour(i), lw=1.6, label=f"{s.label} to reference")
    if not drawn:
        ax.text(0.5, 0.5, "too few pieces with this feature", transform=ax.transAxes, ha="center", va="center")
        return
    ax.set_xlabel("distance between two pieces")
    ax.set_ylabel("density")


def _grid(count: int, columns: int = 4) -> tuple[Figure, list]:
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(4.2 * columns, 3.0 * rows))
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.06, top=1 - 0.32 / rows, wspace=0.28, hspace=0.55)
    axes = fig.subplots(rows, columns, squeeze=False).ravel().tolist()
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def _tidy(ax, title: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(labelsize=8)
    ax.xaxis.label.set_size(8)
    ax.yaxis.label.set_size(8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def histograms_figure(evaluation: Evaluation, features: list[Feature], path: Path) -> Path:
    """One panel per feature: its values (vectors: mean profile), reference filled, each set outlined."""
    fig, axes = _grid(len(features))
    for ax, feature in zip(axes, features, strict=True):
        (_profile_panel if feature.vector else _value_panel)(ax, evaluation, feature)
        ax.set_ylabel("")
        _tidy(ax, feature.label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", ncol=len(labels), frameon=False, fontsize=10)
    return _save(fig, path)


def distances_figure(evaluation: Evaluation, features: list[Feature], path: Path) -> Path:
    """One panel per feature: densities of reference-to-reference and each set's set-to-reference distances."""
    fig, axes = _grid(len(features))
    for ax, feature in zip(axes, features, strict=True):
        _distance_panel(ax, evaluation, feature)
        ax.set_ylabel("")
        ax.set_xlabel("distance" if ax.get_xlabel() else "")
        overlaps = [s.comparison[feature.name].overlap for s in evaluation.sets if feature.name in s.comparison]
        _tidy(ax, feature.label + "  (overlap " + ", ".join(f"{o:.2f}" for o in overlaps) + ")")
    handles, labels = axes[0].get_legend_handles_labels()
    labels = [label.split(" (overlap")[0] for label in labels]
    fig.legend(handles, labels, loc="upper left", ncol=len(labels), frameon=False, fontsize=10)
    return _save(fig, path)


def overview_figure(evaluation: Evaluation, features: list[Feature], path: Path) -> Path:
    """Overlap per feature for every set (bars), the reference's own split-halves overlap as ticks."""
    fig = Figure(figsize=(9, 0.32 * len(features) + 1.4), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(features))
    n = max(len(evaluation.sets), 1)
    height = 0.8 / n
    for i, s in enumerate(evaluation.sets):
        values = [s.comparison[f.name].overlap if f.name in s.comparison else math.nan for f in features]
        ax.barh(y - 0.4 + height * (i + 0.5), np.nan_to_num(values), height=height, color=set_colour(i),
                label=s.label)
    if evaluation.ceiling:
        ceiling = [evaluation.ceiling.comparison[f.name].overlap for f in features]
        ax.scatter(np.nan_to_num(ceiling), y, marker="|", s=260, color="black", zorder=3,
                   label=f"{evaluation.reference_label} against itself")
    ax.set_yticks(y, [f.label for f in features], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"overlap with {evaluation.reference_label} (1 = indistinguishable)")
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=min(4, n + 1))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _save(fig, path)
