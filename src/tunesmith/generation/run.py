"""A trained run ready to sample: `load_run(path)`, `Run.generate(controls)`, and `generate(run, controls)` for
every family (a family's own `generate`, or the token sampler shared by the token language models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesmith.controls.controls import Controls
from tunesmith.controls.marks import write_marks
from tunesmith.generation.token_pieces import TokenGeneration
from tunesmith.piece import Piece
from tunesmith.runs import TrainedRun, load_trained
from tunesmith.theory import parse_key


def generate(run: TrainedRun, controls: Controls) -> list[Piece]:
    """`controls.num` new pieces from a trained run, honouring `controls` or raising ControlError; each with
    the key signature, time signature and tempo a score needs (controls/marks.py)."""
    controls.check_supported(run.family.name, run.family.supported_controls)
    if run.family.generate is not None:
        pieces = run.family.generate(run, controls)
    else:
        pieces = generate_tokens(run, controls)
    key = parse_key(controls.key) if controls.key else None
    primer = controls.primer_piece() if controls.primer is not None else None
    return [write_marks(piece, key=key, tempo=controls.tempo, primer=primer) for piece in pieces]


def generate_tokens(run: TrainedRun, controls: Controls, use_cache: bool = True, guess: bool = True) -> list[Piece]:
    """Sample token pieces under `controls` (continuing or infilling the primer, if any) and check them."""
    return TokenGeneration(run, controls, use_cache=use_cache, guess=guess).pieces()


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
