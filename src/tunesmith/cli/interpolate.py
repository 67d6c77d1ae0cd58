"""`tunesmith interpolate RUN_DIR A B`: a VAE's spherical interpolation from one piece to another."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.cli.common import console, existing_path


def interpolate_command(
    run_dir: Path = typer.Argument(..., help="run directory of a trained vae"),
    first: Path = typer.Argument(..., help="the piece to start from (its first segment is encoded)"),
    second: Path = typer.Argument(..., help="the piece to arrive at (its first segment is encoded)"),
    steps: int = typer.Option(7, "--steps", "-s", help="points along the way, both ends included"),
    out: Path = typer.Option(Path("out/interpolation"), "--out", "-o", help="folder for the results"),
    attribute: list[str] = typer.Option(None, "--attribute", help="move along an attribute too, e.g. density=+1.5"),
    temperature: float = typer.Option(None, "--temperature", "-t", help="sample at this temperature "
                                      "(default: the likeliest notes)"),
    seed: int = typer.Option(0, help="same seed, same music (with --temperature)"),
    wav: bool = typer.Option(True, "--wav/--no-wav", help="also render audio"),
    png: bool = typer.Option(True, "--png/--no-png", help="also draw a piano-roll"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
) -> None:
    """Decode points between two pieces' latents: one file per step, and all steps in one MIDI."""
    from tunesmith.cli.generate import parse_attributes
    from tunesmith.cli.reconstruct import load_vae_run, read_input
    from tunesmith.models.vae_attributes import attribute_offset
    from tunesmith.models.vae_latent import interpolate_pieces
    from tunesmith.outputs import write_piece_files

    run = load_vae_run(run_dir, device, "interpolate")
    a = read_input(existing_path(first, "first piece"))
    b = read_input(existing_path(second, "second piece"))
    offset = attribute_offset(run.path, parse_attributes(attribute), run.model.config.latent_size)
    pieces, joined = interpolate_pieces(run, a, b, steps, offset, temperature, seed)
    for piece in pieces:
        files = write_piece_files(piece, out, piece.name, wav=wav, png=png)
        console.print(f"{files['mid']}: t={piece.tags['t']:.2f}, {piece.note_count} notes")
    files = write_piece_files(joined, out, joined.name, wav=wav, png=png)
    console.print(f"{files['mid']}: all {steps} steps one after another ({joined.bars} bars)")


def register(app: typer.Typer) -> None:
    app.command("interpolate")(interpolate_command)
