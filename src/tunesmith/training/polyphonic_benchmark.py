"""The polyphonic benchmark (Boulanger-Lewandowski et al. 2012): train the polyphonic family on a benchmark
JSON split with the shared loop, keep the best of the raw and weight-averaged models on valid, and score
every split given with the exact metric (nats per frame, first frames not scored, one flat average)."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from tunesmith.data.frames_json import load_frames_json
from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_json_atomic
from tunesmith.models import config_from_dict, config_to_dict, get_family
from tunesmith.models.polyphonic import FrameModel, RollDataset, model_scorer
from tunesmith.models.polyphonic_score import baseline_scores, mixture_scorer, score_rolls
from tunesmith.representations.frames import FrameRepresentation
from tunesmith.runs import load_trained, resolve_device
from tunesmith.runs.directory import MODEL_FILE, load_weights, read_config, save_weights, write_config
from tunesmith.training.loop import TrainConfig, fit
from tunesmith.training.trainer import read_config_file

log = logging.getLogger(__name__)
RESULTS_FILE = "results.json"
# what the benchmark trains with unless the config file says otherwise
BENCHMARK_TRAINING = {"batch_size": 8, "lr": 3e-3, "weight_decay": 1e-4, "warmup_steps": 100, "epochs": 200,
                      "patience": 1000, "checkpoint_every": 500, "log_every": 50}


class WeightAverage:
    """Exponential moving average of a model's weights, scored on valid every `check_every` steps; keeps the best."""

    def __init__(self, model: FrameModel, valid: list, decay: float, check_every: int, device: torch.device):
        self.model, self.valid, self.decay, self.device = model, valid, decay, device
        self.check_every = check_every
        self.average: FrameModel | None = None  # copied at the first step, after any resume
        self.best, self.best_state = float("inf"), None

    def __call__(self, step: int, record: dict) -> None:
        if self.average is None:
            self.average = copy.deepcopy(self.model).eval()
        with torch.no_grad():
            decay = min(self.decay, (1 + step) / (10 + step))
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
    before = {"cpu_minutes": 0.0}  # CPU time is per process: sessions before a resume add theirs
    if resume:
        saved = read_config(out)
        if saved.get("family") != family.name:
            raise TunesmithError(f"{out} holds a {saved.get('family')} run, not a polyphonic benchmark run")
        train, valid = train or Path(saved["corpus"]["source"]), valid or Path(saved["corpus"]["valid"])
        sections = {"model": saved["model"], "representation": saved["representation"],
                    "training": {**saved["training"], **(overrides or {}).get("training", {})}}
        if (out / RESULTS_FILE).exists():
            previous = json.loads((out / RESULTS_FILE).read_text())
            before = {k: float(previous.get(k, 0.0)) for k in before}
    else:
        if (out / "config.json").exists():
            raise TunesmithError(f"{out} already holds a run: choose another --out, or --resume it")
        if train is None or valid is None:
            raise TunesmithError("training needs --train and --valid files")
        sections = benchmark_config(config_file, overrides)
    model_config = config_from_dict(family.config_class, sections["model"])
    train_config = config_from_dict(TrainConfig, sections["training"], "training")
    representation = FrameRepresentation.from_dict(sections["representation"])
    dev = resolve_device(device)
    splits = {"train": load_frames_json(train), "valid": load_frames_json(valid)}
    if test is not None:
        splits["test"] = load_frames_json(test)
    transpose = model_config.transpose if train_config.augment else 0
    train_data = RollDataset(splits["train"], model_config.window, transpose, train_config.seed, score_first=True)
    valid_data = RollDataset(splits["valid"], model_config.window, 0, train_config.seed, score_first=False)
    torch.manual_seed(train_config.seed)
    model = family.build_model(model_config, representation)
    log.info("polyphonic: %d parameters; %d training windows", sum(p.numel() for p in model.parameters()),
             len(train_data))

    out.mkdir(parents=True, exist_ok=True)
    write_config(out, {"family": family.name, "model": config_to_dict(model_config),
                       "representation": representation.to_dict(), "training": dataclasses.asdict(train_config),
                       "corpus": {"source": str(train), "valid": str(valid), "pieces": len(splits["train"])}})
    steps_per_epoch = -(-len(train_data) // train_config.batch_size)
    average = WeightAverage(model, splits["valid"], average_decay, train_config.valid_every or steps_per_epoch, dev)
    cpu_started = time.process_time()
    result = fit(model, train_data, valid_data, train_config, out, collate=family.collate, device=dev,
                 resume=resume, progress=progress, callbacks=[average])
    minutes = result.minutes  # kept in the checkpoints, so a killed and resumed run still counts its time
    cpu_minutes = before["cpu_minutes"] + (time.process_time() - cpu_started) / 60
    average.check(result.steps)

    raw = family.build_model(model_config, representation)
    load_weights(out / MODEL_FILE, raw)
    raw.to(dev).eval()
    raw_valid = score_rolls(model_scorer(raw, dev, transpositions=0), splits["valid"])
    chosen, which = raw, "best saved weights"
    if average.best_state is not None and average.best < raw_valid:
        chosen, which = average.average, "weight average"
        chosen.load_state_dict(average.best_state)
        save_weights(out / MODEL_FILE, chosen)
    single = model_scorer(chosen, dev, transpositions=0)
    scores = {name: score_rolls(single, rolls) for name, rolls in splits.items()}
    results: dict[str, Any] = {"nll_per_frame": scores}
    if model_config.mixture_transpositions > 0:  # the run's transposition mixture (on train: the network alone)
        mixture = model_scorer(chosen, dev)
        results = {"nll_per_frame": {name: score_rolls(mixture if name != "train" else single, rolls)
                                     for name, rolls in splits.items()},
                   "single_network": scores, "mixture_transpositions": model_config.mixture_transpositions}
    results |= {
        "selected": which,
        "valid_best_epoch": raw_valid,
        "valid_weight_average": average.best,
        "baselines": baseline_scores(splits["train"], {k: v for k, v in splits.items() if k != "train"}),
        "augmented": transpose > 0,
        "transpose": transpose,
        "steps": result.steps,
        "epochs": result.epochs,
        "stopped_because": result.stopped_because,
        "minutes": round(minutes, 2),
        "cpu_minutes": round(cpu_minutes, 2),
        "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in chosen.parameters()),
        "files": {k: str(v) for k, v in {"train": train, "valid": valid, "test": test}.items() if v is not None},
    }
    write_json_atomic(out / RESULTS_FILE, results)
    return results


def score_run(run_dirs: Path | list[Path], files: dict[str, Path], device: str = "cpu",
              mixture: int | None = None) -> dict[str, float]:
    """NLL per frame of trained polyphonic runs on each benchmark file given ({split name: path}); several runs
    are scored as their equal-weight mixture. `mixture` overrides the runs' transposition mixture."""
    scorers = []
    for run_dir in [run_dirs] if isinstance(run_dirs, Path | str) else run_dirs:
        run = load_trained(run_dir, device=device)
        if run.family.name != "polyphonic":
            raise TunesmithError(f"{run_dir} holds a {run.family.name} run; the benchmark needs a polyphonic one")
        scorers.append(model_scorer(run.model, run.device, transpositions=mixture))
    scorer = scorers[0] if len(scorers) == 1 else mixture_scorer(scorers)
    return {name: score_rolls(scorer, load_frames_json(path)) for name, path in files.items()}
