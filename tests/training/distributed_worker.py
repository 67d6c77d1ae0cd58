"""What each process of the distributed tests runs: `tunesmith.training.trainer.train` of a small model, the
network it trained kept, so that the test can compare the weights of every process; optionally the process
with rank 1 kills itself (SIGKILL) after a given step."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path
from typing import Any

import torch

TINY = {
    "rnn": {"model": {"cell": "lstm", "layers": 1, "width": 48, "embedding": 32, "dropout": 0.0, "window": 96}},
    "transformer": {"model": {"layers": 1, "width": 32, "heads": 2, "ff_mult": 2, "dropout": 0.0, "window": 96}},
    "vae": {"config": "tiny-vae.toml"},
    "gan": {"config": "tiny-gan.toml"},
    "polyphonic": {"model": {}},
}
MODELS = Path(__file__).resolve().parent.parent / "models"


def job(family: str, out: Path, *, steps: int = 8, batch: int = 8, resume: bool = False,
        checkpoint_every: int = 200) -> dict[str, Any]:
    """train()'s arguments for a tiny `family` model on six chorales, every step logged."""
    tiny = TINY[family]
    return {"model": family, "corpus": "bach", "out": out, "limit": 6, "progress": False, "resume": resume,
            "config_file": MODELS / tiny["config"] if "config" in tiny else None,
            "model_overrides": tiny.get("model"),
            "training_overrides": {"max_steps": steps, "batch_size": batch, "log_every": 1, "augment": False,
                                   "warmup_steps": 2, "checkpoint_every": checkpoint_every, "seed": 3}}


def train_and_fingerprint(arguments: dict[str, Any], kill_at: int | None = None) -> dict[str, str]:
    """Train with `arguments`; {parameter or buffer name: digest of its bytes} of the trained network."""
    import tunesmith.training.trainer as trainer

    torch.set_num_threads(1)
    trained: dict[str, torch.nn.Module] = {}
    fit = trainer.fit

    def keeping(network: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        trained["network"] = network
        if kill_at is not None and os.environ.get("RANK") == "1":
            def kill(step: int, record: dict) -> None:
                if step == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)

            kwargs["callbacks"] = [kill]
        return fit(network, *args, **kwargs)

    trainer.fit = keeping
    try:
        trainer.train(**arguments)
    finally:
        trainer.fit = fit
    return {name: hashlib.sha1(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
            for name, tensor in trained["network"].state_dict().items()}
