"""One training loop for every family: AdamW, warm-up + cosine, clipping, validation, best checkpoint,
early stopping, time and step limits, metrics.jsonl, and exact resume after a kill."""

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
from torch.utils.data import Dataset, default_collate

from tunesmith.errors import TunesmithError
from tunesmith.fileio import append_jsonl
from tunesmith.outputs.pianoroll_image import pianoroll_grid_png
from tunesmith.progress import progress_bar
from tunesmith.runs.directory import (
    METRICS_FILE,
    MODEL_FILE,
    load_checkpoint,
    save_checkpoint,
    save_weights,
)

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


def _batches(dataset: Dataset, config: TrainConfig, epoch: int, collate: Callable, skip: int) -> Iterable[tuple[int, Any]]:
    """The epoch's batches in an order fixed by (seed, epoch); the first `skip` are passed over."""
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
    for i, start in enumerate(range(0, len(order), config.batch_size)):
        if i >= skip:
            yield i, collate([dataset[int(j)] for j in order[start:start + config.batch_size]])


def _to_device(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


@torch.no_grad()
def evaluate(model: torch.nn.Module, dataset: Dataset, batch_size: int, device: torch.device,
             collate: Callable | None = None) -> float:
    """Mean loss over `dataset`, weighted by each batch's `count` (tokens, frames...)."""
    collate = collate or default_collate
    model.eval()
    total, weight = 0.0, 0.0
    for start in range(0, len(dataset), batch_size):
        batch = _to_device(collate([dataset[i] for i in range(start, min(len(dataset), start + batch_size))]), device)
        loss, stats = model.loss(batch)
        n = float(stats.get("count", 1))
        total += float(loss) * n
        weight += n
    model.train()
    return total / weight if weight else float("nan")


def default_optimizers(model: torch.nn.Module, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    """AdamW, with no weight decay on biases, norms and embeddings' 1-D parameters. With `optimizer = "muon"`,
    the matrices of the Linear layers (not one tied to an embedding) go to Muon (Jordan et al. 2024), its step
    scaled to AdamW's size ("match_rms_adamw"), so both follow the same learning rate."""
    params = [p for p in model.parameters() if p.requires_grad]
    matrices: list[torch.nn.Parameter] = []
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


def fit(model: torch.nn.Module, train_data: Dataset, valid_data: Dataset | None, config: TrainConfig,
        run_dir: Path, *, collate: Callable | None = None, device: str | torch.device = "cpu",
        resume: bool = False, progress: bool = True, train_step: Callable | None = None,
        callbacks: Iterable[Callable[[int, dict], None]] = ()) -> FitResult:
    """Train `model` (which computes its own loss) on `train_data`; keeps the best weights in run_dir.

    `train_step(model, batch, optimizers, step) -> stats` replaces the default step (the GAN's);
    the model then provides `configure_optimizers(config)`. Callbacks get (step, record) after each step; one
    with state of its own gives it as `state_tensors() -> {name: tensor}` and takes it back on resume in
    `load_state_tensors(tensors)`.
    """
    run_dir, device = Path(run_dir), torch.device(device)
    run_dir.mkdir(parents=True, exist_ok=True)
    collate = collate or default_collate
    if len(train_data) == 0:
        raise TunesmithError("no training examples: the corpus pieces are shorter than one training window")
    torch.manual_seed(config.seed)
    model.to(device).train()
    callbacks = list(callbacks)
    # callbacks that keep state of their own (a weight average) have it checkpointed and restored with the run's
    stateful = {f"callback{i}": cb for i, cb in enumerate(callbacks) if hasattr(cb, "state_tensors")}
    if train_step and config.optimizer != "adamw":
        raise TunesmithError(f"optimizer = {config.optimizer!r} is for the loop's own step: this family "
                             "chooses its own optimizers (leave the setting out)")
    optimizers = model.configure_optimizers(config) if train_step else default_optimizers(model, config)
    steps_per_epoch = math.ceil(len(train_data) / config.batch_size)
    total_steps = config.max_steps or config.epochs * steps_per_epoch
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best_valid": None, "bad_epochs": 0, "elapsed": 0.0}
    metrics = run_dir / METRICS_FILE
    if resume:
        saved: dict[str, torch.Tensor] = {}
        state.update(load_checkpoint(run_dir, model, optimizers, saved))
        for key, cb in stateful.items():
            cb.load_state_tensors({k[len(key) + 1:]: v for k, v in saved.items() if k.startswith(key + ".")})
        _truncate_metrics(metrics, state["step"], state.get("metrics_bytes"))
        for stale in run_dir.glob(".*.tmp"):  # an atomic write the kill cut short (fileio.atomic_path's name)
            stale.unlink()
        log.info("resuming at step %d (epoch %d)", state["step"], state["epoch"])
    elif metrics.exists():
        metrics.unlink()
    start_time = time.monotonic() - state["elapsed"]
    stopped, history = "max steps", []
    tokens_seen, session_start = 0, time.monotonic()

    def checkpoint() -> None:
        state["elapsed"] = time.monotonic() - start_time
        state["metrics_bytes"] = metrics.stat().st_size if metrics.exists() else 0
        kept = {f"{key}.{k}": v for key, cb in stateful.items() for k, v in cb.state_tensors().items()}
        save_checkpoint(run_dir, model, optimizers, state, kept)

    def validate() -> None:
        state["validated_step"] = state["step"]  # kept in checkpoints: a resumed run does not validate twice
        if valid_data is None or len(valid_data) == 0:
            save_weights(run_dir / MODEL_FILE, model)
            return
        loss = evaluate(model, valid_data, config.batch_size, device, collate)
        improved = state["best_valid"] is None or loss < state["best_valid"]
        if improved:
            state["best_valid"], state["bad_epochs"] = loss, 0
            save_weights(run_dir / MODEL_FILE, model)
        else:
            state["bad_epochs"] += 1
        record = {"step": state["step"], "epoch": state["epoch"], "valid_loss": loss, "best": improved}
        append_jsonl(metrics, record)
        history.append(record)

    with progress_bar(total_steps, "training", enabled=progress, unit="steps") as bar:
        bar.advance(state["step"])
        while state["step"] < total_steps:
            if hasattr(train_data, "set_epoch"):
                train_data.set_epoch(state["epoch"])
            for i, batch in _batches(train_data, config, state["epoch"], collate, state["batch_in_epoch"]):
                batch = _to_device(batch, device)
                time_fraction = ((time.monotonic() - start_time) / (60 * config.max_minutes)
                                 if config.max_minutes else 0.0)
                lr = learning_rate(state["step"], config, total_steps, time_fraction)
                for opt in optimizers.values():
                    for group in opt.param_groups:
                        group["lr"] = lr
                stats = (train_step(model, batch, optimizers, state["step"]) if train_step
                         else _default_step(model, batch, optimizers, config.clip))
                state["step"] += 1
                state["batch_in_epoch"] = i + 1
                record = {"step": state["step"], "epoch": state["epoch"], "lr": lr, **stats}
                if state["step"] % config.log_every == 0 or state["step"] == 1:
                    append_jsonl(metrics, record)
                for cb in callbacks:
                    cb(state["step"], record)
                tokens_seen += stats.get("tokens", 0)
                rate = {"tok/s": f"{tokens_seen / (time.monotonic() - session_start):,.0f}"} if tokens_seen else {}
                if config.max_minutes:  # the step total is only an upper bound: say when the clock stops it
                    left = max(0.0, config.max_minutes * 60 - (time.monotonic() - start_time))
                    rate["time limit in"] = f"{int(left // 60)}:{int(left % 60):02d}"
                bar.advance(1, loss=f"{stats.get('loss', float('nan')):.3f}", **rate)
                if hasattr(model, "training_snapshot") and state["step"] % config.snapshot_every == 0:
                    pianoroll_grid_png(model.training_snapshot(state["step"]),
                                       run_dir / "samples" / f"step_{state['step']:07d}.png", cols=4,
                                       title=f"samples at step {state['step']}")
                if config.valid_every and state["step"] % config.valid_every == 0:
                    validate()
                if state["step"] % config.checkpoint_every == 0:
                    checkpoint()
                if state["step"] >= total_steps:
                    break
                if config.max_minutes and time.monotonic() - start_time > config.max_minutes * 60:
                    stopped = "time limit"
                    break
            else:  # the epoch ran to its end
                state["epoch"] += 1
                state["batch_in_epoch"] = 0
                if not config.valid_every:
                    validate()
                if state["bad_epochs"] >= config.patience:
                    stopped = "early stopping"
                    break
                checkpoint()
                continue
            break
    if state.get("validated_step") != state["step"]:
        validate()
    checkpoint()
    return FitResult(state["step"], state["epoch"], state["best_valid"], stopped, history, state["elapsed"] / 60)


def _default_step(model: torch.nn.Module, batch: Any, optimizers: dict[str, torch.optim.Optimizer],
                  clip: float) -> dict:
    loss, stats = model.loss(batch)
    for optimizer in optimizers.values():
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip) if clip else torch.tensor(0.0)
    for optimizer in optimizers.values():
        optimizer.step()
    return {"loss": float(loss.detach()), "grad_norm": float(grad_norm), **stats}


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
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in keep))
