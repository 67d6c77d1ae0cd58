"""The whole evaluation: sets against a reference, the report's files, and `tunesmith evaluate`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tunesmith.errors import TunesmithError
from tunesmith.evaluation import evaluate_sets
from tunesmith.evaluation.evaluate import reason_for, typicality, verdict
from tunesmith.evaluation.features import FEATURES


def _noise(piece_builder, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [piece_builder([[(i / 4, 1 / 4, int(p), 64) for i, p in enumerate(rng.integers(30, 100, 48))]],
                          tpq=480, name=f"noise{k}") for k in range(count)]


@pytest.fixture(scope="module")
def evaluation(chorales, piece_builder):
    """Reference: chorales 0-29; 'copies' = chorales 0-5 transposed, 'fresh' = chorales 30-39, plus noise."""
    copies = [p.transpose(2).copy(name=f"{p.name}-up2") for p in chorales[:6]]
    noise = _noise(piece_builder, 8)
    return evaluate_sets({"copies": ("made in the test", copies), "fresh": ("held out", chorales[30:40]),
                          "noise": ("random notes", noise)},
                         chorales[:30], reference_label="bach")


def test_sets_are_compared_and_copies_caught(evaluation):
    copies, fresh, noise = evaluation.sets
    assert len(copies.copies) == 6 and not fresh.copies and not noise.copies
    assert all(o.transposition == 2 for o in copies.originality)
    assert fresh.mean_overlap > noise.mean_overlap + 0.2
    assert evaluation.ceiling is not None and evaluation.ceiling.pieces == 15
    assert verdict(fresh.mean_overlap, evaluation.ceiling) in ("close", "fairly close")
    assert verdict(noise.mean_overlap, evaluation.ceiling) == "far"
    assert set(copies.comparison) == {f.name for f in FEATURES}
    # the most typical piece is one that does not copy; with only copies there is none
    assert copies.best is None and copies.worst is not None
    assert noise.best is not None and fresh.best is not None


def test_json_has_every_figure_and_no_nan(evaluation):
    data = json.loads(json.dumps(evaluation.to_dict(), allow_nan=False))
    assert data["reference"]["pieces"] == 30
    fresh = data["sets"][1]
    assert fresh["label"] == "fresh" and fresh["pieces"] == 10 and fresh["copies"] == 0
    assert set(fresh["comparison"]) == {f.name for f in FEATURES}
    assert 0 <= fresh["comparison"]["pitch_range"]["overlap"] <= 1
    assert len(fresh["per_piece"]) == 10 and "pitch_class_entropy" in fresh["per_piece"][0]


def test_typicality_is_zero_at_the_reference_mean():
    reference = {f.name: np.array([1.0, 3.0]) for f in FEATURES if not f.vector}
    table = {name: np.array([2.0, 4.0]) for name in reference}
    assert typicality(table, reference) == pytest.approx([0.0, 2.0])  # (4 - 2) / std 1


def test_report_files(evaluation, tmp_path):
    from tunesmith.evaluation.report import write_report

    written = write_report(evaluation, tmp_path)
    markdown = written["markdown"].read_text()
    first_screen = markdown[:1500]
    assert "**copies** (6 pieces): **" in first_screen
    assert "**6 of 6 pieces copy**" in first_screen and "**No piece copies**" in first_screen
    assert "**noise** (8 pieces): **far**" in first_screen
    for name in ("overview", "histograms", "distances"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 10_000
    assert (tmp_path / "rolls" / "fresh-best.png").exists() and (tmp_path / "rolls" / "noise-worst.png").exists()
    assert not (tmp_path / "rolls" / "copies-best.png").exists()
    html = written["html"].read_text()
    assert "<table>" in html and 'src="figures/histograms.png"' in html and "<strong>far</strong>" in html
    assert json.loads(written["json"].read_text())["sets"][0]["copies"] == 6


def test_too_few_pieces_is_a_clear_error(chorales):
    with pytest.raises(TunesmithError, match="at least 2"):
        evaluate_sets({"one": ("x", chorales[:1])}, chorales[:10])
    with pytest.raises(TunesmithError, match="nothing to evaluate"):
        evaluate_sets({}, chorales[:10])


# ---------------- the command ----------------

def _write_folder(pieces, folder):
    folder.mkdir(parents=True)
    for piece in pieces:
        piece.score.dump_midi(str(folder / f"{piece.name}.mid"))
    return folder


def test_command_compares_folders_side_by_side(run_cli, chorales, piece_builder, tmp_path):
    reference = _write_folder(chorales[:20], tmp_path / "reference")
    held_out = _write_folder(chorales[30:36], tmp_path / "held-out")
    noise = _write_folder(_noise(piece_builder, 6, seed=1), tmp_path / "noise")
    code, out, err = run_cli("evaluate", str(held_out), str(noise), "--reference", str(reference),
                             "--json", str(tmp_path / "out.json"), "-q")
    assert code == 0, err
    assert "held-out" in out and "noise" in out and "far" in out
    data = json.loads((tmp_path / "out.json").read_text())
    assert [s["label"] for s in data["sets"]] == ["held-out", "noise"]
    assert data["sets"][0]["mean_overlap"] > data["sets"][1]["mean_overlap"]


def test_command_without_reference_is_a_one_line_error(run_cli, chorales, tmp_path):
    folder = _write_folder(chorales[:3], tmp_path / "generated")
    code, out, err = run_cli("evaluate", str(folder))
    assert code == 2
    assert err.strip().splitlines() == ["error: give --reference (a bundled corpus such as bach, or a folder) "
                                        "to compare against"]
    code, _, err = run_cli("evaluate", str(tmp_path / "missing"), "--reference", str(folder))
    assert code == 2 and "generated set not found" in err


def test_command_generates_from_a_run_directory(run_cli, chorales, tmp_path, monkeypatch):
    import tunesmith.generation.run as run_module

    reference = _write_folder(chorales[:12], tmp_path / "corpus")
    run_dir = tmp_path / "my-run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"family": "fake", "corpus": {"source": str(reference)}}))
    asked = {}

    class FakeRun:
        config = {"corpus": {"source": str(reference), "limit": None}}

        def generate(self, controls):
            asked.update(num=controls.num, bars=controls.bars, seed=controls.seed)
            return [p.transpose(1) for p in chorales[:controls.num]]

    monkeypatch.setattr(run_module, "load_run", lambda path, device="cpu": FakeRun())
    code, out, err = run_cli("evaluate", str(run_dir), "--num", "5", "--bars", "8", "--seed", "3",
                             "--json", str(tmp_path / "run.json"), "--report", str(tmp_path / "report"), "-q")
    assert code == 0, err
    assert asked == {"num": 5, "bars": 8, "seed": 3}
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["reference"]["label"] == str(reference)
    assert data["training"]["label"].endswith("(training split)")
    assert data["sets"][0]["label"] == "my-run" and data["sets"][0]["pieces"] == 5
    assert len(list((tmp_path / "report" / "generated" / "my-run").glob("*.mid"))) == 5
    assert not math.isnan(data["sets"][0]["mean_overlap"])


@pytest.mark.slow
def test_command_on_a_trained_run(run_cli, tiny_rnn_run, tmp_path):
    code, out, err = run_cli("evaluate", str(tiny_rnn_run), "--num", "3", "--bars", "4", "--json",
                             str(tmp_path / "run.json"), "-q")
    assert code == 0, err
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["reference"]["label"] == "bach" and data["training"]["label"] == "bach (training split)"
    generated = data["sets"][0]
    assert generated["pieces"] == 3 and len(generated["originality"]) == 3
    assert all(row["pitch_range"] is not None for row in generated["per_piece"])


# ---------------- files that could not be measured ----------------

def _damaged_files(folder):
    """Three files that are not music, beside the good ones: cut short, empty, and text under a MIDI name."""
    good = next(folder.glob("*.mid")).read_bytes()
    (folder / "cut-short.mid").write_bytes(good[:30])
    (folder / "empty.mid").write_bytes(b"")
    (folder / "notes.mid").write_text("a shopping list, not a MIDI file\n")
    return sorted(str(folder / name) for name in ("cut-short.mid", "empty.mid", "notes.mid"))


def test_command_lists_the_files_it_could_not_measure_and_measures_the_rest(run_cli, chorales, tmp_path):
    from tunesmith.data import load_corpus

    reference = _write_folder(chorales[:12], tmp_path / "reference")
    generated = _write_folder([p.transpose(1).copy(name=f"gen{i}") for i, p in enumerate(chorales[20:26])],
                              tmp_path / "generated")
    damaged = _damaged_files(generated)
    (reference / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06")
    corpus = load_corpus(generated, progress=False)  # the reasons, as the corpus report gives them
    reasons = dict(corpus.rejected)
    assert sorted(reasons) == damaged and len(corpus.pieces) == 6

    code, out, err = run_cli("evaluate", generated, "--reference", reference, "--json", tmp_path / "e.json",
                             "--report", tmp_path / "report", "-q")
    assert code == 0, err
    lines = out.splitlines()
    assert "4 files could not be read, so were not measured:" in lines
    for file in damaged:
        assert f"  generated: {file}: {reason_for(file, reasons[file])}" in lines
    assert any(line.startswith(f"  {reference}: {reference / 'broken.mid'}: ") for line in lines)  # its label

    data = json.loads((tmp_path / "e.json").read_text())
    measured = data["sets"][0]
    assert measured["pieces"] == 6 and len(measured["per_piece"]) == 6  # the readable ones are measured
    assert measured["rejected"] == [{"file": f, "reason": reasons[f]} for f in damaged]  # as corpus stats has it
    assert [r["file"] for r in data["reference"]["rejected"]] == [str(reference / "broken.mid")]

    markdown = (tmp_path / "report" / "report.md").read_text()
    html = (tmp_path / "report" / "report.html").read_text()
    assert f"**Not measured**: 1 file of {reference}; 3 files of generated could not be read" in markdown[:3000]
    assert "## Files that could not be measured" in markdown
    for file in damaged:
        assert f"| generated | `{file}` | {reason_for(file, reasons[file]).replace('|', chr(92) + '|')} |" in markdown
        assert f"<td><code>{file}</code></td>" in html
    assert json.loads((tmp_path / "report" / "evaluation.json").read_text())["sets"][0]["rejected"] == \
        measured["rejected"]


def test_command_without_unreadable_files_says_nothing_of_them(run_cli, chorales, tmp_path):
    reference = _write_folder(chorales[:10], tmp_path / "reference")
    generated = _write_folder(chorales[30:33], tmp_path / "generated")
    code, out, err = run_cli("evaluate", generated, "--reference", reference, "--report", tmp_path / "r", "-q")
    assert code == 0, err
    assert "could not be read" not in out
    assert "Not measured" not in (tmp_path / "r" / "report.md").read_text()


def test_a_set_left_too_small_by_unreadable_files_says_which(run_cli, chorales, tmp_path):
    reference = _write_folder(chorales[:10], tmp_path / "reference")
    generated = _write_folder(chorales[30:31], tmp_path / "generated")
    damaged = _damaged_files(generated)
    code, out, err = run_cli("evaluate", generated, "--reference", reference, "-q")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"error: set 'generated' has 1 piece(s); comparing sets needs at least 2 (3 of its files "
                          f"could not be read, e.g. {damaged[0]}: ")


class _Rejected:
    """A rejected file as an object (source, reason), as tunesmith.data may list them."""

    def __init__(self, source, reason):
        self.source, self.reason = source, reason


@pytest.mark.parametrize("listed", [lambda f, r: (f, r), lambda f, r: [f, r], _Rejected])
def test_evaluate_sets_takes_a_corpus_s_rejected_files_in_either_form(chorales, listed):
    rejected = [("a/x.mid", "a/x.mid: the file is empty"), ("a/y.mid", "not readable as music (bad chunk)")]
    evaluation = evaluate_sets({"a": ("a", chorales[30:34])}, chorales[:10], ceiling=False,
                               rejected={"a": [listed(f, r) for f, r in rejected]},
                               reference_rejected=[listed("ref/z.mid", "no notes")])
    assert evaluation.sets[0].rejected == rejected
    assert evaluation.rejected == [("reference", ("ref/z.mid", "no notes")), *[("a", r) for r in rejected]]
    data = evaluation.to_dict()
    assert data["sets"][0]["rejected"] == [{"file": f, "reason": r} for f, r in rejected]
    assert data["reference"]["rejected"] == [{"file": "ref/z.mid", "reason": "no notes"}]
    assert reason_for("a/x.mid", "a/x.mid: the file is empty") == "the file is empty"
    assert reason_for("a/y.mid", "not readable as music (bad chunk)") == "not readable as music (bad chunk)"
