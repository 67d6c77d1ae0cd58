"""The chorales shipped already converted (data/shipped.py): current, and what music21's conversion gives."""

from __future__ import annotations

import json
import zipfile

from tunesmith.data import load_corpus
from tunesmith.data import shipped as shipped_module
from tunesmith.data.corpora import CACHE_VERSION
from tunesmith.data.shipped import pack, read_shipped, shipped_path


def test_the_shipped_chorales_are_of_the_current_cache_version():
    with zipfile.ZipFile(shipped_path("bach")) as archive:
        index = json.loads(archive.read("index.json"))
        assert index["corpus"] == "bach" and index["version"] == CACHE_VERSION
        assert sorted(archive.namelist()) == ["index.json", *(f"midi/{e['file']}" for e in index["pieces"])]
    corpus = load_corpus("bach", progress=False)  # read from the zip, not converted
    assert len(corpus.pieces) == len(index["pieces"]) >= 340 and corpus.rejected == []
    assert all(p.tags == {"corpus": "bach"} and p.note_count > 20 for p in corpus.pieces)
    assert len({p.source for p in corpus.pieces}) == len(corpus.pieces)


def test_the_first_chorales_converted_again_are_the_shipped_ones():
    shipped = load_corpus("bach", progress=False).pieces
    converted = load_corpus("bach", limit=8, progress=False).pieces  # parsed by music21 (a cache of its own)
    assert [(p.name, p.source) for p in converted] == [(p.name, p.source) for p in shipped[:8]]
    assert [p.score.dumps_midi() for p in converted] == [p.score.dumps_midi() for p in shipped[:8]]


def test_a_zip_of_another_cache_version_is_not_read(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "bach.zip", "w") as archive:
        archive.writestr("index.json", json.dumps({"corpus": "bach", "version": CACHE_VERSION - 1, "pieces": [],
                                                   "rejected": []}))
    monkeypatch.setattr(shipped_module, "SHIPPED", tmp_path)
    assert read_shipped("bach", CACHE_VERSION) is None
    assert read_shipped("folk", CACHE_VERSION) is None  # none shipped


def test_packing_a_cache_again_gives_the_shipped_bytes(tmp_path, monkeypatch):
    cache = tmp_path / "bach"
    (cache / "midi").mkdir(parents=True)
    with zipfile.ZipFile(shipped_path("bach")) as archive:
        for name in archive.namelist():
            (cache / name).write_bytes(archive.read(name))
    shipped = shipped_path("bach").read_bytes()
    monkeypatch.setattr(shipped_module, "SHIPPED", tmp_path / "out")
    (tmp_path / "out").mkdir()
    assert pack(cache, "bach").read_bytes() == shipped  # fixed dates and order: the same cache, the same zip
