"""Presets: the shipped ones generate music that meets their controls (read back from the written files),
the user's values win, missing requirements are named, a user's preset file is strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from midi_facts import MidiFacts, read_midi_independently
from tunesmith.controls.controls import Controls
from tunesmith.errors import ControlError
from tunesmith.generation.presets import available_presets, load_preset, merge_preset
from tunesmith.generation.run import load_run
from tunesmith.piece import Piece

C_MAJOR_TRIAD = {0, 4, 7}
D_MINOR = {2, 4, 5, 7, 9, 10, 0, 1}  # D E F G A Bb C, and the leading tone C#
SIMPLE_BEATS = {0.5, 1, 1.5, 2, 3, 4}  # the exercise's note lengths, in beats
# symusic 0.5.9's synthesizer never returns from a violin note at D7 or D#7 (MIDI 102-103) with this SoundFont;
# the tiny runs play violin and cello at any pitch, so the presets whose audio is checked are played on the
# piano, the choir or within a range the synthesizer renders.


def preset_files(run_cli, run_dir: Path, out: Path, *args) -> tuple[list[MidiFacts], set[str]]:
    """Generate with a preset through the command line: the MIDI files read back, and the suffixes written."""
    code, _, err = run_cli("generate", run_dir, "--out", out, *args)
    assert code == 0, err
    files = sorted(out.iterdir())
    return [read_midi_independently(f) for f in files if f.suffix == ".mid"], {f.suffix for f in files}


@pytest.fixture(scope="module")
def primer_file(tiny_corpus, tmp_path_factory) -> Path:
    """The first three bars of a tiny-corpus piece (violin over cello, G major, 4/4) as a MIDI file."""
    path = tmp_path_factory.mktemp("primer") / "primer.mid"
    return Piece.load(tiny_corpus / "piece01.mid").bars_slice(0, 3).save(path)


def test_the_five_uses_are_shipped():
    assert {"jingle", "game-loop", "exercise", "chorale", "continue"} <= set(available_presets())


def test_jingle_is_twenty_loopable_seconds_at_120_ending_on_the_tonic(tiny_run, tmp_path, run_cli):
    pieces, suffixes = preset_files(run_cli, tiny_run, tmp_path, "--preset", "jingle", "--seed", "1",
                                    "--instruments", "piano")
    assert len(pieces) == 4 and suffixes == {".mid", ".wav"}  # audio, no picture
    for written in pieces:
        assert written.programs == [0]
        assert written.bpm == pytest.approx(120) and written.bar_ticks == 4 * written.tpq
        assert written.bars == 10 and written.seconds == pytest.approx(20, abs=0.01)
        assert written.end <= 10 * written.bar_ticks  # nothing rings past the loop point
        last = {n.pitch % 12 for n in written.last_onset()}
        assert 0 in last and last <= C_MAJOR_TRIAD
        assert all(70 <= n.velocity <= 110 for n in written.notes)


def test_game_loop_is_eight_bars_that_close_at_the_loop_point(tiny_run, tmp_path, run_cli):
    pieces, suffixes = preset_files(run_cli, tiny_run, tmp_path, "--preset", "game-loop", "--seed", "2",
                                    "--pitch-range", "C2-C6", "--num", "2")
    assert len(pieces) == 2 and suffixes == {".mid", ".wav", ".png"}
    for written in pieces:
        assert written.bars == 8 and written.end <= 8 * written.bar_ticks
        assert all(n.start < 8 * written.bar_ticks for n in written.notes)


def test_exercise_is_a_simple_melody_in_the_key_and_range(tiny_run, tmp_path, run_cli):
    code, _, err = run_cli("generate", tiny_run, "--out", tmp_path / "none", "--preset", "exercise")
    assert code == 2 and err.strip() == "error: the exercise preset needs --key"
    pieces, suffixes = preset_files(run_cli, tiny_run, tmp_path / "out", "--preset", "exercise", "--key", "D minor",
                                    "--seed", "3", "--num", "2")
    assert len(pieces) == 2 and suffixes == {".mid", ".wav", ".png", ".musicxml", ".svg"}
    for written in pieces:
        beat = written.beat_ticks  # the meter is the model's choice
        assert written.bars == 8 and written.programs == [0]  # one piano
        assert {p % 12 for p in written.pitches()} <= D_MINOR
        assert 60 <= min(written.pitches()) and max(written.pitches()) <= 72  # C4-C5
        assert written.sounding_at_most() == 1
        assert all(n.start % (beat // 2) == 0 and (n.end - n.start) / beat in SIMPLE_BEATS for n in written.notes)
        assert written.notes[-1].pitch % 12 == 2  # the last note is a D


def test_chorale_writes_four_choir_voices_under_the_given_melody(tiny_run, tmp_path, run_cli, primer_file):
    primer = read_midi_independently(primer_file)
    melody = sorted((n.start, n.pitch) for n in primer.notes if n.program == 40)  # the violin line
    assert len(melody) == 12
    pieces, suffixes = preset_files(run_cli, tiny_run, tmp_path, "--preset", "chorale", "--primer", primer_file,
                                    "--seed", "4")
    assert len(pieces) == 2 and suffixes == {".mid", ".wav", ".png", ".musicxml", ".svg"}
    for written in pieces:
        assert written.bars == 3 and written.programs == [52, 52, 52, 52]
        tops: dict[int, int] = {}
        for n in written.notes:
            tick = n.start * primer.tpq // written.tpq
            tops[tick] = max(tops.get(tick, 0), n.pitch)
        assert [tops.get(time) for time, _ in melody] == [pitch for _, pitch in melody]


def test_continue_adds_eight_bars_to_the_primer_and_keeps_it(tiny_run, tmp_path, run_cli, primer_file):
    primer = read_midi_independently(primer_file)
    given = sorted((n.start, n.end, n.pitch, n.velocity, n.program) for n in primer.notes)
    pieces, suffixes = preset_files(run_cli, tiny_run, tmp_path, "--preset", "continue", "--primer", primer_file,
                                    "--seed", "5", "--no-wav", "--num", "2")
    assert len(pieces) == 2 and suffixes == {".mid", ".png"}
    for written in pieces:
        assert written.bars == 3 + 8 and written.bar_ticks == 4 * written.tpq
        assert sorted((n.start, n.end, n.pitch, n.velocity, n.program) for n in written.notes
                      if n.start < 3 * written.bar_ticks) == given
        assert set(written.programs) == {40, 42}  # the primer's violin and cello go on


def test_the_users_values_win_on_the_command_line(tiny_run, tmp_path, run_cli):
    pieces, _ = preset_files(run_cli, tiny_run, tmp_path, "--preset", "game-loop", "--bars", "3", "--num", "1",
                             "--tempo", "75", "--seed", "6", "--no-wav", "--no-png")
    assert len(pieces) == 1 and pieces[0].bars == 3 and pieces[0].bpm == pytest.approx(75)
    assert pieces[0].end <= 3 * pieces[0].bar_ticks


def test_a_preset_from_python_gives_the_same_pieces_as_the_command(tiny_run, tmp_path, run_cli, primer_file):
    values = merge_preset(load_preset("continue"), {"primer": primer_file, "num": 1, "seed": 5})
    assert values["bars"] == 11  # the primer's 3 bars and 8 more
    piece = load_run(tiny_run).generate(Controls(**values))[0]
    from_python = read_midi_independently(piece.save(tmp_path / "python.mid"))
    from_cli, _ = preset_files(run_cli, tiny_run, tmp_path / "cli", "--preset", "continue", "--primer", primer_file,
                               "--num", "1", "--seed", "5", "--no-wav", "--no-png")
    assert from_python.notes == from_cli[0].notes


def test_user_values_override_the_preset_and_requirements_are_named():
    jingle = load_preset("jingle")
    values = merge_preset(jingle, {"tempo": 96.0, "key": None})
    assert values["tempo"] == 96.0 and values["loopable"] is True and values["key"] == "C major"
    with pytest.raises(ControlError, match="--key"):
        merge_preset(load_preset("exercise"), {})
    with pytest.raises(ControlError, match="the chorale preset needs --primer"):
        merge_preset(load_preset("chorale"), {"key": "D minor"})


def test_a_user_preset_file_is_strict(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text('description = "x"\n[controls]\nbars = 4\ndensity = "low"\n[outputs]\nwav = false\n')
    preset = load_preset(good)
    assert preset.controls == {"bars": 4, "density": "low"} and preset.outputs == {"wav": False}
    bad = tmp_path / "bad.toml"
    bad.write_text("[controls]\nloudness = 3\n")
    with pytest.raises(ControlError, match="loudness"):
        load_preset(bad)
    with pytest.raises(ControlError, match="unknown preset"):
        load_preset("no-such-preset")


def test_check_piece_measures_a_piece_against_controls():
    import symusic

    from tunesmith.controls.arrange import apply_tempo, set_instruments
    from tunesmith.generation.checks import check_piece
    from tunesmith.piece import Piece

    score = symusic.Score(480)
    track = symusic.Track(name="Piano", program=0)
    for i, pitch in enumerate((60, 64, 67, 72, 60, 62)):
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    piece = set_instruments(apply_tempo(Piece(score), 90), [40, 42])
    checks = check_piece(piece, Controls(bars=2, tempo=90, instruments=["violin", "cello"], pitch_range="C4-C5",
                                         key="C major", scale_lock=True))
    assert checks["bars"]["ok"] and checks["tempo"]["ok"] and checks["instruments"]["ok"]
    assert checks["pitch_range"]["ok"] and checks["scale_lock"]["ok"]
    assert not check_piece(piece, Controls(bars=3))["bars"]["ok"]


def test_key_check_counts_the_relative_key_as_the_same_notes():
    import symusic

    from tunesmith.generation.checks import check_piece
    from tunesmith.piece import Piece
    from tunesmith.theory import parse_key

    score = symusic.Score(480)
    track = symusic.Track(name="Piano", program=0)
    for i, pitch in enumerate((60, 64, 67, 72, 67, 64, 65, 62, 59, 60, 64, 67, 60, 48)):  # plainly C major
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    piece = Piece(score)
    assert parse_key("A minor").relative == parse_key("C major") and parse_key("C").relative == parse_key("Am")
    as_c = check_piece(piece, Controls(bars=4, key="C major"))["key"]
    assert as_c["ok"] and as_c["measured"] == "C major"
    as_a = check_piece(piece, Controls(bars=4, key="A minor"))["key"]
    assert as_a["ok"] and "relative major of A minor" in as_a["measured"]
    assert not check_piece(piece, Controls(bars=4, key="D minor"))["key"]["ok"]
