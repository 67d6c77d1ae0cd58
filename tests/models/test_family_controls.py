"""The families that are not token models (VAE, GAN, polyphonic) through `tunesmith generate`: --seconds becomes
whole bars at the tempo, exactly as long when the tempo is left free, and a control a family cannot honour
stops the command with one line and exit code 2 (read back from the written files, with mido)."""

from __future__ import annotations

import pytest

from midi_facts import generate_and_read
from tunesmith.controls.controls import Controls
from tunesmith.generation.run import load_run

FAMILIES = ("vae", "gan", "polyphonic")


@pytest.fixture
def family_run(request):
    """The tiny run of the family named by the test's `family` parameter (tests/models/conftest.py)."""
    return request.getfixturevalue(f"{request.node.callspec.params['family']}_run")


# The tiny runs: the VAE writes 4/4 at 120 BPM, the GAN 3/4 at 100 (the tiny corpus' meters: 3/4 is its
# choice), the polyphonic model 4/4 at 100.
@pytest.mark.parametrize(("family", "bars", "bpm"), [
    ("vae", 6, 120.0),  # 12 s = 6 bars of 2 s at its own tempo
    ("gan", 7, 105.0),  # 12 s is 6.7 bars of 1.8 s: 7 bars, played at 105 BPM to last 12 s
    ("polyphonic", 5, 100.0),  # 12 s = 5 bars of 2.4 s
])
def test_seconds_become_whole_bars_lasting_exactly_that_long(family, bars, bpm, family_run, tmp_path, run_cli):
    pieces = generate_and_read(run_cli, family_run, tmp_path, "--seconds", "12", "--num", "2", "--seed", "1")
    assert len(pieces) == 2
    for written in pieces:
        assert written.notes and written.bars == bars
        assert written.bpm == pytest.approx(bpm, abs=0.01)
        assert written.seconds == pytest.approx(12, abs=0.01)


@pytest.mark.parametrize(("family", "bars", "seconds"), [
    ("vae", 5, 13.33),  # 4/4 at 90: 13.5 s is 5.06 bars of 2.67 s
    ("gan", 7, 14.0),  # 3/4 at 90: 13.5 s is 6.75 bars of 2 s
    ("polyphonic", 5, 13.33),
])
def test_seconds_at_an_asked_tempo_are_the_nearest_whole_bars(family, bars, seconds, family_run, tmp_path, run_cli):
    (written,) = generate_and_read(run_cli, family_run, tmp_path, "--seconds", "13.5", "--tempo", "90", "--num", "1",
                                   "--seed", "2")
    assert written.notes and written.bars == bars
    assert {us for _, us in written.tempos} == {666_667}  # 90 BPM
    assert written.seconds == pytest.approx(seconds, abs=0.01)


REFUSED = [
    ("vae", ["--key", "D minor"], "--key"),
    ("vae", ["--density", "high"], "--density"),
    ("vae", ["--velocity", "30-50"], "--velocity"),
    ("vae", ["--loopable"], "--loopable"),
    ("vae", ["--style", "user"], "--style"),
    ("gan", ["--top-k", "3"], "--top-k"),
    ("gan", ["--pitch-range", "C4-C5"], "--pitch-range"),
    ("gan", ["--dynamics", "crescendo"], "--dynamics"),
    ("gan", ["--time-signature", "4/4"], "--time-signature"),
    ("polyphonic", ["--key", "C major"], "--key"),
    ("polyphonic", ["--instruments", "violin"], "--instruments"),
    ("polyphonic", ["--top-p", "0.9"], "--top-p"),
    ("polyphonic", ["--end-on-tonic", "--key", "C major"], "--end-on-tonic, --key"),
]


@pytest.mark.parametrize(("family", "args", "named"), REFUSED)
def test_a_control_the_family_cannot_honour_stops_it_in_one_line(family, args, named, family_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", family_run, "--out", tmp_path / "out", "--seed", "0", *args)
    assert code == 2 and out == ""
    assert err == f"error: the {family} model cannot honour {named}\n"
    assert not (tmp_path / "out").exists()


def test_a_tempo_asked_once_is_not_kept_by_the_run(polyphonic_run, tmp_path):
    run = load_run(polyphonic_run)
    slow = run.generate(Controls(num=1, bars=1, seed=3, tempo=60))[0]
    again = run.generate(Controls(num=1, bars=1, seed=3))[0]
    assert slow.tempo == 60 and again.tempo == 100
