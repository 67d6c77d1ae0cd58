"""`tunesmith corpus list`, `tunesmith corpus stats SOURCE`, and the token store: `corpus store`, `corpus join`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tunesmith.cli.common import ReadLimitOption, console, read_limits
from tunesmith.data import BUNDLED, MUSIC_SUFFIXES, load_corpus
from tunesmith.data.stats import corpus_stats
from tunesmith.errors import TunesmithError
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


@corpus_app.command("store")
def store(source: Path = typer.Argument(..., help="folder of music files"),
          out: Path = typer.Argument(..., help="the store's folder (created, or grown by the files it lacks)"),
          part: str = typer.Option("0/1", "--shard", help="build part i of N (i/N, by a hash of each file's name), "
                                   "one machine each; `corpus join` puts the parts together"),
          shard_size: int = typer.Option(1000, help="files a shard holds"),
          config: Path = typer.Option(None, "--config", help="a training config whose \\[representation] the "
                                      "store's tokens follow (a new store)"),
          workers: int = typer.Option(None, help="encoding processes (default: one a CPU)"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
          read_limit: ReadLimitOption = None) -> None:
    """Encode a folder into a token store (memory-mapped shards) that `train --corpus STORE` reads: built in
    parallel, resumed after a kill, grown by new files only."""
    from tunesmith.representations.store import build_store
    from tunesmith.training.trainer import read_config_file

    index, slash, count = part.partition("/")
    if not (slash and index.isdigit() and count.isdigit() and int(count) > 0):
        raise TunesmithError(f"--shard is i/N, e.g. 0/4 (got {part!r})")
    if shard_size < 1:
        raise TunesmithError(f"--shard-size must be at least 1 (got {shard_size})")
    representation = read_config_file(config).get("representation") if config else None
    report = build_store(source, out, representation=representation, shard_size=shard_size,
                         part=(int(index), int(count)), workers=workers, limits=read_limits(read_limit),
                         progress=not quiet)
    for rejected in report.rejected[:SHOWN_REJECTED]:
        console.print(f"  skipped: {rejected.reason}", highlight=False)
    console.print(f"encoded {report.encoded} files into {report.shards} shards ({report.kept} already in the store, "
                  f"{len(report.rejected)} rejected); store in {out}")


@corpus_app.command("join")
def join(out: Path = typer.Argument(..., help="the store to put the parts into (created when missing)"),
         parts: list[Path] = typer.Argument(..., help="stores built with --shard i/N")) -> None:
    """Put the parts of a store, built on several machines, together (their shards are moved)."""
    from tunesmith.representations.store import join_stores

    moved = join_stores(parts, out)
    console.print(f"moved {moved} shards into {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
