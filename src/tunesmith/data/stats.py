"""Corpus statistics: pieces, notes, duration, pitch range, keys, tempos, metres, instruments, rejects."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tunesmith.data.corpora import Corpus
from tunesmith.instruments import gm_instrument_name
from tunesmith.theory import pitch_name


def corpus_stats(corpus: Corpus) -> dict[str, Any]:
    """What is in a corpus, as a JSON-ready dict."""
    pieces = corpus.pieces
    lows = [p.pitch_range[0] for p in pieces if p.pitch_range]
    highs = [p.pitch_range[1] for p in pieces if p.pitch_range]
    keys = Counter(str(p.key) for p in pieces)
    tempos = Counter(int(round(p.tempo)) for p in pieces)
    metres = Counter("{}/{}".format(*p.time_signature) for p in pieces)
    instruments = Counter(gm_instrument_name(prog, drum) for p in pieces for _, prog, drum in p.instruments)
    tracks = Counter(len(p.instruments) for p in pieces)
    return {
        "corpus": corpus.name,
        "pieces": len(pieces),
        "notes": sum(p.note_count for p in pieces),
        "bars": sum(p.bars for p in pieces),
        "hours": round(sum(p.seconds for p in pieces) / 3600, 3),
        "pitch_range": f"{pitch_name(min(lows))}-{pitch_name(max(highs))}" if lows else None,
        "keys": dict(keys.most_common()),
        "tempos": dict(tempos.most_common(10)),
        "time_signatures": dict(metres.most_common()),
        "instruments": dict(instruments.most_common()),
        "tracks_per_piece": {str(k): v for k, v in sorted(tracks.items())},
        "rejected": [{"file": f, "reason": r} for f, r in corpus.rejected],
    }
