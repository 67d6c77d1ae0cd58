"""Controls for the families that draw a whole grid at once (VAE, GAN, polyphonic frames).

Two kinds of help, both for every such family:

- inside sampling, `allowed_pitches`: which pitches of the model's grid may sound under --scale-lock and
  --pitch-range, for a piece that is moved afterwards by a known number of semitones (a GAN writes in its
  home key and is then moved to the asked one); the family masks its outputs with it, so the notes it plays
  are chosen among the allowed ones instead of being removed afterwards;
- afterwards, `shape`: the changes that are musically exact on a finished piece: one tempo, the asked
  instruments (a program per track, or the notes re-voiced from the top when the counts differ), the velocity
  range (a linear map that keeps every accent in its order), a dynamics curve (crescendo, diminuendo, swell,
  steady), a clean loop point (notes end at the last bar line), and a final cadence on the tonic (the lowest
  note of the last onset moved to the nearest tonic, inside the asked range).

`grid_targets` reads the controls as such a family writes: in the one metre its grid holds (another is
refused with the reason), with --seconds made whole bars at the family's own tempo.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import symusic

from tunesmith.controls.arrange import apply_tempo, set_instruments
from tunesmith.controls.controls import Controls
from tunesmith.controls.targets import Targets, length_in_bars, parse_time_signature, resolve_targets
from tunesmith.errors import ControlError
from tunesmith.instruments import DRUMS, instrument_name
from tunesmith.piece import Piece
from tunesmith.theory import Key

DYNAMICS_SPAN = 0.35  # crescendo, diminuendo and swell move velocities by this share of their level


def grid_targets(controls: Controls, primer: Piece | None, family: str, meter: tuple[int, int], tempo: float,
                 density_edges: list[float] | None = None) -> Targets:
    """The targets of a family whose grid holds one metre, `meter`, at its usual `tempo`: another asked metre is
    a ControlError saying why; --seconds become whole bars of that metre (at the asked tempo, the primer's, or
    at `tempo` adjusted so the length is exact), as the family writes them."""
    asked = parse_time_signature(controls.time_signature) if controls.time_signature else None
    if asked is not None and tuple(asked) != tuple(meter):
        text = f"{asked[0]}/{asked[1]}"
        raise ControlError(f"the {family} run writes in {meter[0]}/{meter[1]} (its grid holds one metre, the one it "
                           f"was trained in): --time-signature {text} needs a run trained on {text} music")
    targets = resolve_targets(dataclasses.replace(controls, seconds=None), primer, density_edges)
    if controls.seconds is not None:
        given = controls.tempo if controls.tempo is not None else (primer.tempo if primer is not None else None)
        targets.bars, targets.tempo = length_in_bars(controls.seconds, meter, given, reference=tempo)
        targets.seconds = controls.seconds
    return targets


def home_shift(key: Key, home: Key = Key(0, "major")) -> int:
    """Semitones (-6..5) that move music in `home`'s scale onto `key`'s scale (D minor: F major's, +5)."""
    major = key.relative.tonic if key.mode == "minor" else key.tonic
    home_major = home.relative.tonic if home.mode == "minor" else home.tonic
    shift = (major - home_major) % 12
    return shift - 12 if shift > 5 else shift


def allowed_pitches(targets: Targets, lowest: int, count: int, shift: int = 0) -> np.ndarray | None:
    """[count] booleans over the grid's pitches lowest..lowest+count-1: where a note may sound, for a piece
    moved by `shift` semitones afterwards; None when neither --scale-lock nor --pitch-range restricts it."""
    if targets.scale is None and targets.pitch_range is None:
        return None
    played = np.arange(lowest, lowest + count) + shift
    allowed = np.ones(count, dtype=bool)
    if targets.scale is not None:
        allowed &= np.isin(played % 12, sorted(targets.scale))
    if targets.pitch_range is not None:
        allowed &= (played >= targets.pitch_range[0]) & (played <= targets.pitch_range[1])
    if not allowed.any():
        raise ControlError(f"no pitch of this model's range ({lowest + shift}-{lowest + shift + count - 1}) meets "
                           "--scale-lock and --pitch-range together")
    return allowed


def shape(piece: Piece, targets: Targets) -> Piece:
    """The piece with every afterwards-exact control of `targets` applied (a copy; see the module's list), and
    the targets in its tags ("targets") for the checks every generated piece goes through."""
    piece = piece.copy(tags={**piece.tags, "targets": targets})
    if targets.end_on_tonic and targets.key is not None:
        piece = end_on_tonic(piece, targets.key, targets.pitch_range)
    if targets.loopable:
        piece = cut_at(piece, targets.bars)
    if targets.tempo is not None:
        piece = apply_tempo(piece, targets.tempo)
    if targets.programs is not None:
        piece = set_programs(piece, targets.programs)
    if targets.dynamics is not None:
        piece = apply_dynamics(piece, targets.dynamics)
    if targets.velocity is not None:
        piece = fit_velocities(piece, targets.velocity)
    return piece


def cut_at(piece: Piece, bars: int) -> Piece:
    """The first `bars` bars, every note ending by the last bar line (a clean loop point)."""
    end = bars * piece.bar_ticks
    return piece.copy(score=piece.score.clip(0, end, clip_end=True))


def set_programs(piece: Piece, programs: list[int]) -> Piece:
    """The asked instruments: one per track in order when the counts agree (each part keeps its notes and its
    role), else the notes re-voiced from the top over the asked instruments (`set_instruments`)."""
    tracks = [t for t in piece.score.tracks if len(t.notes)]
    if len(tracks) != len(programs):
        return set_instruments(piece, programs)
    score = piece.score.copy()
    kept = [t for t in score.tracks if len(t.notes)]
    for track, program in zip(kept, programs, strict=True):
        track.program, track.is_drum = (0, True) if program == DRUMS else (program, False)
        track.name = instrument_name(program)
    score.tracks = symusic.core.TrackTickList(kept)
    return piece.copy(score=score)


def _velocities(piece: Piece, change) -> Piece:  # noqa: ANN001 - change: (velocity, time) -> new velocity
    score = piece.score.copy()
    for track in score.tracks:
        for note in track.notes:
            note.velocity = int(min(127, max(1, round(change(int(note.velocity), int(note.time))))))
    return piece.copy(score=score)


def fit_velocities(piece: Piece, span: tuple[int, int]) -> Piece:
    """Velocities mapped linearly from the piece's own span onto [low, high]: every accent keeps its order."""
    found = [int(n.velocity) for t in piece.score.tracks for n in t.notes]
    if not found:
        return piece.copy()
    low, high = span
    lo, hi = min(found), max(found)
    if lo == hi:
        return _velocities(piece, lambda v, t: (low + high) / 2)
    return _velocities(piece, lambda v, t: low + (v - lo) * (high - low) / (hi - lo))


def apply_dynamics(piece: Piece, shape_name: str) -> Piece:
    """A dynamics curve over the piece: crescendo (soft to loud), diminuendo, swell (up to the middle and
    back), or steady (each note halfway to the piece's mean velocity)."""
    length = max(1, piece.end_tick)
    found = [int(n.velocity) for t in piece.score.tracks for n in t.notes]
    if not found:
        return piece.copy()
    mean = float(np.mean(found))
    curves = {"crescendo": lambda x: 1 - DYNAMICS_SPAN / 2 + DYNAMICS_SPAN * x,
              "diminuendo": lambda x: 1 + DYNAMICS_SPAN / 2 - DYNAMICS_SPAN * x,
              "swell": lambda x: 1 - DYNAMICS_SPAN / 2 + DYNAMICS_SPAN * math.sin(math.pi * x)}
    if shape_name == "steady":
        return _velocities(piece, lambda v, t: (v + mean) / 2)
    curve = curves[shape_name]
    return _velocities(piece, lambda v, t: v * curve(t / length))


def end_on_tonic(piece: Piece, key: Key, pitch_range: tuple[int, int] | None = None) -> Piece:
    """A cadence on the tonic: when no note of the last onset is the tonic, its lowest note moves to the
    nearest tonic (inside `pitch_range` when one was asked); the rest of the piece is untouched."""
    notes = [(int(n.time), int(n.pitch), ti, ni) for ti, t in enumerate(piece.score.tracks) if not t.is_drum
             for ni, n in enumerate(t.notes)]
    if not notes:
        return piece.copy()
    last = max(time for time, *_ in notes)
    final = sorted((pitch, ti, ni) for time, pitch, ti, ni in notes if time == last)
    if any(pitch % 12 == key.tonic for pitch, _, _ in final):
        return piece.copy()
    pitch, ti, ni = final[0]
    low, high = pitch_range or (0, 127)
    tonics = [p for p in range(low, high + 1) if p % 12 == key.tonic]
    if not tonics:
        return piece.copy()
    score = piece.score.copy()
    score.tracks[ti].notes[ni].pitch = min(tonics, key=lambda p: (abs(p - pitch), p))
    return piece.copy(score=score)
