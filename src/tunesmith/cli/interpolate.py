"""`tunesmith interpolate RUN_DIR A B`: a VAE's spherical interpolation from one piece to another."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.cli.common import (
    DecodeSeed,
    DecodeTemperature,
    Device,
    Png,
    VaeRunDir,
    Wav,
    console,
    load_vae_run,
    read_music,
)
from tunesmith.controls.controls import parse_attributes


def interpolate_command(
    run_dir: VaeRunDir,
    first: Path = typer.Argument(..., help="the piece to start from (its first segment is encoded)"),
    second: Path = typer.Argument(..., help="the piece to arrive at (its first segment is encoded)"),
    steps: int = typer.Option(7, "--steps", "-s", help="points along the way, both ends included"),
    out: Path = typer.Option(Path("out/interpolation"), "--out", "-o", help="folder for the results"),
    attribute: list[str] = typer.Option(None, "--attribute", help="move along an attribute too, e.g. density=+1.5"),
    temperature: DecodeTemperature = None,
    seed: DecodeSeed = 0,
    wav: Wav = True,
    png: Png = True,
    device: Device = "cpu",
) -> None:
    """Decode points between two pieces' latents: one file per step, and all steps in one MIDI."""
    from tunesmith.generation.latent import interpolate
    from tunesmith.outputs import write_piece_files

    run = load_vae_run(run_dir, device, "interpolate")
    a, b = read_music(first, "first piece"), read_music(second, "second piece")
    pieces, joined = interpolate(run, a, b, steps, parse_attributes(attribute), temperature, seed)
    for piece in pieces:
        files = write_piece_files(piece, out, piece.name, wav=wav, png=png)
        console.print(f"{files['mid']}: t={piece.tags['t']:.2f}, {piece.note_count} notes")
    files = write_piece_files(joined, out, joined.name, wav=wav, png=png)
    console.print(f"{files['mid']}: all {steps} steps one after another ({joined.bars} bars)")


def register(app: typer.Typer) -> None:
    app.command("interpolate")(interpolate_command)
