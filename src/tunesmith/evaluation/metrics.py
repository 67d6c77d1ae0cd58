"""Per-piece music metrics: pure functions Piece -> float (or array), each with its formula and paper.

Where MusPy (Dong et al., 2020) defines a metric, the definition here is MusPy's to the last detail and
is measured in the piece's own ticks (MusPy's "resolution" is the MIDI file's ticks per quarter), so
`metric(piece)` equals `muspy.metric(muspy.read_midi(file))` on the same MIDI file. Metrics that need a
time grid take `resolution` (steps per quarter note); None means the piece's own ticks.

    Hao-Wen Dong, Ke Chen, Julian McAuley and Taylor Berg-Kirkpatrick, "MusPy: A Toolkit for Symbolic
    Music Generation," ISMIR 2020.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tunesmith.piece import Piece
from tunesmith.theory import Key

# Durations (in quarter notes) of the note-length classes of Yang & Lerch (2018), shortest first:
# 16th, 8th triplet, dotted 16th, 8th, quarter triplet, dotted 8th, quarter, half triplet,
# dotted quarter, half, dotted half, whole.
IOI_CLASSES = np.array([0.25, 1 / 3, 0.375, 0.5, 2 / 3, 0.75, 1.0, 4 / 3, 1.5, 2.0, 3.0, 4.0])
IOI_CLASS_NAMES = ["16th", "8th-3", "16th.", "8th", "4th-3", "8th.", "4th", "2nd-3", "4th.", "2nd", "2nd.", "whole"]


@dataclass(frozen=True)
class Notes:
    """Every note of a piece as flat arrays (ticks), with the index of the track it is on."""

    time: np.ndarray
    end: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray
    track: np.ndarray
    is_drum: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def pitched(self) -> Notes:
        """The notes not on drum tracks."""
        return self.select(~self.is_drum)

    def select(self, mask: np.ndarray) -> Notes:
        """The notes where `mask` is true."""
        return Notes(self.time[mask], self.end[mask], self.pitch[mask], self.velocity[mask], self.track[mask],
                     self.is_drum[mask])


def note_table(piece: Piece) -> Notes:
    """All notes of `piece` (drums included, flagged) as int64 arrays."""
    parts = []
    for index, track in enumerate(piece.score.tracks):
        if not len(track.notes):
            continue
        arr = track.notes.numpy()
        time = arr["time"].astype(np.int64)
        parts.append((time, time + arr["duration"].astype(np.int64), arr["pitch"].astype(np.int64),
                      arr["velocity"].astype(np.int64), np.full(len(time), index), np.full(len(time), track.is_drum)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Notes(empty, empty, empty, empty, empty, np.zeros(0, dtype=bool))
    return Notes(*(np.concatenate(columns) for columns in zip(*parts, strict=True)))


def _length(notes: Notes) -> int:
    """MusPy's song length: the latest note end over all tracks, drums included."""
    return int(notes.end.max()) if len(notes) else 0


def _rescale(ticks: np.ndarray, piece: Piece, resolution: int | None) -> np.ndarray:
    """Ticks -> steps of `resolution` per quarter, rounded half to even as MusPy's adjust_resolution does."""
    if resolution is None or resolution == piece.tpq:
        return ticks
    return np.round(ticks * (resolution / piece.tpq)).astype(np.int64)


# ---------------- pitch ----------------

def pitch_range(piece: Piece) -> int:
    """Highest minus lowest pitch in semitones, drums ignored; 0 without notes (MusPy `pitch_range`)."""
    pitches = note_table(piece).pitched().pitch
    return int(pitches.max() - pitches.min()) if len(pitches) else 0


def n_pitches_used(piece: Piece) -> int:
    """Number of distinct MIDI pitches, drums ignored (MusPy `n_pitches_used`)."""
    return len(np.unique(note_table(piece).pitched().pitch))


def n_pitch_classes_used(piece: Piece) -> int:
    """Number of distinct pitch classes, drums ignored (MusPy `n_pitch_classes_used`)."""
    return len(np.unique(note_table(piece).pitched().pitch % 12))


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy (bits) of the note-count pitch-class histogram: -sum_i P(pc=i) log2 P(pc=i).

    NaN without notes. Wu & Yang, "The Jazz Transformer on the Front Line", ISMIR 2020 (MusPy
    `pitch_class_entropy`).
    """
    counts = np.bincount(note_table(piece).pitched().pitch % 12, minlength=12).astype(float)
    if counts.sum() < 1:
        return math.nan
    prob = counts[counts > 0] / counts.sum()
    return float(-(prob * np.log2(prob)).sum())


def pitch_class_histogram(piece: Piece) -> np.ndarray:
    """Length-12 note-count pitch-class histogram, normalised to sum 1 (NaNs without notes).

    Yang & Lerch, "On the evaluation of generative models in music", Neural Computing and
    Applications 32, 2020 (MGEval `total_pitch_class_histogram`).
    """
    counts = np.bincount(note_table(piece).pitched().pitch % 12, minlength=12).astype(float)
    return counts / counts.sum() if counts.sum() else np.full(12, math.nan)


def scale_degree_histogram(piece: Piece, key: Key | None = None) -> np.ndarray:
    """The pitch-class histogram rotated so index 0 is the tonic of `key` (default: the estimated key)."""
    return np.roll(pitch_class_histogram(piece), -(key or piece.key).tonic)


_MAJOR_MASK = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_MINOR_MASK = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)  # natural minor, as MusPy


def scale_consistency(piece: Piece) -> float:
    """Largest share of notes in one major or natural-minor scale: max_{root,mode} #(in scale)/#(notes).

    Drums ignored; NaN without notes. Mogren, "C-RNN-GAN", NeurIPS Workshop on Constructive Machine
    Learning 2016 (MusPy `scale_consistency`).
    """
    counts = np.bincount(note_table(piece).pitched().pitch % 12, minlength=12)
    total = counts.sum()
    if total < 1:
        return math.nan
    best = max(int(counts[np.roll(mask, root)].sum()) for mask in (_MAJOR_MASK, _MINOR_MASK) for root in range(12))
    return best / total


def in_key_ratio(piece: Piece, key: Key | None = None) -> float:
    """Share of notes whose pitch class is in the scale of the piece's estimated key: #(in key)/#(notes).

    The key is Krumhansl-Schmuckler's (Piece.key); a minor key's scale is natural minor plus the leading
    tone (theory.Key.scale). `key` overrides the estimate. NaN without notes. Krumhansl, Cognitive
    Foundations of Musical Pitch, 1990.
    """
    pitches = note_table(piece).pitched().pitch
    if not len(pitches):
        return math.nan
    return float(np.isin(pitches % 12, (key or piece.key).scale).mean())


# ---------------- polyphony ----------------

def _sounding_profile(piece: Piece) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Segments of constant sounding-pitch count, as MusPy's binary piano-roll sees them.

    Returns (segment lengths, distinct pitches sounding in each, piano-roll cells on, song length).
    Overlapping notes of one pitch count once, as in a binary piano-roll.
    """
    notes = note_table(piece)
    length = _length(notes)
    pitched = notes.pitched()
    starts, ends, cells = [], [], 0
    order = np.lexsort((pitched.time, pitched.pitch))
    cur_pitch, cur_start, cur_end = None, 0, 0
    for i in order:  # merge each pitch's intervals, so a pitch held twice counts once
        p, s, e = int(pitched.pitch[i]), int(pitched.time[i]), int(pitched.end[i])
        if e <= s:
            continue
        if p == cur_pitch and s <= cur_end:
            cur_end = max(cur_end, e)
            continue
        if cur_pitch is not None:
            starts.append(cur_start)
            ends.append(cur_end)
            cells += cur_end - cur_start
        cur_pitch, cur_start, cur_end = p, s, e
    if cur_pitch is not None:
        starts.append(cur_start)
        ends.append(cur_end)
        cells += cur_end - cur_start
    if not starts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0, length
    bounds = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(len(starts), np.int64), -np.ones(len(ends), np.int64)])
    times, inverse = np.unique(bounds, return_inverse=True)
    delta = np.zeros(len(times), np.int64)
    np.add.at(delta, inverse, steps)
    counts = np.cumsum(delta)[:-1]
    return np.diff(times), counts, cells, length


def polyphony(piece: Piece) -> float:
    """Mean number of pitches sounding at once, over the time steps where any pitch sounds.

    polyphony = #(piano-roll cells on) / #(time steps with at least one pitch on); drums ignored; NaN
    without notes. MusPy `polyphony` (Dong et al., ISMIR 2020).
    """
    seg_len, counts, cells, _ = _sounding_profile(piece)
    denominator = int(seg_len[counts > 0].sum())
    return cells / denominator if denominator else math.nan


def polyphony_rate(piece: Piece, threshold: int = 2) -> float:
    """Share of time steps where more than `threshold` pitches sound: #(steps with > threshold)/#(steps).

    Time steps run from 0 to the last note end (drum tracks count for the length, not the pitches); NaN
    for an empty piece. Called "polyphonicity" in Dong et al., "MuseGAN", AAAI 2018 (MusPy `polyphony_rate`).
    """
    seg_len, counts, _, length = _sounding_profile(piece)
    if length < 1:
        return math.nan
    return int(seg_len[counts > threshold].sum()) / length


# ---------------- rhythm ----------------

def empty_beat_rate(piece: Piece) -> float:
    """Share of beats (quarter notes) where no note sounds: #(empty beats)/#(beats).

    Beat b counts as sounding when a note spans [time // tpq, end // tpq] (inclusive, all tracks); there
    are length // tpq + 1 beats. NaN for an empty piece. Dong et al., "Pypianoroll", ISMIR LBD 2018 (MusPy
    `empty_beat_rate`).
    """
    notes = note_table(piece)
    length = _length(notes)
    if length < 1:
        return math.nan
    n_beats = length // piece.tpq + 1
    marks = np.zeros(n_beats + 1, np.int64)
    np.add.at(marks, notes.time // piece.tpq, 1)
    np.add.at(marks, notes.end // piece.tpq + 1, -1)
    return 1 - np.count_nonzero(np.cumsum(marks)[:n_beats] > 0) / n_beats


def groove_consistency(piece: Piece, resolution: int | None = None) -> float:
    """One minus the mean Hamming distance between the onset patterns of neighbouring bars.

    groove_consistency = 1 - 1/(T-1) sum_{i=1}^{T-1} d(G_i, G_{i+1}) / M, with G_i the binary onset
    vector of bar i at M steps per bar (all tracks), T = length // M + 1 bars. NaN below two bars.
    Wu & Yang, "The Jazz Transformer on the Front Line", ISMIR 2020 (MusPy `groove_consistency` with
    `measure_resolution` = one bar of the first time signature). `resolution`: steps per quarter
    (None: the piece's ticks; MusPy after `adjust_resolution(resolution)` otherwise). NaN too when a bar
    is not a whole number of steps (a 7/32 bar at 12 steps per quarter).
    """
    notes = note_table(piece)
    per_quarter = resolution or piece.tpq
    num, den = piece.time_signature
    bar = per_quarter * 4 * num / den
    if not len(notes) or not float(bar).is_integer():
        return math.nan
    bar = int(bar)
    length = int(_rescale(notes.end, piece, resolution).max())
    n_bars = length // bar + 1
    if n_bars < 2:
        return math.nan
    onsets = np.unique(_rescale(notes.time, piece, resolution))
    measure = onsets // bar
    differ_next = (measure <= n_bars - 2) & ~np.isin(onsets + bar, onsets)
    differ_prev = (measure >= 1) & ~np.isin(onsets - bar, onsets)
    hamming = int(differ_next.sum() + differ_prev.sum())
    return 1 - hamming / (bar * (n_bars - 1))


def note_density(piece: Piece) -> float:
    """Notes per bar: #(notes) / (last note end / bar length), all tracks; NaN for an empty piece.

    A description feature of von Ruette, Biggio, Kilcher and Hofmann, "FIGARO: Generating symbolic music
    with fine-grained artistic control", ICLR 2023 (there per bar as well).
    """
    notes = note_table(piece)
    length = _length(notes)
    return len(notes) / (length / piece.bar_ticks) if length else math.nan


def onset_intervals(piece: Piece) -> np.ndarray:
    """Inter-onset intervals in quarter notes: differences of the sorted distinct onset times (all tracks)."""
    onsets = np.unique(note_table(piece).time)
    return np.diff(onsets) / piece.tpq


def mean_onset_interval(piece: Piece) -> float:
    """Mean inter-onset interval in quarter notes (MGEval `avg_IOI`, Yang & Lerch 2020); NaN below 2 onsets."""
    ioi = onset_intervals(piece)
    return float(ioi.mean()) if len(ioi) else math.nan


def onset_interval_histogram(piece: Piece) -> np.ndarray:
    """Share of inter-onset intervals in each of the 12 note-length classes (IOI_CLASSES), summing to 1.

    Each interval goes to the class nearest on a log scale (so longer rests fall in 'whole'). The classes
    are those of MGEval's `note_length_hist` (Yang & Lerch, Neural Computing and Applications, 2020).
    NaNs below two onsets.
    """
    ioi = onset_intervals(piece)
    if not len(ioi):
        return np.full(len(IOI_CLASSES), math.nan)
    nearest = np.abs(np.log2(ioi)[:, None] - np.log2(IOI_CLASSES)[None, :]).argmin(1)
    return np.bincount(nearest, minlength=len(IOI_CLASSES)) / len(ioi)


# ---------------- volume ----------------

def velocity_mean(piece: Piece) -> float:
    """Mean MIDI velocity (1-127) of all notes: the piece's average loudness; NaN without notes.

    mean_velocity = (1/N) sum_n v_n; a description feature of FIGARO (von Ruette et al., ICLR 2023).
    """
    velocity = note_table(piece).velocity
    return float(velocity.mean()) if len(velocity) else math.nan


def velocity_spread(piece: Piece) -> float:
    """Standard deviation of the note velocities: sqrt((1/N) sum_n (v_n - mean)^2); NaN without notes.

    How much the loudness varies: the spread beside FIGARO's mean velocity (von Ruette et al., ICLR 2023).
    """
    velocity = note_table(piece).velocity
    return float(velocity.std()) if len(velocity) else math.nan
