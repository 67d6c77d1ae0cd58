"""One training loop for every family: AdamW, warm-up + cosine, clipping, validation, best checkpoint,
early stopping, time and step limits, metrics.jsonl, and exact resume after a kill.

`fit` runs a `_Session`: steps (the loop's own or the family's `TrainStep`), then the callbacks given to it
and the loop's own (progress, training snapshots, validation, early stopping; tunesmith.training.callbacks),
then a checkpoint that keeps the loop's counters, the optimizers, the random state and every `Stateful`
callback's state.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import default_collate

from tunesmith.errors import TunesmithError
from tunesmith.fileio import append_jsonl, write_bytes_atomic
from tunesmith.models.base import (
    TOKENS,
    EpochDataset,
    Examples,
    FamilyModel,
    OwnOptimizers,
    TrainingSnapshot,
    TrainStep,
)
from tunesmith.progress import Bar, progress_bar
from tunesmith.runs.directory import load_checkpoint, save_checkpoint
from tunesmith.runs.files import CHECKPOINT_FILE, METRICS_FILE
from tunesmith.training.callbacks import Callback, EarlyStopping, LoopState, Snapshot, Stateful, as_callback
from tunesmith.training.distributed import Replicated, World, current, step_seed
from tunesmith.training.validation import Validation, evaluate, to_device

log = logging.getLogger(__name__)


OPTIMIZERS = ("adamw", "muon")  # the loop's own step; families with their own step choose their optimizers


@dataclass
class TrainConfig:
    """How to train (the same for every family)."""

    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    optimizer: str = "adamw"  # or "muon": Muon for the Linear layers' matrices, AdamW for the rest
    warmup_steps: int = 100
    epochs: int = 30
    max_steps: int | None = None
    max_minutes: float | None = None
    clip: float = 1.0
    patience: int = 5  # epochs without a better validation loss before stopping
    seed: int = 0
    augment: bool = True  # transposition augmentation of the training split
    checkpoint_every: int = 200  # steps
    valid_every: int | None = None  # steps; None validates at the end of every epoch
    snapshot_every: int = 500  # steps between model.training_snapshot calls (if the model has one)
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise TunesmithError(f"unknown optimizer {self.optimizer!r} (choose {' or '.join(OPTIMIZERS)})")


@dataclass
class FitResult:
    """What a training run ended with."""

    steps: int
    epochs: int
    best_valid: float | None
    stopped_because: str
    history: list[dict[str, Any]] = field(default_factory=list)
    minutes: float = 0.0  # training wall time, including the sessions before any resume (up to their last checkpoint)


def learning_rate(step: int, config: TrainConfig, total_steps: int, time_fraction: float = 0.0) -> float:
    """Linear warm-up to `lr`, then cosine decay to a tenth of it at `total_steps`.

    With a time limit (`time_fraction` = elapsed / max_minutes), the decay follows whichever of the two
    is further along, so a run stopped by the clock has still annealed.
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min(1.0, (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps))
    progress = max(progress, min(1.0, time_fraction))
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def _batches(dataset: Examples, config: TrainConfig, epoch: int, collate: Callable, skip: int,
             world: World) -> Iterable[tuple[int, Any]]:
    """The epoch's global batches in an order fixed by (seed, epoch), whatever the number of processes; the
    first `skip` are passed over. Each process takes its share of each (a last batch too small to share is
    left out when there are several)."""
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
    for i, start in enumerate(range(0, len(order), config.batch_size)):
        batch = order[start:start + config.batch_size]
        if i >= skip and len(batch) >= world.size:
            yield i, collate([dataset[int(j)] for j in world.share(batch)])


def default_optimizers(model: torch.nn.Module, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    """AdamW, with no weight decay on biases, norms and embeddings' 1-D parameters. With `optimizer = "muon"`,
    the matrices of the Linear layers (not one tied to an embedding) go to Muon (Jordan et al. 2024), its step
    scaled to AdamW's size ("match_rms_adamw"), so both follow the same learning rate."""
    params = [p for p in model.parameters() if p.requires_grad]
    matrices: list[torch.Tensor] = []
    if config.optimizer == "muon":
        embedded = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
        matrices = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)
                    and m.weight.requires_grad and id(m.weight) not in embedded]
    chosen = {id(p) for p in matrices}
    decay = [p for p in params if p.dim() >= 2 and id(p) not in chosen]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    optimizers: dict[str, torch.optim.Optimizer] = {"main": torch.optim.AdamW(groups, lr=config.lr)}
    if matrices:
        optimizers["matrices"] = torch.optim.Muon(matrices, lr=config.lr, weight_decay=config.weight_decay,
                                                  adjust_lr_fn="match_rms_adamw")
    return optimizers


def fit(model: torch.nn.Module, train_data: Examples, valid_data: Examples | None, config: TrainConfig,
        run_dir: Path, *, collate: Callable | None = None, device: str | torch.device = "cpu",
        resume: bool = False, progress: bool = True, train_step: TrainStep | None = None,
        callbacks: Iterable[Callback | Callable[[int, dict], None]] = ()) -> FitResult:
    """Train `model` (a `FamilyModel`: it computes its own loss) on `train_data`; keeps the best weights in run_dir.

    `train_step` replaces the loop's step (the GAN's); the model then chooses its optimizers (`OwnOptimizers`).
    `callbacks` are `Callback`s, or functions (step, record) called after each step; one with state of its
    own (`Stateful`) has it checkpointed and given back on resume.

    In a process group (torch.distributed started: training/distributed.py) each process trains on its share
    of every batch of `batch_size` examples, and the first one alone writes to run_dir.
    """
    run_dir, device, world = Path(run_dir), torch.device(device), current()
    run_dir.mkdir(parents=True, exist_ok=True)
    if len(train_data) == 0:
        raise TunesmithError("no training examples: the corpus pieces are shorter than one training window")
    if config.batch_size < world.size:
        raise TunesmithError(f"a batch of {config.batch_size} examples cannot be shared by {world.size} processes")
    torch.manual_seed(config.seed)
    model.to(device).train()
    session = _Session(model, train_data, config, run_dir, device, collate or default_collate, train_step,
                       [as_callback(cb) for cb in callbacks], world)
    session.start(resume)
    validation = Validation(model, valid_data, session.state, run_dir, every=config.valid_every,
                            batch_size=config.batch_size, device=device, collate=session.collate, world=world)
    jobs: list[Callback] = [validation, EarlyStopping(session.state, config.patience)]
    if isinstance(model, TrainingSnapshot) and world.main:
        jobs.insert(0, Snapshot(model, run_dir, config.snapshot_every))
    with progress_bar(session.total_steps, "training", enabled=progress and world.main, unit="steps") as bar:
        bar.advance(session.state.step)
        stopped = session.run([_ProgressReport(bar, session.clock), *jobs])
    state = session.state
    return FitResult(state.step, state.epoch, state.best_valid, stopped, validation.history, state.elapsed / 60)


def _step_and_optimizers(model: torch.nn.Module, config: TrainConfig,
                         train_step: TrainStep | None) -> tuple[TrainStep, dict[str, torch.optim.Optimizer]]:
    """The family's own step with the optimizers its network chooses, or the loop's step with AdamW (or Muon)."""
    if not isinstance(model, FamilyModel):
        raise TunesmithError(f"{type(model).__name__} has no loss(batch): a family's network computes its own loss")
    if train_step is None:
        return _DefaultStep(config.clip), default_optimizers(model, config)
    if config.optimizer != "adamw":
        raise TunesmithError(f"optimizer = {config.optimizer!r} is for the loop's own step: this family "
                             "chooses its own optimizers (leave the setting out)")
    if not isinstance(model, OwnOptimizers):
        raise TunesmithError(f"{type(model).__name__} has its own training step but no configure_optimizers(config)")
    return train_step, model.configure_optimizers(config)


class _DefaultStep:
    """The loop's step: the model's loss, backpropagated, gradients clipped to `clip` (0: not clipped)."""

    def __init__(self, clip: float):
        self.clip = clip

    def __call__(self, model: Any, batch: Any, optimizers: dict[str, torch.optim.Optimizer], step: int) -> dict:
        loss, stats = model.loss(batch)
        for optimizer in optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip) if self.clip else torch.tensor(0.0)
        for optimizer in optimizers.values():
            optimizer.step()
        return {"loss": float(loss.detach()), "grad_norm": float(grad_norm), **stats}


class _Clock:
    """Training wall time, the sessions before a resume included (up to their last checkpoint)."""

    def __init__(self, max_minutes: float | None):
        self.limit = max_minutes * 60 if max_minutes else None
        self.started = time.monotonic()

    def start(self, elapsed: float) -> None:
        self.started = time.monotonic() - elapsed

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def fraction(self) -> float:
        """How far along the time limit training is (0 without one)."""
        return self.elapsed() / self.limit if self.limit else 0.0

    def left(self) -> float | None:
        """Seconds left before the time limit (None without one)."""
        return max(0.0, self.limit - self.elapsed()) if self.limit else None

    def over(self) -> bool:
        return self.limit is not None and self.elapsed() > self.limit


class _ProgressReport(Callback):
    """Moves the progress bar after each step: the loss, tokens per second (when the model counts them) and,
    with a time limit, the time left."""

    def __init__(self, bar: Bar, clock: _Clock):
        self.bar, self.clock = bar, clock
        self.tokens, self.started = 0, time.monotonic()

    def on_step(self, step: int, record: dict[str, Any]) -> None:
        self.tokens += record.get(TOKENS, 0)
        rate = {"tok/s": f"{self.tokens / (time.monotonic() - self.started):,.0f}"} if self.tokens else {}
        left = self.clock.left()
        if left is not None:  # the step total is only an upper bound: say when the clock stops it
            rate["time limit in"] = f"{int(left // 60)}:{int(left % 60):02d}"
        self.bar.advance(1, loss=f"{record.get('loss', float('nan')):.3f}", **rate)


class _Session:
    """One call of `fit`: the model, its data and optimizers, the loop's counters and clock, the callbacks."""

    def __init__(self, model: torch.nn.Module, train_data: Examples, config: TrainConfig, run_dir: Path,
                 device: torch.device, collate: Callable, train_step: TrainStep | None, callbacks: list[Callback],
                 world: World):
        self.model, self.train_data, self.config = model, train_data, config
        self.run_dir, self.device, self.collate, self.world = run_dir, device, collate, world
        self.step_fn, self.optimizers = _step_and_optimizers(model, config, train_step)
        # what the step trains: in several processes, the network whose losses average their gradients
        self.trained: Any = Replicated(model, device) if world.several else model
        self.total_steps = config.max_steps or config.epochs * math.ceil(len(train_data) / config.batch_size)
        self.callbacks = callbacks
        # callbacks that keep state of their own (a weight average) have it checkpointed and restored with the run's
        self.stateful = {f"callback{i}": cb for i, cb in enumerate(callbacks) if isinstance(cb, Stateful)}
        self.metrics = run_dir / METRICS_FILE
        self.state = LoopState()
        self.clock = _Clock(config.max_minutes)

    def start(self, resume: bool) -> None:
        """Take up the run's last checkpoint (`resume`), or start afresh: also when asked to resume a run that
        was stopped before its first checkpoint was complete (there is nothing else to take up)."""
        if resume and (self.run_dir / CHECKPOINT_FILE).exists():
            self._resume()
        else:
            if resume and self.world.main:
                log.warning("%s has no checkpoint (it was stopped before the first one): training from the start",
                            self.run_dir)
            if self.metrics.exists() and self.world.main:
                self.metrics.unlink()
        if self.world.main:
            for stale in self.run_dir.glob(".*.tmp"):  # an atomic write a kill cut short (fileio.atomic_path's name)
                stale.unlink()
        self.world.wait()  # no process starts before the run's files are in order
        self.clock.start(self.state.elapsed)

    def _resume(self) -> None:
        saved: dict[str, torch.Tensor] = {}
        self.state = LoopState.saved(load_checkpoint(self.run_dir, self.model, self.optimizers, saved))
        for key, cb in self.stateful.items():
            cb.load_state_tensors({k[len(key) + 1:]: v for k, v in saved.items() if k.startswith(key + ".")})
        if self.world.main:
            _truncate_metrics(self.metrics, self.state.step, self.state.metrics_bytes)
        log.info("resuming at step %d (epoch %d)", self.state.step, self.state.epoch)

    def checkpoint(self) -> None:
        """Save everything a resumed run needs (tunesmith.runs.directory.save_checkpoint): the first process's
        (the others hold the same weights, optimizer moments and counters)."""
        self.world.settle(self.model)
        if not self.world.main:
            return
        self.state.elapsed = self.clock.elapsed()
        self.state.metrics_bytes = self.metrics.stat().st_size if self.metrics.exists() else 0
        kept = {f"{key}.{k}": v for key, cb in self.stateful.items() for k, v in cb.state_tensors().items()}
        save_checkpoint(self.run_dir, self.model, self.optimizers, self.state.to_dict(), kept)

    def run(self, jobs: list[Callback]) -> str:
        """Train (the loop's own `jobs` called after the given callbacks) until a limit or a callback stops
        it; then the callbacks' last word and a checkpoint. Returns why training stopped."""
        self.callbacks = [*self.callbacks, *jobs]
        stopped = self._epochs()
        for cb in self.callbacks:
            cb.on_train_end(self.state.step)
        self.checkpoint()
        self.world.wait()
        return stopped

    def _epochs(self) -> str:
        state = self.state
        while state.step < self.total_steps:
            if isinstance(self.train_data, EpochDataset):
                self.train_data.set_epoch(state.epoch)
            for i, batch in _batches(self.train_data, self.config, state.epoch, self.collate, state.batch_in_epoch,
                                     self.world):
                stopped = self._step(i, batch)
                if stopped:
                    return stopped
            state.epoch += 1  # the epoch ran to its end
            state.batch_in_epoch = 0
            for cb in self.callbacks:
                cb.on_epoch_end(state.epoch, state.step)
            stopped = self._asked_to_stop()
            if stopped:
                return stopped
            self.checkpoint()
        return "max steps"

    def _step(self, i: int, batch: Any) -> str | None:
        """Batch `i` of the epoch: one step, its log line, the callbacks, a checkpoint when due; then a
        reason to stop, if there is one."""
        state, config = self.state, self.config
        batch = to_device(batch, self.device)
        lr = learning_rate(state.step, config, self.total_steps, self.clock.fraction())
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        if self.world.several:
            torch.manual_seed(step_seed(config.seed, state.step, self.world.rank))
        stats, over_time = self.world.agree(self.step_fn(self.trained, batch, self.optimizers, state.step),
                                            self.clock.over())
        state.step += 1
        state.batch_in_epoch = i + 1
        record = {"step": state.step, "epoch": state.epoch, "lr": lr, **stats}
        if (state.step % config.log_every == 0 or state.step == 1) and self.world.main:
            append_jsonl(self.metrics, record)
        for cb in self.callbacks:
            cb.on_step(state.step, record)
        if state.step % config.checkpoint_every == 0:
            self.checkpoint()
        if state.step >= self.total_steps:
            return "max steps"
        if over_time:
            return "time limit"
        return self._asked_to_stop()

    def _asked_to_stop(self) -> str | None:
        return next((reason for cb in self.callbacks if (reason := cb.should_stop())), None)


def _truncate_metrics(path: Path, step: int, size: int | None = None) -> None:
    """Drop lines logged after the checkpoint we resume from (they will be logged again): the file as it was
    when the checkpoint was written (`size` bytes), or, for checkpoints that did not record it, up to `step`.
    A validation logged at the checkpoint's step but after it is dropped too, and logged once again."""
    if not path.exists():
        return
    if size is not None and path.stat().st_size >= size:
        with open(path, "r+b") as f:
            f.truncate(size)
        return
    keep = [line for line in path.read_text().splitlines()
            if (record := _record(line)) is not None and record.get("step", 0) <= step]
    write_bytes_atomic(path, "".join(line + "\n" for line in keep).encode())


def _record(line: str) -> dict[str, Any] | None:
    """One line of metrics.jsonl, or None for a blank line or one a full disk cut short."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


__all__ = ["OPTIMIZERS", "FitResult", "TrainConfig", "default_optimizers", "evaluate", "fit", "learning_rate"]
