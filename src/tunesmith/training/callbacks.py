"""What the training loop calls while it trains: the `Callback` protocol, the loop's counters that its own
callbacks share (`LoopState`), and the simple ones among them (early stopping, training snapshots)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from tunesmith.errors import TunesmithError
from tunesmith.models.base import TrainingSnapshot
from tunesmith.outputs.pianoroll_image import pianoroll_grid_png


@dataclass
class LoopState:
    """The loop's counters, kept in every checkpoint (as JSON) and taken back on resume."""

    step: int = 0  # optimisation steps done
    epoch: int = 0  # epochs run to their end
    batch_in_epoch: int = 0  # batches of the current epoch done
    best_valid: float | None = None  # the best validation loss so far
    bad_epochs: int = 0  # validations since the best one
    elapsed: float = 0.0  # seconds of training, over every session up to the last checkpoint
    validated_step: int | None = None  # the step last validated: a resumed run does not validate it twice
    metrics_bytes: int | None = None  # the size of metrics.jsonl at the last checkpoint

    @classmethod
    def saved(cls, values: dict[str, Any]) -> LoopState:
        """The counters a checkpoint kept (one written before a counter was added lacks it: its default)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@runtime_checkable
class Callback(Protocol):
    """Something the loop calls as it trains. Subclass it and override what you need (each hook does
    nothing by default); the loop calls its own jobs (progress, snapshots, validation, early stopping) after
    the callbacks given to `fit`, in that order, and checkpoints after all of them.

    A callback with state of its own, which a resumed run must get back to train and choose as the
    uninterrupted run does (a weight average), also implements `Stateful`. Callbacks must not draw from
    torch's global random stream unless they are part of what the run repeats exactly on resume.
    """

    def on_step(self, step: int, record: dict[str, Any]) -> None:
        """After each optimisation step; `step` counts the steps done (from 1), `record` is what the step
        logged: {"step", "epoch", "lr", "loss", ... the model's metrics}."""
        return None

    def on_epoch_end(self, epoch: int, step: int) -> None:
        """After an epoch's last batch; `epoch` counts the epochs done (from 1)."""
        return None

    def on_train_end(self, step: int) -> None:
        """Once, after the last step (also when a limit or a callback stopped training), before the last
        checkpoint."""
        return None

    def should_stop(self) -> str | None:
        """Asked after each step and each epoch end: a reason to stop training now (saved as the run's
        `stopped_because`), or None to go on."""
        return None


@runtime_checkable
class Stateful(Protocol):
    """A callback whose state a checkpoint keeps: given as tensors, taken back on resume."""

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """{name: tensor} of everything a resumed run needs; {} when there is nothing yet."""
        ...

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Take back what `state_tensors` gave when the checkpoint was written ({} if it gave nothing)."""
        ...


class OnStep(Callback):
    """A plain function `(step, record) -> None` as a callback of every step."""

    def __init__(self, function: Callable[[int, dict[str, Any]], None]):
        self.function = function

    def on_step(self, step: int, record: dict[str, Any]) -> None:
        self.function(step, record)


def as_callback(callback: Callback | Callable[[int, dict[str, Any]], None]) -> Callback:
    """A Callback as it is; a function `(step, record)` as one called after every step."""
    if isinstance(callback, Callback):
        return callback
    if callable(callback):
        return OnStep(callback)
    raise TunesmithError(f"a training callback is a Callback or a function (step, record), not {callback!r}")


class EarlyStopping(Callback):
    """Stops at an epoch's end once `patience` validations in a row have not beaten the best (the loop's
    `bad_epochs`, counted by validation)."""

    def __init__(self, state: LoopState, patience: int):
        self.state, self.patience = state, patience
        self.reason: str | None = None

    def on_epoch_end(self, epoch: int, step: int) -> None:
        if self.state.bad_epochs >= self.patience:
            self.reason = "early stopping"

    def should_stop(self) -> str | None:
        return self.reason


class Snapshot(Callback):
    """Every `every` steps, draws the pieces of the model's `training_snapshot` as a piano-roll grid in
    run_dir/samples/."""

    def __init__(self, model: TrainingSnapshot, run_dir: Path, every: int):
        self.model, self.run_dir, self.every = model, Path(run_dir), every

    def on_step(self, step: int, record: dict[str, Any]) -> None:
        if step % self.every == 0:
            pianoroll_grid_png(self.model.training_snapshot(step), self.run_dir / "samples" / f"step_{step:07d}.png",
                               cols=4, title=f"samples at step {step}")
