"""`tunesmith benchmark polyphonic`: train and score on the Boulanger-Lewandowski piano-roll benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tunesmith.cli.common import Device, console, existing_path, given
from tunesmith.errors import TunesmithError

benchmark_app = typer.Typer(help="Published benchmarks: train and score with the exact protocol.",
                            no_args_is_help=True)


@benchmark_app.command("polyphonic")
def polyphonic_command(
    train: Path = typer.Option(None, "--train", help="benchmark JSON of the training split"),
    valid: Path = typer.Option(None, "--valid", help="benchmark JSON of the validation split (model selection)"),
    test: Path = typer.Option(None, "--test", help="benchmark JSON to score at the end (or with --run)"),
    out: Path = typer.Option(None, "--out", "-o", help="run directory to write"),
    run: list[Path] = typer.Option(None, "--run", help="score this trained run (a run directory or a zoo model's name) "
                                   "instead of training (repeat the option to score the equal-weight mixture of "
                                   "several runs)"),
    config: Path = typer.Option(None, "--config", help="TOML/JSON with \\[model], \\[training], \\[representation] tables"),
    frames_per_beat: int = typer.Option(None, help="frames per quarter note: 1 for JSB, 2 for the others"),
    augment: bool = typer.Option(None, "--augment/--no-augment",
                                 help="random transpositions of training pieces (--no-augment: strict 2012 protocol)"),
    max_minutes: float = typer.Option(None, help="stop training after this many minutes"),
    epochs: int = typer.Option(None, help="passes over the training split"),
    seed: int = typer.Option(None, help="random seed"),
    mixture: int = typer.Option(None, "--mixture", min=0, max=12,
                                help="score the mixture of the network read in every transposition from -N to +N "
                                     "semitones (0: the network alone); saved with a trained run"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from its last checkpoint"),
    device: Device = "cpu",
    json_out: bool = typer.Option(False, "--json", help="print the results as one JSON line"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
) -> None:
    """Train the polyphonic model on --train/--valid into --out, or score --run on --test; NLL in nats per frame."""
    from tunesmith.runs.zoo import resolve_run
    from tunesmith.training.polyphonic_benchmark import score_run, train_benchmark

    if run:
        files = {k: existing_path(v, f"--{k} file") for k, v in {"train": train, "valid": valid, "test": test}.items()
                 if v is not None}
        if not files:
            raise TunesmithError("--run needs a file to score: give --test (or --valid, --train)")
        runs = [existing_path(resolve_run(r), "run directory") for r in run]
        scores = score_run(runs, files, device=device, mixture=mixture)
        _show({"run": ",".join(map(str, runs)), "nll_per_frame": scores}, json_out)
        return
    if out is None or (not resume and (train is None or valid is None)):
        raise TunesmithError("training needs --train, --valid and --out (or --run RUN --test FILE to score a run)")
    training = given(augment=augment, max_minutes=max_minutes, epochs=epochs, seed=seed)
    representation = {"frames_per_beat": frames_per_beat} if frames_per_beat is not None else {}
    results = train_benchmark(existing_path(train, "--train file") if train is not None else None,
                              existing_path(valid, "--valid file") if valid is not None else None, out,
                              test=existing_path(test, "--test file") if test is not None else None,
                              config_file=config, device=device, resume=resume, progress=not quiet,
                              overrides={"training": training, "representation": representation,
                                         "model": {"mixture_transpositions": mixture} if mixture is not None else {}})
    _show({"run": str(out), **results}, json_out)


def _show(results: dict, json_out: bool) -> None:
    if json_out:
        print(json.dumps(results, sort_keys=True))
        return
    for split, value in results["nll_per_frame"].items():
        console.print(f"{split}: [bold]{value:.4f}[/bold] nats per frame")
    for name, scores in results.get("baselines", {}).items():
        console.print(f"{name} baseline: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    if "minutes" in results:
        console.print(f"trained {results['epochs']} epochs in {results['minutes']:.1f} min "
                      f"({results['stopped_because']}; kept the {results['selected']}); run in {results['run']}")


def register(app: typer.Typer) -> None:
    app.add_typer(benchmark_app, name="benchmark")
