"""What a musician reads at the top of a score, written into every generated piece: the key signature, the
time signature and a tempo a person would write."""

from __future__ import annotations

import symusic

from tunesmith.piece import Piece
from tunesmith.theory import Key


def key_signature_of(piece: Piece) -> Key | None:
    """The key of the piece's first key signature, or None when it has none."""
    signatures = sorted(piece.score.key_signatures, key=lambda k: k.time)
    if not signatures:
        return None
    return Key.from_signature(int(signatures[0].key), minor=bool(signatures[0].tonality))


def write_marks(piece: Piece, *, key: Key | None = None, tempo: float | None = None,
                primer: Piece | None = None) -> Piece:
    """The piece with a key signature, a time signature and whole-number tempos.

    The key signature is `key` (the one asked for), else the one the piece has, else the primer's, else the key
    the notes are measured in. `tempo` (asked for) is kept exactly; otherwise every tempo is rounded to a whole
    number of quarter notes a minute (120.43 is written 120). A piece without a time signature gets the 4/4 it
    is read as.
    """
    score = piece.score.copy()
    chosen = key or key_signature_of(piece) or (key_signature_of(primer) if primer is not None else None)
    if chosen is None:
        chosen = piece.key if piece.note_count else Key(0, "major")
    if key is not None or not len(score.key_signatures):
        score.key_signatures = symusic.core.KeySignatureTickList(
            [symusic.KeySignature(0, chosen.sharps, int(chosen.mode == "minor"))])
    if not len(score.time_signatures):
        score.time_signatures = symusic.core.TimeSignatureTickList([symusic.TimeSignature(0, 4, 4)])
    if not len(score.tempos):
        score.tempos = symusic.core.TempoTickList([symusic.Tempo(0, qpm=float(tempo or 120))])
    elif tempo is None:
        score.tempos = symusic.core.TempoTickList(
            [symusic.Tempo(int(t.time), qpm=float(max(1, round(t.qpm)))) for t in score.tempos])
    return piece.copy(score=score)
