"""Every run in pretrained/ loads and generates; the polyphonic benchmark runs score their valid split as
BENCHMARKS.md says, and the zoo's chorale models write four named voices in the asked key.

The benchmark files are not part of the project: scoring reads them from ../shared/data beside the checkout
(where CI has them) and is skipped, saying so, where they are absent. Loading and generating need nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tunesmith.controls.controls import Controls
from tunesmith.generation.run import load_run
from tunesmith.training.polyphonic_benchmark import score_run

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "pretrained"
ALL_RUNS = sorted(p.name for p in PRETRAINED.iterdir() if (p / "model.safetensors").exists())
RUNS = [run for run in ALL_RUNS if run.startswith("polyphonic-")]  # the benchmark runs
MUSIC_RUNS = [run for run in ALL_RUNS if run not in RUNS]  # the zoo's other models
# BENCHMARKS.md's table (valid NLL in nats per frame): run -> (as the run scores, the network alone)
PUBLISHED = {
    "polyphonic-jsb": (4.747, 4.931), "polyphonic-jsb-2": (4.706, 4.847), "polyphonic-jsb-strict": (5.485, 5.485),
    "polyphonic-nottingham": (2.040, 2.148), "polyphonic-nottingham-strict": (2.077, 2.077),
    "polyphonic-musedata": (5.366, 5.455), "polyphonic-musedata-strict": (5.584, 5.584),
    "polyphonic-pianomidi": (6.524, 6.612), "polyphonic-pianomidi-strict": (6.942, 6.942),
}


def _valid_file(run: str) -> Path:
    relative = json.loads((PRETRAINED / run / "results.json").read_text())["files"]["valid"]
    path = (ROOT / relative).resolve()
    if not path.exists():
        pytest.skip(f"the benchmark file {relative} is not beside this checkout")
    return path


def test_every_published_run_is_shipped():
    assert RUNS == sorted(PUBLISHED)


@pytest.mark.parametrize("run", MUSIC_RUNS)
def test_a_zoo_model_loads_and_generates_named_voices_in_the_asked_key(run):
    torch.set_num_threads(1)
    loaded = load_run(run)  # by its zoo name
    piece = loaded.generate(Controls(num=1, bars=2, seed=0, key="D major"))[0]
    assert piece.bars == 2 and piece.note_count > 0
    assert [(int(k.key), int(k.tonality)) for k in piece.score.key_signatures] == [(2, 0)]
    if run.startswith("bach-"):
        assert {t.name for t in piece.score.tracks} <= {"Soprano", "Alto", "Tenor", "Bass"}


@pytest.mark.parametrize("run", RUNS)
def test_a_pretrained_run_loads_and_generates(run):
    torch.set_num_threads(1)
    loaded = load_run(PRETRAINED / run)
    assert loaded.family.name == "polyphonic"
    piece = loaded.generate(Controls(num=1, bars=2, seed=0))[0]
    assert piece.bars == 2 and piece.note_count > 0
    assert 21 <= piece.pitch_range[0] <= piece.pitch_range[1] <= 108  # the 88 keys


@pytest.mark.parametrize("run", RUNS)
def test_the_network_alone_scores_as_recorded(run):
    torch.set_num_threads(1)
    results = json.loads((PRETRAINED / run / "results.json").read_text())
    alone = score_run(PRETRAINED / run, {"valid": _valid_file(run)}, mixture=0)["valid"]
    recorded = results.get("single_network", results["nll_per_frame"])["valid"]
    assert alone == pytest.approx(recorded, abs=1e-5)
    assert round(alone, 3) == pytest.approx(PUBLISHED[run][1], abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("runs, published", [(["polyphonic-jsb"], 4.747), (["polyphonic-jsb-2"], 4.706),
                                             (["polyphonic-jsb", "polyphonic-jsb-2"], 4.687),
                                             (["polyphonic-pianomidi"], 6.524)])
def test_transposition_mixtures_and_the_ensemble_score_as_published(runs, published):
    torch.set_num_threads(1)
    score = score_run([PRETRAINED / r for r in runs], {"valid": _valid_file(runs[0])})["valid"]
    assert round(score, 3) == pytest.approx(published, abs=1e-3)
