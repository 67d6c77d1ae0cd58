"""`tunesmith train`: train a model family on a corpus into a run directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from tunesmith.cli.common import Device, ReadLimitOption, console, given, read_limits
from tunesmith.errors import TunesmithError


def train_command(
    model: str = typer.Option("rnn", "--model", "-m", help="model family: rnn, transformer, vae, gan, polyphonic"),
    corpus: str = typer.Option("bach", "--corpus", "-c", help="bundled corpus (bach, folk) or a folder of files"),
    out: Path = typer.Option(..., "--out", "-o", help="run directory to write"),
    config: Path = typer.Option(None, "--config", help="TOML/JSON with \\[model], \\[training], \\[representation] tables"),
    max_steps: int = typer.Option(None, help="stop after this many optimisation steps"),
    max_minutes: float = typer.Option(None, help="stop after this many minutes (checkpointed)"),
    epochs: int = typer.Option(None, help="passes over the training split"),
    batch_size: int = typer.Option(None, help="examples per step"),
    lr: float = typer.Option(None, help="peak learning rate"),
    seed: int = typer.Option(None, help="random seed (same seed, same run)"),
    device: Device = "cpu",
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from its last checkpoint "
                                "(a run directory: zoo models ship without checkpoints and are not written to)"),
    limit: int = typer.Option(None, help="read only the first N files of the corpus"),
    augment: bool = typer.Option(None, "--augment/--no-augment", help="transposition augmentation"),
    threads: int = typer.Option(None, help="CPU threads for torch, in each process (default: torch's choice; "
                                "with --nproc, the cores shared out)"),
    nproc: int = typer.Option(1, "--nproc", help="training processes on this machine (torch.distributed: gloo on "
                              "CPU, NCCL on CUDA); --batch-size is shared among them"),
    max_restarts: int = typer.Option(0, "--max-restarts", help="with --nproc: restart the processes this many "
                                     "times after one fails (torch's elastic launcher), resuming the checkpoint"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
    read_limit: ReadLimitOption = None,
) -> None:
    """Train a model on a corpus: progress, validation each epoch, best checkpoint kept in --out."""
    from tunesmith.training import distributed

    if nproc < 1 or max_restarts < 0:
        raise TunesmithError(f"--nproc must be at least 1 and --max-restarts at least 0 (got {nproc}, {max_restarts})")
    limits = read_limits(read_limit)
    overrides = given(max_steps=max_steps, max_minutes=max_minutes, epochs=epochs, batch_size=batch_size, lr=lr,
                      seed=seed, augment=augment)
    job = {"model": model, "corpus": corpus, "out": out, "config_file": config, "training_overrides": overrides,
           "device": device, "resume": resume, "limit": limit, "progress": not quiet, "read_limits": limits}
    if nproc > 1 and not distributed.launched():
        result = distributed.launch(nproc, train_worker, (job, threads or max(1, (os.cpu_count() or 1) // nproc),
                                                          max_restarts > 0), max_restarts=max_restarts, out=out)[0]
    else:
        result = train_worker(job, threads, False)
    if int(os.environ.get("RANK", "0")):  # one of several processes that torchrun started: the first one says it
        return
    best = f"{result.best_valid:.4f}" if result.best_valid is not None else "n/a"
    console.print(f"trained {result.steps} steps ({result.stopped_because}); best validation loss {best}; run in {out}")


def train_worker(job: dict[str, Any], threads: int | None, restartable: bool) -> Any:
    """One training process: `tunesmith.training.trainer.train(**job)` on `threads` CPU threads; a process
    that torch's launcher may start again resumes the run's checkpoint when there is one."""
    import torch

    from tunesmith.training.trainer import train

    if threads:
        torch.set_num_threads(threads)
    if restartable and int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0:
        job = {**job, "resume": job["resume"] or (Path(job["out"]) / "config.json").exists()}
    return train(**job)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
