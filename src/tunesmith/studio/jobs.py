"""The studio's training jobs: one at a time, each `tunesmith train` in a process of its own (a crash or a Stop
ends that process, never the studio), the others waiting in order with their place shown. A job's progress
(step, loss, time left) is read from the run's own metrics.jsonl as the training writes it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

WAITING, RUNNING, DONE, FAILED, STOPPED = "waiting", "running", "done", "failed", "stopped"


@dataclass
class Job:
    """One training job: what to run, where it writes, and how far it is."""

    id: int
    name: str
    family: str
    corpus: str
    out: Path
    minutes: float
    config: Path | None = None
    max_steps: int | None = None
    state: str = WAITING
    message: str = ""
    started: float | None = None
    ended: float | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def command(self) -> list[str]:
        """The `tunesmith train` command line of this job."""
        args = [sys.executable, "-m", "tunesmith.cli.main", "train", "--model", self.family, "--corpus", self.corpus,
                "--out", str(self.out), "--max-minutes", f"{self.minutes:g}", "--quiet"]
        if self.config is not None:
            args += ["--config", str(self.config)]
        if self.max_steps is not None:
            args += ["--max-steps", str(self.max_steps)]
        return args

    def curve(self) -> list[dict[str, Any]]:
        """The training loss by step, and the validation loss where measured, as the run logged them."""
        path = self.out / "metrics.jsonl"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line being written
            if "loss" in entry:
                rows.append({"step": entry["step"], "loss": float(entry["loss"]), "kind": "training"})
            elif "valid_loss" in entry:
                rows.append({"step": entry["step"], "loss": float(entry["valid_loss"]), "kind": "validation"})
        return rows

    def status(self) -> dict[str, Any]:
        """State, step, last loss and seconds left (of the time limit), for the page."""
        curve = [row for row in self.curve() if row["kind"] == "training"]
        left = None
        if self.state == RUNNING and self.started is not None:
            left = max(0.0, self.minutes * 60 - (time.time() - self.started))
        return {"id": self.id, "name": self.name, "family": self.family, "state": self.state,
                "step": curve[-1]["step"] if curve else 0, "loss": curve[-1]["loss"] if curve else None,
                "seconds_left": left, "message": self.message}


class TrainingQueue:
    """Jobs run one after another by a thread of the studio; `stop` ends a running job (its checkpoint stays,
    so `tunesmith train --resume` can continue it) or takes a waiting one out of the queue."""

    def __init__(self, log_folder: Path) -> None:
        self.jobs: list[Job] = []
        self.log_folder = log_folder
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> Job:
        with self._lock:
            if any(j.out == job.out and j.state in (WAITING, RUNNING) for j in self.jobs):
                raise TunesmithError(f"a job is already writing {job.out.name}")
            self.jobs.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="tunesmith-training", daemon=True)
                self._thread.start()
        self._wake.set()
        return job

    def next_id(self) -> int:
        with self._lock:
            return len(self.jobs) + 1

    def place(self, job: Job) -> int:
        """0 for the running job, 1.. for the waiting ones in the order they run."""
        with self._lock:
            waiting = [j for j in self.jobs if j.state == WAITING]
        return waiting.index(job) + 1 if job in waiting else 0

    def job(self, job_id: int | None) -> Job:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise TunesmithError(f"no training job {job_id}")

    def stop(self, job_id: int) -> Job:
        job = self.job(job_id)
        with self._lock:
            if job.state == WAITING:
                job.state, job.message = STOPPED, "taken out of the queue"
            elif job.state == RUNNING and job.process is not None:
                job.message = "stopped: the last checkpoint is kept (tunesmith train --resume continues it)"
                job.state = STOPPED
                job.process.terminate()
        return job

    def _work(self) -> None:
        while True:
            with self._lock:
                job = next((j for j in self.jobs if j.state == WAITING), None)
                if job is None:
                    self._wake.clear()
            if job is None:
                if not self._wake.wait(timeout=60):
                    return  # idle: the next submit starts a new thread
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        log = self.log_folder / f"job-{job.id}.log"
        with self._lock:
            if job.state != WAITING:
                return
            job.state, job.started = RUNNING, time.time()
            with open(log, "wb") as out:
                job.process = subprocess.Popen(job.command(), stdout=out, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL)
        code = job.process.wait()
        with self._lock:
            job.ended = time.time()
            if job.state == STOPPED:
                return
            text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            errors = [line for line in text if line.startswith("error:")]
            if code == 0:
                job.state, job.message = DONE, text[-1] if text else "trained"
            else:
                job.state = FAILED
                job.message = errors[-1] if errors else f"training ended with exit code {code}"
