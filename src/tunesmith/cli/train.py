"""`tunesmith train`: train a model family on a corpus into a run directory."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.cli.common import Device, ReadLimitOption, console, given, read_limits


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
    threads: int = typer.Option(None, help="CPU threads for torch (default: torch's choice)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
    read_limit: ReadLimitOption = None,
) -> None:
    """Train a model on a corpus: progress, validation each epoch, best checkpoint kept in --out."""
    import torch

    from tunesmith.training.trainer import train

    limits = read_limits(read_limit)
    if threads:
        torch.set_num_threads(threads)
    overrides = given(max_steps=max_steps, max_minutes=max_minutes, epochs=epochs, batch_size=batch_size, lr=lr,
                      seed=seed, augment=augment)
    result = train(model, corpus, out, config_file=config, training_overrides=overrides, device=device,
                   resume=resume, limit=limit, progress=not quiet, read_limits=limits)
    best = f"{result.best_valid:.4f}" if result.best_valid is not None else "n/a"
    console.print(f"trained {result.steps} steps ({result.stopped_because}); best validation loss {best}; run in {out}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
