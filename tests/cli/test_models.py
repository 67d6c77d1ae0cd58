"""`tunesmith models` lists the zoo, and the commands that take a run directory take a zoo model's name
(generate, evaluate, benchmark polyphonic --run), while `attributes`, which writes into the run, refuses one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tunesmith.runs import zoo as zoo_module
from tunesmith.runs.zoo import zoo_models

ROOT = Path(__file__).resolve().parents[2]
SMALL_RUN = ROOT / "pretrained" / "polyphonic-pianomidi-strict"  # 0.2 MB


@pytest.fixture
def small_zoo(tmp_path, monkeypatch) -> Path:
    """The zoo replaced by one copy of a small shipped run, `little`; the current folder is an empty one."""
    zoo = tmp_path / "zoo"
    shutil.copytree(SMALL_RUN, zoo / "little")
    (zoo / "zoo.toml").write_text('[little]\npurpose = "a small piano model"\ncommand = "tunesmith train"\n')
    monkeypatch.setattr(zoo_module, "zoo_folder", lambda: zoo)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return zoo


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_models_lists_the_shipped_zoo(run_cli):
    code, out, err = run_cli("models")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["name", "family", "corpus", "MB"]
    for model in zoo_models():
        row = next(i for i, line in enumerate(lines) if line.split()[:1] == [model.name])
        assert row and lines[row].split()[1:] == [model.family, model.corpus_label, f"{model.size_bytes / 1e6:.1f}"]
        assert lines[row + 1].strip() == model.purpose
    assert "tunesmith generate polyphonic-jsb" in out


def test_models_json(small_zoo, run_cli):
    code, out, err = run_cli("models", "--json")
    assert code == 0, err
    size = sum(p.stat().st_size for p in SMALL_RUN.iterdir())
    config = json.loads((SMALL_RUN / "config.json").read_text())
    assert json.loads(out) == [{"name": "little", "path": str(small_zoo / "little"), "family": "polyphonic",
                                "corpus": config["corpus"]["source"], "size_mb": round(size / 1e6, 1),
                                "purpose": "a small piano model", "command": "tunesmith train", "machine": None}]


def test_an_empty_zoo_says_so(tmp_path, monkeypatch, run_cli):
    monkeypatch.setattr(zoo_module, "zoo_folder", lambda: tmp_path)
    code, out, _ = run_cli("models")
    assert code == 0 and out.strip() == f"no zoo models installed (looked in {tmp_path})"
    code, out, _ = run_cli("models", "--json")
    assert code == 0 and json.loads(out) == []


def test_generate_takes_a_zoo_name_and_writes_only_into_out(small_zoo, tmp_path, run_cli):
    before = snapshot(small_zoo)
    code, out, err = run_cli("generate", "little", "--num", "1", "--bars", "2", "--no-wav", "--no-png",
                             "--out", tmp_path / "out")
    assert code == 0, err
    assert [p.suffix for p in (tmp_path / "out").iterdir()] == [".mid"] and ": 2 bars, " in out
    assert snapshot(small_zoo) == before


def test_an_unknown_name_is_one_line(small_zoo, run_cli):
    code, _, err = run_cli("generate", "large", "--out", "out")
    assert code == 2
    assert err == "error: no run directory or zoo model named 'large' (zoo models: little)\n"


def test_attributes_refuses_a_zoo_model(small_zoo, run_cli):
    before = snapshot(small_zoo)
    code, _, err = run_cli("attributes", "little", "--corpus", "bach")
    assert code == 2
    assert err == (f"error: little is a zoo model, which is not written to: copy its folder ({small_zoo / 'little'}) "
                   "and compute the attributes of the copy\n")
    assert snapshot(small_zoo) == before


def test_benchmark_scores_a_zoo_model_by_name(small_zoo, tmp_path, run_cli):
    test = tmp_path / "test.json"
    test.write_text(json.dumps([[[60, 64, 67], [62], [], [60, 65], [59, 62, 67], [60, 64]]]))
    code, out, err = run_cli("benchmark", "polyphonic", "--run", "little", "--test", test, "--json")
    assert code == 0, err
    by_name = json.loads(out)
    code, out, err = run_cli("benchmark", "polyphonic", "--run", small_zoo / "little", "--test", test, "--json")
    assert code == 0, err
    assert by_name == json.loads(out) and by_name["run"] == str(small_zoo / "little")
    assert by_name["nll_per_frame"]["test"] > 0


def test_evaluate_generates_from_a_zoo_model_by_name(small_zoo, tiny_corpus, tmp_path, run_cli):
    code, _, err = run_cli("evaluate", "little", "--reference", tiny_corpus, "--num", "2", "--bars", "2", "-q",
                           "--json", tmp_path / "eval.json")
    assert code == 0, err
    sets = json.loads((tmp_path / "eval.json").read_text())["sets"]
    assert [(s["label"], s["source"], s["pieces"]) for s in sets] == [("little", f"run {small_zoo / 'little'}", 2)]
