import symusic

from tunesmith.piece import Piece
from tunesmith.theory import Key, parse_key, parse_pitch, pitch_name


def scale_piece(tpq: int = 480) -> Piece:
    """C major scale in quarter notes over two bars of 4/4, velocity 80."""
    score = symusic.Score(tpq)
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("Melody", program=0)
    for i, pitch in enumerate([60, 62, 64, 65, 67, 69, 71, 72]):
        track.notes.append(symusic.Note(i * tpq, tpq, pitch, 80))
    score.tracks.append(track)
    return Piece(score, name="scale")


def test_piece_measures_bars_range_and_key():
    piece = scale_piece()
    assert piece.bars == 2
    assert piece.bar_ticks == 1920
    assert piece.note_count == 8
    assert piece.pitch_range == (60, 72)
    assert piece.key == Key(0, "major")
    assert piece.summary()["pitch_range"] == "C4-C5"
    assert piece.seconds == 4.0


def test_transpose_and_bar_slice():
    piece = scale_piece()
    up = piece.transpose(2)
    assert up.pitch_range == (62, 74)
    assert str(up.key) == "D major"
    second = piece.bars_slice(1, 2)
    assert [n.pitch for n in second.score.tracks[0].notes] == [67, 69, 71, 72]
    assert second.score.tracks[0].notes[0].time == 0


def test_theory_parsing():
    assert parse_key("D minor") == Key(2, "minor")
    assert parse_key("Bbm") == Key(10, "minor")
    assert parse_key("F#") == Key(6, "major")
    assert parse_pitch("C4") == 60
    assert parse_pitch("A0") == 21
    assert parse_pitch("Bb3") == 58
    assert pitch_name(61) == "C#4"


def test_bar_slice_cuts_notes_that_run_past_its_end():
    piece = scale_piece()
    score = piece.score.copy()
    score.tracks[0].notes.append(symusic.Note(1440, 960, 48, 80))  # from beat 4 of bar 1 into bar 2
    first = piece.copy(score=score).bars_slice(0, 1)
    held = [n for n in first.score.tracks[0].notes if n.pitch == 48]
    assert len(held) == 1 and held[0].duration == 480
    assert first.end_tick == 1920


def test_transposing_moves_the_chord_symbols_with_the_notes():
    from tunesmith.theory import transpose_chord

    score = symusic.Score(480)
    for text in ("pickup", "chord:F#m7/C#", "chord:N.C.", "chord:Bb7"):
        score.markers.append(symusic.TextMeta(0, text))
    track = symusic.Track("Melody", program=0)
    track.notes.append(symusic.Note(0, 480, 66, 80))
    score.tracks.append(track)
    moved = Piece(score).transpose(2)
    assert [m.text for m in moved.score.markers] == ["pickup", "chord:Abm7/Eb", "chord:N.C.", "chord:C7"]
    assert [int(n.pitch) for n in moved.score.tracks[0].notes] == [68]
    assert transpose_chord("Cmaj7", -1) == "Bmaj7" and transpose_chord("G/B", 12) == "G/B"
