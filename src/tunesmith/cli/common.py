"""What the subcommands share: the console, the options several commands take, and helpers that turn the
user's text and paths into values or one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from tunesmith.data.limits import ReadLimits, describe_limits, parse_read_limits
from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    from tunesmith.generation.run import Run
    from tunesmith.piece import Piece

console = Console(soft_wrap=True)  # long paths stay on one line

# Options several commands take, the same way (each command gives the default)
Device = Annotated[str, typer.Option(help="cpu or cuda")]
VaeRunDir = Annotated[Path, typer.Argument(help="run directory of a trained vae, or a zoo vae's name (`tunesmith models`)")]
DecodeTemperature = Annotated[float | None, typer.Option("--temperature", "-t", help="sample at this temperature "
                                                  "(default: the likeliest notes)")]
DecodeSeed = Annotated[int, typer.Option(help="same seed, same music (with --temperature)")]
Wav = Annotated[bool, typer.Option("--wav/--no-wav", help="also render audio")]
Png = Annotated[bool, typer.Option("--png/--no-png", help="also draw a piano-roll")]
ReadLimitOption = Annotated[list[str] | None, typer.Option(
    "--read-limit", metavar="NAME=VALUE",
    help=f"change a limit on the files read (repeatable; files past one are rejected with the reason): "
         f"{describe_limits()}")]


def existing_path(path: Path, what: str) -> Path:
    """`path` if it exists, else a one-line error naming `what` it should have been."""
    if not Path(path).exists():
        raise TunesmithError(f"{what} not found: {path}")
    return Path(path)


def parse_csv(text: str | None) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c']; None or '' -> []."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def given(**options: Any) -> dict[str, Any]:
    """The options the user gave (those not None)."""
    return {name: value for name, value in options.items() if value is not None}


def read_limits(values: list[str] | None) -> ReadLimits:
    """The limits on files read, from --read-limit NAME=VALUE options (the defaults for the rest)."""
    return parse_read_limits(values)


def read_music(path: Path, what: str) -> Piece:
    """The music file at `path` as a Piece (one-line errors for a missing, unreadable or empty file)."""
    from tunesmith.data import read_piece

    return read_piece(existing_path(path, what))


def load_vae_run(run_dir: Path, device: str, command: str) -> Run:
    """A loaded run that must be a vae (a one-line error otherwise)."""
    from tunesmith.generation.run import load_run

    run = load_run(run_dir, device=device)
    if run.family.name != "vae":
        raise TunesmithError(f"`tunesmith {command}` needs a vae run; {run_dir} holds a {run.family.name} run")
    return run
