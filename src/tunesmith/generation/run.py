"""A trained run ready to sample: `load_run(path)`, `Run.generate(controls)`, and `generate(run, controls)` for
every family (a family's own `generate`, or the token sampler shared by the token language models)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from tunesmith.controls.controls import Controls
from tunesmith.controls.marks import write_marks
from tunesmith.controls.targets import resolve_targets
from tunesmith.generation.checks import check_piece
from tunesmith.generation.token_pieces import TokenGeneration
from tunesmith.piece import Piece
from tunesmith.runs import TrainedRun, default_temperature, load_trained
from tunesmith.theory import parse_key

log = logging.getLogger(__name__)


def generate(run: TrainedRun, controls: Controls) -> list[Piece]:
    """`controls.num` new pieces from a trained run, honouring `controls` or raising ControlError; each with
    the key signature, time signature and tempo a score needs (controls/marks.py).

    Every piece is measured against what was asked (tags "checks"); one that misses a hard control is drawn
    again, with seed + attempt * num + index, until it meets them or `controls.attempts` draws are spent. Its
    tags say how many draws it took ("attempts") and which hard controls it still misses ("missed")."""
    controls.check_supported(run.family.name, run.family.supported_controls, run.family.refused)
    controls = run_defaults(run, controls)
    pieces = []
    for index, piece in enumerate(_draw(run, controls)):
        draws = 1
        while _missed(piece) and draws < controls.attempts:
            seed = None if controls.seed is None else controls.seed + draws * controls.num + index
            again = _draw(run, dataclasses.replace(controls, num=1, seed=seed))[0]
            again.name, again.tags["index"] = piece.name, index
            piece, draws = again, draws + 1
        piece.tags.update(attempts=draws, missed=_missed(piece))
        if piece.tags["missed"]:
            log.warning("%s: after %d draws, still not met: %s", piece.name, draws, ", ".join(piece.tags["missed"]))
        pieces.append(piece)
    key = parse_key(controls.key) if controls.key else None
    primer = controls.primer_piece() if controls.primer is not None else None
    return [write_marks(piece, key=key, tempo=controls.tempo, primer=primer) for piece in pieces]


def _draw(run: TrainedRun, controls: Controls) -> list[Piece]:
    """The family's pieces, each with its checks against what was asked (tags "checks")."""
    if run.family.generate is None:
        return generate_tokens(run, controls)  # the token pieces carry their checks
    pieces = run.family.generate(run, controls)
    for piece in pieces:
        targets = piece.tags.pop("targets", None) or resolve_targets(controls, controls.primer_piece())
        piece.tags["checks"] = check_piece(piece, targets)
    return pieces


def _missed(piece: Piece) -> list[str]:
    """The hard controls the piece does not meet."""
    return [name for name, found in piece.tags.get("checks", {}).items() if found["hard"] and not found["ok"]]


def generate_tokens(run: TrainedRun, controls: Controls, use_cache: bool = True, guess: bool = True) -> list[Piece]:
    """Sample token pieces under `controls` (continuing or infilling the primer, if any) and check them."""
    return TokenGeneration(run, run_defaults(run, controls), use_cache=use_cache, guess=guess).pieces()


def run_defaults(run: TrainedRun, controls: Controls) -> Controls:
    """`controls` with what they leave to the run filled in: its sampling temperature."""
    if controls.temperature is not None:
        return controls
    return dataclasses.replace(controls, temperature=default_temperature(run.config))


class Run(TrainedRun):
    """A run directory loaded for sampling: everything a `TrainedRun` holds, and `generate`."""

    def generate(self, controls: Controls | None = None, **kwargs: Any) -> list[Piece]:
        """New pieces under `controls` (or Controls(**kwargs))."""
        return generate(self, controls or Controls(**kwargs))


def load_run(path: str | Path, device: str = "cpu") -> Run:
    """Load a run directory written by `tunesmith train` (one-line error if it is not one)."""
    trained = load_trained(path, device)
    return Run(trained.path, trained.family, trained.config, trained.model, trained.representation,
               trained.device)
