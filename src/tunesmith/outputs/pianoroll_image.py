"""Piano-roll pictures: notes as bars on a pitch-by-time grid, x in bars and beats, one colour per track.

Drawn with matplotlib's object API (Figure + Agg canvas, no pyplot), so nothing global changes and
it is safe to call from a web server's threads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tunesmith.errors import TunesmithError
from tunesmith.fileio import write_atomic
from tunesmith.instruments import gm_instrument_name
from tunesmith.piece import Piece
from tunesmith.theory import pitch_name

DPI = 110
BLACK_KEYS = {1, 3, 6, 8, 10}
TRACK_COLOURS = ["#1f77b4", "#e8710a", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                 "#bcbd22", "#7f7f7f"]


def bar_lines(piece: Piece) -> tuple[np.ndarray, np.ndarray]:
    """(bar start ticks, beat ticks) covering the piece, following every time-signature change.

    A change in the middle of a bar starts a new bar there (as MIDI players count). In 6/8, 9/8
    and 12/8 the beat is the dotted quarter.
    """
    tpq, end = piece.tpq, max(piece.end_tick, 1)
    first = piece.time_signature if min(piece.time_signature) > 0 else (4, 4)
    changes: dict[int, tuple[int, int]] = {0: first}  # the first signature counts from the start
    for ts in sorted(piece.score.time_signatures, key=lambda t: t.time):
        meter = (int(ts.numerator), int(ts.denominator))
        current = changes[max(t for t in changes if t <= int(ts.time))]
        if int(ts.time) > 0 and meter != current and min(meter) > 0:  # repeats of the same meter change nothing
            changes[int(ts.time)] = meter
    times = sorted(changes)
    bars: list[float] = []
    beats: list[float] = []
    for i, start in enumerate(times):
        num, den = changes[start]
        stop = times[i + 1] if i + 1 < len(times) else None
        bar_len = max(1, round(tpq * 4 * num / den))
        beat_len = round(tpq * 4 / den) * (3 if den == 8 and num % 3 == 0 and num > 3 else 1)
        tick = start
        while (stop is None and tick < end) or (stop is not None and tick < stop):
            bars.append(tick)
            beats.extend(range(tick, tick + bar_len, max(1, beat_len)))
            tick += bar_len
        if stop is None:
            bars.append(tick)  # the closing bar line
    bar_arr = np.array(bars, dtype=np.int64)
    bar_arr = bar_arr[: int(np.searchsorted(bar_arr, end)) + 1]  # signature changes after the last note
    beat_arr = np.array(beats, dtype=np.int64)
    return bar_arr, beat_arr[beat_arr < bar_arr[-1]]


def _to_bars(ticks: np.ndarray, bar_starts: np.ndarray) -> np.ndarray:
    """Ticks -> position in bars (bar 1 starts at 0.0), piecewise linear through the bar lines."""
    return np.interp(ticks, bar_starts, np.arange(len(bar_starts), dtype=float))


def default_title(piece: Piece) -> str:
    """'name · G major · 3/4 · 120 bpm · 28 bars · 302 notes' from piece.summary()."""
    s = piece.summary()
    parts = [s["name"], s["key"], s["time_signature"], f"{s['tempo']:g} bpm", f"{s['bars']} bars",
             f"{s['notes']} notes"]
    return " · ".join(str(p) for p in parts if p)


def _track_label(name: str, program: int, is_drum: bool) -> str:
    instrument = gm_instrument_name(program, is_drum)
    name = name.strip()
    return f"{name} ({instrument})" if name and name.lower() != instrument.lower() else instrument


def _pitch_axis(ax: Axes, low: int, high: int, compact: bool) -> None:
    """Shade black-key rows, line each C, label C's with note names."""
    for pitch in range(low, high + 1):
        if pitch % 12 in BLACK_KEYS:
            ax.axhspan(pitch - 0.5, pitch + 0.5, color="#eef0f3", zorder=0, lw=0)
        if pitch % 12 == 0:
            ax.axhline(pitch - 0.5, color="#b8bec8", lw=0.6, zorder=0.5)
    ticks = [p for p in range(low, high + 1) if p % 12 == 0]
    if not ticks or (len(ticks) < 2 and not compact):  # a narrow range: name every E and G as well
        ticks = [p for p in range(low, high + 1) if p % 12 in (0, 4, 7)]
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks], fontsize=7 if compact else 9)
    ax.set_ylim(low - 0.5, high + 0.5)


def _time_axis(ax: Axes, piece: Piece, compact: bool) -> np.ndarray:
    """Bar lines, beat lines and bar numbers; returns the bar starts in ticks."""
    bar_starts, beats = bar_lines(piece)
    n_bars = len(bar_starts) - 1
    for x in _to_bars(beats, bar_starts):
        ax.axvline(x, color="#d5d9df", lw=0.5, zorder=0.6)
    for x in range(n_bars + 1):
        ax.axvline(x, color="#7d8590", lw=0.9, zorder=0.7)
    step = next(s for s in (1, 2, 4, 8, 16, 32, 64, 10**9) if n_bars / s <= (16 if compact else 40))
    ticks = list(range(0, n_bars, step))
    ax.set_xticks([t + 0.5 for t in ticks], [str(t + 1) for t in ticks], fontsize=7 if compact else 9)
    ax.tick_params(axis="x", length=0)
    ax.set_xlim(0, max(n_bars, 1))
    if not compact:
        ax.set_xlabel("bar")
    return bar_starts


def draw_piece(ax: Axes, piece: Piece, legend: bool = True, compact: bool = False) -> None:
    """Draw `piece` as a piano roll on `ax`: one colour per track, velocity as opacity."""
    rng = piece.pitch_range
    drum_pitches = [int(n.pitch) for t in piece.score.tracks if t.is_drum for n in t.notes]
    lows = ([rng[0]] if rng else []) + ([min(drum_pitches)] if drum_pitches else [])
    highs = ([rng[1]] if rng else []) + ([max(drum_pitches)] if drum_pitches else [])
    low, high = (min(lows), max(highs)) if lows else (60, 72)
    pad = max(2, (12 - (high - low)) // 2)
    _pitch_axis(ax, max(0, low - pad), min(127, high + pad), compact)
    bar_starts = _time_axis(ax, piece, compact)
    handles = []
    tracks = [t for t in piece.score.tracks if len(t.notes)]
    for i, track in enumerate(tracks):
        colour = to_rgb(TRACK_COLOURS[i % len(TRACK_COLOURS)])
        notes = track.notes.numpy()
        start = _to_bars(notes["time"], bar_starts)
        stop = _to_bars(notes["time"] + notes["duration"], bar_starts)
        pitch = notes["pitch"].astype(float)
        alpha = 0.3 + 0.7 * np.clip(notes["velocity"], 1, 127) / 127.0
        label = _track_label(track.name, int(track.program), bool(track.is_drum))
        if track.is_drum:  # hits, not held notes
            ax.scatter(start, pitch, marker="x", s=14 if compact else 22, color=colour, lw=1.0, zorder=3)
            handles.append(Line2D([], [], marker="x", ls="", color=colour, label=label))
            continue
        stop = np.maximum(stop, start + 0.02)  # very short notes stay visible
        verts = np.stack([np.stack([start, pitch - 0.42], 1), np.stack([stop, pitch - 0.42], 1),
                          np.stack([stop, pitch + 0.42], 1), np.stack([start, pitch + 0.42], 1)], 1)
        faces = np.column_stack([np.tile(colour, (len(alpha), 1)), alpha])
        ax.add_collection(PolyCollection(list(verts), facecolors=faces, edgecolors=[tuple(c * 0.6 for c in colour)],
                                         linewidths=0.5 if not compact else 0.3, zorder=2))
        handles.append(Patch(facecolor=colour, edgecolor=tuple(c * 0.6 for c in colour), label=label))  # type: ignore[arg-type]
    if not tracks:
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center", color="#7d8590")
    if legend and handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=9, frameon=False,
                  title="tracks", title_fontsize=9, alignment="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _figure_size(piece: Piece) -> tuple[float, float]:
    """Width grows with the bars, height with the pitch range; both capped."""
    rng = piece.pitch_range or (60, 72)
    width = float(np.clip(3.0 + 0.55 * max(piece.bars, 1), 8.0, 24.0))
    height = float(np.clip(2.0 + 0.15 * (rng[1] - rng[0] + 4), 4.0, 9.0))
    return width, height


def _save(fig: Figure, path: str | Path) -> Path:
    FigureCanvasAgg(fig)
    return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight",
                                                      facecolor="white"))


def save_pianoroll_png(piece: Piece, path: str | Path, title: str | None = None) -> Path:
    """Draw `piece` as a piano roll and write it as a PNG at `path` (title defaults to its summary)."""
    fig = Figure(figsize=_figure_size(piece), layout="constrained")
    ax = fig.add_subplot()
    draw_piece(ax, piece)
    ax.set_ylabel("pitch")
    ax.set_title(default_title(piece) if title is None else title, loc="left", fontsize=11)
    return _save(fig, path)


def _draw_array(ax: Axes, roll: np.ndarray, lowest_pitch: int) -> None:
    """A (time, pitch) or (time, pitch, track) array as an image, pitch upwards, time steps on x."""
    roll = np.asarray(roll, dtype=float)
    if roll.ndim == 3:
        roll = roll.max(axis=2)
    if roll.ndim != 2:
        raise TunesmithError(f"a piano-roll array must be (time, pitch) or (time, pitch, track), not {roll.shape}")
    used = np.flatnonzero(roll.max(axis=0) > 0)
    if len(used):  # show the pitches in use (at least an octave), not all 128 rows
        low = max(0, min(int(used[0]) - 3, int(used[-1]) - 15))
        roll, lowest_pitch = roll[:, low: max(int(used[-1]) + 4, low + 16)], lowest_pitch + low
    ax.imshow(roll.T, origin="lower", aspect="auto", cmap="Blues", vmin=0.0, vmax=max(1.0, float(roll.max())),
              extent=(0, roll.shape[0], lowest_pitch - 0.5, lowest_pitch + roll.shape[1] - 0.5),
              interpolation="nearest")
    cs = [p for p in range(lowest_pitch, lowest_pitch + roll.shape[1]) if p % 12 == 0]
    ax.set_yticks(cs, [pitch_name(p) for p in cs], fontsize=7)
    ax.tick_params(axis="x", labelsize=7)


def pianoroll_grid_png(items: Sequence[Piece | np.ndarray], path: str | Path, cols: int = 4,
                       titles: Sequence[str] | None = None, title: str | None = None,
                       lowest_pitch: int = 0) -> Path:
    """Several pieces (or piano-roll arrays, (time, pitch[, track]) with pitch 0 = `lowest_pitch`) in one PNG."""
    if not len(items):
        raise TunesmithError("nothing to draw: the list of pieces is empty")
    if titles is not None and len(titles) != len(items):
        raise TunesmithError(f"{len(titles)} titles for {len(items)} pieces")
    cols = max(1, min(int(cols), len(items)))
    rows = math.ceil(len(items) / cols)
    fig = Figure(figsize=(min(4.2 * cols, 24.0), min(2.8 * rows, 30.0)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, (ax, item) in enumerate(zip(axes, items, strict=False)):
        if isinstance(item, Piece):
            draw_piece(ax, item, legend=False, compact=True)
            name = item.name
        else:
            _draw_array(ax, item, lowest_pitch)
            name = f"#{i + 1}"
        ax.set_title(titles[i] if titles is not None else name, fontsize=9, loc="left")
    for ax in axes[len(items):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)
