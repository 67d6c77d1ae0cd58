"""MuseGAN's per-track metrics: empty bars (EB), used pitch classes (UPC), qualified notes (QN), tonal distance (TD).

    Hao-Wen Dong, Wen-Yi Hsiao, Li-Chia Yang and Yi-Hsuan Yang, "MuseGAN: Multi-track sequential
    generative adversarial networks for symbolic music generation and accompaniment," AAAI 2018.

MuseGAN computes these per track; a piece's value pools every (pitched track, bar) pair, or every pair
of pitched tracks for TD. Bars follow the piece's first time signature.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from tunesmith.evaluation.metrics import Notes, note_table
from tunesmith.piece import Piece


def _track_bars(piece: Piece) -> tuple[Notes, list[int], int]:
    """(pitched notes, indices of the pitched tracks with notes, number of bars the piece spans)."""
    notes = note_table(piece).pitched()
    tracks = sorted(set(notes.track.tolist()))
    return notes, tracks, piece.bars


def _sounding_bars(notes: Notes, bar_ticks: int, n_bars: int) -> list[tuple[int, int, int]]:
    """(bar, track, pitch class) for every bar in which a note of that pitch class sounds."""
    out: list[tuple[int, int, int]] = []
    for t, e, p, tr in zip(notes.time.tolist(), notes.end.tolist(), notes.pitch.tolist(), notes.track.tolist(),
                           strict=True):
        last = (max(e, t + 1) - 1) // bar_ticks  # a note ending on a barline does not sound in the next bar
        out.extend((b, tr, p % 12) for b in range(t // bar_ticks, min(last, n_bars - 1) + 1))
    return out


def empty_bar_rate(piece: Piece) -> float:
    """EB: share of (pitched track, bar) pairs in which the track plays nothing: #(empty)/#(tracks x bars).

    NaN without notes. MuseGAN (Dong et al., AAAI 2018), "ratio of empty bars".
    """
    notes, tracks, n_bars = _track_bars(piece)
    if not tracks or n_bars < 1:
        return math.nan
    used = {(b, tr) for b, tr, _ in _sounding_bars(notes, piece.bar_ticks, n_bars)}
    return 1 - len(used) / (len(tracks) * n_bars)


def used_pitch_classes(piece: Piece) -> float:
    """UPC: mean number of pitch classes (0-12) a track plays in a bar, over its non-empty bars.

    NaN without notes. MuseGAN (Dong et al., AAAI 2018), "number of used pitch classes per bar"; empty
    bars are left out as in MuseGAN's evaluation code (they count in EB instead).
    """
    notes, tracks, n_bars = _track_bars(piece)
    if not tracks:
        return math.nan
    cells = set(_sounding_bars(notes, piece.bar_ticks, n_bars))
    bars = {(b, tr) for b, tr, _ in cells}
    return len(cells) / len(bars) if bars else math.nan


def qualified_note_rate(piece: Piece) -> float:
    """QN: share of notes at least a 32nd note long: #(duration >= tpq/8)/#(notes), drums ignored.

    MuseGAN (Dong et al., AAAI 2018): "a note no shorter than three time steps (a 32nd note)" at 24
    steps per beat. NaN without notes.
    """
    notes = note_table(piece).pitched()
    if not len(notes):
        return math.nan
    return float(np.mean((notes.end - notes.time) * 8 >= piece.tpq))


def _tonal_matrix(r1: float = 1.0, r2: float = 1.0, r3: float = 0.5) -> np.ndarray:
    """Harte et al.'s 6 x 12 map from chroma to the tonal centroid (circles of fifths, minor and major thirds)."""
    k = np.arange(12)
    return np.stack([r1 * np.sin(k * 7 * np.pi / 6), r1 * np.cos(k * 7 * np.pi / 6),
                     r2 * np.sin(k * 3 * np.pi / 2), r2 * np.cos(k * 3 * np.pi / 2),
                     r3 * np.sin(k * 2 * np.pi / 3), r3 * np.cos(k * 2 * np.pi / 3)])


TONAL_MATRIX = _tonal_matrix()


def beat_chroma(notes: Notes, tpq: int, n_beats: int) -> np.ndarray:
    """[n_beats, 12]: ticks each pitch class of `notes` sounds in each beat (quarter note)."""
    chroma = np.zeros((n_beats, 12))
    for t, e, p in zip(notes.time.tolist(), notes.end.tolist(), notes.pitch.tolist(), strict=True):
        for b in range(t // tpq, min((e - 1) // tpq, n_beats - 1) + 1):
            chroma[b, p % 12] += min(e, (b + 1) * tpq) - max(t, b * tpq)
    return chroma


def tonal_distance(piece: Piece) -> float:
    """TD: mean Euclidean distance between the tonal centroids of two tracks, per beat where both sound.

    zeta = Phi c / ||c||_1 for the beat's duration-weighted chroma c (Harte, Sandler and Gasser,
    "Detecting harmonic change in musical audio", ACM MM Workshop 2006); averaged over beats and over
    every pair of pitched tracks. Larger means weaker harmony between the tracks. NaN for fewer than two
    pitched tracks. MuseGAN (Dong et al., AAAI 2018), "tonal distance".
    """
    notes = note_table(piece).pitched()
    tracks = sorted(set(notes.track.tolist()))
    if len(tracks) < 2:
        return math.nan
    n_beats = -(-int(notes.end.max()) // piece.tpq)
    centroids = {}
    for tr in tracks:
        chroma = beat_chroma(notes.select(notes.track == tr), piece.tpq, n_beats)
        total = chroma.sum(1, keepdims=True)
        centroids[tr] = (chroma / np.where(total > 0, total, 1)) @ TONAL_MATRIX.T, total[:, 0] > 0
    distances = []
    for a, b in combinations(tracks, 2):
        (ca, sa), (cb, sb) = centroids[a], centroids[b]
        both = sa & sb
        distances.extend(np.linalg.norm(ca[both] - cb[both], axis=1).tolist())
    return float(np.mean(distances)) if distances else math.nan
