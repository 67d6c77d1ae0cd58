"""What the subcommands share: the console, and checks that turn bad paths into one-line errors."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from tunesmith.errors import TunesmithError

console = Console(soft_wrap=True)  # long paths stay on one line


def existing_path(path: Path, what: str) -> Path:
    """`path` if it exists, else a one-line error naming `what` it should have been."""
    if not Path(path).exists():
        raise TunesmithError(f"{what} not found: {path}")
    return Path(path)


def parse_csv(text: str | None) -> list[str]:
    """'a, b,c' -> ['a', 'b', 'c']; None or '' -> []."""
    return [p.strip() for p in (text or "").split(",") if p.strip()]
