"""A generated chorale as a musician gets it: four named parts, the asked key's signature with its accidentals
spelled for it, every note within four ledger lines of its staff, and an engraving verovio draws whole."""

from __future__ import annotations

import music21
from score_facts import most_ledger_lines

from tunesmith.outputs.engrave import engrave_musicxml
from tunesmith.outputs.score import musicxml_bytes
from tunesmith.theory import parse_key

VOICES = ["Soprano", "Alto", "Tenor", "Bass"]


def test_a_generated_chorale_is_a_score_in_the_asked_key(tiny_rnn_run):
    from tunesmith.generation.run import load_run

    pieces = load_run(tiny_rnn_run).generate(num=2, bars=4, seed=11, key="E major")
    for piece in pieces:
        assert [t.name for t in piece.score.tracks if len(t.notes)] == VOICES
        xml = musicxml_bytes(piece)
        score = music21.converter.parseData(xml, format="musicxml")
        assert list(dict.fromkeys(p.partName for p in score.parts)) == VOICES  # a wide part: two staves
        assert {int(k.sharps) for k in score.recurse().getElementsByClass(music21.key.KeySignature)} == {4}
        assert all(most_ledger_lines(part) <= 4 for part in score.parts)
        in_key = {pc for pc in parse_key("E major").diatonic}
        for note in score.recurse().notes:
            for pitch in note.pitches:
                if pitch.pitchClass in in_key:  # a note of the key is spelled as the key signature spells it
                    assert pitch.accidental is None or pitch.accidental.name in ("sharp", "natural"), pitch
        svg = engrave_musicxml(xml, piece.name)
        assert svg.count('class="note"') == sum(len(n.pitches) for n in score.recurse().notes)
