"""The features a set of pieces is measured by: every per-piece metric, named, grouped, computed in one pass."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from tunesmith.evaluation import metrics, musegan
from tunesmith.piece import Piece
from tunesmith.progress import progress_bar

log = logging.getLogger(__name__)

# Grooves compare onset grids; pieces come at many tick resolutions, so they are measured on one grid:
# 12 steps per quarter holds 16ths and 8th-note triplets.
GROOVE_RESOLUTION = 12


@dataclass(frozen=True)
class Feature:
    """One measured property of a piece: its key, label, group, the function, and whether it is a vector."""

    name: str
    label: str
    group: str
    function: Callable[..., float | np.ndarray]
    vector: bool = False
    unit: str = ""
    uses_key: bool = False  # takes key=: the estimate is computed once per piece and shared


FEATURES: tuple[Feature, ...] = (
    Feature("pitch_range", "pitch range", "pitch", metrics.pitch_range, unit="semitones"),
    Feature("n_pitches_used", "pitches used", "pitch", metrics.n_pitches_used),
    Feature("n_pitch_classes_used", "pitch classes used", "pitch", metrics.n_pitch_classes_used),
    Feature("pitch_class_entropy", "pitch-class entropy", "pitch", metrics.pitch_class_entropy, unit="bits"),
    Feature("scale_consistency", "scale consistency", "pitch", metrics.scale_consistency),
    Feature("in_key_ratio", "in-key ratio", "pitch", metrics.in_key_ratio, uses_key=True),
    Feature("scale_degree_histogram", "scale-degree histogram", "pitch", metrics.scale_degree_histogram,
            vector=True, uses_key=True),
    Feature("polyphony", "polyphony", "texture", metrics.polyphony, unit="pitches"),
    Feature("polyphony_rate", "polyphony rate", "texture", metrics.polyphony_rate),
    Feature("empty_beat_rate", "empty-beat rate", "rhythm", metrics.empty_beat_rate),
    Feature("groove_consistency", "groove consistency", "rhythm",
            partial(metrics.groove_consistency, resolution=GROOVE_RESOLUTION)),
    Feature("note_density", "note density", "rhythm", metrics.note_density, unit="notes/bar"),
    Feature("mean_onset_interval", "mean inter-onset interval", "rhythm", metrics.mean_onset_interval,
            unit="quarters"),
    Feature("onset_interval_histogram", "inter-onset-interval histogram", "rhythm",
            metrics.onset_interval_histogram, vector=True),
    Feature("velocity_mean", "velocity mean", "volume", metrics.velocity_mean),
    Feature("velocity_spread", "velocity spread", "volume", metrics.velocity_spread),
    Feature("empty_bar_rate", "empty bars (EB)", "tracks", musegan.empty_bar_rate),
    Feature("used_pitch_classes", "used pitch classes per bar (UPC)", "tracks", musegan.used_pitch_classes),
    Feature("qualified_note_rate", "qualified notes (QN)", "tracks", musegan.qualified_note_rate),
    Feature("tonal_distance", "tonal distance (TD)", "tracks", musegan.tonal_distance),
)
FEATURES_BY_NAME = {f.name: f for f in FEATURES}
SCALAR_FEATURES = tuple(f for f in FEATURES if not f.vector)


def piece_features(piece: Piece) -> dict[str, float | np.ndarray]:
    """Every feature of one piece (NaN where a feature does not apply, e.g. TD for one track)."""
    out: dict[str, float | np.ndarray] = {}
    key = piece.key
    for feature in FEATURES:
        value = feature.function(piece, key=key) if feature.uses_key else feature.function(piece)
        out[feature.name] = np.asarray(value, dtype=float) if feature.vector else float(value)
    return out


def feature_table(pieces: Sequence[Piece], *, progress: bool = False, description: str = "measuring",
                  ) -> dict[str, np.ndarray]:
    """Features of many pieces: name -> array [pieces] (scalars) or [pieces, dims] (vectors)."""
    rows = []
    with progress_bar(len(pieces), description, enabled=progress, unit="pieces") as bar:
        for piece in pieces:
            rows.append(piece_features(piece))
            bar.advance()
    table = {}
    for feature in FEATURES:
        values = [row[feature.name] for row in rows]
        if feature.vector:
            table[feature.name] = np.stack(values) if values else np.zeros((0, 0))
        else:
            table[feature.name] = np.asarray(values, dtype=float)
    log.debug("measured %d pieces", len(pieces))
    return table


def select_rows(table: dict[str, np.ndarray], rows: np.ndarray | list[int]) -> dict[str, np.ndarray]:
    """The feature table of a subset of the pieces."""
    index = np.asarray(rows, dtype=int)
    return {name: values[index] for name, values in table.items()}
