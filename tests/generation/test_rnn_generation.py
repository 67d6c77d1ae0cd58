"""The RNN token family: valid MIDI of the asked length, seeds, continuing a primer."""

from collections import Counter

import torch

from midi_facts import read_midi_independently
from tunesmith.controls.controls import Controls
from tunesmith.generation.run import load_run


def notes_of(piece):
    return [(n.time, n.duration, n.pitch, n.velocity) for t in piece.score.tracks for n in t.notes]


def test_generated_pieces_are_valid_midi_within_the_bars(tiny_rnn_run, tmp_path):
    torch.set_num_threads(1)
    run = load_run(tiny_rnn_run)
    pieces = run.generate(Controls(num=2, bars=4, seed=1))
    assert len(pieces) == 2
    lo, hi = run.representation.pitch_bounds()
    for piece in pieces:
        written = read_midi_independently(piece.save(tmp_path / f"{piece.name}.mid"))
        assert len(written.notes) == piece.note_count > 0
        assert written.bars == 4  # the last note ends in the fourth bar
        assert lo <= min(written.pitches()) <= max(written.pitches()) <= hi


def test_same_seed_same_music_and_piece_i_does_not_depend_on_num(tiny_rnn_run):
    run = load_run(tiny_rnn_run)
    a = run.generate(Controls(num=2, bars=3, seed=7))
    b = run.generate(Controls(num=1, bars=3, seed=7))
    c = run.generate(Controls(num=1, bars=3, seed=8))
    assert notes_of(a[0]) == notes_of(b[0])
    assert notes_of(a[0]) != notes_of(c[0])


def test_primer_is_continued(tiny_rnn_run, chorales, tmp_path):
    run = load_run(tiny_rnn_run)
    primer = chorales[0].bars_slice(0, 2)
    primer_path = primer.save(tmp_path / "primer.mid")
    piece = run.generate(Controls(num=1, bars=5, seed=0, primer=primer_path))[0]
    expected = primer.load(primer_path)
    # the output begins with the primer, note for note in its own ticks; new notes start from its last onset on
    primer_notes = Counter((n.time, n.pitch) for t in expected.score.tracks for n in t.notes)
    output_notes = Counter((n.time, n.pitch) for t in piece.score.tracks for n in t.notes)
    assert not primer_notes - output_notes
    last_onset = max(time for time, _ in primer_notes)
    assert all(time >= last_onset for time, _ in (output_notes - primer_notes).elements())
    assert piece.bars == 5
