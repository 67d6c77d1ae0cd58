"""`tunesmith generate RUN_DIR|ZOO_NAME`: new pieces from a trained run, under the user's controls."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tunesmith.cli.common import Device, console, parse_csv
from tunesmith.controls.controls import parse_attributes
from tunesmith.errors import TunesmithError

if TYPE_CHECKING:
    from tunesmith.piece import Piece


def generate_command(
    run_dir: Path = typer.Argument(..., help="run directory written by `tunesmith train`, or a zoo model's name "
                                              "(`tunesmith models`)"),
    out: Path = typer.Option(Path("out/generated"), "--out", "-o", help="folder for the results"),
    preset: str = typer.Option(None, help="jingle, game-loop, exercise, chorale, continue, or a preset .toml file"),
    num: int = typer.Option(None, "--num", "-n", help="how many pieces (default 4)"),
    bars: int = typer.Option(None, "--bars", "-b", help="length of each piece in bars (with a primer: in total; default 16)"),
    seconds: float = typer.Option(None, help="length in seconds instead of bars"),
    temperature: float = typer.Option(None, "--temperature", "-t",
                                      help="higher is more adventurous (default: the run's own, else 1.0)"),
    top_k: int = typer.Option(None, help="sample only among the k likeliest events"),
    top_p: float = typer.Option(None, help="sample only within this much probability mass"),
    seed: int = typer.Option(None, help="same seed, same music (default 0)"),
    attempts: int = typer.Option(None, help="draws per piece until it meets every hard control (default 3)"),
    primer: Path = typer.Option(None, help="a MIDI/MusicXML/ABC file to continue (or vary, or harmonise)"),
    key: str = typer.Option(None, help="key, e.g. 'D minor'"),
    scale_lock: bool = typer.Option(None, "--scale-lock", help="keep every note in the key's scale"),
    tempo: float = typer.Option(None, help="beats per minute"),
    time_signature: str = typer.Option(None, help="e.g. 3/4"),
    instruments: str = typer.Option(None, help="General MIDI names or programs, e.g. piano,violin,cello"),
    density: str = typer.Option(None, help="low, medium, high, or notes per bar"),
    pitch_range: str = typer.Option(None, help="e.g. C3-C6"),
    velocity: str = typer.Option(None, help="e.g. 60-100"),
    dynamics: str = typer.Option(None, help="crescendo, diminuendo, swell or steady"),
    end_on_tonic: bool = typer.Option(None, "--end-on-tonic", help="finish on the key's tonic"),
    loopable: bool = typer.Option(None, "--loopable", help="the last bar leads back into the first"),
    monophonic: bool = typer.Option(None, "--monophonic", help="one note at a time (a melody)"),
    simple_rhythm: bool = typer.Option(None, "--simple-rhythm", help="half-beat to whole-note durations only"),
    harmonise: bool = typer.Option(None, "--harmonise", help="keep the primer's melody on top and write voices below"),
    infill: str = typer.Option(None, help="regenerate these bars of the primer, e.g. 5-8"),
    style: str = typer.Option(None, help="a style tag the run learned, e.g. bach"),
    attribute: list[str] = typer.Option(None, "--attribute", help="VAE: move along an attribute, e.g. density=+1.5"),
    variation: float = typer.Option(None, help="VAE: how far from the primer's latent to sample"),
    condition_track: str = typer.Option(None, help="GAN: the primer's track to keep and accompany"),
    roll_sampling: str = typer.Option(None, help="piano-roll models: threshold or bernoulli"),
    wav: bool = typer.Option(None, "--wav/--no-wav", help="also render audio (default yes)"),
    png: bool = typer.Option(None, "--png/--no-png", help="also draw a piano-roll (default yes)"),
    musicxml: bool = typer.Option(None, "--musicxml/--no-musicxml", help="also write a MusicXML score (default no)"),
    score: bool = typer.Option(None, "--score/--no-score",
                               help="also write the score as STEM.musicxml and engraved as STEM.svg (default no)"),
    json_out: bool = typer.Option(False, "--json", help="print, per piece, what was asked and what was measured, as JSON"),
    device: Device = "cpu",
) -> None:
    """Generate pieces from a trained run and write .mid (+ .wav, .png, .musicxml, .svg) files."""
    from tunesmith.fileio import check_writable, remove_stale_temporaries
    from tunesmith.generation.presets import honoured_part, load_preset, preset_controls, preset_outputs
    from tunesmith.generation.run import load_run

    if primer is not None and not primer.exists():
        raise TunesmithError(f"primer not found: {primer}")
    chosen = load_preset(preset) if preset else None
    run = load_run(run_dir, device=device)
    if chosen is not None:
        chosen, left_out = honoured_part(chosen, run.family)
        for line in left_out:
            print(line, file=sys.stderr)
    controls = preset_controls(chosen, dict(
        num=num, bars=bars, seconds=seconds, seed=seed, attempts=attempts, temperature=temperature, top_k=top_k, top_p=top_p,
        primer=primer, key=key, scale_lock=scale_lock, tempo=tempo, time_signature=time_signature,
        instruments=parse_csv(instruments) or None, density=density, pitch_range=pitch_range, velocity=velocity,
        dynamics=dynamics, end_on_tonic=end_on_tonic, loopable=loopable, monophonic=monophonic,
        simple_rhythm=simple_rhythm, harmonise=harmonise, infill=infill, style=style,
        attributes=parse_attributes(attribute) or None, variation=variation, condition_track=condition_track,
        roll_sampling=roll_sampling))
    outputs = preset_outputs(chosen, dict(wav=wav, png=png, musicxml=musicxml, score=score))
    check_writable(out)  # before generating: a folder that cannot be written to is said at once
    remove_stale_temporaries(out)  # what a generate killed mid-write left
    pieces = run.generate(controls)
    report = [_write(piece, out, outputs, json_out) for piece in pieces]
    if json_out:
        print(json.dumps(report, indent=2, default=str))


def _write(piece: Piece, out: Path, outputs: dict[str, bool], json_out: bool) -> dict[str, Any]:
    """Write the piece's files, say so in one line (unless --json), and return its entry of the JSON report."""
    from tunesmith.outputs import write_piece_files

    files = write_piece_files(piece, out, piece.name, **outputs)
    summary = piece.summary()
    checks = piece.tags.get("checks", {})
    if not json_out:
        unmet = [k for k, v in checks.items() if not v["ok"]]
        draws = piece.tags.get("attempts", 1)
        console.print(f"{files['mid']}: {summary['bars']} bars, {summary['notes']} notes, "
                      f"key {summary['key']}, range {summary['pitch_range']}"
                      + (f" (not met: {', '.join(unmet)})" if unmet else "")
                      + (f" ({draws} draws)" if draws > 1 else ""))
    return {"files": {k: str(v) for k, v in files.items()}, "asked": piece.tags.get("asked", {}),
            "measured": {**summary, **{k: v["measured"] for k, v in checks.items()}},
            "met": {k: v["ok"] for k, v in checks.items()},
            "attempts": piece.tags.get("attempts", 1), "missed": piece.tags.get("missed", [])}


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_command)
