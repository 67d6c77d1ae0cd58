"""`tunesmith train`: corpus -> split -> representation -> datasets -> model -> the loop -> a run directory."""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from tunesmith.config import read_settings_file, reject_unknown
from tunesmith.data import DEFAULT_LIMITS, ReadLimits, load_corpus, split_pieces
from tunesmith.data.limits import changed_limits, merged_limits
from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_json_atomic
from tunesmith.models import Family, config_from_dict, config_to_dict, get_family
from tunesmith.representations import Representation, representation_from_dict
from tunesmith.representations.store import StoredSequences, TokenStore, is_store
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.representations.windows import TokenWindows
from tunesmith.runs import SPLIT_FILE, read_config, resolve_device, write_config
from tunesmith.training.callbacks import Callback
from tunesmith.training.distributed import World, joined
from tunesmith.training.loop import FitResult, TrainConfig, fit

log = logging.getLogger(__name__)
CONFIG_SECTIONS = ("model", "training", "representation")


def read_config_file(path: Path | None) -> dict[str, dict[str, Any]]:
    """A TOML or JSON file with [model], [training] and [representation] sections (strict)."""
    if path is None:
        return {}
    values = read_settings_file(path)
    reject_unknown(set(values) - {"family", "corpus", "model_family"}, CONFIG_SECTIONS, str(path), "section")
    return values


def apply_settings(values: dict[str, dict[str, Any]], settings: list[str]) -> dict[str, dict[str, Any]]:
    """`values` with each "section.key=value" of `settings` set (the value read as TOML, a bare word as text)."""
    for setting in settings:
        name, equals, value = setting.partition("=")
        section, dot, key = name.strip().partition(".")
        if not (equals and dot and key):
            raise TunesmithError(f"a setting is SECTION.KEY=VALUE, e.g. model.bars=8 (got {setting!r})")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        values.setdefault(section, {})[key.strip()] = parsed
    return values


def _settings(model: str, out: Path, resume: bool, config_file: Path | None,
              training_overrides: dict[str, Any] | None,
              representation_overrides: dict[str, Any] | None, new_here: bool = True) -> tuple[Family, dict[str, dict[str, Any]], dict[str, Any] | None]:
    """The family, its settings by section (model, training, representation) and, when resuming, the corpus
    the run was trained on: a resumed run's own settings (training overrides still apply), else the
    family's defaults, then the config file, then the overrides. `new_here`: a new run is started here (not
    by another process of the same launch), so `out` must not hold one yet."""
    if resume:
        saved = read_config(out)
        family = get_family(saved["family"])
        if model != saved["family"]:
            raise TunesmithError(f"{out} holds a {saved['family']} run; resume it with --model {saved['family']}")
        return family, {"model": saved["model"], "representation": saved["representation"],
                        "training": {**saved["training"], **(training_overrides or {})}}, saved["corpus"]
    family = get_family(model)
    if new_here and out.exists() and (out / "config.json").exists():
        raise TunesmithError(f"{out} already holds a run: use --resume to continue it, or another --out")
    sections = read_config_file(config_file)
    return family, {"model": sections.get("model", {}),
                    "representation": {**family.representation, **sections.get("representation", {}),
                                       **(representation_overrides or {})},
                    "training": {**sections.get("training", {}), **(training_overrides or {})}}, None


def write_run_start(out: Path, family: Family, model_config: Any, representation: Representation,
                    train_config: TrainConfig, corpus: dict[str, Any],
                    split: dict[str, list[str]] | None = None) -> None:
    """What a run directory holds before training: config.json (family, settings, corpus and library
    versions), the representation's own files and, when the pieces were split here, split.json."""
    out.mkdir(parents=True, exist_ok=True)
    representation.save(out)
    write_config(out, {
        "family": family.name,
        "model": config_to_dict(model_config),
        "representation": representation.to_dict(),
        "training": dataclasses.asdict(train_config),
        "corpus": corpus,
    })
    if split is not None:
        write_json_atomic(out / SPLIT_FILE, split)


def train(model: str, corpus: str, out: Path, *, config_file: Path | None = None,
          training_overrides: dict[str, Any] | None = None, model_overrides: dict[str, Any] | None = None,
          representation_overrides: dict[str, Any] | None = None, device: str = "cpu", resume: bool = False,
          limit: int | None = None, progress: bool = True, read_limits: ReadLimits = DEFAULT_LIMITS,
          callbacks: Iterable[Callback | Callable[[int, dict[str, Any]], None]] = ()) -> FitResult:
    """Train a `model` family on `corpus` into the run directory `out` (or resume it); the corpus's files are
    read within `read_limits`; `callbacks` are the training loop's (`fit`). Started by torch's launcher
    (`--nproc`, torchrun), the process joins the others and trains its share (training/distributed.py)."""
    with joined(resolve_device(device)) as (world, dev):
        return _train(model, corpus, Path(out), world, dev, config_file=config_file,
                      training_overrides=training_overrides, model_overrides=model_overrides,
                      representation_overrides=representation_overrides, resume=resume, limit=limit,
                      progress=progress, read_limits=read_limits, callbacks=callbacks)


def _train(model: str, corpus: str, out: Path, world: World, dev: torch.device, *, config_file: Path | None,
           training_overrides: dict[str, Any] | None, model_overrides: dict[str, Any] | None,
           representation_overrides: dict[str, Any] | None, resume: bool, limit: int | None, progress: bool,
           read_limits: ReadLimits, callbacks: Iterable[Callback | Callable[[int, dict[str, Any]], None]]) -> FitResult:
    if not world.main:
        progress = False
    family, sections, saved_corpus = _settings(model, out, resume, config_file, training_overrides,
                                               representation_overrides, world.main)
    if saved_corpus is not None:  # the corpus the run was started on, read within the same limits
        corpus, limit = saved_corpus["source"], saved_corpus.get("limit")
        read_limits = merged_limits(saved_corpus.get("read_limits") or {}, read_limits)
    model_config = config_from_dict(family.config_class, {**sections["model"], **(model_overrides or {})})
    train_config = config_from_dict(TrainConfig, sections["training"], "training")
    torch.manual_seed(train_config.seed)

    if is_store(corpus):
        return _train_from_store(family, sections, TokenStore(Path(corpus)), model_config, train_config, out, world,
                                 dev, resume=resume, progress=progress, callbacks=callbacks)
    loaded = load_corpus(corpus, limit=limit, progress=progress, limits=read_limits)
    splits = split_pieces(loaded.pieces)
    if resume or not world.main:  # a new run's representation is fitted by the first process; the others read it
        world.wait()
        saved = sections["representation"] if resume else read_config(out)["representation"]
        representation = representation_from_dict(saved, out)
    else:
        representation = representation_from_dict(sections["representation"], None)
        representation.fit(family.fit_pieces(splits["train"], model_config) if family.fit_pieces else splits["train"])
    seed = train_config.seed
    train_data = family.make_dataset(splits["train"], representation, model_config, seed, train=True,
                                     augment=train_config.augment)
    valid_data = family.make_dataset(splits["valid"], representation, model_config, seed, train=False, augment=False)
    network = family.build_model(model_config, representation)
    log.info("%s: %d parameters, %d training / %d validation examples", family.name,
             sum(p.numel() for p in network.parameters()), len(train_data), len(valid_data))

    if world.main:
        write_run_start(out, family, model_config, representation, train_config,
                        {"source": str(corpus), "limit": limit, "pieces": len(loaded.pieces),
                         "rejected": len(loaded.rejected), "read_limits": changed_limits(read_limits)},
                        {k: [p.source or p.name for p in v] for k, v in splits.items()})
        if not resume:
            world.wait()  # the others read the representation it wrote
    return fit(network, train_data, valid_data, train_config, out, collate=family.collate, device=dev,
               resume=resume, progress=progress, train_step=family.train_step, callbacks=callbacks)


def _train_from_store(family: Family, sections: dict[str, dict[str, Any]], store: TokenStore, model_config: Any,
                      train_config: TrainConfig, out: Path, world: World, dev: torch.device, *, resume: bool,
                      progress: bool, callbacks: Iterable[Callback | Callable[[int, dict[str, Any]], None]]
                      ) -> FitResult:
    """Train a token family on a token store (representations/store.py): its representation, its windows read
    from the memory-mapped shards as training draws them."""
    if family.representation.get("kind") != "tokens":
        raise TunesmithError(f"a token store trains the token families (rnn, transformer), not {family.name}: "
                             "train it on the folder")
    representation = (TokenRepresentation.from_dict(sections["representation"], out) if resume
                      else store.representation())
    splits = store.split()
    window, seed = model_config.window, train_config.seed
    train_data = TokenWindows(StoredSequences(store, splits["train"]), representation, window,
                              transpose=train_config.augment, seed=seed)
    valid_data = TokenWindows(StoredSequences(store, splits["valid"]), representation, window, seed=seed)
    network = family.build_model(model_config, representation)
    if world.main:  # the split is the store's own (each shard's splits.npy)
        write_run_start(out, family, model_config, representation, train_config,
                        {"source": str(store.path), "store": True, "pieces": len(store)})
    world.wait()
    return fit(network, train_data, valid_data, train_config, out, collate=family.collate, device=dev,
               resume=resume, progress=progress, train_step=family.train_step, callbacks=callbacks)
