"""Voice slots: tracks sharing a program stay apart, with their names, from corpus to tokens and back."""

from collections import Counter

import pytest
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.representations import representation_from_dict
from tunesmith.representations.tokens import TokenRepresentation
from tunesmith.representations.voice_slots import Voice, VoiceSlots


def notes_by_track(piece: Piece) -> dict[str, Counter]:
    """Track name -> multiset of (onset in quarters, pitch, duration in quarters)."""
    tpq = piece.tpq
    return {t.name: Counter((round(n.time / tpq, 3), n.pitch, round(n.duration / tpq, 3)) for n in t.notes)
            for t in piece.score.tracks if len(t.notes)}


def band(*tracks: tuple[str, int, bool], bars: int = 2) -> Piece:
    """4/4 at 480 ticks per quarter; track i plays quarter notes on pitch 40 + 7 * i (drums: 36 + i)."""
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    for i, (name, program, drums) in enumerate(tracks):
        track = symusic.Track(name, program=program, is_drum=drums)
        for beat in range(4 * bars):
            track.notes.append(symusic.Note(beat * 480, 480, (36 + i) if drums else 40 + 7 * i, 80))
        score.tracks.append(track)
    return Piece(score, name="band")


SATB = [("Soprano", 0, False), ("Alto", 0, False), ("Tenor", 0, False), ("Bass", 0, False)]


def test_a_chorale_comes_back_as_its_four_named_voices(chorales):
    rep = TokenRepresentation().fit(chorales)
    assert rep.settings["voices"] == [{"slot": 0, "program": 0, "name": "Soprano"},
                                      {"slot": 127, "program": 0, "name": "Alto"},
                                      {"slot": 126, "program": 0, "name": "Tenor"},
                                      {"slot": 125, "program": 0, "name": "Bass"}]
    assert rep.programs == [0]  # the real programs: the controls check asked instruments against them
    for piece in chorales:
        back = rep.decode(rep.encode(piece))
        assert back.instruments == SATB, piece.name
        assert notes_by_track(back) == notes_by_track(piece), piece.name


def test_without_a_voice_table_the_voices_merge_as_they_always_did(chorales):
    fitted = TokenRepresentation().fit(chorales)
    saved = {k: v for k, v in fitted.to_dict().items() if k != "voices"}  # a run trained before voice slots
    old = representation_from_dict(saved)
    assert isinstance(old, TokenRepresentation) and old.voice_slots is None
    back = old.decode(old.encode(chorales[0]))
    assert back.instruments == [("Acoustic Grand Piano", 0, False)]
    assert old.encode(chorales[0]) == TokenRepresentation().encode(chorales[0])
    assert old.program_slots([0]) == [0]


def test_two_pianos_stay_two_pianos():
    corpus = [band(("Piano 1", 0, False), ("Piano 2", 0, False), ("Violin", 40, False)),
              band(("Piano 1", 0, False), ("Piano 2", 0, False))]
    rep = TokenRepresentation().fit(corpus)
    assert rep.voice_slots is not None
    assert rep.voice_slots.voices == [Voice(0, 0, "Piano 1"), Voice(127, 0, "Piano 2"), Voice(40, 40, "Violin")]
    back = rep.decode(rep.encode(corpus[0]))
    assert back.instruments == [("Piano 1", 0, False), ("Piano 2", 0, False), ("Violin", 40, False)]
    assert notes_by_track(back) == notes_by_track(corpus[0])
    # the second piano writes Program_127 (a program the corpus never plays); the first its own
    names = rep.token_names()
    assert {names[i] for i in rep.encode(corpus[0]) if names[i].startswith("Program_")} == {
        "Program_0", "Program_127", "Program_40"}
    assert rep.program_slots([0]) == [0, 127] and rep.program_slots([40, 7]) == [40, 7]


def test_the_table_survives_saving(chorales, tmp_path):
    rep = TokenRepresentation().fit(chorales)
    rep.save(tmp_path)
    again = representation_from_dict(rep.to_dict(), tmp_path)
    assert isinstance(again, TokenRepresentation) and again.voice_slots is not None
    assert again.to_dict() == rep.to_dict()
    assert again.voice_slots.voices == rep.voice_slots.voices
    assert again.encode(chorales[1]) == rep.encode(chorales[1])
    assert again.decode(again.encode(chorales[1])).instruments == SATB


def test_the_usual_line_up_comes_first_and_names_match_before_order():
    usual = band(*SATB)
    extra = band(("Violin", 0, False), *SATB)  # a violin above the choir, same program
    rep = TokenRepresentation().fit([usual, usual, extra])
    slots = rep.voice_slots
    assert slots is not None
    assert [v.name for v in slots.voices] == ["Soprano", "Alto", "Tenor", "Bass", "Violin"]
    assert [v.slot for v in slots.voices] == [0, 127, 126, 125, 124]
    # the choir keeps its slots when a violin comes first; the violin takes the free voice
    assert slots.slots_of([(0, "Violin"), (0, "Soprano"), (0, "Alto"), (0, "Tenor"), (0, "Bass")]) == [
        124, 0, 127, 126, 125]
    # unnamed tracks take the voices in order; past the voices they share the first; an unknown program is itself
    assert slots.slots_of([(0, ""), (0, "x"), (0, "Track 3")]) == [0, 127, 126]
    assert slots.slots_of([(0, "")] * 6) == [0, 127, 126, 125, 124, 0]
    assert slots.slots_of([(33, "Bass guitar")]) == [33]
    back = rep.decode(rep.encode(extra))
    assert [name for name, _, _ in back.instruments] == ["Soprano", "Alto", "Tenor", "Bass", "Violin"]
    assert notes_by_track(back) == notes_by_track(extra)


def test_drums_are_one_voice_and_unnamed_voices_take_their_instrument_name():
    corpus = [band(("", 0, False), ("", 0, False), ("Kit", 0, True), ("Toms", 0, True))]
    slots = VoiceSlots.fit(corpus)
    assert slots.voices == [Voice(0, 0, "Acoustic Grand Piano"), Voice(127, 0, "Acoustic Grand Piano 2"),
                            Voice(128, 128, "Kit")]
    rep = TokenRepresentation().fit(corpus)
    back = rep.decode(rep.encode(corpus[0]))
    assert back.instruments == [("Acoustic Grand Piano", 0, False), ("Acoustic Grand Piano 2", 0, False),
                                ("Kit", 0, True)]


def test_names_found_equally_often_keep_the_order_the_corpus_first_has_them():
    # past the usual line-up (Cantus, Altus) four names occur once each: they come in the order the corpus
    # first has them, whatever the order of hashing (a set of names would shuffle them from run to run)
    duo = band(("Cantus", 52, False), ("Altus", 52, False))
    more = band(*((name, 52, False) for name in ("Quintus", "Sextus", "Septimus", "Octavus", "Cantus", "Altus")))
    names = [v.name for v in VoiceSlots.fit([duo, duo, more]).voices]
    assert names == ["Cantus", "Altus", "Quintus", "Sextus", "Septimus", "Octavus"]


@pytest.mark.parametrize("voices, message", [
    ({"slot": 0}, "must be a list of voices"),
    ([{"slot": 0, "program": 0}], "is {'slot', 'program', 'name'}"),
    ([{"slot": 200, "program": 0, "name": "x"}], "slot and program are 0-128"),
    ([{"slot": 0, "program": 0, "name": "a"}, {"slot": 0, "program": 0, "name": "b"}], "one slot to two voices"),
])
def test_a_bad_voice_table_is_refused_in_one_line(voices, message):
    with pytest.raises(TunesmithError) as raised:
        TokenRepresentation.from_dict({"kind": "tokens", "voices": voices})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_without_program_tokens_there_is_no_voice_table(chorales):
    rep = TokenRepresentation(use_programs=False).fit(chorales)
    assert rep.voice_slots is None and "voices" not in rep.to_dict() and rep.programs == [0]
