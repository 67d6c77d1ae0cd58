"""ABC books: split into tunes, read by symusic, pickups put on the bar lines."""

from fractions import Fraction

from tunesmith.data.abc import pickup_length, score_from_abc, split_tunes
from tunesmith.data.scores import clean_score

BOOK = """% a book of two tunes
L:1/8
M:2/4
T:The Book

X:1
T:Pickup Tune
K:G
P:A
AG|B2B2|c2A2|B4|G2::
X:2
T:Square Tune
M:4/4
K:D
|:d2f2 a2f2|(3efg f2 d4:|
"""


def test_a_book_splits_into_tunes_with_its_defaults():
    tunes = split_tunes(BOOK)
    assert [(t.number, t.title) for t in tunes] == [("1", "Pickup Tune"), ("2", "Square Tune")]
    assert "L:1/8" in tunes[0].text and "M:2/4" in tunes[0].text and "T:The Book" not in tunes[0].text
    assert tunes[0].text.startswith("X:1\n")


def test_pickup_length_reads_the_notes_before_the_first_bar_line():
    first, second = split_tunes(BOOK)
    assert pickup_length(first.text) == (Fraction(1, 4), Fraction(1, 2))  # "AG": two eighths; the P: line is no note
    assert pickup_length(second.text) == (Fraction(1), Fraction(1))  # a leading repeat sign, then a full bar
    assert pickup_length("X:1\nM:3/4\nL:1/4\nK:C\n[CE]/2 z/2|C3|") == (Fraction(1, 4), Fraction(3, 4))
    assert pickup_length("X:1\nM:none\nK:C\nCDE|") is None


def test_the_pickup_ends_the_first_bar():
    first, second = split_tunes(BOOK)
    score = score_from_abc(first.text)
    notes = score.tracks[0].notes
    bar = score.ticks_per_quarter * 2  # 2/4
    assert [int(n.pitch) for n in notes][:3] == [69, 67, 71]  # A G B
    assert int(notes[0].time) == bar - score.ticks_per_quarter  # the two-eighth pickup ends bar 1
    assert int(notes[2].time) == bar  # B, the first full bar's first note, on the bar line
    square = score_from_abc(second.text)
    assert int(square.tracks[0].notes[0].time) == 0


def _abc_files(folder, count=49):
    """`count` one-line tunes, each starting with its own two notes."""
    letters = "CDEFGAB"
    paths, firsts = [], []
    for i in range(count):
        first, second = letters[i // 7], letters[i % 7]
        path = folder / f"tune{i:02d}.abc"
        path.write_text(f"X:1\nT:Tune {i}\nM:4/4\nL:1/4\nK:C\n{first} {second} c d|\n")
        paths.append(path)
        firsts.append(tuple(60 + "C D EF G A B".index(n) for n in (first, second)))
    return paths, firsts


def test_abc_files_read_at_once_by_two_workers_are_each_their_own_tune(tmp_path):
    """symusic names abc2midi's temporary files with the C library's rand(): two forked workers, left with the
    state of rand() they were forked with, wrote the same temporary at once and read back each other's tunes
    (about one read in two of these 49 files). Each worker seeds rand() with its process id."""
    from tunesmith.data import read_pieces

    paths, firsts = _abc_files(tmp_path)
    for _ in range(3):
        pieces = list(read_pieces(paths, workers=2))
        assert [tuple(int(n.pitch) for n in p.score.tracks[0].notes[:2]) for p in pieces] == firsts


LEAD_SHEET = """X:1
T:Lead Sheet
M:3/4
L:1/8
K:D
"A"AB|:"D"d2 "^Segno"f2 a2|"G"b2-"Em"b2 "A7"a2|1"D"d6:|2"D"d4 "D.C."z2|
"""


def test_chord_symbols_are_markers_not_notes():
    """abc2midi played the quoted chords on two tracks of their own (a bass line and chords: 45 notes besides
    the tune's 14); the chords are markers at their notes' ticks, through the repeat and its endings, the tie
    (b2-"Em"b2) and the pickup."""
    score = clean_score(score_from_abc(LEAD_SHEET))
    tpq = score.ticks_per_quarter
    assert [(t.name, len(t.notes)) for t in score.tracks] == [("Melody", 14)]
    chords = [(2, "A"), (3, "D"), (6, "G"), (7, "Em"), (8, "A7"), (9, "D"),  # bars of three quarters from 2
              (12, "D"), (15, "G"), (16, "Em"), (17, "A7"), (18, "D")]
    assert [(m.time / tpq, m.text) for m in score.markers] == [
        (2.0, "pickup"), *((float(q), "chord:" + figure) for q, figure in chords)]


def test_annotations_are_neither_notes_nor_chords():
    """abc2midi reads a quoted string starting with a-g as a chord: a dynamic "f" or a heading "A MINOR" was
    played as an accompaniment (22 tunes of the bundled folk corpus)."""
    score = clean_score(score_from_abc('X:1\nT:Signs\nM:4/4\nL:1/4\nK:Am\n"A MINOR""f"A B c d|"^Segno"e4|\n'))
    assert [(t.name, len(t.notes)) for t in score.tracks] == [("Melody", 5)]
    assert list(score.markers) == []


def test_a_tune_that_starts_with_a_rest_is_on_the_beat_and_a_metre_change_on_the_bar_line():
    score = score_from_abc("X:1\nT:Rest\nM:4/4\nL:1/4\nK:C\nz c3|c4|[M:3/4][Q:1/4=90]c3|\n")
    tpq = score.ticks_per_quarter
    assert [n.time / tpq for n in score.tracks[0].notes] == [1.0, 4.0, 8.0]  # abc2midi: a tick late each
    assert [(ts.time / tpq, ts.numerator) for ts in score.time_signatures] == [(0.0, 4), (8.0, 3)]
    assert [t.time / tpq for t in score.tempos] == [0.0, 8.0]
    assert list(score.markers) == []


def test_a_tunes_tracks_are_named_as_voices_not_after_its_title():
    one = score_from_abc("X:1\nT:My Tune\nM:4/4\nL:1/4\nK:C\nC D E F|G A B c|\n")
    two = score_from_abc("X:1\nT:Two\nM:4/4\nL:1/4\nK:C\nV:1\nC D E F|\nV:2\nC, D, E, F,|\n")
    assert [t.name for t in one.tracks] == ["Melody"] and [t.name for t in two.tracks] == ["Melody", "Voice 2"]
