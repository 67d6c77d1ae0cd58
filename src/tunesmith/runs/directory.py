"""The run directory's weights and checkpoints: model.safetensors and checkpoint.safetensors (everything needed
to resume). Every file is written atomically; no pickle. The other files and config.json are in files.py."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tunesmith.errors import TunesmithError
from tunesmith.fileio import atomic_path
from tunesmith.runs.files import CHECKPOINT_FILE


def _state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    # tied weights share storage; safetensors refuses shared tensors, so store each once by name
    seen: set[tuple[int, tuple[int, ...]]] = set()
    out = {}
    for name, tensor in module.state_dict().items():
        key = (tensor.data_ptr(), tuple(tensor.shape))
        if key in seen:
            continue
        seen.add(key)
        out[name] = tensor.detach().cpu().contiguous()
    return out


def save_weights(path: Path, module: torch.nn.Module, metadata_: dict[str, str] | None = None,
                 extra: dict[str, torch.Tensor] | None = None) -> None:
    """Model weights (plus any extra tensors) to safetensors, atomically."""
    tensors = {f"model.{k}": v for k, v in _state_tensors(module).items()}
    tensors.update(extra or {})
    with atomic_path(path) as tmp:
        try:
            save_file(tensors, str(tmp), metadata=metadata_)
        except SafetensorError as exc:  # safetensors' I/O errors: made an OSError, which atomic_path names
            raise _os_error(exc, tmp) from exc


def _os_error(exc: SafetensorError, path: Path) -> OSError:
    """The OSError inside a safetensors write error ('... I/O error: File too large (os error 27)')."""
    found = re.search(r"\(os error (\d+)\)", str(exc))
    if found:
        number = int(found.group(1))
        return OSError(number, os.strerror(number), str(path))
    return OSError(errno.EIO, str(exc).splitlines()[0] if str(exc) else "the safetensors writer failed", str(path))


def load_weights(path: Path, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Load `model.*` tensors into `module`; returns the other tensors in the file."""
    if not Path(path).exists():
        raise TunesmithError(f"{path.parent} has no trained weights ({path.name}); train it first")
    try:
        tensors = load_file(str(path))
    except SafetensorError as exc:
        raise TunesmithError(f"{path} is damaged ({exc})") from exc
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    missing, unexpected = module.load_state_dict(weights, strict=False)
    # a tied weight is stored once; the other name is filled by the tie itself
    missing = [m for m in missing if not _is_tied(module, m, weights)]
    if missing or unexpected:
        raise TunesmithError(f"{path} does not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return {k: v for k, v in tensors.items() if not k.startswith("model.")}


def _is_tied(module: torch.nn.Module, name: str, weights: dict[str, torch.Tensor]) -> bool:
    target = module.state_dict()[name]
    return any(module.state_dict()[k].data_ptr() == target.data_ptr() for k in weights if k in module.state_dict())


def save_checkpoint(run_dir: Path, module: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    state: dict[str, Any], tensors: dict[str, torch.Tensor] | None = None) -> None:
    """Everything needed to resume: weights, optimiser moments, RNG state and loop counters, and any other
    `tensors` the training keeps (load_checkpoint gives them back)."""
    extra: dict[str, torch.Tensor] = {"rng.torch": torch.get_rng_state()}
    extra.update({f"extra.{k}": v.detach().cpu().clone().contiguous() for k, v in (tensors or {}).items()})
    groups = {}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        groups[name] = sd["param_groups"]
        for idx, param_state in sd["state"].items():
            for key, value in param_state.items():
                t = value if torch.is_tensor(value) else torch.tensor(value)
                extra[f"opt.{name}.{idx}.{key}"] = t.detach().cpu().contiguous()
    meta = {"state": json.dumps(state), "param_groups": json.dumps(groups)}
    save_weights(Path(run_dir) / CHECKPOINT_FILE, module, meta, extra)


def load_checkpoint(run_dir: Path, module: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    tensors: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """Restore what save_checkpoint wrote; returns the loop counters and puts the other saved tensors in
    `tensors`, if given."""
    from safetensors import safe_open

    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.exists():
        raise TunesmithError(f"nothing to resume in {run_dir} (no {CHECKPOINT_FILE})")
    extra = load_weights(path, module)  # first: it says so when the file is damaged
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    torch.set_rng_state(extra["rng.torch"])
    if tensors is not None:
        tensors.update({k[len("extra."):]: v for k, v in extra.items() if k.startswith("extra.")})
    groups = json.loads(meta["param_groups"])
    for name, opt in optimizers.items():
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in extra.items():
            if key.startswith(f"opt.{name}."):
                idx, field = key[len(f"opt.{name}."):].split(".", 1)
                per_param.setdefault(int(idx), {})[field] = value
        opt.load_state_dict({"state": per_param, "param_groups": groups[name]})
    return json.loads(meta["state"])
