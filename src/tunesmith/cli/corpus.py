"""`tunesmith corpus list` and `tunesmith corpus stats SOURCE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tunesmith.cli.common import ReadLimitOption, console, read_limits
from tunesmith.data import BUNDLED, MUSIC_SUFFIXES, load_corpus
from tunesmith.data.stats import corpus_stats
from tunesmith.fileio import write_json_atomic

SHOWN_REJECTED = 20  # rejected files listed on the terminal (all are in --json)

corpus_app = typer.Typer(help="Bundled corpora and your own folders: list them, see what is in them.",
                         no_args_is_help=True)


@corpus_app.command("list")
def list_corpora() -> None:
    """The bundled corpora (any folder of MIDI/MusicXML/ABC/kern files works too)."""
    table = Table("name", "what")
    for name, what in BUNDLED.items():
        table.add_row(name, what)
    console.print(table)
    console.print(f"Or pass a folder: files {' '.join(MUSIC_SUFFIXES)} are read recursively.")


@corpus_app.command("stats")
def stats(source: str = typer.Argument(..., help="bundled corpus name or folder"),
          json_file: Path = typer.Option(None, "--json", help="also write the statistics as JSON here"),
          limit: int = typer.Option(None, help="read only the first N files"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
          read_limit: ReadLimitOption = None) -> None:
    """Pieces, notes, duration, pitch range, keys, tempos, time signatures, instruments, rejected files."""
    result = corpus_stats(load_corpus(source, limit=limit, progress=not quiet, limits=read_limits(read_limit)))
    table = Table("", source, show_header=False)
    for key in ("pieces", "notes", "bars", "hours", "pitch_range"):
        table.add_row(key, str(result[key]))
    for key in ("keys", "tempos", "time_signatures", "instruments", "tracks_per_piece"):
        top = list(result[key].items())[:8]
        table.add_row(key, ", ".join(f"{k} ({v})" for k, v in top) + (" ..." if len(result[key]) > 8 else ""))
    table.add_row("rejected", str(len(result["rejected"])))
    console.print(table)
    for r in result["rejected"][:SHOWN_REJECTED]:
        console.print(f"  skipped: {r['reason']}", highlight=False)
    if len(result["rejected"]) > SHOWN_REJECTED:
        console.print(f"  ... and {len(result['rejected']) - SHOWN_REJECTED} more (all are in --json)")
    if json_file:
        write_json_atomic(json_file, result)
        console.print(f"wrote {json_file}")


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
