"""Sampling the GAN: free phrases chained from neighbouring latents, or phrases accompanying a given track.

The controls (controls/shaping.py): --scale-lock and --pitch-range mask the roll's pitches before notes are
chosen, in the home key the run learnt in and then moved to the asked key; --density (low and high: the thirds
of the run's corpus) draws a few latent chains per piece and keeps the one, and the roll threshold, whose notes
per bar come nearest the asked level; tempo, instruments, velocity, dynamics,
the loop point and the final tonic are applied to the finished piece. A fixed grid holds one metre, and
phrases drawn whole from noise cannot fill a gap between given bars: --time-signature (another metre) and
--infill are refused with the reason."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch

from tunesmith.controls.arrange import key_shift
from tunesmith.controls.controls import Controls
from tunesmith.controls.shaping import allowed_pitches, grid_targets, home_shift, shape
from tunesmith.controls.targets import Targets, length_in_bars
from tunesmith.errors import ControlError
from tunesmith.models.gan_config import HOME_KEY
from tunesmith.piece import Piece
from tunesmith.representations.pianoroll import ONSET, SAMPLINGS, SOUNDING, PianoRollRepresentation
from tunesmith.theory import parse_key

log = logging.getLogger(__name__)
# beyond the universal ones
CONTROLS = frozenset({"condition_track", "key", "roll_sampling", "tempo", "scale_lock", "time_signature",
                      "instruments", "density", "pitch_range", "velocity", "dynamics", "end_on_tonic", "loopable"})
REFUSED = {
    "infill": "it draws whole phrases from noise and cannot fill a gap between given bars (the token models and "
              "the vae can)",
    "style": "it learns no style tags (a token model's conditioning does)",
    "top_k": "it draws no tokens: its rolls are thresholded (--roll-sampling)",
    "top_p": "it draws no tokens: its rolls are thresholded (--roll-sampling)",
    "monophonic": "its tracks keep the voices each learnt (a one-voice track is fitted as such)",
    "simple_rhythm": "its grid's steps are its rhythm",
    "harmonise": "it accompanies a given track with --condition-track and --primer",
    "attributes": "it has no latent attribute vectors (the vae has)",
    "variation": "it has no encoder to sample near a primer (the vae has)",
}
AFTERWARDS = frozenset({"key", "tempo", "instruments", "velocity", "dynamics", "end_on_tonic", "loopable"})
DENSITY_THRESHOLDS = (0.05, 0.95)  # the roll thresholds --density searches between
DENSITY_DRAWS = 4  # latent chains --density chooses among, for each piece


def parse_roll_sampling(value: str | None, default_threshold: float) -> tuple[str, float]:
    """'threshold', 'bernoulli', 'threshold:0.4' or a bare threshold such as '0.4' -> (mode, threshold)."""
    if value is None:
        return "threshold", default_threshold
    mode, _, number = value.strip().lower().partition(":")
    try:
        if mode not in SAMPLINGS:
            mode, number = "threshold", value
        threshold = float(number) if number else default_threshold
    except ValueError:
        raise ControlError(f"--roll-sampling must be threshold, bernoulli or threshold:T with 0 < T < 1 "
                           f"(got {value!r})") from None
    if not 0 < threshold < 1:
        raise ControlError(f"--roll-sampling threshold must be between 0 and 1 (got {threshold})")
    return mode, threshold


def condition_index(rep: PianoRollRepresentation, name: str) -> int:
    """The roll track named `name` (any case; 'melody' means the first track; 1-based numbers allowed)."""
    wanted = name.strip().lower()
    names = [t.name.lower() for t in rep.tracks]
    if wanted in names:
        return names.index(wanted)
    if wanted == "melody":
        return 0
    if wanted.isdigit() and 1 <= int(wanted) <= len(names):
        return int(wanted) - 1
    raise ControlError(f"--condition-track {name!r} is not a track of this model "
                       f"(choose from: {', '.join(rep.track_names)})")


def primer_track_table(rep: PianoRollRepresentation, primer: Piece, index: int) -> np.ndarray:
    """The primer's track for roll track `index` as note-table rows: the one of that name, else its first track."""
    tracks = [t for t in primer.score.tracks if len(t.notes)]
    if not tracks:
        raise ControlError(f"the primer {primer.name!r} has no notes")
    named = [t for t in tracks if rep.track_index(t) == index]
    if not named and len(tracks) > 1:
        log.info("primer has no %s track; using its first track %r", rep.tracks[index].name, tracks[0].name)
    return rep.track_notes((named or tracks)[0], primer.tpq, index)


def chained_latents(generator: Any, num_phrases: int, drift: float, scale: float,
                    rng: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    """Latents for consecutive phrases, each a step of size `drift` from the one before: [phrases, ...]."""
    current = generator.latents(1, rng)
    phrases = [current]
    for _ in range(num_phrases - 1):
        step = generator.latents(1, rng)
        current = {k: math.sqrt(1 - drift ** 2) * v + drift * step[k] for k, v in current.items()}
        phrases.append(current)
    return {k: torch.cat([p[k] for p in phrases]).to(device) * scale for k in current}


@torch.no_grad()
def generate(run: Any, controls: Controls) -> list[Piece]:
    """`controls.num` pieces of `controls.bars` bars (or the primer's length when harmonising it)."""
    controls.check_supported("gan", CONTROLS, REFUSED)
    model, rep, device = run.model, run.representation, run.device
    config, generator = model.config, model.generator_ema.eval()
    mode, threshold = parse_roll_sampling(controls.roll_sampling, rep.threshold)
    primer = controls.primer_piece()
    targets = grid_targets(controls, primer, "gan", (rep.bar_beats, 4), rep.tempo, rep.density_edges)
    key = parse_key(controls.key) if controls.key else None
    if key is not None and not config.phrases.key_normalize:
        raise ControlError("--key needs a gan run trained with key_normalize (this run learnt every key as found)")
    if key is not None and primer is not None:
        raise ControlError("--key cannot be used with --primer for the gan model: the primer's key is kept")
    cond_index, cond_table, shift = None, None, 0
    if controls.condition_track is not None or primer is not None:
        if primer is None:
            raise ControlError("--condition-track needs --primer FILE.mid holding the track to accompany")
        if config.phrases.key_normalize:  # accompany it where the model learnt, then move everything back
            shift = key_shift(primer, HOME_KEY, (rep.lowest, rep.highest))
            primer = primer.transpose(shift)
        cond_index = condition_index(rep, controls.condition_track or rep.tracks[0].name)
        cond_table = primer_track_table(rep, primer, cond_index)
    bar_steps = rep.steps_per_bar
    tempo = controls.tempo or (primer.tempo if primer is not None else rep.tempo)
    if controls.seconds is not None:  # whole bars, as for every family
        asked = controls.tempo or (primer.tempo if primer is not None else None)
        bars, tempo = length_in_bars(controls.seconds, (rep.bar_beats, 4), asked, reference=rep.tempo)
    elif cond_table is not None and "bars" not in controls.requested():
        bars = max(1, math.ceil(int(cond_table[:, 2].max()) / bar_steps)) if len(cond_table) else config.bars
    else:
        bars = controls.bars or config.bars
    targets.bars = bars
    phrases = math.ceil(bars / config.bars)
    total = phrases * config.bars * bar_steps
    condition = None
    if cond_table is not None:
        condition = torch.from_numpy(rep.render(cond_table, 0, total)[cond_index]).to(device)  # [L, P, 3]
    moved = -shift if primer is not None else (home_shift(key) if key is not None else 0)  # roll -> piece
    allowed = allowed_pitches(targets, rep.lowest, rep.pitches, moved)

    def roll_of(z: dict[str, torch.Tensor]) -> np.ndarray:
        """The piece's roll [tracks, steps, pitches, 3] from a chain of latents, masked and conditioned."""
        if condition is None or cond_index is None:  # nothing to accompany (a primer gives both or neither)
            rolls = generator(z)  # [phrases, T, L, P, 3]
        else:
            given = condition.view(phrases, model.steps, *condition.shape[1:])
            rolls = generator(z, given, torch.full((phrases,), cond_index, device=device))
        roll = rolls.permute(1, 0, 2, 3, 4).reshape(model.tracks, total, rep.pitches, -1)[:, : bars * bar_steps]
        roll = roll.cpu().numpy()
        if allowed is not None:  # the masked pitches never sound; the rest are chosen as usual
            free = np.array([t for t in range(model.tracks) if t != cond_index])
            roll[np.ix_(free, np.arange(roll.shape[1]), np.flatnonzero(~allowed), np.array([SOUNDING, ONSET]))] = 0.0
        if condition is not None:
            roll[cond_index] = condition[: bars * bar_steps].cpu().numpy()
        return roll

    pieces = []
    for i in range(controls.num):
        rng = controls.generator(i)
        draws = DENSITY_DRAWS if targets.density is not None and mode == "threshold" else 1
        rolls = [roll_of(chained_latents(generator, phrases, config.phrase_drift, controls.sampling_temperature, rng,
                                         device)) for _ in range(draws)]
        chosen = [_density_threshold(rep, roll, targets, mode, threshold) + (roll,) for roll in rolls]
        _, threshold_i, roll = min(chosen, key=lambda c: c[0])  # the first of the nearest
        piece = rep.decode(roll, name=f"gan_{i + 1}", sampling=mode, threshold=threshold_i,
                           generator=controls.generator(10_000 + i), tempo=tempo)
        if moved:
            piece = piece.transpose(moved)
        pieces.append(shape(piece, targets))
    log.info("gan: %d piece(s) of %d bars (%d phrases each)%s", len(pieces), bars, phrases,
             f", accompanying {rep.tracks[cond_index].name}" if cond_index is not None else "")
    return pieces


def _density_threshold(rep: PianoRollRepresentation, roll: np.ndarray, targets: Targets, mode: str,
                       threshold: float) -> tuple[float, float]:
    """(how far its notes per bar are from the asked level, the threshold to decode with): the asked one, or
    under --density the one between DENSITY_THRESHOLDS whose notes per bar come nearest the middle of the asked
    range, found by halving (the notes a threshold starts fall as it rises; counted as note starts, before the
    voice limits of decoding). Bernoulli sampling keeps its own. A threshold that leaves the piece without
    notes is never chosen (the asked one is kept, as the farthest, when every other would)."""
    if targets.density is None or mode != "threshold":
        return 0.0, threshold
    wanted, bars = sum(targets.density) / 2, roll.shape[1] // rep.steps_per_bar
    sounding, onset = roll[..., SOUNDING], roll[..., ONSET]

    def per_bar(t: float) -> float:
        on = sounding > t
        after_silence = np.concatenate([on[:, :1], on[:, 1:] & ~on[:, :-1]], axis=1)
        return float((on & ((onset > t) | after_silence)).sum()) / max(1, bars)

    lo, hi = DENSITY_THRESHOLDS
    found = [(abs(per_bar(t) - wanted), t) for t in (lo, hi) if per_bar(t)]
    for _ in range(10):
        middle = (lo + hi) / 2
        notes = per_bar(middle)
        if notes:
            found.append((abs(notes - wanted), middle))
        lo, hi = (middle, hi) if notes > wanted else (lo, middle)
    return min(found) if found else (math.inf, threshold)
