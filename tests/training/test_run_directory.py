"""The run directory README promises: split.json by a hash of each piece's identity, config.json with the
settings and library versions, tokenizer.json that rebuilds the tokenizer, metrics.jsonl, the best weights."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import shutil
from importlib import metadata

import miditok
import pytest
import symusic
import torch

from tunesmith.data import load_corpus, split_pieces
from tunesmith.data.splits import split_of
from tunesmith.generation.run import load_run
from tunesmith.models import config_from_dict, get_family
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.training.loop import TrainConfig, evaluate, learning_rate
from tunesmith.training.trainer import train

# what the tiny_rnn_run fixture (tests/conftest.py) trains with
FIXTURE_TRAINING = {"max_steps": 60, "batch_size": 8, "lr": 1e-2, "warmup_steps": 5, "augment": False}
RUN_FILES = {"config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl", "split.json",
             "checkpoint.safetensors"}


def placements(split: dict[str, list[str]]) -> dict[str, str]:
    """Each piece's own split; a valid list that only repeats the train list (a corpus with no piece hashed
    to valid validates on train) places nothing."""
    out = {name: part for part in ("train", "test") for name in split[part]}
    out.update({name: "valid" for name in split["valid"] if name not in split["train"]})
    return out


def test_the_run_directory_holds_every_promised_file_and_no_leftovers(tiny_rnn_run):
    assert {p.name for p in tiny_rnn_run.iterdir()} == RUN_FILES  # no temporary files of atomic writes left


def test_split_json_places_each_piece_by_a_hash_of_its_identity(tiny_rnn_run):
    split = json.loads((tiny_rnn_run / "split.json").read_text())
    sources = [p.source for p in load_corpus("bach", limit=6, progress=False).pieces]
    assert sorted(placements(split)) == sorted(sources)
    assert all(split_of(name) == part for name, part in placements(split).items())
    # no chorale of these six hashes to valid, so the run validates on its train split (and says so)
    assert not [s for s in sources if split_of(s) == "valid"] and split["valid"] == split["train"]
    assert split["test"] and not set(split["test"]) & set(split["train"])


def test_adding_files_to_the_folder_moves_no_other_piece(tiny_corpus, tmp_path):
    tiny = {"layers": 1, "width": 16, "embedding": 8, "window": 32, "dropout": 0.0}
    first, second = tmp_path / "corpus", tmp_path / "elsewhere" / "corpus"
    shutil.copytree(tiny_corpus, first)
    train("rnn", str(first), tmp_path / "before", model_overrides=tiny, training_overrides={"max_steps": 1},
          progress=False)
    shutil.copytree(tiny_corpus, second)  # the same files in another place, and eight more
    for i, old in enumerate(sorted(tiny_corpus.glob("*.mid"))[:8]):
        shutil.copy(old, second / f"added-{i}.mid")
    train("rnn", str(second), tmp_path / "after", model_overrides=tiny, training_overrides={"max_steps": 1},
          progress=False)
    before = placements(json.loads((tmp_path / "before" / "split.json").read_text()))
    after = placements(json.loads((tmp_path / "after" / "split.json").read_text()))
    assert len(before) == 12 and len(after) == 20
    assert {name: after[name] for name in before} == before
    assert all(after[f"added-{i}.mid"] == split_of(f"added-{i}.mid") for i in range(8))
    assert set(after.values()) == {"train", "valid", "test"}  # the added pieces reach every split


def test_config_json_records_the_settings_and_library_versions(tiny_rnn_run):
    config = json.loads((tiny_rnn_run / "config.json").read_text())
    assert set(config) == {"format", "family", "model", "representation", "training", "corpus", "versions"}
    assert config["format"] == 3
    for library in ("torch", "symusic", "miditok", "music21", "numpy", "safetensors", "tunesmith"):
        assert config["versions"][library] == metadata.version(library), library
    assert config["versions"]["python"] == platform.python_version()
    assert config["family"] == "rnn"
    assert config["training"] == dataclasses.asdict(TrainConfig(**FIXTURE_TRAINING))
    assert config["corpus"] == {"source": "bach", "limit": 6, "pieces": 6, "rejected": 0, "read_limits": {}}
    run = load_run(tiny_rnn_run)  # the weights fit the model the config describes
    assert config["model"] == dataclasses.asdict(run.model.config)
    assert (config["model"]["cell"], config["model"]["layers"], config["model"]["width"]) == ("lstm", 1, 48)
    assert "vocab_size" not in config["model"] and run.model.embed.num_embeddings == run.representation.vocab_size > 100
    assert config["representation"] == run.representation.to_dict()
    assert config["representation"]["kind"] == "tokens" and config["representation"]["tokenization"] == "REMI"


def test_tokenizer_json_rebuilds_the_same_tokenizer(tiny_rnn_run, chorales):
    saved = json.loads((tiny_rnn_run / "tokenizer.json").read_text())
    assert saved["tokenization"] == "REMI" and saved["miditok_version"] == metadata.version("miditok")
    representation = json.loads((tiny_rnn_run / "config.json").read_text())["representation"]
    rebuilt = TokenRepresentation.from_dict(representation, tiny_rnn_run)
    direct = miditok.REMI(params=tiny_rnn_run / "tokenizer.json")
    from_settings = TokenRepresentation.from_dict(representation)  # no file: the same settings, a new tokenizer
    assert rebuilt.tokenizer.vocab == direct.vocab == from_settings.tokenizer.vocab
    assert len(rebuilt.tokenizer.vocab) > 100
    ids = rebuilt.encode(chorales[0])
    assert len(ids) > 100 and ids == load_run(tiny_rnn_run).representation.encode(chorales[0])
    assert ids == from_settings.encode(chorales[0])
    decoded = rebuilt.decode(ids)
    assert decoded.note_count == chorales[0].note_count


def test_metrics_jsonl_logs_every_tenth_step_and_every_validation(tiny_rnn_run, metrics_of, state_of):
    records = metrics_of(tiny_rnn_run)
    steps = [r for r in records if "loss" in r]
    valid = [r for r in records if "valid_loss" in r]
    assert len(steps) + len(valid) == len(records)
    assert [r["step"] for r in steps] == [1, 10, 20, 30, 40, 50, 60]
    config = TrainConfig(**FIXTURE_TRAINING)
    for r in steps:
        assert r["lr"] == pytest.approx(learning_rate(r["step"] - 1, config, 60), rel=1e-12)
        assert math.isfinite(r["loss"]) and r["loss"] == r["nll"] and r["grad_norm"] > 0 and r["tokens"] > 0
    assert steps[0]["lr"] == pytest.approx(0.002) and steps[-1]["loss"] < 0.6 * steps[0]["loss"]
    # a validation at the end of every epoch and one at the last step
    epoch_steps = valid[0]["step"]
    assert [r["step"] for r in valid] == [*range(epoch_steps, 60, epoch_steps), 60]
    assert [r["epoch"] for r in valid[:-1]] == list(range(1, len(valid)))
    best_so_far = math.inf
    for r in valid:
        assert r["best"] == (r["valid_loss"] < best_so_far)
        best_so_far = min(best_so_far, r["valid_loss"])
    assert state_of(tiny_rnn_run)["step"] == 60

    # model.safetensors holds the weights that scored best on the valid split
    run = load_run(tiny_rnn_run)
    pieces = load_corpus("bach", limit=6, progress=False).pieces
    family = get_family("rnn")
    model_config = config_from_dict(family.config_class, json.loads((tiny_rnn_run / "config.json").read_text())["model"])
    data = family.make_dataset(split_pieces(pieces)["valid"], run.representation, model_config, 0, train=False)
    with torch.no_grad():
        score = evaluate(run.model, data, config.batch_size, torch.device("cpu"))
    assert score == pytest.approx(best_so_far, rel=1e-5)


def test_resume_reads_the_corpus_within_the_limits_the_run_was_started_with(tiny_corpus, tmp_path):
    """`train --read-limit notes=150` rejects a 400-note file; `train --resume` with no --read-limit rejects it
    too (the run's config.json keeps the limits it changed), and one given at resume goes on top."""
    from tunesmith.data import DEFAULT_LIMITS, ReadLimits

    tiny = {"layers": 1, "width": 16, "embedding": 8, "window": 32, "dropout": 0.0}
    corpus, run = tmp_path / "corpus", tmp_path / "run"
    shutil.copytree(tiny_corpus, corpus)
    big = symusic.Score(480)
    big.tracks.append(symusic.Track("Piano", program=0))
    big.tracks[0].notes.extend(symusic.Note(i * 120, 120, 60 + i % 12, 80) for i in range(400))
    big.dump_midi(str(corpus / "big.mid"))

    def corpus_record(steps, limits, resume=False):
        train("rnn", str(corpus), run, model_overrides=tiny, training_overrides={"max_steps": steps},
              progress=False, read_limits=limits, resume=resume)
        return json.loads((run / "config.json").read_text())["corpus"]

    first = corpus_record(1, ReadLimits(notes=150))
    assert (first["rejected"], first["read_limits"]) == (1, {"notes": 150})
    resumed = corpus_record(2, DEFAULT_LIMITS, resume=True)
    assert (resumed["rejected"], resumed["read_limits"]) == (1, {"notes": 150})
    widened = corpus_record(3, ReadLimits(notes=1000, seconds=30), resume=True)
    assert (widened["rejected"], widened["read_limits"]) == (0, {"notes": 1000, "seconds": 30})
