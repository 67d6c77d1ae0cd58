from collections import Counter

import miditok
import numpy as np
import pytest
import symusic

from tunesmith.errors import TunesmithError
from tunesmith.piece import Piece
from tunesmith.representations import representation_from_dict
from tunesmith.representations.tokens import TokenRepresentation, style_of


def note_events(piece):
    """(onset in quarters, pitch, duration in quarters) of every note, as a multiset."""
    tpq = piece.tpq
    return Counter((round(n.time / tpq, 3), n.pitch, round(n.duration / tpq, 3))
                   for t in piece.score.tracks for n in t.notes)


@pytest.mark.parametrize("tokenization", ["REMI", "TSD"])
def test_round_trip_of_real_chorales(chorales, tokenization):
    rep = TokenRepresentation(tokenization=tokenization)
    for piece in chorales:
        back = rep.decode(rep.encode(piece))
        assert note_events(back) == note_events(piece), piece.name
        velocities = sorted(n.velocity for t in back.score.tracks for n in t.notes)
        original = sorted(n.velocity for t in piece.score.tracks for n in t.notes)
        assert max(abs(a - b) for a, b in zip(velocities, original, strict=True)) <= 8


def test_bars_counted_and_dict_round_trip(chorales, tmp_path):
    rep = TokenRepresentation()
    ids = rep.encode(chorales[0])
    assert rep.bars_in(ids) == chorales[0].bars
    rep.save(tmp_path)
    again = representation_from_dict(rep.to_dict(), tmp_path)
    assert again.encode(chorales[0]) == ids
    assert again.vocab_size == rep.vocab_size


def test_transposition_in_token_space_matches_transposing_the_piece(chorales):
    rep = TokenRepresentation()
    piece = chorales[1]
    shifted = rep.transpose_table(3)[rep.encode(piece)].tolist()
    assert shifted == rep.encode(piece.transpose(3))
    assert rep.transpose_table(200)[rep.tokenizer["Pitch_60"]] == -1


# ---------------- hand-made pieces: settings, vocabulary, conditioning ----------------

def bars_of(notes_per_bar: list[int], *, program: int = 0, drums: bool = False, tags: dict | None = None,
            source: str = "") -> Piece:
    """One track in 4/4 at 480 ticks per quarter, with `notes_per_bar[i]` evenly spaced notes in bar i."""
    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("t", program=program, is_drum=drums)
    for bar, count in enumerate(notes_per_bar):
        step = 1920 // count
        for i in range(count):
            track.notes.append(symusic.Note(bar * 1920 + i * step, step, 60 + 2 * i, 80))
    score.tracks.append(track)
    return Piece(score=score, name="bars", source=source, tags=dict(tags or {}))


def test_settings_reach_the_tokenizer_and_the_saved_dict():
    rep = TokenRepresentation()
    assert rep.to_dict() == {"kind": "tokens", "tokenization": "REMI", "num_velocities": 16, "use_programs": True,
                             "use_tempos": True, "use_time_signatures": True, "num_tempos": 48}
    config = rep.tokenizer.config
    assert isinstance(rep.tokenizer, miditok.REMI)
    assert (config.use_velocities, config.num_velocities, config.use_tempos, config.num_tempos) == (True, 16, True, 48)
    assert tuple(config.tempo_range) == (40, 250)
    assert (config.use_time_signatures, config.use_programs, config.one_token_stream_for_programs) == (True,) * 3
    assert config.special_tokens == ["PAD_None", "BOS_None", "EOS_None", "MASK_None"]
    assert rep.special_ids == [0, 1, 2, 3] and (rep.pad_id, rep.bos_id, rep.eos_id) == (0, 1, 2)
    assert rep.bar_id == rep.tokenizer["Bar_None"]
    assert rep.vocab_size == rep.base_vocab_size == len(rep.tokenizer)
    assert rep.programs is None

    tsd = TokenRepresentation("TSD", num_velocities=8, use_programs=False, use_tempos=False,
                              use_time_signatures=False, num_tempos=12, programs=[42, 40, 40])
    assert isinstance(tsd.tokenizer, miditok.TSD) and tsd.bar_id is None
    assert tsd.to_dict() == {"kind": "tokens", "tokenization": "TSD", "num_velocities": 8, "use_programs": False,
                             "use_tempos": False, "use_time_signatures": False, "num_tempos": 12,
                             "programs": [40, 40, 42]}
    names = tsd.token_names()
    assert sum(n.startswith("Velocity_") for n in names) == 8
    assert not any(n.startswith(("Tempo_", "Program_", "TimeSig_")) for n in names)
    assert sum(n.startswith("Tempo_") for n in rep.token_names()) == 48


def test_bad_settings_are_refused_in_one_line():
    with pytest.raises(TunesmithError) as raised:
        TokenRepresentation("MIDILike")
    assert str(raised.value) == "unknown tokenization 'MIDILike' (choose from: REMI, TSD)"
    with pytest.raises(TunesmithError) as raised:
        TokenRepresentation("TSD", infill=True)
    assert str(raised.value) == 'infill needs bar tokens: use tokenization = "REMI"'
    with pytest.raises(TunesmithError) as raised:
        TokenRepresentation.from_dict({"kind": "tokens", "width": 3})
    assert str(raised.value) == ("unknown tokens representation setting(s) width (known: conditioning, density_edges, "
                                 "infill, num_tempos, num_velocities, programs, styles, tokenization, use_programs, "
                                 "use_tempos, use_time_signatures, usual_voices, velocity_values, voices)")  # the tokenizer object is not a setting
    with pytest.raises(TunesmithError) as raised:
        TokenRepresentation.from_dict({"kind": "tokens", "use_tempos": "yes"})
    assert str(raised.value) == "tokens representation setting use_tempos must be true or false (got 'yes')"


@pytest.mark.parametrize("conditioning, infill", [(["key"], False), ([], True)])
def test_conditioning_settings_are_written_only_when_used(conditioning, infill):
    rep = TokenRepresentation(conditioning=conditioning, infill=infill)
    assert {k: rep.to_dict()[k] for k in ("conditioning", "infill", "styles", "density_edges")} == {
        "conditioning": conditioning, "infill": infill, "styles": [], "density_edges": [6.0, 12.0]}
    assert rep.conditions.base == len(rep.tokenizer)
    assert rep.vocab_size == len(rep.tokenizer) + len(rep.conditions)
    assert rep.token_names()[len(rep.tokenizer):] == rep.conditions.names
    assert len(rep.conditions) == (25 if conditioning else 4)  # 24 keys + CondEnd; the 4 infill tokens


def test_token_names_index_the_vocabulary():
    rep = TokenRepresentation(conditioning=["density"], styles=["x"])
    names = rep.token_names()
    assert len(names) == rep.vocab_size
    assert all(rep.tokenizer[name] == i for i, name in enumerate(names[:rep.base_vocab_size]))
    assert names[rep.base_vocab_size:] == ["Density_low", "Density_medium", "Density_high", "CondEnd"]


def test_pitch_and_time_of_each_token():
    rep = TokenRepresentation("TSD", conditioning=["density"])
    pitch = rep.pitch_of_token()
    assert len(pitch) == rep.vocab_size and pitch.dtype == np.int64
    assert pitch[rep.tokenizer["Pitch_60"]] == 60 and pitch[rep.tokenizer["Pitch_21"]] == 21
    assert (pitch >= 0).sum() == sum(n.startswith("Pitch_") for n in rep.token_names()) == 89  # 21 to 109
    assert (pitch[rep.base_vocab_size:] == -1).all()
    beats = rep.beats_of_token()
    assert len(beats) == rep.vocab_size
    assert beats[rep.tokenizer["TimeShift_0.3.8"]] == 0.375
    assert beats[rep.tokenizer["TimeShift_1.0.8"]] == 1.0
    assert beats[rep.tokenizer["TimeShift_9.2.4"]] == 9.5
    shifts = [i for n, i in rep.tokenizer.vocab.items() if n.startswith("TimeShift_")]
    assert beats.sum() == pytest.approx(beats[shifts].sum()) and (beats[shifts] > 0).all()
    assert rep.pitch_bounds() == (21, 109)


def test_bar_lengths_of_the_time_signature_tokens():
    rep = TokenRepresentation()
    bar_beats = rep.bar_beats_of_token()
    assert {rep.token_names()[i]: beats for i, beats in bar_beats.items()} == {
        "TimeSig_3/8": 1.5, "TimeSig_12/8": 6.0, "TimeSig_6/8": 3.0, "TimeSig_5/4": 5.0, "TimeSig_6/4": 6.0,
        "TimeSig_3/4": 3.0, "TimeSig_2/4": 2.0, "TimeSig_1/4": 1.0, "TimeSig_4/4": 4.0}
    assert sorted(rep.time_signature_names()) == ["1/4", "12/8", "2/4", "3/4", "3/8", "4/4", "5/4", "6/4", "6/8"]


def test_decoding_ignores_special_and_conditioning_ids():
    rep = TokenRepresentation(conditioning=["density"])
    piece = bars_of([4, 2])
    ids = rep.encode(piece)
    noisy = [rep.bos_id, rep.base_vocab_size, *ids[:5], rep.pad_id, *ids[5:], rep.vocab_size - 1, rep.eos_id]
    back = rep.decode(noisy, name="again")
    assert note_events(back) == note_events(piece)
    assert (back.name, back.source) == ("again", "generated")
    assert rep.decode(np.array(ids)).name == "generated"


@pytest.mark.parametrize("tokenization", ["REMI", "TSD"])
def test_bars_begun_by_a_sequence(tokenization):
    rep = TokenRepresentation(tokenization)
    assert rep.bars_in(rep.encode(bars_of([1, 2, 4]))) == 3


def test_without_program_tokens_a_one_track_piece_is_one_stream():
    rep = TokenRepresentation(use_programs=False)
    piece = bars_of([2, 4])
    ids = rep.encode(piece)
    assert ids == list(rep.tokenizer.encode(piece.score)[0].ids)
    assert sum(1 for i in ids if i == rep.bar_id) == 2


def test_transposition_tables_move_key_tokens_and_are_kept():
    rep = TokenRepresentation(conditioning=["key"])
    table = rep.transpose_table(2)
    assert rep.transpose_table(2) is table
    ids = rep.conditions.ids
    assert table[ids["Key_C_major"]] == ids["Key_D_major"] and table[ids["Key_B_minor"]] == ids["Key_C#_minor"]
    assert table[rep.tokenizer["Pitch_60"]] == rep.tokenizer["Pitch_62"]
    assert table[rep.tokenizer["Pitch_107"]] == rep.tokenizer["Pitch_109"]
    assert table[rep.tokenizer["Pitch_108"]] == -1 and rep.transpose_table(-1)[rep.tokenizer["Pitch_21"]] == -1
    assert table[rep.bar_id] == rep.bar_id and table[ids["CondEnd"]] == ids["CondEnd"]
    assert len(table) == rep.vocab_size and table.dtype == np.int64


def test_fit_records_programs_styles_and_density_tertiles():
    pieces = [bars_of([2, 2], program=40, tags={"corpus": "bach"}), bars_of([4, 4], program=42, source="x/folk/a.mid"),
              bars_of([6, 6], drums=True, tags={"corpus": "bach"}), bars_of([8, 8], program=40, source="b.mid")]
    plain = TokenRepresentation().fit(pieces)
    assert plain.programs == [40, 42, 128] and "styles" not in plain.settings
    rep = TokenRepresentation(conditioning=["style", "density"])
    assert rep.fit(pieces) is rep
    assert rep.settings["styles"] == ["bach", "folk", "user"]
    assert rep.settings["density_edges"] == [4.0, 6.0]  # tertiles of 2, 4, 6 and 8 notes per bar
    assert rep.conditions.names[:3] == ["Style_bach", "Style_folk", "Style_user"]
    assert rep.vocab_size == len(rep.tokenizer) + 3 + 3 + 1
    ids = rep.conditions.ids
    assert rep.condition_prefix(pieces[1]) == [ids["Style_folk"], ids["Density_medium"], ids["CondEnd"]]
    assert rep.condition_prefix(pieces[0]) == [ids["Style_bach"], ids["Density_low"], ids["CondEnd"]]
    assert TokenRepresentation().condition_prefix(pieces[0]) == []
    with_infill = TokenRepresentation(conditioning=["style"], infill=True).fit(pieces)
    assert with_infill.conditions.names[-4:] == ["Infill_Suffix", "Infill_Prefix", "Infill_Middle", "Infill_End"]


def test_the_density_edges_default_to_six_and_twelve_notes_a_bar():
    rep = TokenRepresentation(conditioning=["density"])
    ids = rep.conditions.ids
    rep.settings.pop("density_edges")  # a run saved before the edges were recorded
    assert rep.condition_prefix(bars_of([6, 6])) == [ids["Density_medium"], ids["CondEnd"]]
    assert rep.condition_prefix(bars_of([4, 8])) == [ids["Density_medium"], ids["CondEnd"]]
    assert rep.condition_prefix(bars_of([5, 5])) == [ids["Density_low"], ids["CondEnd"]]
    assert rep.condition_prefix(bars_of([12, 12])) == [ids["Density_high"], ids["CondEnd"]]


def test_style_of_a_piece():
    assert style_of(bars_of([1], tags={"corpus": "folk"}, source="songs/x.mid")) == "folk"
    assert style_of(bars_of([1], source="songs/reels/x.mid")) == "reels"
    assert style_of(bars_of([1], source="x.mid")) == "user"
    assert style_of(bars_of([1])) == "user"


def test_the_saved_tokenizer_wins_over_the_settings(tmp_path):
    TokenRepresentation(num_velocities=8).save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.json"]
    again = TokenRepresentation.from_dict({"kind": "tokens", "num_velocities": 16}, tmp_path)
    assert len(again.tokenizer) == len(TokenRepresentation(num_velocities=8).tokenizer)
    assert again.settings["num_velocities"] == 16 and isinstance(again.tokenizer, miditok.REMI)
    fresh = TokenRepresentation.from_dict({"kind": "tokens", "num_velocities": 16}, tmp_path / "elsewhere")
    assert len(fresh.tokenizer) == len(TokenRepresentation().tokenizer)
    TokenRepresentation("TSD").save(tmp_path)
    tsd = TokenRepresentation.from_dict({"kind": "tokens", "tokenization": "TSD"}, tmp_path)
    assert isinstance(tsd.tokenizer, miditok.TSD)
