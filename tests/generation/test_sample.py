"""The token sampler under controls, on a tiny trained Transformer: what is asked is what is written."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

import tunesmith.cli.main as cli_main
from tunesmith.cli.main import app
from tunesmith.errors import ControlError
from tunesmith.generation.controls import Controls
from tunesmith.generation.run import load_run
from tunesmith.generation.sample import generate_tokens
from tunesmith.piece import Piece
from tunesmith.theory import parse_key


@pytest.fixture(scope="module")
def run(tiny_run):
    return load_run(tiny_run)


def notes(piece: Piece, lo_bar: int = 0, hi_bar: int = 10_000) -> list[tuple]:
    bar = piece.bar_ticks
    return sorted((t.program, n.time, n.duration, n.pitch, n.velocity) for t in piece.score.tracks for n in t.notes
                  if lo_bar * bar <= n.time < hi_bar * bar)


def test_scale_lock_keeps_every_note_in_the_scale_over_many_seeds(run):
    scale = set(parse_key("E minor").scale)
    for seed in range(3):
        for piece in run.generate(Controls(num=4, bars=2, seed=seed, key="E minor", scale_lock=True, temperature=1.5)):
            assert piece.note_count > 0
            assert {int(p) % 12 for p in piece.pitches()} <= scale


def test_bars_instruments_tempo_and_meter_are_met_in_the_written_midi(run, tmp_path):
    controls = Controls(num=2, bars=3, seed=1, tempo=87, time_signature="3/4", instruments=["flute", "violin", "cello"])
    for i, piece in enumerate(run.generate(controls)):
        back = Piece.load(piece.save(tmp_path / f"p{i}.mid"))
        assert back.bars == 3
        assert back.time_signature == (3, 4)
        assert abs(back.tempo - 87) < 0.01
        assert sorted(p for _, p, _ in back.instruments) == [40, 42, 73]
        assert all(v["ok"] for v in piece.tags["checks"].values() if v["hard"])


def test_seconds_become_whole_bars_at_an_exact_tempo(run):
    piece = run.generate(Controls(num=1, seconds=12, time_signature="4/4"))[0]
    assert piece.bars == 6 and abs(piece.bars * piece.bar_ticks / piece.tpq * 60 / piece.tempo - 12) < 0.01


def test_infill_keeps_the_bars_outside_the_gap(run, tiny_corpus):
    primer = Piece.load(tiny_corpus / "piece00.mid")
    for piece in run.generate(Controls(num=2, seed=3, primer=primer, infill="3-4")):
        assert piece.bars == primer.bars
        assert notes(piece, 0, 2) == notes(primer, 0, 2)
        assert notes(piece, 4) == notes(primer, 4)
        assert notes(piece, 2, 4)  # the gap was written


def test_continuation_keeps_the_primer(run, tiny_corpus):
    primer = Piece.load(tiny_corpus / "piece01.mid").bars_slice(0, 2)
    piece = run.generate(Controls(num=1, bars=4, primer=primer))[0]
    assert piece.bars == 4 and notes(piece, 0, 2) == notes(primer, 0, 2)


def test_loopable_ends_at_the_loop_point(run):
    for piece in run.generate(Controls(num=2, bars=4, loopable=True, key="G major", end_on_tonic=True)):
        end = 4 * piece.bar_ticks
        assert piece.bars == 4
        assert all(n.time + n.duration <= end for t in piece.score.tracks for n in t.notes)
        assert piece.tags["checks"]["end_on_tonic"]["ok"]


def test_key_value_cache_gives_the_same_tokens(run):
    controls = Controls(num=2, bars=2, seed=5, key="C major")
    cached = generate_tokens(run, controls, use_cache=True)
    recomputed = generate_tokens(run, controls, use_cache=False)
    assert [notes(p) for p in cached] == [notes(p) for p in recomputed]


def test_guessing_ahead_changes_no_event(run, monkeypatch):
    fed = []
    verify = type(run.model).verify
    monkeypatch.setattr(type(run.model), "verify", lambda self, tokens, state: (fed.append(tokens.shape[1]),
                                                                                verify(self, tokens, state))[1])
    controls = Controls(num=1, bars=4, seed=2, key="D major")
    guessed = generate_tokens(run, controls)  # one row: the sampler feeds guesses of the next events
    assert max(fed) > 1
    recomputed = generate_tokens(run, controls, use_cache=False)
    assert notes(guessed[0]) == notes(recomputed[0])


def test_piece_i_does_not_depend_on_num(run):
    one = run.generate(Controls(num=1, bars=2, seed=9))
    three = run.generate(Controls(num=3, bars=2, seed=9))
    assert notes(one[0]) == notes(three[0])


def test_unknown_style_and_untrained_controls_are_errors(run):
    with pytest.raises(ControlError, match="style"):
        run.generate(Controls(style="jazz"))
    with pytest.raises(ControlError, match="time-signature"):
        run.generate(Controls(time_signature="7/8"))


def test_cli_json_reports_asked_and_measured(tiny_run, tmp_path):
    result = CliRunner().invoke(app, ["generate", str(tiny_run), "--out", str(tmp_path), "--num", "1", "--bars", "2",
                                      "--key", "A minor", "--scale-lock", "--tempo", "90", "--no-wav", "--no-png",
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report[0]["asked"]["key"] == "A minor" and report[0]["asked"]["tempo"] == 90
    assert report[0]["measured"]["bars"] == 2 and report[0]["met"]["scale_lock"]


def test_cli_impossible_request_is_a_one_line_error(tiny_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["tunesmith", "generate", str(tiny_run), "--out", str(tmp_path), "--pitch-range",
                                      "C#4-C#4", "--density", "high", "--scale-lock", "--key", "C major"])
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: impossible request") and err.count("\n") == 1


def test_harmonise_keeps_the_melody_on_top_of_four_voices(run, tiny_corpus):
    primer = Piece.load(tiny_corpus / "piece02.mid").bars_slice(0, 3)
    piece = run.generate(Controls(num=1, seed=2, primer=primer, harmonise=True))[0]
    assert piece.tags["checks"]["harmonise"]["ok"]
    assert piece.bars == 3 and len(piece.score.tracks) == 4
    melody = sorted((n.time, n.pitch) for n in primer.score.tracks[0].notes)
    tops = {}
    for t in piece.score.tracks:
        for n in t.notes:
            tops[n.time * primer.tpq // piece.tpq] = max(tops.get(n.time * primer.tpq // piece.tpq, 0), n.pitch)
    assert [tops.get(time) for time, _ in melody] == [pitch for _, pitch in melody]
