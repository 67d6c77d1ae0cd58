"""Each page of the studio through gradio_client against a running studio: compose with controls and a
primer, a control the model cannot honour, harmonise, blend, a training job start to finish and a stop,
evaluate, and the uploads it must refuse (damaged, oversized, named to climb out of its folders)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import symusic
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tunesmith.piece import Piece
from tunesmith.studio.page_compose import CONTROL_FIELDS

SWITCHES = {"scale_lock", "end_on_tonic", "loopable", "monophonic", "simple_rhythm", "harmonise"}


def compose_args(model: str, primer=None, preset: str = "", **controls) -> list:
    values = {"num": 1, "bars": 4, "seed": 0, "temperature": 1.0, "attempts": 3, **controls}
    return [model, preset] + [values.get(n, False if n in SWITCHES else None) for n in CONTROL_FIELDS] + [primer]


TINY_RNN = {"cell": "lstm", "layers": 1, "width": 48, "embedding": 32, "dropout": 0.0, "window": 96}


def melody_file(path: Path, seed: int = 0) -> Path:
    """A one-track melody of 4 bars in C major (quarter notes, a step or two at a time) as a MIDI file."""
    rng = np.random.default_rng(seed)
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, qpm=100.0))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track(name="Melody", program=73)
    degree = 7
    for beat in range(16):
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
        pitch = 60 + (0, 2, 4, 5, 7, 9, 11)[degree % 7] + 12 * (degree // 7)
        track.notes.append(symusic.Note(beat * 480, 480, pitch, 80))
    score.tracks.append(track)
    score.dump_midi(str(path))
    return path


def value(update):
    return update.get("value") if isinstance(update, dict) else update


def test_compose_with_controls_shows_audio_roll_score_summary_and_zip(studio):
    settings, client, _ = studio
    result = client.predict(*compose_args("bach-transformer", key="D minor", scale_lock=True, tempo=90),
                            api_name="/compose")
    notes, audio, roll, score, summary, bundle = result[:6]
    assert Path(value(audio)).suffix == ".wav" and Path(value(audio)).stat().st_size > 10_000
    assert Path(value(roll)).suffix == ".png"
    assert "<svg" in value(score)
    text = value(summary)
    assert "**4 bars**" in text and "90 bpm" in text
    assert "| key | D minor |" in text  # asked, measured, met or not
    assert "| scale_lock | D minor | {'notes_outside_scale': []} | yes |" in text  # a hard control, met
    with zipfile.ZipFile(value(bundle)) as archive:
        assert {Path(n).suffix for n in archive.namelist()} == {".mid", ".wav", ".png", ".musicxml", ".svg"}
    assert all(not value(u) for u in result[6:])  # the other slots stay empty


def test_compose_continues_an_uploaded_primer(studio, tmp_path):
    _, client, _ = studio
    primer = melody_file(tmp_path / "tune.mid")
    result = client.predict(*compose_args("folk-transformer", primer=handle_file(str(primer)), bars=8),
                            api_name="/compose")
    assert "**8 bars**" in value(result[4])


def test_a_control_the_family_cannot_honour_is_disabled_with_the_reason(studio):
    _, client, _ = studio
    updates = client.predict("bach-gan", api_name="/controls_for")
    by_name = dict(zip(CONTROL_FIELDS, updates, strict=True))
    assert by_name["top_k"]["interactive"] is False and "thresholded" in by_name["top_k"]["info"]
    assert by_name["key"]["interactive"] is True
    assert by_name["temperature"]["value"] == 1.0  # the model's own temperature
    assert dict(zip(CONTROL_FIELDS, client.predict("bach-transformer", api_name="/controls_for"),
                    strict=True))["temperature"]["value"] == 0.8
    with pytest.raises(AppError, match="cannot honour|top-k|top_k"):
        client.predict(*compose_args("bach-gan", top_k=5), api_name="/compose")


def test_again_and_vary_make_new_pieces(studio):
    _, client, _ = studio
    first = client.predict(*compose_args("folk-vae-2bar", bars=4), api_name="/compose")
    again = client.predict(api_name="/again")
    varied = client.predict("1", api_name="/vary")
    files = [Path(value(r[1])).read_bytes() for r in (first, again, varied)]
    assert files[0] != files[1] and files[0] != files[2]


def test_harmonise_keeps_the_melody_and_writes_the_other_voices(studio, tmp_path):
    _, client, _ = studio
    tracks = client.predict("bach-gan", api_name="/tracks_of")
    assert tracks["value"] == "Soprano"
    melody = melody_file(tmp_path / "melody.mid", seed=3)
    audio, roll, score, summary, bundle = client.predict("bach-gan", "Soprano", 0, None, handle_file(str(melody)),
                                                         None, api_name="/harmonise")
    assert "4 tracks" in value(summary)
    with zipfile.ZipFile(value(bundle)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".mid"))
        archive.extract(name, tmp_path / "out")
    harmonised = Piece.load(tmp_path / "out" / name)
    soprano = next(t for t in harmonised.score.tracks if t.name == "Soprano")
    given = symusic.Score(str(melody)).tracks[0]
    assert [n.pitch for n in soprano.notes][:8] == [n.pitch for n in given.notes][:8]


def test_blend_is_a_row_of_steps_and_all_of_them(studio, tmp_path):
    _, client, _ = studio
    a, b = melody_file(tmp_path / "a.mid", 1), melody_file(tmp_path / "b.mid", 2)
    sliders = client.predict("folk-vae-2bar", api_name="/attributes_of")
    assert [s["interactive"] for s in sliders] == [True] * 5
    result = client.predict("folk-vae-2bar", 3, None, 0, handle_file(str(a)), None, handle_file(str(b)), None,
                            1.0, 0, 0, 0, 0, api_name="/blend")
    steps = [value(result[i]) for i in range(0, 14, 2)]
    assert [bool(s) for s in steps] == [True, True, True, False, False, False, False]
    assert "bars" in value(result[14 + 3])


def _wait(client, job: int, states: set[str], seconds: float = 240) -> str:
    end = time.time() + seconds
    while time.time() < end:
        line = client.predict(job, api_name="/job_status")
        if any(f"**{s}**" in line for s in states):
            return line
        time.sleep(1)
    raise AssertionError(f"job {job} not {states} after {seconds} s: {line}")


def test_a_tiny_training_job_runs_to_the_end_and_its_model_is_offered(studio, tiny_corpus, tmp_path):
    settings, client, _ = studio
    bundle = tmp_path / "corpus.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for file in sorted(tiny_corpus.glob("*.mid")):
            archive.write(file, f"tunes/{file.name}")
    config = tmp_path / "tiny.toml"
    model = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("False", "false") for k, v in TINY_RNN.items())
    config.write_text(f"[model]\n{model}\n[training]\nmax_steps = 8\nbatch_size = 4\naugment = false\n")
    report = client.predict("uploaded", [handle_file(str(bundle))], api_name="/check_corpus")
    assert "**12 pieces**" in report
    report, job = client.predict("uploaded", [handle_file(str(bundle))], "rnn", "defaults", handle_file(str(config)),
                                 1, "tiny", api_name="/train")
    line = _wait(client, int(job), {"done", "failed"})
    assert "**done**" in line, line
    assert (settings.runs / "tiny" / "model.safetensors").exists()
    choices = client.predict(api_name="/models")
    assert "runs/tiny" in [c[1] for c in choices[0]["choices"]]
    result = client.predict(*compose_args("runs/tiny", bars=2), api_name="/compose")
    assert Path(value(result[1])).exists()


def test_a_training_job_can_be_stopped(studio, tmp_path):
    _, client, _ = studio
    _, job = client.predict("bach", None, "transformer", "defaults", None, 5, "stopped-one", api_name="/train")
    _wait(client, int(job), {"running"}, 60)
    client.predict(int(job), api_name="/stop")
    assert "**stopped**" in _wait(client, int(job), {"stopped"}, 30)


def test_evaluate_uploaded_pieces_against_a_corpus(studio, chorales, tmp_path):
    _, client, _ = studio
    files = []
    for i, piece in enumerate(chorales[:3]):
        files.append(handle_file(str(piece.save(tmp_path / f"c{i}.mid"))))
    summary, copies, figures, report_zip, report = client.predict("uploaded", None, 2, 4, 0, files, "bach",
                                                                  api_name="/evaluate")
    assert "uploaded" in summary and "mean overlap" in summary
    assert "copies:" in copies  # chorales of the corpus itself are flagged as copies
    assert len(figures) == 3
    with zipfile.ZipFile(report_zip) as archive:
        assert "report.md" in archive.namelist()


def test_a_damaged_upload_is_an_error_in_the_page_and_the_studio_goes_on(studio, tmp_path):
    _, client, _ = studio
    damaged = tmp_path / "broken.mid"
    damaged.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff\xff\xff\xff garbage")
    with pytest.raises(AppError, match="broken.mid"):
        client.predict(*compose_args("folk-transformer", primer=handle_file(str(damaged))), api_name="/compose")
    result = client.predict(*compose_args("folk-transformer"), api_name="/compose")
    assert Path(value(result[1])).exists()


def test_an_oversized_upload_is_refused(studio, tmp_path):
    settings, client, _ = studio
    big = tmp_path / "big.mid"
    big.write_bytes(b"\0" * (settings.upload_bytes + 1))
    with pytest.raises(Exception, match="(?i)large|size|exceed|413"):
        client.predict(*compose_args("folk-transformer", primer=handle_file(str(big))), api_name="/compose")


def test_an_upload_named_to_climb_out_stays_in_the_studio(studio, tmp_path):
    settings, client, url = studio
    import httpx

    response = httpx.post(f"{url}gradio_api/upload", files={"files": ("../../../escaped.mid", b"MThd")})
    assert response.status_code == 200
    stored = Path(response.json()[0]).resolve()
    assert settings.work.resolve() in stored.parents and not (settings.work.parent / "escaped.mid").exists()
    from tunesmith.studio.work import safe_name, take_uploads

    assert safe_name("../../escaped.mid") == "escaped.mid" and safe_name("..\\..\\x.abc") == "x.abc"
    odd = tmp_path / "..sneaky.mid"
    melody_file(odd)
    (taken,) = take_uploads([str(odd)], settings)
    assert settings.work.resolve() in taken.resolve().parents and taken.name.endswith("sneaky.mid")


def test_a_model_name_is_never_a_path(studio):
    _, client, _ = studio
    for name in ("/etc", "../pretrained/bach-rnn"):  # the page refuses a value not offered; the studio too
        with pytest.raises(AppError, match="not in the list of choices"):
            client.predict(*compose_args(name), api_name="/compose")
    from tunesmith.errors import TunesmithError
    from tunesmith.studio.work import model_named

    with pytest.raises(TunesmithError, match="no model named '../pretrained/bach-rnn'"):
        model_named(studio[0], "../pretrained/bach-rnn")
