"""The studio's settings, with every limit in one place: where it listens, where it keeps its files, how much
it accepts from a browser and how much work it does at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class StudioSettings:
    """What `tunesmith studio` runs with (its options set the first four)."""

    host: str = "127.0.0.1"  # the loopback address: another machine reaches the studio only when --host says so
    port: int = 7860
    runs: Path = Path("runs")  # runs trained here are written here, and the runs found here are offered
    work: Path = Path("out/studio")  # uploads, pieces, reports: the studio reads and writes nowhere else
    upload_mb: float = 20.0  # one uploaded file at most
    upload_files: int = 200  # files in one upload (a zip counts its members)
    max_pieces: int = 4  # pieces one Compose makes
    max_bars: int = 64  # bars one piece may have
    blend_steps: int = 7  # points of a Blend, both ends included
    evaluate_pieces: int = 50  # pieces an Evaluate generates from a model
    concurrency: int = 2  # requests that generate at once; the others wait in the queue
    queue_size: int = 64  # requests waiting at most; past it a request is refused at once
    loaded_runs: int = 3  # models kept in memory; the least recently used goes first
    kept_results: int = 200  # result folders kept on disk; the oldest go first
    train_minutes: float = 120.0  # a training job's longest time limit
    languages: tuple[str, ...] = field(default=("en", "zh-CN"))

    @property
    def upload_bytes(self) -> int:
        return int(self.upload_mb * MB)

    def folder(self, name: str) -> Path:
        """One of the studio's own folders under `work` (uploads, results, reports), made when first asked."""
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path
