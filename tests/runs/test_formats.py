"""config.json's format: runs written in format 1 (flat settings, derived sizes, settings missing from runs saved
before they existed) are migrated to format 2 before their settings are read, to exactly the settings they had."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tunesmith.config import config_from_dict, config_to_dict
from tunesmith.errors import TunesmithError
from tunesmith.models import get_family
from tunesmith.models.gan_config import GANConfig
from tunesmith.runs.files import CONFIG_FILE, read_config, write_config
from tunesmith.runs.formats import FORMAT, format_1_to_2, migrate

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = sorted(p for p in (ROOT / "pretrained").iterdir() if (p / CONFIG_FILE).exists())
# the polyphonic benchmark runs were written in format 1; the zoo's later runs in the current format
FORMAT_1_RUNS = [p for p in PRETRAINED if "format" not in json.loads((p / CONFIG_FILE).read_text())]
CURRENT_RUNS = [p for p in PRETRAINED if p not in FORMAT_1_RUNS]

# what format 1 wrote for a run with every default (dataclasses.asdict of the format 1 config classes)
FORMAT_1_DEFAULTS = {
    "gan": {"bars": 4, "latent_dim": 32, "generator_channels": 64, "critic_channels": 32, "critic_steps": 2,
            "gp_weight": 10.0, "generator_lr": 0.001, "critic_lr": 0.001, "ema_decay": 0.995, "condition_prob": 0.5,
            "phrase_hop": 1, "transpose": 3, "phrase_drift": 0.5, "velocity_weight": 3.0, "max_valid_phrases": 256,
            "pitch_steps": 2, "track_gates": True, "key_normalize": True, "gate_steps": 1, "metre_start": False,
            "voice_limit": False, "single_strikes": False, "bar_gates": False, "learn_bar_gates": True,
            "critic_bar_summary": False},
    "vae": {"segment_bars": 2, "latent_size": 256, "embed_size": 48, "velocity_embed_size": 8, "encoder_size": 192,
            "encoder_layers": 1, "decoder_size": 384, "decoder_layers": 1, "hierarchical": False,
            "conductor_size": 256, "conductor_layers": 1, "dropout": 0.0, "free_bits": 256.0, "max_beta": 0.2,
            "beta_warmup_steps": 1500, "scheduled_sampling": 0.5, "scheduled_sampling_steps": 1500,
            "velocity_weight": 1.0, "chunk_loss": 0.0, "bar_paths": False, "fitted_prior": True, "segment_hop_bars": 1,
            "max_rest_bars": 1.0, "voices": 1, "events": 90, "velocity_bins": 32, "steps_per_bar": 16},
    "polyphonic": {"hidden": 256, "layers": 1, "made_hidden": 512, "dropout": 0.3, "input_dropout": 0.0,
                   "transpose": 6, "window": 200, "mixture_transpositions": 0, "architecture": "lstm-nade",
                   "window_keys": 12, "key_embed": 8},
    "rnn": {"cell": "lstm", "layers": 2, "width": 256, "embedding": 128, "dropout": 0.1, "tie_embeddings": True,
            "window": 256, "pitch_features": False, "vocab_size": 310, "pad_id": 0},
    "transformer": {"layers": 4, "width": 256, "heads": 4, "ff_mult": 4, "dropout": 0.1, "tie_embeddings": True,
                    "window": 512, "rope_base": 10000.0, "pitch_features": True, "vocab_size": 310, "pad_id": 0},
}


def migrated(family: str, model: dict) -> dict:
    return format_1_to_2({"family": family, "model": model, "training": {"lr": 0.001}}, "the run")


@pytest.mark.parametrize("family", sorted(FORMAT_1_DEFAULTS))
def test_a_format_1_run_of_defaults_becomes_the_defaults_of_now(family):
    config_class = get_family(family).config_class
    after = migrated(family, FORMAT_1_DEFAULTS[family])
    assert after["training"] == {"lr": 0.001} and after["family"] == family  # only the model's settings move
    assert config_to_dict(config_from_dict(config_class, after["model"])) == after["model"]  # every one is known
    assert config_from_dict(config_class, after["model"]) == config_class()


def test_format_1_gan_settings_move_into_sections_and_runs_saved_before_a_setting_keep_what_they_had():
    model = {k: v for k, v in FORMAT_1_DEFAULTS["gan"].items()
             if k not in ("pitch_steps", "track_gates", "key_normalize")}  # a run saved before these existed
    after = migrated("gan", {**model, "critic_steps": 5, "voice_limit": False})["model"]
    assert after["critic"] == {"channels": 32, "steps": 5, "lr": 0.001, "gp_weight": 10.0, "velocity_weight": 3.0}
    assert after["generator"]["pitch_steps"] == 1 and after["gates"]["track"] is False
    assert after["phrases"] == {"hop": 1, "max_valid": 256, "condition_prob": 0.5, "transpose": 3,
                                "key_normalize": False}  # pieces left in their keys, transposed up to 3
    assert not {"metre_start", "single_strikes", "critic_bar_summary"} & set(after)
    unused = migrated("gan", {**model, "gate_steps": 2, "track_gates": False, "key_normalize": True, "transpose": 5})
    assert unused["model"]["gates"]["steps"] == 1 and unused["model"]["phrases"]["transpose"] == 0  # they did nothing
    config_from_dict(GANConfig, unused["model"])  # and format 2 would refuse them


def test_format_1_runs_that_used_a_removed_setting_are_refused_saying_why():
    for name in ("metre_start", "single_strikes", "critic_bar_summary"):
        with pytest.raises(TunesmithError) as raised:
            migrated("gan", {**FORMAT_1_DEFAULTS["gan"], name: True})
        assert str(raised.value) == (f"the run was trained with {name} = true, a setting tunesmith no longer has "
                                     f"(it did not help: docs/experiments.md); train it again")


def test_format_1_vae_and_token_runs_lose_their_derived_sizes_and_keep_missing_settings_as_they_were():
    vae = {k: v for k, v in FORMAT_1_DEFAULTS["vae"].items() if k != "fitted_prior"}
    after = migrated("vae", {**vae, "chunk_loss": 1.0, "hierarchical": True, "bar_paths": True})["model"]
    assert after["fitted_prior"] is False and after["loss"]["chunk_weight"] == 1.0
    assert not {"voices", "events", "velocity_bins", "steps_per_bar"} & set(after)
    old = {k: v for k, v in FORMAT_1_DEFAULTS["transformer"].items() if k != "pitch_features"}
    assert migrated("transformer", old)["model"]["pitch_features"] is False
    assert "vocab_size" not in migrated("rnn", FORMAT_1_DEFAULTS["rnn"])["model"]


def test_the_benchmark_runs_are_format_1_and_the_zoos_later_runs_the_current_format():
    assert len(FORMAT_1_RUNS) >= 9 and all(p.name.startswith("polyphonic-") for p in FORMAT_1_RUNS)
    assert {"bach-transformer", "folk-transformer"} <= {p.name for p in CURRENT_RUNS}


@pytest.mark.parametrize("run", CURRENT_RUNS, ids=lambda p: p.name)
def test_a_run_in_the_current_format_is_read_as_it_was_saved(run):
    saved = json.loads((run / CONFIG_FILE).read_text())
    assert saved["format"] == FORMAT and read_config(run) == saved


@pytest.mark.parametrize("run", FORMAT_1_RUNS, ids=lambda p: p.name)
def test_every_pretrained_run_migrates_to_the_settings_it_was_trained_with(run):
    saved = json.loads((run / CONFIG_FILE).read_text())
    config = read_config(run)
    assert config["format"] == FORMAT and list(config)[0] == "format"
    assert {k: v for k, v in config.items() if k not in ("format", "model")} == {
        k: v for k, v in saved.items() if k != "model"}
    tied = config["model"].pop("tied", {})
    assert {**config["model"], **tied} == saved["model"]  # the same values, the tied network's in their section
    model = config_from_dict(get_family("polyphonic").config_class, read_config(run)["model"])
    assert config_to_dict(model.tied) == {"window_keys": 12, "key_embed": 8}  # as saved, or from before they existed
    assert model.architecture == saved["model"].get("architecture", "lstm-nade")


def test_the_current_format_is_written_first_read_as_it_is_and_newer_formats_are_refused(tmp_path):
    write_config(tmp_path, {"format": 1, "family": "rnn", "model": {"width": 48}})
    text = (tmp_path / CONFIG_FILE).read_text()
    assert f'\n  "format": {FORMAT},\n' in text and FORMAT == 3  # always the current format, whatever the dict said
    assert read_config(tmp_path)["model"] == {"width": 48}
    (tmp_path / CONFIG_FILE).write_text(text.replace('"format": 3', '"format": 4'))
    with pytest.raises(TunesmithError) as raised:
        read_config(tmp_path)
    assert str(raised.value) == (f"{tmp_path} was written by a newer tunesmith (config.json format 4; this one reads "
                                 f"up to 3): update tunesmith to load it")
    for bad in ("2", 0, True):
        with pytest.raises(TunesmithError, match="no valid format number"):
            migrate({"format": bad, "family": "rnn", "model": {}}, "here")


def test_a_format_2_token_run_keeps_merging_tracks_that_share_a_program():
    config = {"format": 2, "family": "rnn", "model": {"width": 48},
              "representation": {"kind": "tokens", "tokenization": "REMI"}}
    assert migrate(config, "the run") == {**config, "format": 3}


def test_a_format_1_run_directory_loads(tmp_path):
    from tunesmith.runs import load_trained

    run = tmp_path / "run"
    shutil.copytree(ROOT / "pretrained" / "polyphonic-pianomidi-strict", run)
    loaded = load_trained(run)
    assert loaded.model.config.architecture == "tied" and loaded.model.config.tied.window_keys == 12
    assert json.loads((run / CONFIG_FILE).read_text()) == json.loads(
        (ROOT / "pretrained" / "polyphonic-pianomidi-strict" / CONFIG_FILE).read_text())  # loading writes nothing
