"""The musical controls of the token families, measured in the music `tunesmith generate` writes (read back
with mido): density, velocity, dynamics, pitch range, style and temperature. Every generation is seeded."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from midi_facts import MidiFacts, generate_and_read, read_midi_independently

STYLES_RNN = """
[model]
cell = "lstm"
layers = 1
width = 48
embedding = 32
dropout = 0.0
window = 96

[representation]
kind = "tokens"
tokenization = "REMI"
conditioning = ["style", "time_signature"]

[training]
batch_size = 8
lr = 1e-2
warmup_steps = 5
max_steps = 60
augment = false
"""


@pytest.fixture(scope="module")
def styles_run(tmp_path_factory, tiny_corpus) -> Path:
    """A tiny RNN trained on two styles: march/ holds the tiny corpus' 4/4 pieces, waltz/ its 3/4 ones."""
    from tunesmith.training.trainer import train

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("styles")
    for path in sorted(tiny_corpus.glob("*.mid")):
        meters = {(num, den) for _, num, den in read_midi_independently(path).meters}
        style = {(4, 4): "march", (3, 4): "waltz"}[meters.pop()]
        (root / "corpus" / style).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, root / "corpus" / style / path.name)
    (root / "rnn.toml").write_text(STYLES_RNN)
    train("rnn", str(root / "corpus"), root / "run", config_file=root / "rnn.toml", progress=False)
    return root / "run"


def bar_means(written: MidiFacts) -> list[float]:
    return [float(np.mean(v)) for v in written.velocities_per_bar()]


def test_density_high_writes_more_notes_in_every_bar_than_low(tiny_run, tmp_path, run_cli):
    same = ("--bars", "4", "--num", "3", "--seed", "1")
    low = generate_and_read(run_cli, tiny_run, tmp_path / "low", "--density", "low", *same)
    high = generate_and_read(run_cli, tiny_run, tmp_path / "high", "--density", "high", *same)
    assert len(low) == len(high) == 3 and all(w.bars == 4 for w in low + high)
    per_bar_low = [n for w in low for n in w.notes_per_bar()]
    per_bar_high = [n for w in high for n in w.notes_per_bar()]
    # the tiny corpus plays 4 notes in a 3/4 bar and 5 in a 4/4 one: low stays at or below the sparser,
    # high at or above the denser, so every high bar holds more notes than any low bar
    assert 1 <= min(per_bar_low) and max(per_bar_low) <= 4
    assert min(per_bar_high) >= 5
    assert sum(per_bar_high) > sum(per_bar_low)


def test_velocity_range_holds_for_every_written_note(tiny_run, tmp_path, run_cli):
    same = ("--bars", "3", "--num", "2", "--seed", "2")
    free = generate_and_read(run_cli, tiny_run, tmp_path / "free", *same)
    quiet = generate_and_read(run_cli, tiny_run, tmp_path / "quiet", "--velocity", "30-50", *same)
    assert any(not 30 <= n.velocity <= 50 for w in free for n in w.notes)  # left alone, the model plays louder
    for written in quiet:
        assert written.notes and all(30 <= n.velocity <= 50 for n in written.notes)


def test_crescendo_and_diminuendo_move_every_bar_louder_or_softer(tiny_run, tmp_path, run_cli):
    same = ("--bars", "4", "--num", "2", "--seed", "3", "--velocity", "40-100")
    rising = generate_and_read(run_cli, tiny_run, tmp_path / "cresc", "--dynamics", "crescendo", *same)
    falling = generate_and_read(run_cli, tiny_run, tmp_path / "dim", "--dynamics", "diminuendo", *same)
    for written in rising + falling:
        assert written.bars == 4 and all(40 <= n.velocity <= 100 for n in written.notes)
    for written in rising:
        means = bar_means(written)
        assert all(a < b for a, b in zip(means, means[1:], strict=False)), means
        per_bar = written.velocities_per_bar()
        assert max(per_bar[0]) < min(per_bar[-1])  # from the soft end of the range to the loud end
    for written in falling:
        means = bar_means(written)
        assert all(a > b for a, b in zip(means, means[1:], strict=False)), means


def test_a_swell_rises_to_the_middle_bar_and_falls_again(tiny_run, tmp_path, run_cli):
    pieces = generate_and_read(run_cli, tiny_run, tmp_path, "--dynamics", "swell", "--bars", "5", "--num", "2",
                               "--seed", "4")
    for written in pieces:
        a, b, c, d, e = bar_means(written)
        assert a < b < c > d > e, (a, b, c, d, e)


def test_pitch_range_keeps_every_written_pitch_inside(tiny_run, tmp_path, run_cli):
    same = ("--bars", "3", "--num", "2", "--seed", "5")
    free = generate_and_read(run_cli, tiny_run, tmp_path / "free", *same)
    narrow = generate_and_read(run_cli, tiny_run, tmp_path / "narrow", "--pitch-range", "E4-B4", *same)
    assert any(not 64 <= p <= 71 for w in free for p in w.pitches())
    for written in narrow:
        assert written.notes and all(64 <= p <= 71 for p in written.pitches())  # E4 = 64, B4 = 71


def test_style_picks_the_metre_of_the_style_the_run_learnt(styles_run, tmp_path, run_cli):
    for style, meter in (("march", (4, 4)), ("waltz", (3, 4))):
        pieces = generate_and_read(run_cli, styles_run, tmp_path / style, "--style", style, "--bars", "2", "--num",
                                   "4", "--seed", "6")
        assert len(pieces) == 4
        for written in pieces:
            assert written.notes and written.meter == meter
            assert written.bars == 2
    code, out, err = run_cli("generate", styles_run, "--out", tmp_path / "polka", "--style", "polka", "--seed", "6")
    assert code == 2 and out == "" and err == "error: --style polka: this run learned only march, waltz\n"
    assert not (tmp_path / "polka").exists()


def test_low_temperature_writes_less_varied_music_than_high(tiny_run, tmp_path, run_cli):
    same = ("--bars", "4", "--num", "6", "--seed", "7", "--key", "C major", "--time-signature", "4/4",
            "--tempo", "100", "--density", "medium")
    cold = generate_and_read(run_cli, tiny_run, tmp_path / "cold", "--temperature", "0.3", *same)
    hot = generate_and_read(run_cli, tiny_run, tmp_path / "hot", "--temperature", "2.0", *same)
    assert len(cold) == len(hot) == 6 and all(w.bars == 4 for w in cold + hot)
    assert sum(len(set(w.pitches())) for w in cold) < sum(len(set(w.pitches())) for w in hot)
    assert len({p for w in cold for p in w.pitches()}) < len({p for w in hot for p in w.pitches()})
    again = generate_and_read(run_cli, tiny_run, tmp_path / "again", "--temperature", "0.3", *same)
    assert [w.notes for w in again] == [w.notes for w in cold]  # the same seed, the same music


def test_a_run_samples_at_its_own_temperature_unless_one_is_asked(tiny_run, tmp_path, run_cli):
    import json
    import shutil

    cool = tmp_path / "cool-run"
    shutil.copytree(tiny_run, cool)
    config = json.loads((cool / "config.json").read_text())
    (cool / "config.json").write_text(json.dumps({**config, "sampling": {"temperature": 0.3}}))
    same = ("--bars", "4", "--num", "3", "--seed", "7", "--key", "C major", "--time-signature", "4/4")
    own = generate_and_read(run_cli, cool, tmp_path / "own", *same)
    asked = generate_and_read(run_cli, cool, tmp_path / "asked", "--temperature", "0.3", *same)
    plain = generate_and_read(run_cli, tiny_run, tmp_path / "plain", *same)
    hot = generate_and_read(run_cli, cool, tmp_path / "hot", "--temperature", "1.0", *same)
    assert [w.notes for w in own] == [w.notes for w in asked] != [w.notes for w in plain]
    assert [w.notes for w in hot] == [w.notes for w in plain]  # an asked temperature wins; 1.0 without one
