import pytest
import symusic

from tunesmith.piece import Piece


def test_help_lists_the_commands(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in ("train", "generate", "render", "corpus", "demo"):
        assert command in out
    code, out, _ = run_cli("corpus")  # a group alone shows its help
    assert code == 0 and "stats" in out


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp, run: ["corpus", "stats", tmp / "nowhere"], "no corpus"),
    (lambda tmp, run: ["train", "--model", "rnn", "--corpus", tmp / "nowhere", "--out", tmp / "r"], "no corpus"),
    (lambda tmp, run: ["train", "--model", "bogus", "--corpus", "bach", "--out", tmp / "r"], "unknown model 'bogus'"),
    (lambda tmp, run: ["generate", tmp / "no-run", "--out", tmp / "g"], "run directory not found"),
    (lambda tmp, run: ["generate", tmp, "--out", tmp / "g"], "not a tunesmith run"),
    (lambda tmp, run: ["generate", run, "--bars", "0", "--out", tmp / "g"], "--bars must be at least 1"),
    (lambda tmp, run: ["generate", run, "--primer", tmp / "corrupt.mid", "--out", tmp / "g"], "corrupt.mid: the header gives MIDI format"),
    (lambda tmp, run: ["generate", run, "--primer", tmp / "empty.mid", "--out", tmp / "g"], "has no notes"),
    (lambda tmp, run: ["generate", run, "--primer", tmp / "missing.mid", "--out", tmp / "g"], "primer not found"),
    (lambda tmp, run: ["render", tmp / "corrupt.mid", "--wav", tmp / "x.wav"], "corrupt.mid: the header gives MIDI format"),
    (lambda tmp, run: ["train", "--model", "rnn", "--out", run], "already holds a run"),
    (lambda tmp, run: ["train", "--model", "rnn", "--out", tmp / "r", "--device", "cuda"], "no CUDA"),
    (lambda tmp, run: ["generate", run, "--bogus"], "No such option: --bogus"),
    (lambda tmp, run: ["generate"], "Missing argument"),
    (lambda tmp, run: ["train", "--model", "rnn", "--epochs", "many", "--out", tmp / "r"], "Invalid value for '--epochs'"),
    (lambda tmp, run: ["no-such-command"], "No such command"),
    (lambda tmp, run: ["generate", run, "--attribute", "density"], "--attribute takes NAME=AMOUNT"),
    (lambda tmp, run: ["reconstruct", run, tmp / "missing.mid"], "`tunesmith reconstruct` needs a vae run"),
    (lambda tmp, run: ["interpolate", run, tmp / "a.mid", tmp / "b.mid"], "`tunesmith interpolate` needs a vae run"),
    (lambda tmp, run: ["attributes", run, "--corpus", "bach"], "`tunesmith attributes` needs a vae run"),
    (lambda tmp, run: ["attributes", run, "--corpus", "bach", "--split", "most"], "--split must be one of all, train"),
])
def test_bad_input_is_one_line_and_exit_2(make_args, message, tmp_path, tiny_rnn_run, run_cli, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the refusal, whatever this machine has
    (tmp_path / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    score = symusic.Score(480)
    score.tracks.append(symusic.Track("empty"))
    score.dump_midi(str(tmp_path / "empty.mid"))
    code, _, err = run_cli(*make_args(tmp_path, tiny_rnn_run))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in err


def test_generate_writes_files_and_summary(tiny_rnn_run, tmp_path, run_cli):
    code, out, err = run_cli("generate", tiny_rnn_run, "--out", tmp_path / "bare", "--num", "2", "--bars", "2",
                             "--seed", "4", "--no-wav", "--no-png")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "bare").iterdir()) == ["tiny-rnn-01.mid", "tiny-rnn-02.mid"]
    assert out.count(": 2 bars, ") == 2
    for name in ("tiny-rnn-01.mid", "tiny-rnn-02.mid"):
        piece = Piece.load(tmp_path / "bare" / name)
        assert piece.bars == 2 and piece.note_count > 0
    code, out, err = run_cli("generate", tiny_rnn_run, "--out", tmp_path / "full", "--num", "1", "--bars", "2",
                             "--seed", "4")
    assert code == 0, err
    assert sorted(p.suffix for p in (tmp_path / "full").iterdir()) == [".mid", ".png", ".wav"]
    assert (tmp_path / "full" / "tiny-rnn-01.mid").read_bytes() == (tmp_path / "bare" / "tiny-rnn-01.mid").read_bytes()
