"""The families that are not token models (VAE, GAN, polyphonic) through `tunesmith generate`: --seconds becomes
whole bars at the tempo, exactly as long when the tempo is left free, and a control a family cannot honour
stops the command with one line and exit code 2 (read back from the written files, with mido)."""

from __future__ import annotations

import pytest

from midi_facts import generate_and_read
from tunesmith.controls.controls import Controls
from tunesmith.generation.run import load_run
from tunesmith.models import get_family

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
    ("vae", ["--style", "user"], "--style"),
    ("vae", ["--monophonic"], "--monophonic"),
    ("gan", ["--top-k", "3"], "--top-k"),
    ("gan", ["--style", "user"], "--style"),
    ("polyphonic", ["--top-p", "0.9"], "--top-p"),
    ("polyphonic", ["--density", "high"], "--density"),
    ("polyphonic", ["--harmonise", "--style", "x"], "--harmonise, --style"),
]


@pytest.mark.parametrize(("family", "args", "named"), REFUSED)
def test_a_control_the_family_cannot_honour_stops_it_in_one_line(family, args, named, family_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", family_run, "--out", tmp_path / "out", "--seed", "0", *args)
    assert code == 2 and out == ""
    reasons = [get_family(family).refused[c.removeprefix("--").replace("-", "_")] for c in named.split(", ")]
    assert err == f"error: the {family} model cannot honour {named}: {'; '.join(reasons)}\n"
    assert not (tmp_path / "out").exists()


# what a grid cannot do, refused with the reason
REASONED = [
    ("gan", ["--time-signature", "4/4"], "error: the gan run writes in 3/4 (its grid holds one metre, the one it was "
                                         "trained in): --time-signature 4/4 needs a run trained on 4/4 music"),
    ("vae", ["--time-signature", "6/8"], "error: the vae run writes in 4/4 (its grid holds one metre, the one it was "
                                         "trained in): --time-signature 6/8 needs a run trained on 6/8 music"),
    ("gan", ["--infill", "1-2"], "error: the gan model cannot honour --infill: it draws whole phrases from noise and "
                                 "cannot fill a gap between given bars (the token models and the vae can)"),
    ("polyphonic", ["--infill", "1-2"], "error: the polyphonic model cannot honour --infill: it reads its frames "
                                        "forwards only and cannot fill a gap between given bars"),
    ("vae", ["--density", "high"], "has no attribute vectors yet: compute them with `tunesmith attributes"),
    ("gan", ["--attempts", "0"], "error: --attempts must be at least 1 (got 0)"),
]


@pytest.mark.parametrize(("family", "args", "said"), REASONED)
def test_what_a_grid_cannot_hold_is_refused_with_the_reason(family, args, said, family_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", family_run, "--out", tmp_path / "out", "--seed", "0", *args)
    assert code == 2 and out == "" and said in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


SURFACE = ["--key", "D minor", "--scale-lock", "--pitch-range", "C3-C6", "--velocity", "40-80", "--dynamics",
           "crescendo", "--end-on-tonic", "--loopable", "--tempo", "90", "--bars", "4"]
D_MINOR = {2, 4, 5, 7, 9, 10, 0, 1}  # natural minor and the leading tone


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_honours_the_surface_read_back_from_its_files(family, family_run, tmp_path, run_cli):
    instruments = {"gan": "flute,bassoon", "vae": "flute", "polyphonic": "harpsichord"}[family]
    pieces = generate_and_read(run_cli, family_run, tmp_path, *SURFACE, "--instruments", instruments, "--num", "3",
                               "--seed", "4", "--attempts", "3")
    assert len(pieces) == 3
    for written in pieces:
        notes = written.notes
        assert notes and {n.pitch % 12 for n in notes} <= D_MINOR
        assert 48 <= min(n.pitch for n in notes) and max(n.pitch for n in notes) <= 84
        assert 40 <= min(n.velocity for n in notes) and max(n.velocity for n in notes) <= 80
        assert {us for _, us in written.tempos} == {666_667}  # 90 BPM
        assert max(n.end for n in notes) <= 4 * written.bar_ticks  # nothing sounds past the loop point
        last = max(n.start for n in notes)
        assert 2 in {n.pitch % 12 for n in notes if n.start == last}  # ends on D
        first_half = [n.velocity for n in notes if n.start < 2 * written.bar_ticks]
        second_half = [n.velocity for n in notes if n.start >= 2 * written.bar_ticks]
        if first_half and second_half:
            assert sum(second_half) / len(second_half) > sum(first_half) / len(first_half)  # a crescendo
        assert sorted(written.programs) == sorted({"flute": 73, "bassoon": 70, "harpsichord": 6}[i]
                                                  for i in instruments.split(","))


def test_a_piece_that_misses_a_hard_control_is_drawn_again_and_says_so(gan_run, monkeypatch):
    from tunesmith.generation import run as run_module

    real = run_module._draw
    drawn: list[int | None] = []

    def miss_twice(run, controls):  # the first two draws of piece 1 miss their bars
        pieces = real(run, controls)
        drawn.append(controls.seed)
        if len(drawn) <= 2:
            for piece in pieces[-1:]:
                piece.tags["checks"]["bars"] = {**piece.tags["checks"]["bars"], "ok": False}
        return pieces

    monkeypatch.setattr(run_module, "_draw", miss_twice)
    pieces = load_run(gan_run).generate(Controls(num=2, bars=2, seed=5, attempts=3))
    assert drawn == [5, 5 + 1 * 2 + 1, 5 + 2 * 2 + 1]  # seed + attempt * num + index
    assert [p.tags["attempts"] for p in pieces] == [1, 3] and [p.tags["missed"] for p in pieces] == [[], []]
    drawn.clear()
    pieces = load_run(gan_run).generate(Controls(num=2, bars=2, seed=5, attempts=2))
    assert [p.tags["attempts"] for p in pieces] == [1, 2] and pieces[1].tags["missed"] == ["bars"]


def test_a_tempo_asked_once_is_not_kept_by_the_run(polyphonic_run, tmp_path):
    run = load_run(polyphonic_run)
    slow = run.generate(Controls(num=1, bars=1, seed=3, tempo=60))[0]
    again = run.generate(Controls(num=1, bars=1, seed=3))[0]
    assert slow.tempo == 60 and again.tempo == 100


@pytest.mark.parametrize("family", FAMILIES)
def test_a_preset_plays_on_every_family_and_says_what_the_family_left_out(family, family_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", family_run, "--out", tmp_path, "--preset", "exercise", "--key", "G major",
                             "--num", "2", "--seed", "3", "--no-wav", "--no-png", "--no-score")
    assert code == 0, err
    left_out = {"vae": ["monophonic", "simple-rhythm"], "gan": ["monophonic", "simple-rhythm"],
                "polyphonic": ["monophonic", "simple-rhythm"]}[family]
    assert [line.split("'s ")[1].split(" ")[0] for line in err.splitlines()] == [f"--{c}" for c in left_out]
    assert all(f"the exercise preset's --{c} is left out: the {family} model cannot honour it (" in err
               for c in left_out)
    from midi_facts import read_midi_independently as read_midi

    for path in sorted(tmp_path.glob("*.mid")):
        written = read_midi(path)
        assert {n.pitch % 12 for n in written.notes} <= {7, 9, 11, 0, 2, 4, 6}  # G major, scale-locked
        assert 60 <= min(written.pitches()) and max(written.pitches()) <= 72  # C4-C5
        assert written.programs == [0] and written.bars == 8  # one piano, 8 bars


def test_the_vae_fills_a_gap_and_leaves_every_other_bar_as_it_was(vae_run, tiny_corpus):
    from tunesmith.piece import Piece

    primer = Piece.load(tiny_corpus / "piece00.mid")  # 4/4, 8 bars
    primer = primer.copy(score=primer.score.copy())
    (filled,) = load_run(vae_run).generate(Controls(num=1, primer=primer, infill="3-4", seed=2, attempts=1))
    bar = filled.bar_ticks

    def outside(piece: Piece) -> list[tuple[int, int, int]]:
        ticks = bar / piece.bar_ticks
        return sorted((round(n.time * ticks), round(n.duration * ticks), n.pitch) for t in piece.score.tracks
                      for n in t.notes if not 2 * piece.bar_ticks <= n.time < 4 * piece.bar_ticks)

    assert outside(filled) == outside(primer)
    inside = [n for t in filled.score.tracks for n in t.notes if 2 * bar <= n.time < 4 * bar]
    assert inside and all(n.time + n.duration <= 4 * bar for n in inside)
    assert filled.tags["asked"]["infill"] == [2, 4] and filled.tags["checks"]["bars"]["ok"]


def test_vae_density_moves_along_the_density_vector_by_the_asked_distance(vae_run, tmp_path):
    import json
    import shutil

    import torch

    from tunesmith.controls.targets import resolve_targets
    from tunesmith.models.vae import _density_offset

    run_dir = tmp_path / "vae"
    shutil.copytree(vae_run, run_dir)
    vector = [1.0] * 16
    (run_dir / "attributes.json").write_text(json.dumps({"attributes": {"density": {
        "low": 2.0, "high": 6.0, "vector": vector}}}))
    run = load_run(run_dir)
    for asked, amount in (("high", 0.875), ("low", -0.625), ("4", 0.0), ("40", 2.0)):  # high: 6-9 notes a bar
        targets = resolve_targets(Controls(density=asked), density_edges=[2.0, 6.0])
        assert torch.allclose(_density_offset(run, targets), torch.full((16,), amount)), asked
    low, high = (run.generate(Controls(num=4, bars=4, seed=1, density=d, attempts=1)) for d in ("low", "high"))
    assert all(p.tags["checks"]["density"]["asked"] for p in low + high)
