"""`tunesmith reconstruct RUN_DIR FILE`: a piece encoded by a VAE and decoded again, beside the original."""

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


def reconstruct_command(
    run_dir: VaeRunDir,
    file: Path = typer.Argument(..., help="the piece to encode and decode (MIDI, MusicXML, ABC)"),
    out: Path = typer.Option(Path("out/reconstruction"), "--out", "-o", help="folder for the results"),
    attribute: list[str] = typer.Option(None, "--attribute", help="move along an attribute, e.g. pitch=-1"),
    temperature: DecodeTemperature = None,
    seed: DecodeSeed = 0,
    wav: Wav = True,
    png: Png = True,
    device: Device = "cpu",
) -> None:
    """Encode every segment of FILE, decode them, and write the result beside the original."""
    from tunesmith.generation.latent import reconstruct
    from tunesmith.outputs import write_piece_files

    run = load_vae_run(run_dir, device, "reconstruct")
    piece = read_music(file, "music file")
    decoded, accuracy = reconstruct(run, piece, parse_attributes(attribute), temperature, seed)
    original = write_piece_files(piece, out, f"{piece.name}-original", wav=wav, png=png)
    files = write_piece_files(decoded, out, decoded.name, wav=wav, png=png)
    console.print(f"{original['mid']}: the original ({piece.bars} bars, {piece.note_count} notes)")
    console.print(f"{files['mid']}: decoded ({decoded.bars} bars, {decoded.note_count} notes); "
                  f"{accuracy:.1%} of the steps match the model's reading of the original", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("reconstruct")(reconstruct_command)
