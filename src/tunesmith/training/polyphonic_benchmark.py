"""The polyphonic benchmark (Boulanger-Lewandowski et al. 2012): train the polyphonic family on a benchmark
JSON split with the shared loop, keep the best of the raw and weight-averaged models on valid, and score
every split given with the exact metric (nats per frame, first frames not scored, one flat average)."""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from tunesmith.data.frames_json import load_frames_json
from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_json_atomic
from tunesmith.models import Family, config_from_dict, get_family
from tunesmith.models.averaging import ema_decay
from tunesmith.models.polyphonic import FrameModel, build_model, make_dataset, model_scorer
from tunesmith.models.polyphonic_score import baseline_scores, mixture_scorer, score_rolls
from tunesmith.representations.frames import FrameRepresentation
from tunesmith.runs import load_trained, resolve_device
from tunesmith.runs.directory import load_weights, save_weights
from tunesmith.runs.files import MODEL_FILE, read_config
from tunesmith.training.callbacks import Callback
from tunesmith.training.loop import FitResult, TrainConfig, fit
from tunesmith.training.trainer import read_config_file, write_run_start

log = logging.getLogger(__name__)
RESULTS_FILE = "results.json"
# what the benchmark trains with unless the config file says otherwise
BENCHMARK_TRAINING = {"batch_size": 8, "lr": 3e-3, "weight_decay": 1e-4, "warmup_steps": 100, "epochs": 200,
                      "patience": 1000, "checkpoint_every": 500, "log_every": 50}


class WeightAverage(Callback):
    """Exponential moving average of a model's weights, scored on valid every `check_every` steps; keeps the
    best. Its state (the average, the best score and weights) is checkpointed with the run (`Stateful`)."""

    def __init__(self, model: FrameModel, valid: list, decay: float, check_every: int, device: torch.device):
        self.model, self.valid, self.decay, self.device = model, valid, decay, device
        self.check_every = check_every
        self.average: FrameModel | None = None  # copied at the first step, after any resume
        self.best = float("inf")
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_step(self, step: int, record: dict) -> None:
        if self.average is None:
            self.average = copy.deepcopy(self.model).eval()
        with torch.no_grad():
            decay = ema_decay(self.decay, step)
            for avg, cur in zip(self.average.parameters(), self.model.parameters(), strict=True):
                avg.mul_(decay).add_(cur.detach(), alpha=1 - decay)
        if step % self.check_every == 0:
            self.check(step)
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """What a checkpoint keeps, so a resumed run averages and selects as the uninterrupted one: the
        averaged weights, and the best score and weights so far."""
        if self.average is None:
            return {}
        kept = {f"average.{k}": v for k, v in self.average.state_dict().items()}
        kept["best"] = torch.tensor(self.best, dtype=torch.float64)
        kept.update({f"best_state.{k}": v for k, v in (self.best_state or {}).items()})
        return kept

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Take back what `state_tensors` gave (nothing: the average starts at the next step, as before)."""
        if not tensors:
            return
        self.average = copy.deepcopy(self.model).eval()
        self.average.load_state_dict({k[len("average."):]: v for k, v in tensors.items() if k.startswith("average.")})
        self.best = float(tensors["best"])
        best = {k[len("best_state."):]: v for k, v in tensors.items() if k.startswith("best_state.")}
        self.best_state = best or None

    def check(self, step: int) -> None:
        """Score the averaged weights on valid now; remember them if they are the best so far."""
        if self.average is None:
            return
        score = score_rolls(model_scorer(self.average, self.device, transpositions=0), self.valid)
        log.info("step %d: averaged weights score %.4f on valid", step, score)
        if score < self.best:
            self.best, self.best_state = score, copy.deepcopy(self.average.state_dict())


def benchmark_config(config_file: Path | None, overrides: dict[str, Any] | None = None) -> dict[str, dict]:
    """The model/training/representation sections: benchmark defaults, then the file, then overrides."""
    sections = read_config_file(config_file)
    overrides = overrides or {}
    return {
        "model": {**sections.get("model", {}), **overrides.get("model", {})},
        "training": {**BENCHMARK_TRAINING, **sections.get("training", {}), **overrides.get("training", {})},
        "representation": {"kind": "frames", **sections.get("representation", {}),
                           **overrides.get("representation", {})},
    }


def _settings(family: Family, out: Path, train: Path | None, valid: Path | None, config_file: Path | None,
              overrides: dict[str, Any] | None, resume: bool) -> tuple[Path, Path, dict[str, dict], dict[str, float]]:
    """The train and valid files, the settings by section and the CPU minutes of earlier sessions: a resumed
    run's own (its files unless given; training overrides still apply), else the benchmark's defaults, the
    config file and the overrides."""
    before = {"cpu_minutes": 0.0}  # CPU time is per process: sessions before a resume add theirs
    if not resume:
        if (out / "config.json").exists():
            raise TunesmithError(f"{out} already holds a run: choose another --out, or --resume it")
        if train is None or valid is None:
            raise TunesmithError("training needs --train and --valid files")
        return train, valid, benchmark_config(config_file, overrides), before
    saved = read_config(out)
    if saved.get("family") != family.name:
        raise TunesmithError(f"{out} holds a {saved.get('family')} run, not a polyphonic benchmark run")
    sections = {"model": saved["model"], "representation": saved["representation"],
                "training": {**saved["training"], **(overrides or {}).get("training", {})}}
    if (out / RESULTS_FILE).exists():
        previous = json.loads((out / RESULTS_FILE).read_text())
        before = {k: float(previous.get(k, 0.0)) for k in before}
    return train or Path(saved["corpus"]["source"]), valid or Path(saved["corpus"]["valid"]), sections, before


@dataclass
class _Benchmark:
    """A benchmark run: its family and settings, its splits (from `files`), where it goes and on what device."""

    family: Family
    model_config: Any
    train_config: TrainConfig
    representation: FrameRepresentation
    device: torch.device
    files: dict[str, Path]
    splits: dict[str, list[np.ndarray]]
    out: Path

    @property
    def transpose(self) -> int:
        """Semitones of random transposition of the training windows (0: not augmented)."""
        return self.model_config.transpose if self.train_config.augment else 0


def train_benchmark(train: Path | None, valid: Path | None, out: Path, *, test: Path | None = None,
                    config_file: Path | None = None, overrides: dict[str, Any] | None = None,
                    average_decay: float = 0.998, device: str = "cpu", resume: bool = False,
                    progress: bool = True) -> dict[str, Any]:
    """Train on `train`, select on `valid`, write the run to `out`; returns the results (also in results.json).

    With `resume`, continue the run in `out` from its last checkpoint with its saved settings (training
    settings in `overrides`, such as a longer time limit, still apply) and its saved data paths by default.
    """
    out = Path(out)
    family = get_family("polyphonic")
    train, valid, sections, before = _settings(family, out, train, valid, config_file, overrides, resume)
    model_config = config_from_dict(family.config_class, sections["model"])
    train_config = config_from_dict(TrainConfig, sections["training"], "training")
    representation = FrameRepresentation.from_dict(sections["representation"])
    dev = resolve_device(device)
    files = {"train": train, "valid": valid, **({"test": test} if test is not None else {})}
    splits = {name: load_frames_json(path) for name, path in files.items()}
    run = _Benchmark(family, model_config, train_config, representation, dev, files, splits, out)
    average, result, cpu_minutes = _train(run, average_decay, resume, progress)
    chosen, which, raw_valid = _choose_weights(run, average)
    results = _results(run, chosen, which, raw_valid, average, result, before["cpu_minutes"] + cpu_minutes)
    write_json_atomic(out / RESULTS_FILE, results)
    return results


def _train(run: _Benchmark, average_decay: float, resume: bool, progress: bool) -> tuple[WeightAverage, FitResult, float]:
    """Train (or go on training) the run's model with the shared loop and a weight average; returns the
    average, the loop's result and this session's CPU minutes."""
    family, config, seed = run.family, run.train_config, run.train_config.seed
    train_data = make_dataset(run.splits["train"], run.representation, run.model_config, seed, train=True,
                              augment=config.augment)
    valid_data = make_dataset(run.splits["valid"], run.representation, run.model_config, seed, train=False)
    torch.manual_seed(seed)
    model = build_model(run.model_config, run.representation)
    log.info("polyphonic: %d parameters; %d training windows", sum(p.numel() for p in model.parameters()),
             len(train_data))
    write_run_start(run.out, family, run.model_config, run.representation, config,
                    {"source": str(run.files["train"]), "valid": str(run.files["valid"]),
                     "pieces": len(run.splits["train"])})
    steps_per_epoch = -(-len(train_data) // config.batch_size)
    average = WeightAverage(model, run.splits["valid"], average_decay, config.valid_every or steps_per_epoch,
                            run.device)
    cpu_started = time.process_time()
    result = fit(model, train_data, valid_data, config, run.out, collate=family.collate, device=run.device,
                 resume=resume, progress=progress, callbacks=[average])
    cpu_minutes = (time.process_time() - cpu_started) / 60
    average.check(result.steps)
    return average, result, cpu_minutes


def _choose_weights(run: _Benchmark, average: WeightAverage) -> tuple[FrameModel, str, float]:
    """The best weights the loop saved, or the weight average's best if it scores better on valid (then
    saved in their place); which of the two; and the saved weights' valid score."""
    raw = build_model(run.model_config, run.representation)
    load_weights(run.out / MODEL_FILE, raw)
    raw.to(run.device).eval()
    raw_valid = score_rolls(model_scorer(raw, run.device, transpositions=0), run.splits["valid"])
    if average.best_state is None or average.best >= raw_valid or average.average is None:
        return raw, "best saved weights", raw_valid
    average.average.load_state_dict(average.best_state)
    save_weights(run.out / MODEL_FILE, average.average)
    return average.average, "weight average", raw_valid


def _results(run: _Benchmark, chosen: FrameModel, which: str, raw_valid: float, average: WeightAverage,
             result: FitResult, cpu_minutes: float) -> dict[str, Any]:
    """What results.json says: each split's NLL per frame (the transposition mixture's and the network's alone
    when the run mixes), the weights chosen, the baselines and how training went."""
    single = model_scorer(chosen, run.device, transpositions=0)
    scores = {name: score_rolls(single, rolls) for name, rolls in run.splits.items()}
    results: dict[str, Any] = {"nll_per_frame": scores}
    mixed = run.model_config.mixture_transpositions
    if mixed > 0:  # the run's transposition mixture (on train: the network alone)
        mixture = model_scorer(chosen, run.device)
        results = {"nll_per_frame": {name: score_rolls(mixture if name != "train" else single, rolls)
                                     for name, rolls in run.splits.items()},
                   "single_network": scores, "mixture_transpositions": mixed}
    return results | {
        "selected": which,
        "valid_best_epoch": raw_valid,
        "valid_weight_average": average.best,
        "baselines": baseline_scores(run.splits["train"], {k: v for k, v in run.splits.items() if k != "train"}),
        "augmented": run.transpose > 0,
        "transpose": run.transpose,
        "steps": result.steps,
        "epochs": result.epochs,
        "stopped_because": result.stopped_because,
        "minutes": round(result.minutes, 2),  # kept in the checkpoints: a killed and resumed run counts its time
        "cpu_minutes": round(cpu_minutes, 2),
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in chosen.parameters()),
        "files": {k: str(v) for k, v in run.files.items()},
    }


def score_run(run_dirs: Path | list[Path], files: dict[str, Path], device: str = "cpu",
              mixture: int | None = None) -> dict[str, float]:
    """NLL per frame of trained polyphonic runs on each benchmark file given ({split name: path}); several runs
    are scored as their equal-weight mixture. `mixture` overrides the runs' transposition mixture."""
    scorers = []
    for run_dir in [run_dirs] if isinstance(run_dirs, Path | str) else run_dirs:
        run = load_trained(run_dir, device=device)
        if run.family.name != "polyphonic":
            raise TunesmithError(f"{run_dir} holds a {run.family.name} run; the benchmark needs a polyphonic one")
        scorers.append(model_scorer(cast(FrameModel, run.model), run.device, transpositions=mixture))
    scorer = scorers[0] if len(scorers) == 1 else mixture_scorer(scorers)
    return {name: score_rolls(scorer, load_frames_json(path)) for name, path in files.items()}
