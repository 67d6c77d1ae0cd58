"""One evaluation: generated sets measured against a reference set, checked for copies of the training set.

`evaluate_sets` is the library entry point behind `tunesmith evaluate`: features of every piece, the
MGEval comparison of each generated set with the reference, the same comparison of the reference with
itself (split halves: the ceiling a model can reach), originality against the training pieces, and
each set's most and least reference-like piece. The files of a set (or of the reference) that could not be
read are kept with the reason for each, as the corpus report keeps them, so that the user sees what was not
measured.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tunesmith.errors import TunesmithError
from tunesmith.evaluation.compare import FeatureComparison, Spread, compare_sets, mean_overlap
from tunesmith.evaluation.features import FEATURES, SCALAR_FEATURES, feature_table, select_rows
from tunesmith.evaluation.originality import SEGMENT_BARS, Originality, TrainingIndex, check_originality
from tunesmith.piece import Piece

log = logging.getLogger(__name__)

# A set is "close" when its mean overlap reaches this share of the reference's own split-halves overlap.
CLOSE, FAIR = 0.9, 0.75

Rejection = tuple[str, str]  # (file, reason): a file that could not be read, as tunesmith.data's Corpus lists it


def rejections(items: Iterable[Any]) -> list[Rejection]:
    """(file, reason) pairs from a corpus's rejected files, whether listed as pairs or as objects with a
    `source` (or `path`) and a `reason`."""
    out = []
    for item in items:
        if isinstance(item, (tuple, list)):
            file, reason = item
        else:
            file = getattr(item, "source", None) or getattr(item, "path", "")
            reason = item.reason
        out.append((str(file), str(reason)))
    return out


def rejected_to_dict(rejected: Sequence[Rejection]) -> list[dict[str, str]]:
    """The JSON of rejected files, as the corpus report writes it: [{"file": ..., "reason": ...}]."""
    return [{"file": file, "reason": reason} for file, reason in rejected]


def reason_for(file: str, reason: str) -> str:
    """The reason without the file's name in front, where the reader put it there ('x.mid: no notes')."""
    for prefix in (f"{file}: ", f"{file} "):
        if reason.startswith(prefix):
            return reason[len(prefix):]
    return reason


@dataclass
class Ceiling:
    """The reference compared with itself: one half against the other (the best a model can look)."""

    comparison: dict[str, FeatureComparison]
    copies: int
    pieces: int

    @property
    def mean_overlap(self) -> float:
        return mean_overlap(self.comparison)

    def to_dict(self) -> dict:
        return {"mean_overlap": self.mean_overlap, "copies": self.copies, "pieces": self.pieces,
                "features": {n: {"overlap": c.overlap, "kl": c.kl} for n, c in self.comparison.items()}}


@dataclass
class SetEvaluation:
    """One generated set: its features, its comparison with the reference, and its originality."""

    label: str
    source: str
    pieces: list[Piece]
    features: dict[str, np.ndarray]
    comparison: dict[str, FeatureComparison]
    originality: list[Originality]
    typicality: np.ndarray
    best: int | None = None
    worst: int | None = None
    rejected: list[Rejection] = field(default_factory=list)  # the set's files that could not be read

    @property
    def mean_overlap(self) -> float:
        """MGEval overlapping area averaged over the features (1 = as close as the reference to itself)."""
        return mean_overlap(self.comparison)

    @property
    def copies(self) -> list[Originality]:
        """The pieces that share a run of bars long enough to count as copied."""
        return [o for o in self.originality if o.copies]

    def to_dict(self, ceiling: Ceiling | None) -> dict:
        """JSON-ready figures (no music)."""
        per_piece = []
        for i, piece in enumerate(self.pieces):
            row = {"name": piece.name, "typicality": _finite(self.typicality[i])}
            row.update({f.name: _finite(self.features[f.name][i]) for f in SCALAR_FEATURES})
            per_piece.append(row)
        return {
            "label": self.label, "source": self.source, "pieces": len(self.pieces),
            "mean_overlap": _finite(self.mean_overlap), "verdict": verdict(self.mean_overlap, ceiling),
            "copies": len(self.copies), "features": summarise(self.features),
            "comparison": {n: c.to_dict() for n, c in self.comparison.items()},
            "originality": [o.to_dict() for o in self.originality], "per_piece": per_piece,
            "best": self.pieces[self.best].name if self.best is not None else None,
            "worst": self.pieces[self.worst].name if self.worst is not None else None,
            "rejected": rejected_to_dict(self.rejected),
        }


@dataclass
class Evaluation:
    """Everything `tunesmith evaluate` found: the reference, its ceiling, and each generated set."""

    reference_label: str
    reference_pieces: list[Piece]
    reference_features: dict[str, np.ndarray]
    training_label: str
    training_pieces: int
    sets: list[SetEvaluation]
    ceiling: Ceiling | None = None
    copy_bars: int = SEGMENT_BARS
    notes: list[str] = field(default_factory=list)
    reference_rejected: list[Rejection] = field(default_factory=list)  # the reference's unreadable files

    @property
    def rejected(self) -> list[tuple[str, Rejection]]:
        """Every file that could not be measured, with the label of its set (the reference's first)."""
        return ([(self.reference_label, r) for r in self.reference_rejected]
                + [(s.label, r) for s in self.sets for r in s.rejected])

    def to_dict(self) -> dict:
        """JSON-ready figures of the whole evaluation (NaN, where a figure is undefined, becomes null)."""
        return json_safe({
            "reference": {"label": self.reference_label, "pieces": len(self.reference_pieces),
                          "features": summarise(self.reference_features),
                          "rejected": rejected_to_dict(self.reference_rejected)},
            "training": {"label": self.training_label, "pieces": self.training_pieces},
            "copy_bars": self.copy_bars,
            "ceiling": self.ceiling.to_dict() if self.ceiling else None,
            "sets": [s.to_dict(self.ceiling) for s in self.sets],
        })


def json_safe(value):
    """`value` with numpy numbers made plain and NaN/infinity made None, all the way down."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        return _finite(value)
    return value


def _finite(value: float) -> float | None:
    """JSON has no NaN: None instead."""
    value = float(value)
    return value if math.isfinite(value) else None


def summarise(table: dict[str, np.ndarray]) -> dict[str, dict]:
    """Mean and spread of each scalar feature over a set (NaNs, where a feature does not apply, left out)."""
    out = {}
    for feature in SCALAR_FEATURES:
        values = table[feature.name]
        spread = Spread.of(values[~np.isnan(values)])
        out[feature.name] = {k: _finite(v) if isinstance(v, float) else v for k, v in asdict(spread).items()}
    return out


def verdict(overlap: float, ceiling: Ceiling | None) -> str:
    """'close', 'fairly close' or 'far', from the mean overlap relative to the reference's own (or to 1)."""
    if math.isnan(overlap):
        return "unknown"
    top = ceiling.mean_overlap if ceiling and not math.isnan(ceiling.mean_overlap) else 1.0
    ratio = overlap / top if top > 0 else 0.0
    return "close" if ratio >= CLOSE else "fairly close" if ratio >= FAIR else "far"


def typicality(table: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> np.ndarray:
    """Per piece: mean over scalar features of |value - reference mean| / reference spread (0 = typical).

    Each term is capped at 10 so one wild feature cannot hide the rest; NaN features are skipped.
    """
    columns = []
    for feature in SCALAR_FEATURES:
        ref = reference[feature.name][~np.isnan(reference[feature.name])]
        if len(ref) < 2:
            continue
        scale = max(float(ref.std()), 1e-9 * max(1.0, abs(float(ref.mean()))))
        columns.append(np.minimum(np.abs(table[feature.name] - ref.mean()) / scale, 10.0))
    if not columns:
        return np.full(len(next(iter(table.values()))), math.nan)
    stacked = np.stack(columns, 1)
    counts = (~np.isnan(stacked)).sum(1)
    return np.where(counts > 0, np.nansum(stacked, 1) / np.maximum(counts, 1), math.nan)


def _best_and_worst(scores: np.ndarray, originality: list[Originality]) -> tuple[int | None, int | None]:
    """Most typical piece that does not copy, and least typical piece."""
    finite = np.where(np.isfinite(scores))[0]
    if not len(finite):
        return None, None
    originals = [i for i in finite if not originality[i].copies]
    best = min(originals, key=lambda i: scores[i]) if originals else None
    return best, int(finite[np.argmax(scores[finite])])


def split_halves(pieces: Sequence[Piece]) -> tuple[list[Piece], list[Piece]]:
    """Alternate pieces into two halves (stable, so the ceiling is reproducible)."""
    return list(pieces[0::2]), list(pieces[1::2])


def reference_ceiling(reference: Sequence[Piece], features: dict[str, np.ndarray], *, copy_bars: int = SEGMENT_BARS,
                      ) -> Ceiling | None:
    """MGEval figures and copies of one half of the reference against the other (None below 8 pieces)."""
    if len(reference) < 8:
        return None
    n = len(reference)
    first, second = np.arange(0, n, 2), np.arange(1, n, 2)
    comparison = compare_sets(select_rows(features, first), select_rows(features, second))
    half_a, half_b = split_halves(reference)
    copies = sum(o.copies for o in check_originality(half_b, half_a, copy_bars=copy_bars))
    return Ceiling(comparison, copies, len(half_b))


def evaluate_sets(generated: dict[str, tuple[str, list[Piece]]], reference: Sequence[Piece], *,
                  reference_label: str = "reference", training: Sequence[Piece] | None = None,
                  training_label: str | None = None, copy_bars: int = SEGMENT_BARS, ceiling: bool = True,
                  progress: bool = False, rejected: Mapping[str, Iterable[Any]] | None = None,
                  reference_rejected: Iterable[Any] = ()) -> Evaluation:
    """Measure each generated set (label -> (source, pieces)) against `reference`; check copies of `training`.

    `training` defaults to the reference. Keeps the density curves for the report's figures. `rejected`
    (label -> the set's unreadable files) and `reference_rejected` are the files that could not be read, as
    a Corpus lists them: they are reported, not measured.
    """
    unread = {label: rejections((rejected or {}).get(label, ())) for label in generated}
    reference_unread = rejections(reference_rejected)
    if not generated:
        raise TunesmithError("nothing to evaluate: give at least one folder of generated pieces or a run")
    if len(reference) < 2:
        raise TunesmithError(f"the reference needs at least 2 pieces to compare against (got {len(reference)})"
                             + _unreadable(reference_unread))
    for label, (_, pieces) in generated.items():
        if len(pieces) < 2:
            raise TunesmithError(f"set {label!r} has {len(pieces)} piece(s); comparing sets needs at least 2"
                                 + _unreadable(unread[label]))
    training = list(training) if training is not None else list(reference)
    reference_features = feature_table(reference, progress=progress, description=f"measuring {reference_label}")
    index = TrainingIndex(training, progress=progress)
    sets = []
    for label, (source, pieces) in generated.items():
        table = feature_table(pieces, progress=progress, description=f"measuring {label}")
        comparison = compare_sets(reference_features, table, keep_curves=True)
        originality = check_originality(pieces, index, copy_bars=copy_bars, progress=False)
        scores = typicality(table, reference_features)
        best, worst = _best_and_worst(scores, originality)
        sets.append(SetEvaluation(label, source, list(pieces), table, comparison, originality, scores, best, worst,
                                  unread[label]))
        log.info("%s: mean overlap %.3f, %d copies", label, sets[-1].mean_overlap, len(sets[-1].copies))
    top = reference_ceiling(reference, reference_features, copy_bars=copy_bars) if ceiling else None
    return Evaluation(reference_label, list(reference), reference_features, training_label or reference_label,
                      len(training), sets, top, copy_bars, reference_rejected=reference_unread)


def _unreadable(rejected: list[Rejection]) -> str:
    """' (N of its files could not be read, e.g. FILE: REASON)' for a set too small to compare, or ''."""
    if not rejected:
        return ""
    file, reason = rejected[0]
    if len(rejected) == 1:
        return f" (1 of its files could not be read: {file}: {reason_for(file, reason)})"
    return f" ({len(rejected)} of its files could not be read, e.g. {file}: {reason_for(file, reason)})"


__all__ = ["FEATURES", "Ceiling", "Evaluation", "Rejection", "SetEvaluation", "evaluate_sets", "reference_ceiling",
           "rejections", "verdict"]
