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
SHOWN_REJECTED = 20  # unreadable files listed on the terminal (all are in --json and --report)


def _is_run(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").exists()


def _unique(label: str, taken: dict) -> str:
    """`label`, or `label-2`, `label-3`... when a set of that name is already there."""
    out, n = label, 2
    while out in taken:
        out, n = f"{label}-{n}", n + 1
    return out


def _generated_sets(paths: list[Path], *, num: int, bars: int, seed: int, temperature: float | None, device: str,
                    progress: bool) -> tuple[dict, dict[str, list], list[dict]]:
    """label -> (source, pieces) for each folder (read) or run directory (generated now); label -> the files
    of a folder that could not be read (as the Corpus lists them); the runs' corpora."""
    from tunesmith.data import load_corpus

    sets: dict = {}
    rejected: dict[str, list] = {}
    corpora = []
    for path in paths:
        if _is_run(path):
            from tunesmith.controls.controls import Controls
            from tunesmith.generation.run import load_run
            from tunesmith.runs import default_temperature

            run = load_run(path, device=device)
            heat = default_temperature(run.config) if temperature is None else temperature
            console.print(f"generating {num} pieces of {bars} bars from {path} (seed {seed}, temperature {heat:g})")
            pieces = run.generate(Controls(num=num, bars=bars, seed=seed, temperature=temperature))
            corpora.append(run.config.get("corpus") or {})
            sets[_unique(path.name, sets)] = (f"run {path}", pieces)
        else:
            label = _unique(path.name or str(path), sets)
            corpus = load_corpus(path, progress=progress)
            sets[label], rejected[label] = (str(path), corpus.pieces), list(corpus.rejected)
    return sets, rejected, corpora


def _reference_and_training(reference: str | None, train_corpus: str | None, run_corpora: list[dict],
                            progress: bool) -> tuple[str, list[Piece], list, str, list[Piece]]:
    """(reference label, pieces, its unreadable files, training label, pieces) from the options, else from the
    runs' corpus. The unreadable files are the user's: a folder's, not a bundled corpus's."""
    from tunesmith.data import BUNDLED, load_corpus, split_pieces

    sources = {(c.get("source"), c.get("limit")) for c in run_corpora if c.get("source")}
    if reference is None and train_corpus is None and not sources:
        raise TunesmithError(NO_REFERENCE)
    if reference is None and train_corpus is None and len(sources) > 1:
        raise TunesmithError("the runs learned from different corpora; give --reference to compare them on one")
    if reference is None and train_corpus is None:
        source, limit = sources.pop()
        assert isinstance(source, str)  # sources keeps only runs that name their corpus
        corpus = load_corpus(source, limit=limit, progress=progress)
        unread = [] if source in BUNDLED else list(corpus.rejected)
        return source, corpus.pieces, unread, f"{source} (training split)", split_pieces(corpus.pieces)["train"]
    ref_source = reference or train_corpus
    assert ref_source is not None  # one of them is given: the first branch returned otherwise
    ref = load_corpus(ref_source, progress=progress)
    unread = [] if ref_source in BUNDLED else list(ref.rejected)
    if train_corpus is None or train_corpus == ref_source:
        return ref_source, ref.pieces, unread, ref_source, ref.pieces
    return ref_source, ref.pieces, unread, train_corpus, load_corpus(train_corpus, progress=progress).pieces


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
    _print_rejected(evaluation)


def _print_rejected(evaluation) -> None:
    """The files that could not be measured, set by set, each with its reason (the first SHOWN_REJECTED)."""
    from rich.markup import escape

    from tunesmith.evaluation.evaluate import reason_for

    rejected = evaluation.rejected
    if not rejected:
        return
    console.print(f"{len(rejected)} file{'s' if len(rejected) > 1 else ''} could not be read, so "
                  f"{'were' if len(rejected) > 1 else 'was'} not measured:")
    for label, (file, reason) in rejected[:SHOWN_REJECTED]:
        console.print(f"  {escape(label)}: {escape(file)}: {escape(reason_for(file, reason))}")
    if len(rejected) > SHOWN_REJECTED:
        console.print(f"  ... and {len(rejected) - SHOWN_REJECTED} more (all of them in --json and --report)")


def evaluate_command(
    generated: list[Path] = typer.Argument(..., help="folders of generated MIDI files, or run directories or zoo "
                                                     "models' names (a set is generated from each first)"),
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
    temperature: float = typer.Option(None, "--temperature", "-t",
                                      help="sampling temperature for runs (default: each run's own, else 1.0)"),
    copy_bars: int = typer.Option(4, "--copy-bars", help="a piece copies when it shares this many bars in a row"),
    device: str = typer.Option("cpu", help="cpu or cuda, for generating from runs"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars"),
) -> None:
    """Measure generated music against the music it learned from (MGEval overlap, KL) and catch copies."""
    from tunesmith.evaluation.evaluate import evaluate_sets
    from tunesmith.fileio import write_json_atomic

    if copy_bars < 1:
        raise TunesmithError(f"--copy-bars must be at least 1 (got {copy_bars})")
    from tunesmith.runs.zoo import resolve_run

    generated = [path if path.exists() else resolve_run(path) for path in generated]  # a zoo model by name
    for path in generated:
        existing_path(path, "generated set")
    if reference is None and train_corpus is None and not any(_is_run(p) for p in generated):
        raise TunesmithError(NO_REFERENCE)
    sets, rejected, corpora = _generated_sets(generated, num=num, bars=bars, seed=seed, temperature=temperature,
                                              device=device, progress=not quiet)
    ref_label, ref_pieces, ref_rejected, train_label, train_pieces = _reference_and_training(
        reference, train_corpus, corpora, progress=not quiet)
    evaluation = evaluate_sets(sets, ref_pieces, reference_label=ref_label, training=train_pieces,
                               training_label=train_label, copy_bars=copy_bars, progress=not quiet,
                               rejected=rejected, reference_rejected=ref_rejected)
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
