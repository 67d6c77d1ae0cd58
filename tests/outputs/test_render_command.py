"""`tunesmith render`: one-line errors with exit code 2, and the files it writes."""

from __future__ import annotations

import wave

from matplotlib.image import imread

import tunesmith.cli.main as cli_main


def test_render_is_registered():
    assert "render" in [c.name for c in cli_main.app.registered_commands]


def test_missing_file_is_one_line_exit_2(run_cli, tmp_path):
    code, out, err = run_cli("render", str(tmp_path / "nope.mid"), "--wav", str(tmp_path / "x.wav"))
    assert code == 2
    assert err.strip() == f"error: no such file: {tmp_path / 'nope.mid'}"
    assert not (tmp_path / "x.wav").exists()


def test_no_output_asked_is_one_line_exit_2(run_cli, tmp_path, duet):
    midi = duet.save(tmp_path / "duet.mid")
    code, _, err = run_cli("render", str(midi))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: nothing to do: give at least one of --wav, --png")
    code, _, err = run_cli("render", str(midi), "--wav", str(tmp_path / "x.mp3"))
    assert code == 2 and err.strip() == "error: --wav expects a .wav file name, not 'x.mp3'"


def test_render_writes_wav_and_png(run_cli, tmp_path, duet):
    midi = duet.save(tmp_path / "duet.mid")
    wav, png = tmp_path / "out" / "duet.wav", tmp_path / "out" / "duet.png"
    code, out, err = run_cli("render", str(midi), "--wav", str(wav), "--png", str(png), "--sample-rate", "16000")
    assert (code, err) == (0, "")
    assert f"audio: {wav}" in out and f"piano-roll image: {png}" in out
    with wave.open(str(wav), "rb") as f:
        assert f.getframerate() == 16000 and 4.0 <= f.getnframes() / 16000 <= 6.0
    assert imread(png).shape[1] >= 800


def test_render_writes_an_engraved_svg_score(run_cli, tmp_path, duet):
    midi = duet.save(tmp_path / "duet.mid")
    svg, score = tmp_path / "out" / "duet.svg", tmp_path / "out" / "duet.musicxml"
    code, out, err = run_cli("render", str(midi), "--svg", str(svg))
    assert (code, err) == (0, "")
    assert out.strip() == f"engraved score: {svg}"
    assert svg.read_text().startswith("<svg") and svg.read_text().count('class="note"') == 11
    alone = svg.read_text()
    code, out, err = run_cli("render", str(midi), "--musicxml", str(score), "--svg", str(svg))
    assert (code, err) == (0, "") and f"score: {score}" in out
    assert svg.read_text() == alone  # engraving the MusicXML just written gives the same drawing


def test_render_svg_with_a_bad_suffix_is_one_line_exit_2(run_cli, tmp_path, duet):
    midi = duet.save(tmp_path / "duet.mid")
    code, _, err = run_cli("render", str(midi), "--svg", str(tmp_path / "x.pdf"))
    assert code == 2 and err.strip() == "error: --svg expects a .svg file name, not 'x.pdf'"
    assert err.count("\n") == 1 and not (tmp_path / "x.pdf").exists()
    code, _, err = run_cli("render", str(midi))
    assert code == 2 and "--svg" in err


def test_generate_writes_the_score_beside_the_midi(run_cli, tmp_path, tiny_rnn_run):
    out = tmp_path / "generated"
    code, _, err = run_cli("generate", tiny_rnn_run, "--out", out, "--num", "1", "--bars", "2", "--seed", "3",
                           "--no-wav", "--no-png", "--score")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["tiny-rnn-01.mid", "tiny-rnn-01.musicxml", "tiny-rnn-01.svg"]
    assert (out / "tiny-rnn-01.svg").read_text().count('class="note"') > 0
    code, _, err = run_cli("generate", tiny_rnn_run, "--out", tmp_path / "xml", "--num", "1", "--bars", "2",
                           "--no-wav", "--no-png", "--musicxml", "--no-score")
    assert code == 0, err
    assert sorted(p.suffix for p in (tmp_path / "xml").iterdir()) == [".mid", ".musicxml"]
