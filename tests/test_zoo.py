"""The zoo: the shipped index agrees with the run directories beside it, names resolve (a run directory first,
then a zoo name, else one line listing the zoo), and loading a zoo model writes nothing into the zoo."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
import torch

import tunesmith
from tunesmith.controls.controls import Controls
from tunesmith.errors import TunesmithError
from tunesmith.generation.presets import PRESET_DIRS, available_presets
from tunesmith.runs import CHECKPOINT_FILE, CONFIG_FILE, MODEL_FILE, load_trained
from tunesmith.runs import zoo as zoo_module
from tunesmith.runs.zoo import (
    corpus_label,
    resolve_run,
    shipped_folder,
    zoo_folder,
    zoo_index,
    zoo_model,
    zoo_models,
)

ROOT = Path(__file__).resolve().parents[1]
SMALL_RUN = ROOT / "pretrained" / "polyphonic-pianomidi-strict"  # 0.2 MB: the smallest shipped run


def files_and_times(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time (to show nothing was written)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def small_zoo(tmp_path) -> Path:
    """A zoo of two copies of a shipped run, an index naming them and a folder the index does not name."""
    zoo = tmp_path / "zoo"
    for name in ("alpha", "beta", "unlisted"):
        shutil.copytree(SMALL_RUN, zoo / name)
    (zoo / "zoo.toml").write_text('[beta]\npurpose = "the second"\ncommand = "tunesmith train -o beta"\n'
                                  '[alpha]\npurpose = " the first "\ncommand = "tunesmith train -o alpha"\n'
                                  'machine = "a laptop"\n[gamma]\npurpose = "not trained yet"\ncommand = "x"\n')
    return zoo


def test_the_shipped_index_names_every_run_beside_it_and_nothing_else():
    folder = zoo_folder()
    assert folder == ROOT / "pretrained"  # in a source checkout, the folder at the repository root
    runs = sorted(p.name for p in folder.iterdir() if (p / CONFIG_FILE).exists())
    index = tomllib.loads((folder / "zoo.toml").read_text())
    assert sorted(index) == runs
    assert [m.name for m in zoo_models()] == list(index)  # every entry is a trained run, in the index's order
    for model in zoo_models():
        assert (model.path / MODEL_FILE).exists() and not (model.path / CHECKPOINT_FILE).exists()
        config = json.loads((model.path / CONFIG_FILE).read_text())
        if config["representation"]["kind"] == "tokens":
            assert (model.path / "tokenizer.json").exists()
        assert model.family == config["family"] and model.purpose and model.command.startswith("tunesmith ")
        assert model.size_bytes <= 10_000_000, model.name  # each shipped run at most 10 MB
        if not model.name.startswith("polyphonic-"):  # the zoo's music models: their card is written
            assert (model.path / "README.md").read_text().startswith(f"# {model.name}\n")
    music = [m for m in zoo_models() if not m.name.startswith("polyphonic-")]
    assert {m.family for m in music} == {"transformer", "rnn", "vae", "gan"}  # every family that writes music
    assert sum(m.size_bytes for m in music) <= 60_000_000  # all of them together at most 60 MB


def test_a_zoo_model_says_what_it_is(small_zoo):
    models = zoo_models(small_zoo)
    assert [m.name for m in models] == ["beta", "alpha"]  # the index's order; gamma has no run, unlisted no entry
    alpha = models[1]
    config = json.loads((SMALL_RUN / CONFIG_FILE).read_text())
    assert alpha.path == small_zoo / "alpha" and alpha.family == "polyphonic"
    assert alpha.corpus == config["corpus"]["source"] and alpha.corpus_label == "piano_midi_de"
    assert alpha.size_bytes == sum(p.stat().st_size for p in SMALL_RUN.iterdir())
    assert (alpha.purpose, alpha.command, alpha.machine) == ("the first", "tunesmith train -o alpha", "a laptop")
    assert models[0].machine is None
    assert alpha.to_dict()["size_mb"] == round(alpha.size_bytes / 1e6, 1)
    assert zoo_model("gamma", small_zoo) is None and zoo_model("unlisted", small_zoo) is None


@pytest.mark.parametrize("source, label", [
    ("bach", "bach"), ("../shared/data/jsb_chorales/jsb_chorales_train.json", "jsb_chorales"),
    ("../shared/data/pop909/midi", "pop909"), ("/home/me/tunes", "tunes"), ("data", "data"),
])
def test_corpus_label(source, label):
    assert corpus_label(source) == label


def test_a_name_resolves_to_the_zoo_and_a_run_directory_wins(small_zoo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_run("alpha", small_zoo) == small_zoo / "alpha"
    shutil.copytree(SMALL_RUN, tmp_path / "alpha")  # a run directory of the same name, here
    assert resolve_run("alpha", small_zoo) == Path("alpha")
    (tmp_path / "beta").mkdir()  # a folder that is not a run does not hide the zoo model
    assert resolve_run("beta", small_zoo) == small_zoo / "beta"
    (tmp_path / "plain").mkdir()  # nor is an existing folder that is no zoo name turned into an error here
    assert resolve_run("plain", small_zoo) == Path("plain")
    assert resolve_run(tmp_path / "nowhere", small_zoo) == tmp_path / "nowhere"  # a path: the loader says
    assert resolve_run("sub/beta", small_zoo) == Path("sub/beta")


def test_an_unknown_name_is_one_line_listing_the_zoo(small_zoo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TunesmithError) as raised:
        resolve_run("gamma", small_zoo)
    assert str(raised.value) == "no run directory or zoo model named 'gamma' (zoo models: beta, alpha)"
    with pytest.raises(TunesmithError, match=r"named 'x' \(zoo models: none installed\)"):
        resolve_run("x", tmp_path / "empty")


@pytest.mark.parametrize("index, message", [
    ('[a]\npurpose = "p"\ncommand = "c"\nlicence = "MIT"\n', r"\[a\]: unknown key\(s\) licence"),
    ('[a]\ncommand = "c"\n', r"\[a\] needs purpose \(text\)"),
    ('[a]\npurpose = " "\ncommand = 3\n', r"\[a\] needs purpose and command \(text\)"),
    ('a = "p"\n', "a must be a table"),
    ("[a\n", "is not valid TOML"),
])
def test_the_index_is_strict(tmp_path, index, message):
    (tmp_path / "zoo.toml").write_text(index)
    with pytest.raises(TunesmithError, match=message):
        zoo_index(tmp_path)


def test_load_run_takes_a_zoo_name_and_writes_nothing_into_the_zoo(small_zoo, tmp_path, monkeypatch):
    monkeypatch.setattr(zoo_module, "zoo_folder", lambda: small_zoo)
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    before = files_and_times(small_zoo)
    run = tunesmith.load_run("alpha")  # the package's own name for it
    assert run.path == small_zoo / "alpha" and run.family.name == "polyphonic"
    piece = run.generate(Controls(num=1, bars=2, seed=0))[0]
    assert piece.bars == 2 and piece.note_count > 0
    assert load_trained("beta").path == small_zoo / "beta"
    assert files_and_times(small_zoo) == before


def test_shipped_folders_come_from_the_installed_package_when_it_has_them(tmp_path, monkeypatch):
    assert shipped_folder("configs") == ROOT / "configs"
    assert PRESET_DIRS == [ROOT / "configs" / "presets"] and "jingle" in available_presets()
    (tmp_path / "_data" / "pretrained").mkdir(parents=True)
    monkeypatch.setattr(zoo_module.resources, "files", lambda package: tmp_path)
    assert shipped_folder("pretrained") == tmp_path / "_data" / "pretrained"
    assert shipped_folder("configs") == ROOT / "configs"  # not in this package: the checkout's


@pytest.mark.parametrize("density", ["low", "high"])
def test_the_pop909_gan_asked_for_a_density_still_writes_every_bar(density):
    # a roll threshold that leaves a piece silent came nearest the asked notes per bar: empty pieces
    run = tunesmith.load_run("pop909-gan")
    pieces = run.generate(Controls(num=6, bars=4, seed=0, attempts=1, density=density))
    assert [p.bars for p in pieces] == [4] * 6 and all(p.note_count > 0 for p in pieces)


@pytest.mark.parametrize("name", ["pop909-gan", "bach-gan"])
def test_the_gans_density_follows_the_thirds_of_their_corpus(name):
    run = tunesmith.load_run(name)
    low_edge, high_edge = run.representation.density_edges  # the training split's notes per bar, in thirds
    rates = {d: [p.note_count / p.bars for p in run.generate(Controls(num=6, bars=4, seed=3, attempts=1, density=d))]
             for d in ("low", "high")}
    assert all(lo < hi for lo, hi in zip(rates["low"], rates["high"], strict=True))  # each pair, the same seed
    assert sum(rates["low"]) / 6 < low_edge < sum(rates["high"]) / 6
    assert 12 < low_edge < high_edge < 30  # four voices' or three tracks' notes per bar of 4 beats
