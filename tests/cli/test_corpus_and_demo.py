"""`tunesmith corpus list`, `corpus stats` (table, JSON, rejected files), the folk corpus, and a short `demo`."""

from __future__ import annotations

import json

import pytest
import symusic

from tunesmith.data import load_corpus
from tunesmith.piece import Piece


def test_corpus_list_names_the_bundled_corpora_and_the_file_kinds(run_cli):
    code, out, err = run_cli("corpus", "list")
    assert code == 0, err
    assert "bach" in out and "folk" in out and "chorales" in out
    for suffix in (".mid", ".kar", ".mxl", ".musicxml", ".abc", ".krn"):
        assert suffix in out


def _folder_with_bad_files(folder):
    folder.mkdir()
    for name, pitches in (("a.mid", [60, 64, 67, 72]), ("b.mid", [62, 65])):
        score = symusic.Score(480)
        score.tempos.append(symusic.Tempo(0, qpm=90.0))
        track = symusic.Track("Flute", program=73)
        for i, pitch in enumerate(pitches):
            track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
        score.tracks.append(track)
        score.dump_midi(str(folder / name))
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (folder / "nothing.mid").write_bytes(b"")
    return folder


def test_corpus_stats_prints_a_table_writes_json_and_lists_the_rejected_files(run_cli, tmp_path):
    folder = _folder_with_bad_files(tmp_path / "mine")
    code, out, err = run_cli("corpus", "stats", folder, "--json", tmp_path / "stats.json", "-q")
    assert code == 0, err
    assert "rejected" in out and out.count("skipped: ") == 2
    assert "broken.mid: the header gives MIDI format 26465" in out and "nothing.mid: the file is empty" in out
    data = json.loads((tmp_path / "stats.json").read_text())
    assert data["pieces"] == 2 and data["notes"] == 6 and data["bars"] == 2
    assert data["pitch_range"] == "C4-C5"
    assert data["tempos"] == {"90": 2} and data["instruments"] == {"Flute": 2}
    assert sorted(r["file"].split("/")[-1] for r in data["rejected"]) == ["broken.mid", "nothing.mid"]
    assert all(r["reason"] for r in data["rejected"])


def test_the_folk_corpus_is_tunes_in_abc_with_one_melody_each(run_cli):
    corpus = load_corpus("folk", limit=1, progress=False)  # the first book: Aird's Airs, 200 tunes
    assert len(corpus.pieces) == 200 and corpus.rejected == []
    assert corpus.pieces[0].source == "airdsAirs/book1-0001"
    assert all(len(p.score.tracks) == 1 and p.note_count > 8 for p in corpus.pieces)
    assert len({p.name for p in corpus.pieces}) == 200
    code, out, err = run_cli("corpus", "stats", "folk", "--limit", "1", "-q")
    assert code == 0, err
    assert "200" in out


@pytest.mark.slow
def test_demo_trains_then_writes_listenable_and_viewable_pieces(run_cli, tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run_cli("demo", "--out", out_dir, "--minutes", "0.05", "--num", "2", "--bars", "2", "--seed", "1")
    assert code == 0, err
    assert "1/3" in out and "2/3" in out and "3/3" in out
    zoo = sorted(p.name for p in (out_dir / "zoo").iterdir())  # first, pieces from the shipped models
    for stem in ("bach-transformer-01", "folk-transformer-01", "bach-gan-01", "folk-vae-2bar-walk"):
        assert {f"{stem}.{kind}" for kind in ("mid", "wav", "png", "musicxml", "svg")} <= set(zoo), stem
    folk, harmonised = (Piece.load(out_dir / "zoo" / f"{stem}.mid") for stem in ("folk-transformer-01", "bach-gan-01"))
    melody = sorted((n.time, n.pitch) for n in folk.score.tracks[0].notes)
    soprano = next(t for t in harmonised.score.tracks if t.name == "Soprano")
    assert sorted((n.time * folk.tpq // harmonised.tpq, n.pitch) for n in soprano.notes) == melody  # kept whole
    assert {t.name for t in harmonised.score.tracks} == {"Soprano", "Alto", "Tenor", "Bass"}
    assert out.index("from the trained models") < out.index("1/3")
    files = sorted(p.name for p in out_dir.iterdir() if p.is_file())
    assert files == [f"demo-0{i}.{kind}" for i in (1, 2) for kind in ("mid", "musicxml", "png", "svg", "wav")]
    for i in (1, 2):
        piece = Piece.load(out_dir / f"demo-0{i}.mid")
        assert piece.bars == 2 and piece.note_count > 0
        assert (out_dir / f"demo-0{i}.wav").read_bytes()[:4] == b"RIFF"
        assert (out_dir / f"demo-0{i}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (out_dir / f"demo-0{i}.svg").read_text()[:400]
    assert (out_dir / "run" / "model.safetensors").exists()
    config = json.loads((out_dir / "run" / "config.json").read_text())
    assert config["family"] == "rnn" and config["representation"]["infill"] is True
    # a second demo reuses the trained model
    first = (out_dir / "run" / "model.safetensors").read_bytes()
    code, out, err = run_cli("demo", "--out", out_dir, "--num", "1", "--bars", "2", "--seed", "1")
    assert code == 0, err
    assert "reusing the model" in out
    assert (out_dir / "run" / "model.safetensors").read_bytes() == first
