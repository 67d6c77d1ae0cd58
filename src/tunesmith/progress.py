"""Progress bars with a rate and time left (rich, on stderr), for any step longer than two seconds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Bar:
    """One progress bar; `advance(n, **fields)` moves it and updates the fields shown after it."""

    def __init__(self, progress: Progress | None = None, task: TaskID = TaskID(0)):
        self._progress, self._task = progress, task

    def advance(self, n: float = 1, **fields: object) -> None:
        if self._progress is None:
            return
        if fields:
            self._progress.update(self._task, advance=n, info="  ".join(f"{k} {v}" for k, v in fields.items()))
        else:
            self._progress.update(self._task, advance=n)

    def set_total(self, total: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)


@contextmanager
def progress_bar(total: float | None, description: str, enabled: bool = True, unit: str = "it") -> Iterator[Bar]:
    """A bar showing done/total, rate in `unit`/s, elapsed and time left; a no-op when disabled."""
    if not enabled:
        yield Bar()
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
    def __init__(self, progress: Progress, task: TaskID, unit: str):
        super().__init__(progress, task)
        self._shown, self._unit = progress, unit

    def advance(self, n: float = 1, **fields: object) -> None:
        super().advance(n, **fields)
        speed = self._shown.tasks[self._task].speed
        if speed:
            self._shown.update(self._task, rate=f"{speed:,.1f} {self._unit}/s")
