"""Evaluation: per-piece music metrics, set-against-set comparison (MGEval), originality, the report."""

from tunesmith.evaluation.compare import compare_sets
from tunesmith.evaluation.evaluate import Evaluation, SetEvaluation, evaluate_sets
from tunesmith.evaluation.features import FEATURES, feature_table, piece_features
from tunesmith.evaluation.originality import TrainingIndex, check_originality

__all__ = ["FEATURES", "Evaluation", "SetEvaluation", "TrainingIndex", "check_originality", "compare_sets",
           "evaluate_sets", "feature_table", "piece_features"]
