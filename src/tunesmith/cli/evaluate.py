"""`tunesmith evaluate GENERATED... [--reference SRC] [--train-corpus SRC] [--json FILE] [--report DIR]`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tunesmith.cli.common import console, existing_path
from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    from tunesmith.piece import Piece

NO_REFERENCE = "give --reference (a bundled corpus such as bach, or a folder) to compare against"


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").exists()


def _unique(label: str, taken: dict) -> str:
    """`label`, or `label-2`, `label-3`... when a set of that name is already there."""
    out, n = label, 2
    while out in taken:
        out, n = f"{label}-{n}", n + 1
    return out


def _generated_sets(paths: list[Path], *, num: int, bars: int, seed: int, temperature: float, device: str,
                    progress: bool) -> tuple[dict, list[dict]]:
    """label -> (source, pieces) for each folder (read) or run directory (generated now); the runs' corpora."""
    from tunesmith.data import load_corpus

    sets: dict = {}
    corpora = []
    for path in paths:
        if _is_run(path):
            from tunesmith.controls.controls import Controls
            from tunesmith.generation.run import load_run

            run = load_run(path, device=device)
            console.print(f"generating {num} pieces of {bars} bars from {path} (seed {seed}, temperature {temperature:g})")
            pieces = run.generate(Controls(num=num, bars=bars, seed=seed, temperature=temperature))
            corpora.append(run.config.get("corpus") or {})
            sets[_unique(path.name, sets)] = (f"run {path}", pieces)
        else:
            sets[_unique(path.name or str(path), sets)] = (str(path), load_corpus(path, progress=progress).pieces)
    return sets, corpora


def _reference_and_training(reference: str | None, train_corpus: str | None, run_corpora: list[dict],
                            progress: bool) -> tuple[str, list[Piece], str, list[Piece]]:
    """(reference label, pieces, training label, pieces) from the options, else from the runs' corpus."""
    from tunesmith.data import load_corpus, split_pieces

    sources = {(c.get("source"), c.get("limit")) for c in run_corpora if c.get("source")}
    if reference is None and train_corpus is None and not sources:
        raise TunesmithError(NO_REFERENCE)
    if reference is None and train_corpus is None and len(sources) > 1:
        raise TunesmithError("the runs learned from different corpora; give --reference to compare them on one")
    if reference is None and train_corpus is None:
        source, limit = sources.pop()
        assert isinstance(source, str)  # sources keeps only runs that name their corpus
        pieces = load_corpus(source, limit=limit, progress=progress).pieces
        return source, pieces, f"{source} (training split)", split_pieces(pieces)["train"]
    ref_source = reference or train_corpus
    assert ref_source is not None  # one of them is given: the first branch returned otherwise
    ref_pieces = load_corpus(ref_source, progress=progress).pieces
    if train_corpus is None or train_corpus == ref_source:
        return ref_source, ref_pieces, ref_source, ref_pieces
    return ref_source, ref_pieces, train_corpus, load_corpus(train_corpus, progress=progress).pieces


def _save_generated(sets: dict, report: Path) -> None:
    """Write the pieces generated from runs beside the report, so the listener can hear what was measured."""
    from tunesmith.evaluation.report import slug
    from tunesmith.outputs import save_piece

    for label, (source, pieces) in sets.items():
        if source.startswith("run "):
            for i, piece in enumerate(pieces):
                save_piece(piece, report / "generated" / slug(label) / f"{i:03d}-{slug(piece.name)}.mid")


def _print_summary(evaluation) -> None:
    from tunesmith.evaluation.evaluate import verdict

    ceiling = evaluation.ceiling
    if ceiling:
        console.print(f"{evaluation.reference_label} against itself (split halves): mean overlap "
                      f"{ceiling.mean_overlap:.3f}, {ceiling.copies} of {ceiling.pieces} pieces share "
                      f"{evaluation.copy_bars}+ bars with the other half")
    table = Table("set", "pieces", "mean overlap", "verdict", "copies", "longest shared run")
    for s in evaluation.sets:
        longest = max(s.originality, key=lambda o: o.longest_run, default=None)
        overlap = "n/a" if math.isnan(s.mean_overlap) else f"{s.mean_overlap:.3f}"
        table.add_row(s.label, str(len(s.pieces)), overlap, verdict(s.mean_overlap, ceiling),
                      f"{len(s.copies)}", longest.describe() if longest else "-")
    console.print(table)
    for s in evaluation.sets:
        for o in s.copies[:10]:
            console.print(f"  [bold red]copies[/]: {s.label}/{o.name}: {o.describe()}")


def evaluate_command(
    generated: list[Path] = typer.Argument(..., help="folders of generated MIDI files, or run directories "
                                                     "(a set is generated from each first)"),
    reference: str = typer.Option(None, "--reference", "-r",
                                  help="corpus to compare with: bundled name (bach, folk) or folder "
                                       "(default: the run's corpus, else --train-corpus)"),
    train_corpus: str = typer.Option(None, "--train-corpus",
                                     help="corpus to check for copies (default: the run's training split, "
                                          "else the reference)"),
    json_file: Path = typer.Option(None, "--json", help="write every figure as JSON here"),
    report: Path = typer.Option(None, "--report", help="write report.md, report.html and figures into this folder"),
    num: int = typer.Option(50, "--num", "-n", help="pieces to generate from each run directory"),
    bars: int = typer.Option(16, "--bars", "-b", help="bars per generated piece"),
    seed: int = typer.Option(0, help="seed for generating from runs"),
    temperature: float = typer.Option(1.0, "--temperature", "-t", help="sampling temperature for runs"),
    copy_bars: int = typer.Option(4, "--copy-bars", help="a piece copies when it shares this many bars in a row"),
    device: str = typer.Option("cpu", help="cpu or cuda, for generating from runs"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
) -> None:
    """Measure generated music against the music it learned from (MGEval overlap, KL) and catch copies."""
    from tunesmith.evaluation.evaluate import evaluate_sets
    from tunesmith.fileio import write_json_atomic

    if copy_bars < 1:
        raise TunesmithError(f"--copy-bars must be at least 1 (got {copy_bars})")
    for path in generated:
        existing_path(path, "generated set")
    if reference is None and train_corpus is None and not any(_is_run(p) for p in generated):
        raise TunesmithError(NO_REFERENCE)
    sets, corpora = _generated_sets(generated, num=num, bars=bars, seed=seed, temperature=temperature,
                                    device=device, progress=not quiet)
    ref_label, ref_pieces, train_label, train_pieces = _reference_and_training(reference, train_corpus, corpora,
                                                                               progress=not quiet)
    evaluation = evaluate_sets(sets, ref_pieces, reference_label=ref_label, training=train_pieces,
                               training_label=train_label, copy_bars=copy_bars, progress=not quiet)
    _print_summary(evaluation)
    if json_file:
        write_json_atomic(json_file, evaluation.to_dict())
        console.print(f"wrote {json_file}")
    if report:
        from tunesmith.evaluation.report import write_report

        _save_generated(sets, report)
        written = write_report(evaluation, report, progress=not quiet)
        console.print(f"wrote {written['markdown']} and {written['html']}")
    if not json_file and not report:
        console.print("(add --report DIR for the full report, --json FILE for every figure)")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
