"""The token store: shards read back exactly what was encoded; a killed build resumes without encoding again what
it finished; new files go into new shards; parts built apart join into the whole; training reads it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tests.conftest import make_piece

from tunesmith.data import load_corpus
from tunesmith.errors import TunesmithError
from tunesmith.representations import store as store_module
from tunesmith.representations.store import TokenStore, build_store, join_stores


def built(source, out, **options):
    return build_store(source, out, shard_size=5, workers=1, progress=False, **options)


def test_a_store_reads_back_what_its_representation_encodes(tiny_corpus, tmp_path):
    report = built(tiny_corpus, tmp_path / "store")
    assert (report.encoded, report.kept, report.shards, report.rejected) == (12, 0, 3, [])
    store = TokenStore(tmp_path / "store")
    rep = store.representation()
    pieces = {p.source: p for p in load_corpus(tiny_corpus, progress=False, workers=1).pieces}
    assert len(store) == 12 and sorted(store.names()) == sorted(pieces)
    for number, name in enumerate(store.names()):
        assert store[number].dtype == np.uint16
        assert store[number].tolist() == rep.encode(pieces[name])
        assert store.length(number) == len(store[number])
    split = store.split()
    assert sorted(sum(split.values(), [])) == list(range(12)) or split["valid"] == split["train"]
    (tmp_path / "store" / "index.npz").unlink()  # opened shard by shard, the same store
    alone = TokenStore(tmp_path / "store")
    assert alone.split() == split and [alone[i].tolist() for i in range(12)] == [store[i].tolist() for i in range(12)]


def test_a_killed_build_resumes_and_new_files_only_are_encoded(tiny_corpus, tmp_path, monkeypatch):
    source = tmp_path / "music"
    shutil.copytree(tiny_corpus, source)
    write = store_module._write_shard
    calls = []

    def killed_at_the_second(folder, *args):
        calls.append(folder)
        if len(calls) == 2:  # the second shard was being written when the build was killed
            (folder.with_name(f".partial-{folder.name}")).mkdir()
            raise KeyboardInterrupt
        write(folder, *args)

    monkeypatch.setattr(store_module, "_write_shard", killed_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        built(source, tmp_path / "store")
    monkeypatch.setattr(store_module, "_write_shard", write)
    assert len(TokenStore(tmp_path / "store")) == 5
    report = built(source, tmp_path / "store")
    assert (report.kept, report.encoded) == (5, 7)
    assert not list((tmp_path / "store").glob(".partial-*"))
    make_piece(99, tonic=2, beats=4).dump_midi(str(source / "new.mid"))
    (source / "broken.mid").write_bytes(b"MThd\x00\x00")
    report = built(source, tmp_path / "store")
    assert (report.kept, report.encoded, report.shards, len(report.rejected)) == (12, 2, 1, 1)
    store = TokenStore(tmp_path / "store")
    assert len(store) == 13 and "new.mid" in store.names() and len(store.lengths()) == 13
    assert [name for name, _ in store.rejected()] == ["broken.mid"]
    assert built(source, tmp_path / "store").encoded == 0


def test_parts_built_apart_join_into_the_whole(tiny_corpus, tmp_path):
    built(tiny_corpus, tmp_path / "whole")
    for i in range(2):
        built(tiny_corpus, tmp_path / f"part{i}", part=(i, 2))
    assert 0 < len(TokenStore(tmp_path / "part0")) < 12
    assert join_stores([tmp_path / "part0", tmp_path / "part1"], tmp_path / "joined") > 0
    whole, joined = TokenStore(tmp_path / "whole"), TokenStore(tmp_path / "joined")
    by_name = {name: whole[i].tolist() for i, name in enumerate(whole.names())}
    assert {name: joined[i].tolist() for i, name in enumerate(joined.names())} == by_name


def test_a_store_refuses_what_it_cannot_hold(tiny_corpus, tmp_path):
    with pytest.raises(TunesmithError, match="conditioning and infilling need the pieces"):
        built(tiny_corpus, tmp_path / "s", representation={"conditioning": ["key"]})
    with pytest.raises(TunesmithError, match="a part is i/N"):
        built(tiny_corpus, tmp_path / "s", part=(2, 2))
    with pytest.raises(TunesmithError, match="is not a token store"):
        TokenStore(tmp_path)


def test_the_token_families_train_on_a_store_and_the_others_say_why_not(run_cli, tiny_corpus, tmp_path):
    code, out, err = run_cli("corpus", "store", str(tiny_corpus), str(tmp_path / "store"), "--shard-size", "4",
                             "--workers", "1", "-q")
    assert code == 0 and "encoded 12 files into 3 shards" in out, err
    code, out, err = run_cli("train", "-m", "rnn", "-c", str(tmp_path / "store"), "--max-steps", "3",
                             "--batch-size", "4", "-q", "-o", str(tmp_path / "run"),
                             )
    assert code == 0 and "trained 3 steps" in out, err
    code, out, err = run_cli("train", "-m", "gan", "-c", str(tmp_path / "store"), "-q", "-o", str(tmp_path / "g"))
    assert code == 2 and "a token store trains the token families" in err and "\n" not in err.strip()
    code, out, err = run_cli("corpus", "store", str(tiny_corpus), str(tmp_path / "x"), "--shard", "1of2")
    assert code == 2 and "--shard is i/N" in err
