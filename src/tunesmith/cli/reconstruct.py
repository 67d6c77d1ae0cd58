"""`tunesmith reconstruct RUN_DIR FILE`: a piece encoded by a VAE and decoded again, beside the original."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.cli.common import console, existing_path
from tunesmith.errors import TunesmithError


def load_vae_run(run_dir: Path, device: str, command: str):
    """A loaded run that must be a vae (a one-line error otherwise)."""
    from tunesmith.generation.run import load_run

    run = load_run(run_dir, device=device)
    if run.family.name != "vae":
        raise TunesmithError(f"`tunesmith {command}` needs a vae run; {run_dir} holds a {run.family.name} run")
    return run


def read_input(path: Path):
    """A music file as a Piece (one-line errors for unreadable or empty files)."""
    from tunesmith.data import read_piece

    return read_piece(path)


def reconstruct_command(
    run_dir: Path = typer.Argument(..., help="run directory of a trained vae"),
    file: Path = typer.Argument(..., help="the piece to encode and decode (MIDI, MusicXML, ABC)"),
    out: Path = typer.Option(Path("out/reconstruction"), "--out", "-o", help="folder for the results"),
    attribute: list[str] = typer.Option(None, "--attribute", help="move along an attribute, e.g. pitch=-1"),
    temperature: float = typer.Option(None, "--temperature", "-t", help="sample at this temperature "
                                      "(default: the likeliest notes)"),
    seed: int = typer.Option(0, help="same seed, same music (with --temperature)"),
    wav: bool = typer.Option(True, "--wav/--no-wav", help="also render audio"),
    png: bool = typer.Option(True, "--png/--no-png", help="also draw a piano-roll"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
) -> None:
    """Encode every segment of FILE, decode them, and write the result beside the original."""
    from tunesmith.cli.generate import parse_attributes
    from tunesmith.models.vae_attributes import attribute_offset
    from tunesmith.models.vae_latent import reconstruct_piece
    from tunesmith.outputs import write_piece_files

    run = load_vae_run(run_dir, device, "reconstruct")
    piece = read_input(existing_path(file, "music file"))
    offset = attribute_offset(run.path, parse_attributes(attribute), run.model.config.latent_size)
    decoded, accuracy = reconstruct_piece(run, piece, offset, temperature, seed)
    original = write_piece_files(piece, out, f"{piece.name}-original", wav=wav, png=png)
    files = write_piece_files(decoded, out, decoded.name, wav=wav, png=png)
    console.print(f"{original['mid']}: the original ({piece.bars} bars, {piece.note_count} notes)")
    console.print(f"{files['mid']}: decoded ({decoded.bars} bars, {decoded.note_count} notes); "
                  f"{accuracy:.1%} of the steps match the model's reading of the original", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("reconstruct")(reconstruct_command)
