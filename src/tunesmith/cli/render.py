"""`tunesmith render`: turn a MIDI/MusicXML/ABC file into audio, a piano-roll picture, a score (MusicXML or
engraved SVG) or MIDI."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.errors import TunesmithError

# option name -> (suffixes it accepts, what it is)
KINDS = {
    "wav": ((".wav",), "audio"),
    "png": ((".png",), "piano-roll image"),
    "musicxml": ((".musicxml", ".xml", ".mxl"), "score"),
    "svg": ((".svg",), "engraved score"),
    "mid": ((".mid", ".midi"), "MIDI"),
}


def _check_suffix(option: str, path: Path) -> None:
    suffixes = KINDS[option][0]
    if path.suffix.lower() not in suffixes:
        raise TunesmithError(f"--{option} expects a {' or '.join(suffixes)} file name, not {path.name!r}")


def render(
    file: Path = typer.Argument(..., help="The music to render: .mid/.midi, .musicxml/.xml/.mxl, .abc or .krn."),
    wav: Path | None = typer.Option(None, "--wav", help="Write audio (General MIDI SoundFont) to this .wav file."),
    png: Path | None = typer.Option(None, "--png", help="Write a piano-roll picture to this .png file."),
    musicxml: Path | None = typer.Option(None, "--musicxml", help="Write a score to this .musicxml/.mxl file."),
    svg: Path | None = typer.Option(None, "--svg", help="Write an engraved score (verovio) to this .svg file."),
    mid: Path | None = typer.Option(None, "--mid", help="Write a MIDI file (e.g. to convert a score)."),
    sample_rate: int = typer.Option(44100, "--sample-rate", help="Audio sample rate in Hz."),
    soundfont: Path | None = typer.Option(None, "--soundfont", help="A .sf2 SoundFont instead of the bundled one."),
) -> None:
    """Render a music file to WAV, piano-roll PNG, MusicXML, an engraved SVG score and/or MIDI (give at least one)."""
    from tunesmith.cli.common import console
    from tunesmith.outputs import save_piece
    from tunesmith.outputs.audio import render_wav
    from tunesmith.outputs.engrave import save_svg
    from tunesmith.piece import Piece

    wanted = {name: path for name, path in (("wav", wav), ("png", png), ("musicxml", musicxml), ("svg", svg),
                                            ("mid", mid)) if path is not None}
    if not wanted:
        raise TunesmithError("nothing to do: give at least one of --wav, --png, --musicxml, --svg, --mid")
    for option, path in wanted.items():
        _check_suffix(option, path)
    if soundfont is not None and "wav" not in wanted:
        raise TunesmithError("--soundfont only applies with --wav")
    piece = Piece.load(file)
    score = None  # a plain MusicXML file written here, engraved for --svg rather than notating twice
    for option, path in wanted.items():
        if option == "wav":
            written = render_wav(piece, path, sample_rate=sample_rate, soundfont=soundfont)
        elif option == "svg":
            written = save_svg(piece, path, musicxml=score.read_bytes() if score else None)
        else:
            written = save_piece(piece, path)
            if option == "musicxml" and path.suffix.lower() != ".mxl":
                score = written
        console.print(f"{KINDS[option][1]}: {written}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add `tunesmith render` to the app."""
    app.command("render")(render)
