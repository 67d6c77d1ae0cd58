"""A chorale model writes Soprano, Alto, Tenor and Bass as four tracks (voice slots), under the controls too;
a run saved without a voice table generates as it always did."""

from __future__ import annotations

import json
import shutil

import pytest
import symusic

from tunesmith.controls.arrange import set_instruments
from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import resolve_targets
from tunesmith.generation.masks import MusicConstraints
from tunesmith.generation.run import load_run
from tunesmith.piece import Piece
from tunesmith.representations.tokens import TokenRepresentation

VOICES = ["Soprano", "Alto", "Tenor", "Bass"]  # the six chorales' voices, all program 0


@pytest.fixture(scope="module")
def run(tiny_rnn_run):
    return load_run(tiny_rnn_run)


def allowed_programs(c: MusicConstraints) -> set[str]:
    names = c.rep.token_names()
    return {names[i] for i in (c.program & c.program_ok).nonzero().flatten().tolist()}


def test_the_run_records_its_corpus_voices(run):
    assert run.representation.settings["voices"] == [{"slot": s, "program": 0, "name": n}
                                                     for s, n in zip((0, 127, 126, 125), VOICES, strict=True)]
    assert run.representation.programs == [0]


def test_a_chorale_model_writes_named_voices_apart(run):
    for piece in run.generate(Controls(num=3, bars=3, seed=7)):
        names = [name for name, _, _ in piece.instruments]
        assert len(names) >= 2 and all(program == 0 and not drums for _, program, drums in piece.instruments)
        assert names == [v for v in VOICES if v in names]  # corpus voices, in the corpus's order, once each


def test_asked_instruments_are_still_what_is_written(run):
    one = run.generate(Controls(num=1, bars=2, seed=1, instruments=["piano"]))[0]
    assert one.instruments == [("Acoustic Grand Piano", 0, False)]  # one piano, as asked: the voices re-voiced
    four = run.generate(Controls(num=2, bars=2, seed=1, instruments=["piano"] * 4))
    assert all(sorted(p for _, p, _ in piece.instruments) == [0, 0, 0, 0] for piece in four)
    strings = run.generate(Controls(num=1, bars=2, seed=1, instruments=["violin", "cello"]))[0]
    assert [(name, program) for name, program, _ in strings.instruments] == [("Violin", 40), ("Cello", 42)]


def test_a_harmonised_chorale_melody_gets_the_corpus_voices(run, chorales):
    primer = chorales[0].bars_slice(0, 2)
    for piece in run.generate(Controls(num=2, seed=2, primer=primer, harmonise=True)):
        assert piece.instruments == [(name, 0, False) for name in VOICES]
        assert piece.tags["checks"]["harmonise"]["ok"]


def test_every_voice_of_an_asked_program_may_be_written(run):
    rep = run.representation
    c = MusicConstraints(rep, resolve_targets(Controls()), programs=[0])
    assert allowed_programs(c) == {"Program_0", "Program_127", "Program_126", "Program_125"}
    assert allowed_programs(MusicConstraints(rep, resolve_targets(Controls()), programs=[40])) == {"Program_40"}


def test_the_melody_of_a_harmonisation_goes_to_the_top_voice():
    flute_over_piano = Piece(two_tracks(("Flute", 73), ("Piano", 0)))
    rep = TokenRepresentation().fit([flute_over_piano])
    melody = [(0, 0, 72, 8, 80)]
    c = MusicConstraints(rep, resolve_targets(Controls(bars=1)), programs=[0, 73], melody=melody)
    assert c.melody is not None and rep.token_names()[c.melody.program] == "Program_73"  # not the lowest program
    old = TokenRepresentation(programs=[0, 73])  # no voice table: the lowest program, as before
    c = MusicConstraints(old, resolve_targets(Controls(bars=1)), programs=[0, 73], melody=melody)
    assert c.melody is not None and old.token_names()[c.melody.program] == "Program_0"


def test_set_instruments_keeps_named_voices_and_names_the_ones_it_makes():
    piece = Piece(two_tracks(("Soprano", 0), ("Alto", 0)))
    kept = set_instruments(piece, [0, 0], ["Soprano", "Alto"])
    assert kept.instruments == piece.instruments
    renamed = set_instruments(piece, [0, 0], ["Cantus", "Altus"])
    assert renamed.instruments == [("Cantus", 0, False), ("Altus", 0, False)]
    assert sorted(n.pitch for n in renamed.score.tracks[0].notes) == [72, 72]  # the top voice first
    assert set_instruments(piece, [0, 0]).instruments == piece.instruments  # no names asked: programs decide


def test_a_run_saved_without_voices_generates_as_before(tiny_rnn_run, tmp_path):
    old = tmp_path / "old-run"
    shutil.copytree(tiny_rnn_run, old)
    config = json.loads((old / "config.json").read_text())
    del config["representation"]["voices"]
    (old / "config.json").write_text(json.dumps(config))
    run = load_run(old)
    assert run.representation.voice_slots is None
    for piece in run.generate(Controls(num=2, bars=2, seed=3)):
        assert piece.instruments == [("Acoustic Grand Piano", 0, False)]  # the four voices in one track


def two_tracks(*tracks: tuple[str, int]) -> symusic.Score:
    """4/4 at 480 ticks per quarter, two half notes per track, the first track a fifth above the second."""
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for i, (name, program) in enumerate(tracks):
        track = symusic.Track(name, program=program)
        for beat in (0, 2):
            track.notes.append(symusic.Note(beat * 480, 960, 72 - 7 * i, 80))
        score.tracks.append(track)
    return score
