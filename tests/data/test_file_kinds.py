"""Every kind of file README lists is read, with its notes, metre and instruments: MIDI (.mid .midi .kar),
MusicXML (.musicxml .xml .mxl), ABC and Humdrum kern."""

from __future__ import annotations

import music21
import pytest
import symusic

from tunesmith.data import load_corpus, read_piece

SCALE = [(60, 1.0), (62, 1.0), (64, 1.0), (65, 1.0), (67, 2.0), (69, 2.0)]  # (pitch, quarters): two bars of 4/4


def _music21_score() -> music21.stream.Score:
    part = music21.stream.Part()
    part.insert(0, music21.instrument.Violin())
    part.append(music21.meter.TimeSignature("4/4"))
    for pitch, quarters in SCALE:
        part.append(music21.note.Note(pitch, quarterLength=quarters))
    score = music21.stream.Score()
    score.insert(0, part)
    return score


def _write_midi(path) -> None:
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Violin", program=40)
    time = 0
    for pitch, quarters in SCALE:
        track.notes.append(symusic.Note(time, int(quarters * 480), pitch, 90))
        time += int(quarters * 480)
    score.tracks.append(track)
    score.dump_midi(str(path))


def _write(kind: str, path) -> None:
    if kind in (".mid", ".midi", ".kar"):
        _write_midi(path)
    elif kind == ".krn":
        path.write_text("**kern\n*I\"Violin\n*M4/4\n=1\n4c\n4d\n4e\n4f\n=2\n2g\n2a\n==\n*-\n")
    elif kind == ".abc":
        path.write_text("X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nC D E F | G2 A2 |\n")
    else:  # .musicxml, .xml, .mxl: music21 writes each (.mxl compressed)
        _music21_score().write("mxl" if kind == ".mxl" else "musicxml", fp=str(path))


@pytest.mark.parametrize("kind", [".mid", ".midi", ".kar", ".musicxml", ".xml", ".mxl", ".abc", ".krn"])
def test_each_kind_of_file_is_read_note_for_note(kind, tmp_path):
    path = tmp_path / f"scale{kind}"
    _write(kind, path)
    piece = read_piece(path)
    tpq = piece.tpq
    notes = sorted((n.time, n.pitch, n.duration) for t in piece.score.tracks for n in t.notes)
    # symusic's ABC reader ends each note a tick or two early (as abc2midi does); a 1/48 quarter grid hides that
    assert [(pitch, round(duration / tpq * 48) / 48) for _, pitch, duration in notes] == SCALE
    assert [time / tpq for time, _, _ in notes] == [0, 1, 2, 3, 4, 6]
    assert piece.time_signature == (4, 4) and piece.bars == 2
    assert piece.name == "scale"


def test_a_folder_of_every_kind_is_one_corpus(tmp_path):
    kinds = [".mid", ".kar", ".musicxml", ".mxl", ".abc", ".krn"]
    for i, kind in enumerate(kinds):
        (tmp_path / f"k{i}").mkdir()
        _write(kind, tmp_path / f"k{i}" / f"piece{kind}")
    corpus = load_corpus(tmp_path, progress=False, workers=1)
    assert corpus.rejected == []
    assert sorted(p.source for p in corpus.pieces) == sorted(f"k{i}/piece{kind}" for i, kind in enumerate(kinds))
    assert {p.note_count for p in corpus.pieces} == {len(SCALE)}
