"""`tunesmith studio`: the whole workflow in a web page (compose, harmonise, blend, train, evaluate)."""

from __future__ import annotations

from pathlib import Path

import typer

from tunesmith.cli.common import console
from tunesmith.errors import TunesmithError


def studio_command(
    host: str = typer.Option("127.0.0.1", help="address to listen on (the default reaches this machine only)"),
    port: int = typer.Option(7860, help="port to listen on"),
    runs: Path = typer.Option(Path("runs"), help="folder of trained runs to offer; runs trained in the studio go here"),
    work: Path = typer.Option(Path("out/studio"), help="folder for the studio's uploads, pieces and reports"),
) -> None:
    """Start the studio, a local web app, and print its address (Ctrl-C stops it)."""
    from tunesmith.studio import StudioSettings, serve

    if not 0 < port < 65536:
        raise TunesmithError(f"--port must be between 1 and 65535 (got {port})")
    settings = StudioSettings(host=host, port=port, runs=runs, work=work)
    console.print(f"tunesmith studio on http://{host}:{port}/ (Ctrl-C stops it)")
    try:
        serve(settings)
    except OSError as exc:
        raise TunesmithError(f"cannot listen on {host}:{port} ({exc})") from exc


def register(app: typer.Typer) -> None:
    app.command("studio")(studio_command)
