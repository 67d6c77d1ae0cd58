"""Every shipped config file is used the way it is meant to be, strictly: the model configs in configs/ train
(`tunesmith train --config`), the benchmark configs in pretrained/configs/ train `benchmark polyphonic`, the
presets in configs/presets/ load into Controls; each for one step, with its own settings, and an unknown key
in any of them is an error that names it."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

import pytest

from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError, TunesmithError
from tunesmith.generation.presets import load_preset, merge_preset
from tunesmith.generation.run import load_run
from tunesmith.models import MODELS
from tunesmith.training.polyphonic_benchmark import train_benchmark
from tunesmith.training.trainer import train

ROOT = Path(__file__).resolve().parents[1]
MODEL_CONFIGS = sorted((ROOT / "configs").glob("*.toml"))
PRESETS = sorted((ROOT / "configs" / "presets").glob("*.toml"))
BENCHMARK_CONFIGS = sorted((ROOT / "pretrained" / "configs").glob("*.toml"))
UNKNOWN = "no_such_setting"


def with_unknown_key(path: Path, section: str, tmp_path: Path) -> Path:
    """A copy of `path` with `no_such_setting = 1` added to its [section] (or to a new [section])."""
    text = path.read_text()
    header = f"[{section}]\n"
    text = text.replace(header, f"{header}{UNKNOWN} = 1\n", 1) if header in text else f"{text}\n{header}{UNKNOWN} = 1\n"
    copy = tmp_path / path.name
    copy.write_text(text)
    return copy


def family_of(path: Path) -> str:
    """The family a model config is for: its name's first word, which the usage line in it must agree with."""
    family = path.stem.split("-")[0]
    assert family in MODELS, f"{path.name} does not name a model family"
    assert set(re.findall(r"--model (\w+)", path.read_text())) <= {family}
    return family


def assert_recorded(run_dir: Path, values: dict, training: dict) -> dict:
    """Every setting of the config file (or the `training` one given over it) is the one config.json recorded:
    the file was used, not the defaults."""
    config = json.loads((run_dir / "config.json").read_text())
    expected = {**values, "training": {**values.get("training", {}), **training}}
    for section in ("model", "training", "representation"):
        assert_within(expected.get(section, {}), config[section], section)
    return config


def assert_within(given: dict, recorded: dict, where: str) -> None:
    """Every key of `given` (tables such as [model.critic] too) has its value in `recorded`."""
    for key, value in given.items():
        if isinstance(value, dict) and where != "representation":
            assert_within(value, recorded[key], f"{where}.{key}")
        else:
            assert recorded[key] == value, f"[{where}] {key}"


@pytest.fixture(scope="module")
def benchmark_files(tmp_path_factory) -> tuple[Path, Path]:
    """Tiny train and valid files in the benchmark's JSON format (a cycle of chords)."""
    folder = tmp_path_factory.mktemp("benchmark")
    chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [], [59, 62, 67]]
    train_file, valid_file = folder / "train.json", folder / "valid.json"
    train_file.write_text(json.dumps([[chords[(i + k) % 5] for k in range(12)] for i in range(4)]))
    valid_file.write_text(json.dumps([[chords[(i + k) % 5] for k in range(9)] for i in range(2)]))
    return train_file, valid_file


def test_every_config_file_is_covered():
    shipped = set((ROOT / "configs").rglob("*.toml")) | set((ROOT / "pretrained" / "configs").rglob("*.toml"))
    assert shipped == set(MODEL_CONFIGS) | set(PRESETS) | set(BENCHMARK_CONFIGS)
    assert len(MODEL_CONFIGS) >= 6 and len(PRESETS) >= 5 and len(BENCHMARK_CONFIGS) >= 9


@pytest.mark.parametrize("path", MODEL_CONFIGS, ids=lambda p: p.stem)
def test_a_model_config_trains_a_step_with_its_own_settings(path, tmp_path):
    values = tomllib.loads(path.read_text())
    assert set(values) <= {"model", "training", "representation"}
    result = train(family_of(path), "bach", tmp_path / "run", config_file=path, limit=6, progress=False,
                   training_overrides={"max_steps": 1})
    assert result.steps == 1 and result.best_valid is not None and math.isfinite(result.best_valid)
    assert_recorded(tmp_path / "run", values, {"max_steps": 1})
    run = load_run(tmp_path / "run")  # the weights written fit the model the config describes
    assert run.family.name == family_of(path) and sum(p.numel() for p in run.model.parameters()) > 0


@pytest.mark.parametrize("section", ["model", "training", "representation"])
@pytest.mark.parametrize("path", MODEL_CONFIGS, ids=lambda p: p.stem)
def test_a_model_config_with_an_unknown_key_is_refused(path, section, tmp_path):
    with pytest.raises(TunesmithError, match=UNKNOWN):
        train(family_of(path), "bach", tmp_path / "run", config_file=with_unknown_key(path, section, tmp_path),
              limit=6, progress=False, training_overrides={"max_steps": 1})
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_a_model_config_with_an_unknown_section_is_refused(tmp_path):
    path = with_unknown_key(MODEL_CONFIGS[0], "modle", tmp_path)
    with pytest.raises(TunesmithError, match="unknown section.*modle"):
        train(family_of(MODEL_CONFIGS[0]), "bach", tmp_path / "run", config_file=path, limit=6, progress=False)


@pytest.mark.parametrize("path", BENCHMARK_CONFIGS, ids=lambda p: p.stem)
def test_a_benchmark_config_trains_a_step_with_its_own_settings(path, benchmark_files, tmp_path):
    values = tomllib.loads(path.read_text())
    strict = "--no-augment" in path.read_text()  # the strict 2012 protocol, as its usage line says
    training = {"max_steps": 1, **({"augment": False} if strict else {})}
    results = train_benchmark(*benchmark_files, tmp_path / "run", config_file=path, progress=False,
                              overrides={"training": training})
    assert results["steps"] == 1 and results["augmented"] is (not strict and values["model"]["transpose"] > 0)
    assert all(math.isfinite(v) and v > 0 for v in results["nll_per_frame"].values())
    assert results.get("mixture_transpositions", 0) == values["model"].get("mixture_transpositions", 0)
    config = assert_recorded(tmp_path / "run", values, training)
    assert config["family"] == "polyphonic" and config["representation"]["kind"] == "frames"


@pytest.mark.parametrize("section", ["model", "training", "representation"])
@pytest.mark.parametrize("path", BENCHMARK_CONFIGS[:2], ids=lambda p: p.stem)
def test_a_benchmark_config_with_an_unknown_key_is_refused(path, section, benchmark_files, tmp_path):
    with pytest.raises(TunesmithError, match=UNKNOWN):
        train_benchmark(*benchmark_files, tmp_path / "run", config_file=with_unknown_key(path, section, tmp_path),
                        progress=False, overrides={"training": {"max_steps": 1}})


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_a_preset_loads_strictly_into_controls(path, tiny_corpus, tmp_path):
    preset = load_preset(path)
    assert preset.name == path.stem and preset.description and preset.controls
    given = {"primer": str(sorted(tiny_corpus.glob("*.mid"))[0]), "key": "D minor"}
    controls = Controls(**merge_preset(preset, {k: v for k, v in given.items() if k in preset.requires}))
    for key, value in preset.controls.items():
        if key == "extra_bars":  # bars after the primer's own (eight)
            assert controls.bars == 8 + value
        elif key == "instruments":
            assert controls.instruments == value.split(",")
        else:
            assert getattr(controls, key) == value, key
    with pytest.raises(ControlError, match=UNKNOWN):
        load_preset(with_unknown_key(path, "controls", tmp_path))
    with pytest.raises(ControlError, match=UNKNOWN):
        load_preset(with_unknown_key(path, "outputs", tmp_path))


def test_a_config_in_the_layout_before_sections_is_refused_naming_the_new_key(tmp_path):
    flat = tmp_path / "old-gan.toml"
    flat.write_text("[model]\nvoice_limit = true\ngate_steps = 2\nmetre_start = false\n")
    with pytest.raises(TunesmithError) as raised:
        train("gan", "bach", tmp_path / "run", config_file=flat, limit=6, progress=False)
    assert str(raised.value) == "model setting gate_steps is now gates.steps (in a TOML file: [model.gates] steps = ...)"
    assert not (tmp_path / "run").exists()
