"""`tunesmith benchmark polyphonic`: a tiny training run through the shared loop, scoring, generation, errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

from midi_facts import read_midi_independently
from tunesmith.controls.controls import Controls
from tunesmith.errors import TunesmithError
from tunesmith.generation.run import load_run
from tunesmith.training.polyphonic_benchmark import score_run, train_benchmark

TINY = {"model": {"hidden": 16, "made_hidden": 16, "window": 16},
        "training": {"epochs": 40, "batch_size": 4, "lr": 0.02, "warmup_steps": 1, "valid_every": None},
        "representation": {"frames_per_beat": 2}}


def write_split(path, pieces):
    path.write_text(json.dumps(pieces))
    return path


@pytest.fixture
def splits(tmp_path):
    chords = [[60, 64, 67], [62, 65, 69], [64, 67, 71], [], [59, 62, 67]]
    train = write_split(tmp_path / "train.json", [[chords[(i + k) % 5] for k in range(12)] for i in range(8)])
    valid = write_split(tmp_path / "valid.json", [[chords[(i + k) % 5] for k in range(9)] for i in range(3)])
    return train, valid


def test_trains_scores_and_generates(tmp_path, splits):
    torch.set_num_threads(1)
    train, valid = splits
    results = train_benchmark(train, valid, tmp_path / "run", test=valid, overrides=TINY, progress=False)
    scores = results["nll_per_frame"]
    assert set(scores) == {"train", "valid", "test"}
    assert scores["valid"] == pytest.approx(scores["test"])
    # the chords cycle, so even briefly trained the model must beat both baselines
    assert 0 < scores["valid"] < results["baselines"]["markov"]["valid"]
    assert results["augmented"] and results["transpose"] == 6
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["nll_per_frame"]["valid"] == pytest.approx(scores["valid"])
    # scoring the saved run gives the figure reported at the end of training
    assert score_run(tmp_path / "run", {"valid": valid})["valid"] == pytest.approx(scores["valid"], rel=1e-6)
    # a run scored as a mixture with itself is the same model; a transposition mixture is a different one
    assert score_run([tmp_path / "run"] * 2, {"valid": valid})["valid"] == pytest.approx(scores["valid"], rel=1e-6)
    assert score_run(tmp_path / "run", {"valid": valid}, mixture=2)["valid"] != pytest.approx(scores["valid"])

    run = load_run(tmp_path / "run")
    pieces = run.generate(Controls(num=2, bars=2, seed=1))
    assert len(pieces) == 2
    for i, piece in enumerate(pieces):
        written = read_midi_independently(piece.save(tmp_path / f"sampled{i}.mid"))
        assert written.notes and written.bars == 2 and written.bar_ticks == 4 * written.tpq  # two bars of 4/4
        assert all(21 <= p <= 108 for p in written.pitches())  # the piano's 88 keys


def test_strict_protocol_switches_augmentation_off(tmp_path, splits):
    train, valid = splits
    overrides = {**TINY, "training": {**TINY["training"], "augment": False, "epochs": 1}}
    results = train_benchmark(train, valid, tmp_path / "strict", overrides=overrides, progress=False)
    assert not results["augmented"] and results["transpose"] == 0
    assert math.isfinite(results["nll_per_frame"]["valid"])


def test_cli_errors_are_one_line(tmp_path, splits, run_cli):
    train, valid = splits
    code, _, err = run_cli("benchmark", "polyphonic", "--train", str(train))
    assert code == 2 and "training needs --train, --valid and --out" in err
    bad = write_split(tmp_path / "bad.json", [[[60], [20]]])
    code, _, err = run_cli("benchmark", "polyphonic", "--train", str(bad), "--valid", str(valid),
                           "--out", str(tmp_path / "r"))
    assert code == 2
    assert err.strip() == f"error: {bad}: piece 0, frame 1: pitch 20 is outside the piano's 88 keys (MIDI 21-108)"
    code, _, err = run_cli("benchmark", "polyphonic", "--run", str(tmp_path / "missing"), "--test", str(valid))
    assert code == 2 and "run directory not found" in err


def test_resume_continues_a_run_with_more_epochs(tmp_path, splits):
    train, valid = splits
    overrides = {**TINY, "training": {**TINY["training"], "epochs": 2}}
    first = train_benchmark(train, valid, tmp_path / "run", overrides=overrides, progress=False)
    more = train_benchmark(None, None, tmp_path / "run", resume=True, progress=False,
                           overrides={"training": {"epochs": 4}})
    assert (first["steps"], more["steps"]) == (4, 8)
    assert more["minutes"] >= first["minutes"]
    assert more["files"]["train"] == str(train)
    with pytest.raises(TunesmithError, match="already holds a run"):
        train_benchmark(train, valid, tmp_path / "run", overrides=overrides, progress=False)


def test_transposition_mixture_is_reported_beside_the_network_alone(tmp_path, splits):
    train, valid = splits
    overrides = {**TINY, "model": {**TINY.get("model", {}), "mixture_transpositions": 1},
                 "training": {**TINY["training"], "epochs": 1}}
    results = train_benchmark(train, valid, tmp_path / "mix", overrides=overrides, progress=False)
    assert results["mixture_transpositions"] == 1
    assert results["nll_per_frame"]["train"] == results["single_network"]["train"]
    assert results["nll_per_frame"]["valid"] != pytest.approx(results["single_network"]["valid"])
    alone = score_run(tmp_path / "mix", {"valid": valid}, mixture=0)["valid"]
    assert alone == pytest.approx(results["single_network"]["valid"], rel=1e-6)
