"""`tunesmith`: registers the subcommands (each in its own file) and turns errors into one line."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

from tunesmith.errors import TunesmithError

# Each module in this list has `register(app)`; a family's commands live beside the others.
COMMANDS = ["corpus", "train", "generate", "render", "demo", "evaluate", "interpolate", "reconstruct",
            "attributes", "benchmark", "models", "studio"]

app = typer.Typer(
    name="tunesmith",
    help="Train music models on your MIDI/MusicXML/ABC, generate under your control, hear, see and measure the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for _name in COMMANDS:
    try:
        _module = importlib.import_module(f"tunesmith.cli.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tunesmith.cli.{_name}":
            raise
        continue
    _module.register(app)


def main() -> None:
    """Entry point: run the app; a user error is one line on stderr and exit code 2."""
    logging.basicConfig(level=os.environ.get("TUNESMITH_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    try:
        code = app(standalone_mode=False)  # click's own errors come back here to be printed as one line
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # click's errors: unknown option, missing argument, bad value
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `tunesmith corpus` alone: its help
            print(ctx.get_help() if ctx else exc.format_message())
            sys.exit(0)
        command = ctx.command_path if ctx else "tunesmith"
        print(f"error: {exc.format_message()} (see '{command} -h')", file=sys.stderr)
        sys.exit(2)
    except TunesmithError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("TUNESMITH_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); set TUNESMITH_DEBUG=1 for the traceback",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
