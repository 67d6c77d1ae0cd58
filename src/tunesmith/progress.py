"""Progress bars with a rate and time left (rich, on stderr), for any step longer than two seconds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Bar:
    """One progress bar; `advance(n, **fields)` moves it and updates the fields shown after it."""

    def __init__(self, progress: Progress | None, task: int | None):
        self._progress, self._task = progress, task

    def advance(self, n: float = 1, **fields: object) -> None:
        if self._progress is not None:
            text = "  ".join(f"{k} {v}" for k, v in fields.items())
            self._progress.update(self._task, advance=n, **({"info": text} if fields else {}))

    def set_total(self, total: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def progress_bar(total: float | None, description: str, enabled: bool = True, unit: str = "it") -> Iterator[Bar]:
    """A bar showing done/total, rate in `unit`/s, elapsed and time left; a no-op when disabled."""
    if not enabled:
        yield Bar(None, None)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("[cyan]{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total, info="", rate="")
        bar = _RateBar(progress, task, unit)
        yield bar


class _RateBar(Bar):
    def __init__(self, progress: Progress, task: int, unit: str):
        super().__init__(progress, task)
        self._unit = unit

    def advance(self, n: float = 1, **fields: object) -> None:
        super().advance(n, **fields)
        speed = self._progress.tasks[self._task].speed
        if speed:
            self._progress.update(self._task, rate=f"{speed:,.1f} {self._unit}/s")
