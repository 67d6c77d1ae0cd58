"""Training in several processes, on one machine or many, with torch.distributed: torch's launcher starts the
processes (`tunesmith train --nproc N`, or `torchrun ... -m tunesmith train ...` across machines), gloo on CPU
and NCCL on CUDA carry the gradients, and DistributedDataParallel keeps every process's weights the same.

The loop (training/loop.py) asks `World` which process it is: each takes its share of every global batch, the
steps' figures and the decision to stop are agreed on by all, and the first process alone writes checkpoints,
metrics and samples. A checkpoint records the global batch and the data position, not the number of processes,
so a run resumes with any number.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from tunesmith.errors import TunesmithError
from tunesmith.models.base import COUNT, TOKENS

log = logging.getLogger(__name__)

USERS = TunesmithError.__name__  # how a user's error is named in a failed process's report
SUMMED = (COUNT, TOKENS)  # a step's figures that add up over the processes; the others are averaged


@dataclass(frozen=True)
class World:
    """This process among those training one run: its `rank` (0 writes the run's files), their number
    (`size`) and its rank on its own machine (`local_rank`: the GPU it uses)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that writes checkpoints, metrics and samples."""
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.size > 1

    def share(self, items: torch.Tensor) -> torch.Tensor:
        """This process's part of a global batch's example indices (every `size`-th, from `rank`)."""
        return items[self.rank::self.size]

    def agree(self, figures: dict[str, Any], stop: bool) -> tuple[dict[str, Any], bool]:
        """A step's figures over all processes (counts summed, the rest averaged) and whether any of them
        must stop (a time limit that one clock reached first stops all)."""
        if not self.several:
            return figures, stop
        numbers = [k for k, v in figures.items() if isinstance(v, int | float) and not isinstance(v, bool)]
        values = torch.tensor([float(figures[k]) for k in numbers] + [float(stop)], dtype=torch.float64)
        dist.all_reduce(values)
        agreed = dict(figures)
        for k, v in zip(numbers, values.tolist(), strict=False):
            agreed[k] = (int(v) if float(v).is_integer() else v) if k in SUMMED else v / self.size
        return agreed, bool(values[-1].item())

    def total(self, *numbers: float) -> list[float]:
        """The sums of `numbers` over all processes."""
        if not self.several:
            return list(numbers)
        values = torch.tensor(numbers, dtype=torch.float64)
        dist.all_reduce(values)
        return values.tolist()

    def settle(self, model: nn.Module) -> None:
        """Make the network's buffers (a batch norm's running statistics, a VAE's prior) the same in every
        process, before it is scored or saved: each process updated them from its own share of the data, so
        they are averaged (counters are the first process's). The weights are the same already."""
        if not self.several:
            return
        for buffer in model.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer.div_(self.size)
            else:
                dist.broadcast(buffer, 0)

    def wait(self) -> None:
        """Until every process is here."""
        if self.several:
            dist.barrier()


SINGLE = World()


def current() -> World:
    """The world of this process: one process unless torch.distributed is started."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def launched() -> bool:
    """Whether this process was started by torch's launcher (torchrun, or `--nproc`) as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "LOCAL_RANK" in os.environ


@contextmanager
def joined(device: torch.device) -> Iterator[tuple[World, torch.device]]:
    """Join the launched processes (gloo on CPU, NCCL on CUDA) for the time of the block; the world and the
    device this process uses (on CUDA, the GPU of its local rank). Outside a launch: one process, `device`."""
    if not launched() or dist.is_initialized():
        yield current(), device
        return
    local = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield current(), device
    finally:
        dist.destroy_process_group()


class _Replica(nn.Module):
    """The family's network as DistributedDataParallel sees it: a training loss called through `forward`."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, method: str, *args: Any) -> Any:
        return getattr(self.model, method)(*args)


class Replicated:
    """The network as a training step uses it in several processes: the methods named in the network's
    `replicated_losses` (by default `loss`) run through DistributedDataParallel, so that the backward pass
    after them averages the gradients of every process; everything else is the network itself."""

    def __init__(self, model: nn.Module, device: torch.device):
        self._model = model
        self._losses = frozenset(getattr(model, "replicated_losses", ("loss",)))
        ids = [device.index] if device.type == "cuda" else None
        # a family's own step (the GAN's) trains part of the network at a time: the rest is unused then
        self._ddp = nn.parallel.DistributedDataParallel(_Replica(model), device_ids=ids,
                                                        find_unused_parameters=len(self._losses) > 1)

    def __getattr__(self, name: str) -> Any:
        if name in self._losses:
            return lambda *args: self._ddp(name, *args)
        return getattr(self._model, name)


def step_seed(seed: int, step: int, rank: int) -> int:
    """The random seed of one process's step in a run of several: each process draws its own noise (dropout,
    a GAN's latents), and a resumed run, whatever its number of processes, draws what it would have."""
    return (seed * 1_000_003 + step * 7_919 + rank) % (2**63 - 1)


# ---------- starting the processes ----------

def launch(nproc: int, entry: Callable[..., Any], args: tuple[Any, ...], *, max_restarts: int = 0,
           out: Path | None = None) -> dict[int, Any]:
    """Run `entry(*args)` in `nproc` processes on this machine through torch's elastic launcher (a standalone
    rendezvous on a free port, as `torchrun --standalone`); each rank's result. A process that fails ends the job
    with one line (which process, why; the last checkpoint kept); torch restarts the group up to
    `max_restarts` times first."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if nproc < 1:
        raise TunesmithError(f"--nproc must be at least 1 (got {nproc})")
    config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
                          rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=max_restarts,
                          monitor_interval=0.2, start_method="spawn")
    # the launcher's own log (a process's traceback, the others stopped) is said here in one line
    quiet = [logging.getLogger(name) for name in ("torch.distributed.elastic", "torch.multiprocessing")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        results = elastic_launch(config, _recorded)(entry, *args)
    except ChildFailedError as exc:
        raise TunesmithError(failure_line(exc, out)) from None
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    return dict(results)


def _recorded(entry: Callable[..., Any], *args: Any) -> Any:
    """`entry(*args)` in a launched process; an error it raises is written where the launcher reads it (a
    user's error as a TunesmithError, whatever its kind, for `failure_line` to say as it is)."""
    from torch.distributed.elastic.multiprocessing.errors import record

    def said(*args: Any) -> Any:
        try:
            return entry(*args)
        except TunesmithError as exc:
            raise TunesmithError(str(exc)) from None

    return record(said)(*args)


def failure_line(exc: Any, out: Path | None) -> str:
    """One line for a launch whose process failed: the first failure's rank and cause, and the run kept."""
    rank, failure = min(exc.failures.items(), key=lambda item: item[1].timestamp)
    if failure.signal_name() not in ("", "<N/A>"):
        cause = f"killed by {failure.signal_name()}"
    elif failure.exitcode < 0:
        cause = f"killed by {signal.Signals(-failure.exitcode).name}"
    else:
        message = failure.message if isinstance(failure.message, str) else str(failure.message.get("message", ""))
        cause = message.strip().splitlines()[-1] if message.strip() else f"exit code {failure.exitcode}"
        if cause.startswith(USERS + ": "):
            return cause[len(USERS) + 2:]  # the user's error, said as one process would say it
    kept = f"; the last checkpoint in {out} is kept: continue with --resume" if out is not None else ""
    return f"training process {rank} failed ({cause}){kept}"


__all__ = ["SINGLE", "Replicated", "World", "current", "failure_line", "joined", "launch", "launched", "step_seed"]
