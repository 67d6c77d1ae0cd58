"""`tunesmith corpus list` and `tunesmith corpus stats SOURCE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tunesmith.cli.common import console
from tunesmith.data import BUNDLED, load_corpus
from tunesmith.data.stats import corpus_stats
from tunesmith.fileio import write_json_atomic

corpus_app = typer.Typer(help="Bundled corpora and your own folders: list them, see what is in them.",
                         no_args_is_help=True)


@corpus_app.command("list")
def list_corpora() -> None:
    """The bundled corpora (any folder of MIDI/MusicXML/ABC/kern files works too)."""
    table = Table("name", "what")
    for name, what in BUNDLED.items():
        table.add_row(name, what)
    console.print(table)
    console.print("Or pass a folder: files .mid .midi .kar .mxl .musicxml .xml .abc .krn are read recursively.")


@corpus_app.command("stats")
def stats(source: str = typer.Argument(..., help="bundled corpus name or folder"),
          json_file: Path = typer.Option(None, "--json", help="also write the statistics as JSON here"),
          limit: int = typer.Option(None, help="read only the first N files"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar")) -> None:
    """Pieces, notes, duration, pitch range, keys, tempos, time signatures, instruments, rejected files."""
    result = corpus_stats(load_corpus(source, limit=limit, progress=not quiet))
    table = Table("", source, show_header=False)
    for key in ("pieces", "notes", "bars", "hours", "pitch_range"):
        table.add_row(key, str(result[key]))
    for key in ("keys", "tempos", "time_signatures", "instruments", "tracks_per_piece"):
        top = list(result[key].items())[:8]
        table.add_row(key, ", ".join(f"{k} ({v})" for k, v in top) + (" ..." if len(result[key]) > 8 else ""))
    table.add_row("rejected", str(len(result["rejected"])))
    console.print(table)
    for r in result["rejected"][:20]:
        console.print(f"  skipped: {r['reason']}")
    if json_file:
        write_json_atomic(json_file, result)
        console.print(f"wrote {json_file}")


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
