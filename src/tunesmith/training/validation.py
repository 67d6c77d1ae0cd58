"""Validation while training: the mean loss on valid data, and the callback that keeps the best weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch.utils.data import default_collate

from tunesmith.fileio import append_jsonl
from tunesmith.models.base import COUNT, Examples, FamilyModel
from tunesmith.runs.directory import save_weights
from tunesmith.runs.files import METRICS_FILE, MODEL_FILE
from tunesmith.training.callbacks import Callback, LoopState
from tunesmith.training.distributed import SINGLE, World


def to_device(batch: Any, device: torch.device) -> Any:
    """A batch (tensors, or dicts, lists and tuples of them) moved to `device`."""
    if torch.is_tensor(batch):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset: Examples, batch_size: int, device: torch.device,
             collate: Callable | None = None, world: World = SINGLE) -> float:
    """Mean loss over `dataset`, weighted by each batch's `count` (tokens, frames...). In several processes,
    each scores its share of the examples and all get the mean over the whole set."""
    collate = collate or default_collate
    model.eval()
    total, weight = 0.0, 0.0
    mine = list(range(world.rank, len(dataset), world.size))
    for start in range(0, len(mine), batch_size):
        batch = to_device(collate([dataset[i] for i in mine[start:start + batch_size]]), device)
        loss, stats = cast(FamilyModel, model).loss(batch)
        n = float(stats.get(COUNT, 1))
        total += float(loss) * n
        weight += n
    model.train()
    total, weight = world.total(total, weight)
    return total / weight if weight else float("nan")


class Validation(Callback):
    """Scores the model on valid every `every` steps (None: at each epoch's end), and once more at the end
    unless the last step was scored; keeps the best weights in run_dir/model.safetensors and logs each score
    to metrics.jsonl. With no valid data it keeps the latest weights instead. Its counters (best loss,
    validations since, step last validated) are the loop's `LoopState`, checkpointed with it. In several
    processes all score, and the first one writes."""

    def __init__(self, model: torch.nn.Module, data: Examples | None, state: LoopState, run_dir: Path, *,
                 every: int | None, batch_size: int, device: torch.device, collate: Callable,
                 world: World = SINGLE):
        self.model, self.data, self.state, self.run_dir = model, data, state, Path(run_dir)
        self.every, self.batch_size, self.device, self.collate = every, batch_size, device, collate
        self.world = world
        self.history: list[dict[str, Any]] = []  # this session's validations

    def on_step(self, step: int, record: dict[str, Any]) -> None:
        if self.every and step % self.every == 0:
            self.validate()

    def on_epoch_end(self, epoch: int, step: int) -> None:
        if not self.every:
            self.validate()

    def on_train_end(self, step: int) -> None:
        if self.state.validated_step != self.state.step:
            self.validate()

    def validate(self) -> None:
        """Score the model now; save its weights if they are the best so far."""
        state = self.state
        state.validated_step = state.step
        main = self.world.main
        self.world.settle(self.model)
        if self.data is None or len(self.data) == 0:
            if main:
                save_weights(self.run_dir / MODEL_FILE, self.model)
            return
        loss = evaluate(self.model, self.data, self.batch_size, self.device, self.collate, self.world)
        improved = state.best_valid is None or loss < state.best_valid
        if improved:
            state.best_valid, state.bad_epochs = loss, 0
            if main:
                save_weights(self.run_dir / MODEL_FILE, self.model)
        else:
            state.bad_epochs += 1
        record = {"step": state.step, "epoch": state.epoch, "valid_loss": loss, "best": improved}
        if main:
            append_jsonl(self.run_dir / METRICS_FILE, record)
        self.history.append(record)
