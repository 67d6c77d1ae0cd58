"""The token sampler under controls, on a tiny trained Transformer: what is asked is what is written."""

from __future__ import annotations

import json

import pytest
import torch

from midi_facts import read_midi_independently
from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError
from tunesmith.generation.run import generate_tokens, load_run
from tunesmith.piece import Piece

# a minor key's scale is its natural minor and its leading tone (theory.Key.scale)
E_MINOR = {4, 6, 7, 9, 11, 0, 2, 3}  # E F# G A B C D, and D#
A_MINOR = {9, 11, 0, 2, 4, 5, 7, 8}  # A B C D E F G, and G#
G_MAJOR_TRIAD = {7, 11, 2}  # G B D


@pytest.fixture(scope="module")
def run(tiny_run):
    return load_run(tiny_run)


def notes(piece: Piece, lo_bar: int = 0, hi_bar: int = 10_000) -> list[tuple]:
    bar = piece.bar_ticks
    return sorted((t.program, n.time, n.duration, n.pitch, n.velocity) for t in piece.score.tracks for n in t.notes
                  if lo_bar * bar <= n.time < hi_bar * bar)


def test_scale_lock_keeps_every_written_note_in_the_scale_over_many_seeds(run, tmp_path):
    for seed in range(3):
        pieces = run.generate(Controls(num=4, bars=2, seed=seed, key="E minor", scale_lock=True, temperature=1.5))
        for i, piece in enumerate(pieces):
            written = read_midi_independently(piece.save(tmp_path / f"{seed}-{i}.mid"))
            assert written.notes and written.bars == 2
            assert {p % 12 for p in written.pitches()} <= E_MINOR


def test_bars_instruments_tempo_and_meter_are_met_in_the_written_midi(run, tmp_path):
    controls = Controls(num=2, bars=3, seed=1, tempo=87, time_signature="3/4", instruments=["flute", "violin", "cello"])
    for i, piece in enumerate(run.generate(controls)):
        written = read_midi_independently(piece.save(tmp_path / f"p{i}.mid"))
        assert written.meter == (3, 4)
        assert written.bar_ticks == 3 * written.tpq and written.bars == 3  # the last note ends in bar 3
        assert {us for _, us in written.tempos} == {round(60_000_000 / 87)}
        assert written.programs == [40, 42, 73]  # flute, violin, cello: one track each


def test_seconds_become_whole_bars_at_an_exact_tempo(run, tmp_path):
    piece = run.generate(Controls(num=1, seconds=12, time_signature="4/4", seed=4))[0]
    written = read_midi_independently(piece.save(tmp_path / "twelve.mid"))
    assert written.bars == 6 and written.bar_ticks == 4 * written.tpq  # 6 bars of 4/4 at 120 BPM ...
    assert written.seconds == pytest.approx(12, abs=0.01)  # ... last 12 seconds


def test_infill_keeps_the_bars_outside_the_gap(run, tiny_corpus):
    primer = Piece.load(tiny_corpus / "piece00.mid")
    for piece in run.generate(Controls(num=2, seed=3, primer=primer, infill="3-4")):
        assert piece.bars == primer.bars
        assert notes(piece, 0, 2) == notes(primer, 0, 2)
        assert notes(piece, 4) == notes(primer, 4)
        assert notes(piece, 2, 4)  # the gap was written


def test_continuation_keeps_the_primer(run, tiny_corpus):
    primer = Piece.load(tiny_corpus / "piece01.mid").bars_slice(0, 2)
    piece = run.generate(Controls(num=1, bars=4, primer=primer, seed=6))[0]
    assert piece.bars == 4 and notes(piece, 0, 2) == notes(primer, 0, 2)


def test_loopable_ends_at_the_loop_point_on_the_tonic_chord(run, tmp_path):
    pieces = run.generate(Controls(num=2, bars=4, loopable=True, key="G major", end_on_tonic=True, seed=8))
    for i, piece in enumerate(pieces):
        written = read_midi_independently(piece.save(tmp_path / f"loop{i}.mid"))
        assert written.bars == 4 and written.end <= 4 * written.bar_ticks  # nothing rings past the loop point
        last = {n.pitch % 12 for n in written.last_onset()}
        assert 7 in last and last <= G_MAJOR_TRIAD  # the final chord is G major's, with its G


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


def test_cli_json_reports_what_the_written_file_holds(tiny_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", tiny_run, "--out", tmp_path, "--num", "2", "--bars", "2", "--seed", "3",
                             "--key", "A minor", "--scale-lock", "--tempo", "90", "--no-wav", "--no-png", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert len(report) == 2
    for entry in report:
        assert entry["asked"]["key"] == "A minor" and entry["asked"]["tempo"] == 90
        written = read_midi_independently(entry["files"]["mid"])
        assert written.notes and {p % 12 for p in written.pitches()} <= A_MINOR
        assert {us for _, us in written.tempos} == {666_667} and written.bars == 2
        assert entry["measured"]["bars"] == written.bars and entry["measured"]["notes"] == len(written.notes)


def test_cli_impossible_request_is_a_one_line_error(tiny_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", tiny_run, "--out", tmp_path / "out", "--pitch-range", "C#4-C#4",
                             "--density", "high", "--scale-lock", "--key", "C major", "--seed", "0")
    assert code == 2 and out == ""
    assert err.startswith("error: impossible request") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_harmonise_keeps_the_melody_on_top_of_four_voices(run, tiny_corpus, tmp_path):
    primer = read_midi_independently(tiny_corpus / "piece02.mid")
    bar = primer.bar_ticks
    melody = sorted((n.start, n.pitch) for n in primer.notes if n.program == 40 and n.start < 3 * bar)  # the violin
    assert len(melody) == 9  # three bars of 3/4 crotchets
    given = Piece.load(tiny_corpus / "piece02.mid").bars_slice(0, 3)
    piece = run.generate(Controls(num=1, seed=2, primer=given, harmonise=True))[0]
    written = read_midi_independently(piece.save(tmp_path / "harmonised.mid"))
    assert written.bars == 3 and len({n.track for n in written.notes}) == 4
    tops: dict[int, int] = {}
    for n in written.notes:
        tick = n.start * primer.tpq // written.tpq
        tops[tick] = max(tops.get(tick, 0), n.pitch)
    assert [tops.get(time) for time, _ in melody] == [pitch for _, pitch in melody]


def test_loops_of_several_rows_close_together_as_each_row_alone(run, monkeypatch):
    model_class = type(run.model)
    lengths: list[list[int]] = []
    prefill = model_class.prefill
    monkeypatch.setattr(model_class, "prefill", lambda self, rows: lengths.append([len(r) for r in rows])
                        or prefill(self, rows))
    controls = Controls(num=3, bars=4, loopable=True, key="G major", end_on_tonic=True, seed=4)
    together = generate_tokens(run, controls)
    assert len(lengths) == 1 and len(set(lengths[0])) > 1  # the three pieces' last bars, after unequal pieces
    monkeypatch.setattr(model_class, "prefill", lambda self, rows: None)
    alone = generate_tokens(run, controls)
    assert [notes(p) for p in together] == [notes(p) for p in alone]
    assert [p.tags["events"] for p in together] == [p.tags["events"] for p in alone]


@pytest.mark.parametrize("family", ["transformer", "rnn"])
def test_rows_read_together_give_each_rows_own_logits(family, tiny_run, tiny_rnn_run):
    model = load_run(tiny_run if family == "transformer" else tiny_rnn_run).model
    # six rows of five lengths: the Transformer reads them in groups of near lengths, padded inside a group
    rows = [[1, 5, 9, 4, 7, 30, 31], [1, 6], [1, 8, 9, 40], [1, 7, 7], [1, 9, 30, 31, 5, 4, 6, 8, 9], [1, 4]]
    logits, state = model.prefill(rows)
    alone = [model.step(torch.tensor([row]), None) for row in rows]
    assert torch.allclose(logits, torch.cat([a for a, _ in alone]), atol=1e-5)
    following = torch.tensor([[12], [13], [14], [15], [16], [17]])
    for _ in range(3):  # then the rows go on together as each would alone
        logits, state = model.step(following, state)
        alone = [model.step(following[r:r + 1], s) for r, (_, s) in enumerate(alone)]
        assert torch.allclose(logits, torch.cat([a for a, _ in alone]), atol=1e-5)
    logits, state = model.step(following[[2, 0]], model.select_rows(state, [2, 0]))  # the rows left, in a new order
    alone = [model.step(following[r:r + 1], alone[r][1]) for r in (2, 0)]
    assert torch.allclose(logits, torch.cat([a for a, _ in alone]), atol=1e-5)


@pytest.mark.parametrize("family", ["transformer", "rnn"])
def test_rows_dropped_from_the_batch_as_they_end_write_what_they_would_have(family, tiny_run, tiny_rnn_run,
                                                                            monkeypatch):
    run = load_run(tiny_run if family == "transformer" else tiny_rnn_run)
    model_class = type(run.model)
    kept: list[list[int]] = []
    select_rows = model_class.select_rows
    monkeypatch.setattr(model_class, "select_rows", lambda self, state, rows: kept.append(rows)
                        or select_rows(self, state, rows))
    controls = Controls(num=6, bars=4, seed=11, key="D major", scale_lock=True, temperature=1.5)
    dropping = generate_tokens(run, controls)
    assert kept and all(len(rows) < 6 for rows in kept)  # the batch shrank as rows ended
    monkeypatch.setattr(model_class, "select_rows", lambda self, state, rows: None)
    fed_to_the_end = generate_tokens(run, controls)
    assert [notes(p) for p in dropping] == [notes(p) for p in fed_to_the_end]
    assert [p.tags["events"] for p in dropping] == [p.tags["events"] for p in fed_to_the_end]
