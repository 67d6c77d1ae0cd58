import json
import logging
import subprocess
import sys

import pytest
import symusic

from tunesmith.data import load_corpus, read_piece, split_of, split_pieces
from tunesmith.data.corpora import CACHE_VERSION
from tunesmith.data.stats import corpus_stats
from tunesmith.errors import MusicFileError, TunesmithError


def write_midi(path, pitches):
    score = symusic.Score(480)
    track = symusic.Track("Piano", program=0)
    for i, p in enumerate(pitches):
        track.notes.append(symusic.Note(i * 480, 480, p, 90))
    score.tracks.append(track)
    score.dump_midi(str(path))


def test_folder_skips_bad_files_and_says_why(tmp_path):
    write_midi(tmp_path / "good.mid", [60, 62, 64, 65])
    (tmp_path / "sub").mkdir()
    write_midi(tmp_path / "sub" / "also_good.midi", [67, 69])
    (tmp_path / "corrupt.mid").write_bytes(b"MThd this is not a midi file")
    (tmp_path / "empty.mid").write_bytes(b"")
    write_midi(tmp_path / "silent.mid", [])
    (tmp_path / "notes.txt").write_text("not music")
    corpus = load_corpus(tmp_path, progress=False)
    assert sorted(p.name for p in corpus.pieces) == ["also_good", "good"]
    reasons = {path.split("/")[-1]: reason for path, reason in corpus.rejected}
    assert set(reasons) == {"corrupt.mid", "empty.mid", "silent.mid"}
    assert "empty" in reasons["empty.mid"]
    assert "no notes" in reasons["silent.mid"]
    assert "the MIDI header chunk says it is 544,499,817 bytes long, not 6" in reasons["corrupt.mid"]
    stats = corpus_stats(corpus)
    assert stats["pieces"] == 2 and stats["notes"] == 6 and len(stats["rejected"]) == 3
    assert stats["pitch_range"] == "C4-A4"


def test_missing_corpus_and_files_are_one_line_errors(tmp_path):
    with pytest.raises(TunesmithError, match="no corpus"):
        load_corpus(tmp_path / "nowhere")
    with pytest.raises(TunesmithError, match="no music files"):
        load_corpus(tmp_path)
    with pytest.raises(MusicFileError, match="no such file"):
        read_piece(tmp_path / "x.mid")
    (tmp_path / "x.wav").write_bytes(b"RIFF")
    with pytest.raises(MusicFileError, match="unknown kind"):
        read_piece(tmp_path / "x.wav")


def test_bach_corpus_has_four_voices(chorales):
    assert len(chorales) == 6
    assert all([t[0] for t in p.instruments][:4] == ["Soprano", "Alto", "Tenor", "Bass"] for p in chorales[:3])
    assert all(p.source.startswith("bach/") for p in chorales)


def test_split_is_by_identity_not_order(chorales):
    names = [f"piece-{i}" for i in range(2000)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in reversed(names)][::-1]
    share = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert 0.77 < share["train"] < 0.83 and 0.08 < share["valid"] < 0.12
    a = split_pieces(list(chorales))
    b = split_pieces(list(reversed(chorales)))
    assert sorted(p.name for p in a["train"]) == sorted(p.name for p in b["train"])


# ---------- the bundled corpora's cache ----------

@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNESMITH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "corpora" / f"bach-v{CACHE_VERSION}-first3"


def _names(corpus):
    return [p.name for p in corpus.pieces]


@pytest.mark.parametrize("damage", ["index not json", "index cut short", "a midi file gone"])
def test_a_damaged_cache_is_said_removed_and_built_again(own_cache, caplog, damage):
    built = load_corpus("bach", limit=3, progress=False)
    index = own_cache / "index.json"
    if damage == "index not json":
        index.write_text("this is not JSON")
    elif damage == "index cut short":
        index.write_bytes(index.read_bytes()[:40])
    else:
        (own_cache / "midi" / "00001.mid").unlink()
    with caplog.at_level(logging.WARNING, logger="tunesmith.data.corpora"):
        again = load_corpus("bach", limit=3, progress=False)
    assert _names(again) == _names(built) and [p.note_count for p in again.pieces] == [
        p.note_count for p in built.pieces]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith(f"the bach corpus cache in {own_cache} is damaged (") and warning.endswith(
        "): building it again")
    assert json.loads(index.read_text())["version"] == CACHE_VERSION


def test_a_build_stopped_by_a_dead_process_is_removed_and_a_live_one_left(own_cache):
    own_cache.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = own_cache.with_name(f"{own_cache.name}.partial-{dead.stdout.strip()}")
    live = own_cache.with_name(f"{own_cache.name}.partial-1")  # pid 1 runs as long as the machine does
    other = own_cache.with_name(f"bach-v{CACHE_VERSION}.partial-{dead.stdout.strip()}")  # another cache's
    for folder in (stale, live, other):
        (folder / "midi").mkdir(parents=True)
    load_corpus("bach", limit=3, progress=False)
    assert sorted(p.name for p in own_cache.parent.iterdir()) == sorted([own_cache.name, live.name, other.name])


def test_loads_started_together_build_the_cache_once(own_cache, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from tunesmith.data import corpora

    builds = []
    build = corpora._build_bundled_cache

    def counted(*args, **kwargs):
        builds.append(args[0])
        return build(*args, **kwargs)

    monkeypatch.setattr(corpora, "_build_bundled_cache", counted)
    with ThreadPoolExecutor(3) as pool:
        loaded = list(pool.map(lambda _: load_corpus("bach", limit=3, progress=False, workers=1), range(3)))
    assert builds == ["bach"]
    assert _names(loaded[0]) == _names(loaded[1]) == _names(loaded[2]) and len(loaded[0].pieces) == 3
