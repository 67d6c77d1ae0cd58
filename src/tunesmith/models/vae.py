"""The VAE family (MusicVAE): segments of a fixed number of bars encoded to a latent you can sample,
interpolate and steer. The network and its settings are in vae_net.py, the training segments in vae_data.py,
latent operations in vae_latent.py, attribute vectors in vae_attributes.py; this file is the family: model
building and `generate`.

Longer pieces than one segment are made by decoding a chain of neighbouring latents (each a small
spherical step from the one before towards a fresh prior sample) and playing the segments one after
another. A run may set the step in config.json (`"sampling": {"chain_step": S}`): a model of short segments
keeps its key and manner over a long piece only with small steps.

The controls (controls/shaping.py): --scale-lock and --pitch-range mask the decoder's pitch classes at every
step; --key without the lock moves the finished piece to the key (the nearest way that keeps the range);
--density moves the latents along the run's density attribute vector (`tunesmith attributes`), by as much
as the asked notes per bar lie from the corpus's middle; --infill decodes the gap from latents on the
great circle between the segments around it; tempo, instruments, velocity, dynamics, the loop point and the
final tonic are applied to the finished piece. The grid holds the metre it was trained in.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from tunesmith.controls.arrange import splice_bars, transpose_to_key
from tunesmith.controls.shaping import allowed_pitches, grid_targets, shape
from tunesmith.controls.targets import Targets
from tunesmith.errors import ControlError, TunesmithError
from tunesmith.models.base import Family, Trained
from tunesmith.models.vae_attributes import attribute_offset, load_attribute_vectors
from tunesmith.models.vae_data import make_dataset
from tunesmith.models.vae_latent import decode_latents, encode_piece, slerp
from tunesmith.models.vae_net import MusicVAE, SegmentGrid, VAEConfig, voice_representation
from tunesmith.piece import Piece
from tunesmith.representations.voices import FIRST_PITCH, VoiceRepresentation, concatenate

if TYPE_CHECKING:
    from tunesmith.controls.controls import Controls
    from tunesmith.representations.base import Representation

log = logging.getLogger(__name__)

CHAIN_STEP = 0.35          # how far (as a slerp fraction) each further segment's latent moves from the last
MOST_DENSITY = 2.0         # --density moves along the density vector by at most this many times its length
CONTROLS = frozenset({"attributes", "variation", "tempo", "top_k", "top_p", "key", "scale_lock", "time_signature",
                      "instruments", "density", "pitch_range", "velocity", "dynamics", "end_on_tonic", "loopable",
                      "infill"})


def build_model(config: VAEConfig, representation: Representation) -> MusicVAE:
    """A MusicVAE sized for the representation (voices, event classes, velocity bins, bar length)."""
    return MusicVAE(config, SegmentGrid.of(voice_representation(representation)))


# ---------------- generation ----------------

def _length(controls: Controls, representation: VoiceRepresentation) -> tuple[int, float]:
    """(bars, tempo) from --bars / --seconds and --tempo: seconds become whole bars, as for every family."""
    from tunesmith.controls.targets import length_in_bars

    if controls.seconds:
        return length_in_bars(controls.seconds, representation.meter, controls.tempo, reference=representation.tempo)
    return controls.bars or 0, controls.tempo or representation.tempo


def chain_step(config: dict) -> float:
    """How far each further segment's latent moves: the run's `sampling.chain_step`, else CHAIN_STEP."""
    step = (config.get("sampling") or {}).get("chain_step", CHAIN_STEP)
    if isinstance(step, bool) or not isinstance(step, int | float) or not 0 <= step <= 1:
        raise TunesmithError(f"config.json's sampling.chain_step must be a number from 0 to 1 (got {step!r})")
    return float(step)


def _latent_chain(start: torch.Tensor, count: int, generator: torch.Generator, step: float) -> torch.Tensor:
    """`count` latents [count, Z]: `start`, then each a `step` slerp towards a fresh prior sample."""
    chain = [start]
    for _ in range(count - 1):
        chain.append(slerp(chain[-1], torch.randn(start.shape, generator=generator), step))
    return torch.stack(chain)


def generate(run: Trained, controls: Controls) -> list[Piece]:
    """Sample from the prior (or near a primer's latent), steered by attribute vectors; segments of
    neighbouring latents are joined when more bars are asked for than one segment holds."""
    controls.check_supported(FAMILY.name, FAMILY.supported_controls, FAMILY.refused)
    model, rep = run.model, run.representation
    if not isinstance(model, MusicVAE) or not isinstance(rep, VoiceRepresentation):
        raise TunesmithError(f"{run.path} is not a vae run (its network is a {type(model).__name__})")
    config = model.config
    if controls.variation is not None:
        if controls.primer is None:
            raise ControlError("--variation samples near a primer's latent: give --primer too")
        if controls.variation < 0:
            raise ControlError(f"--variation must be 0 or more (got {controls.variation})")
    primer = controls.primer_piece()
    targets = grid_targets(controls, primer, FAMILY.name, rep.meter, rep.tempo,
                           _density_edges(run) if controls.density is not None else None)
    offset = attribute_offset(run.path, controls.attributes, config.latent_size) + _density_offset(run, targets)
    filter_fn = _filter(controls, allowed_pitches(targets, rep.min_pitch, rep.max_pitch - rep.min_pitch + 1))
    if targets.infill is not None and primer is not None:
        return [_finish(_infill(run, controls, primer, targets.infill, offset, filter_fn, i), targets, controls)
                for i in range(controls.num)]
    bars, tempo = _length(controls, rep)
    bars = targets.bars = bars or config.segment_bars
    count = math.ceil(bars / config.segment_bars)
    primer_mu = encode_piece(model, rep, primer, what="the primer")[0][:1] if primer is not None else None
    step = chain_step(run.config)
    pieces = []
    for i in range(controls.num):
        g = controls.generator(i)  # latents are drawn on the CPU: the same seed gives the same latents anywhere
        if primer_mu is not None:  # the chain is drawn in standard-normal units of the prior
            start = primer_mu[0].cpu() + (controls.variation or 0.0) * torch.randn(primer_mu.shape[1:], generator=g)
            start = model.to_standard(start)
        else:
            start = torch.randn(config.latent_size, generator=g)
        z = model.from_standard(_latent_chain(start, count, g, step)) + offset
        grids = decode_latents(model, z.to(run.device), temperature=controls.sampling_temperature,
                               generator=controls.generator(i, run.device), filter_logits=filter_fn)
        piece = rep.decode(concatenate(grids), name=f"{run.path.name}-{i + 1:02d}", tempo=tempo)
        piece = _cut(piece, bars)
        piece.tags.update({"family": FAMILY.name, "seed": controls.seed, "index": i, "asked": {
            "bars": bars, "segments": count, "attributes": dict(controls.attributes),
            "variation": controls.variation, "primer": str(controls.primer) if controls.primer else None}})
        pieces.append(_finish(piece, targets, controls))
    return pieces


def _finish(piece: Piece, targets: Targets, controls: Controls) -> Piece:
    """The afterwards-exact controls; --key without the lock moves the piece to the key first."""
    if targets.key is not None and targets.scale is None and controls.key and piece.note_count:
        piece = transpose_to_key(piece, targets.key, targets.pitch_range)
    return shape(piece, targets)


def _density_edges(run: Trained) -> list[float]:
    """Notes per bar that split the corpus's segments into low, medium and high: the means of the bottom and
    top quarters measured with the run's attribute vectors."""
    density = load_attribute_vectors(run.path)["attributes"]["density"]
    return [float(density["low"]), float(density["high"])]


def _density_offset(run: Trained, targets: Targets) -> torch.Tensor:
    """The latent offset toward the asked notes per bar: along the density vector, by how far the asked middle
    lies from the middle of the corpus's low and high quarters, in units of their distance."""
    size = cast(MusicVAE, run.model).config.latent_size
    if targets.density is None:
        return torch.zeros(size)
    density = load_attribute_vectors(run.path)["attributes"]["density"]
    if density.get("vector") is None:
        raise ControlError("--density: the run's segments do not vary in density, so there is no direction to "
                           "move along")
    low, high = float(density["low"]), float(density["high"])
    amount = (sum(targets.density) / 2 - (low + high) / 2) / max(high - low, 1e-6)
    return attribute_offset(run.path, {"density": float(np.clip(amount, -MOST_DENSITY, MOST_DENSITY))}, size)


def _infill(run: Trained, controls: Controls, primer: Piece, gap: tuple[int, int], offset: torch.Tensor,
            filter_fn, index: int) -> Piece:  # noqa: ANN001 - filter_fn: the logits filter or None
    """The primer with bars [start, end) decoded from latents on the great circle between the segment before
    the gap and the one after it (one of them at an edge of the piece)."""
    model, rep = cast(MusicVAE, run.model), cast(VoiceRepresentation, run.representation)
    bars_each = model.config.segment_bars
    start, end = gap

    def latent(first: int, last: int) -> torch.Tensor | None:
        part = primer.bars_slice(max(0, first), min(primer.bars, last))
        if first >= last or part.note_count == 0:
            return None
        return encode_piece(model, rep, part, what="the bars around the gap")[0][0].cpu()

    found = latent(start - bars_each, start), latent(end, end + bars_each)
    known = [z for z in found if z is not None]
    if not known:
        raise ControlError("--infill: the vae needs notes in the bars before or after the gap to fill it from")
    before, after = (found[0] if found[0] is not None else known[0]), (found[1] if found[1] is not None else known[0])
    count = math.ceil((end - start) / bars_each)
    z = torch.stack([slerp(before, after, (k + 1) / (count + 1)) for k in range(count)]) + offset
    grids = decode_latents(model, z.to(run.device), temperature=controls.sampling_temperature,
                           generator=controls.generator(index, run.device), filter_logits=filter_fn)
    filled = rep.decode(concatenate(grids), name="gap", tempo=primer.tempo)
    shifted = filled.copy(score=filled.score.shift_time(start * filled.bar_ticks))
    piece = splice_bars(primer, shifted, start, end)
    piece.name = f"{run.path.name}-{index + 1:02d}"
    piece.tags.update({"family": FAMILY.name, "seed": controls.seed, "index": index,
                       "asked": {"infill": [start, end], "primer": str(controls.primer)}})
    return piece


def _filter(controls: Controls, allowed: np.ndarray | None):
    """The decoder's logits filter: masked pitches (allowed: over min_pitch..max_pitch), then top-k / top-p."""
    if controls.top_k is None and controls.top_p is None and allowed is None:
        return None
    from tunesmith.controls.logits import filter_logits

    blocked = None
    if allowed is not None:
        blocked = torch.zeros(FIRST_PITCH + len(allowed), dtype=torch.bool)
        blocked[FIRST_PITCH:] = torch.from_numpy(~allowed)

    def apply(logits: torch.Tensor) -> torch.Tensor:
        if blocked is not None:
            logits = logits.masked_fill(blocked.to(logits.device)[: logits.shape[-1]], float("-inf"))
        if controls.top_k is None and controls.top_p is None:
            return logits
        return filter_logits(logits, 1.0, controls.top_k, controls.top_p)

    return apply


def _cut(piece: Piece, bars: int) -> Piece:
    """The first `bars` bars, notes ending at the cut."""
    end = bars * piece.bar_ticks
    if end >= piece.end_tick:
        return piece
    return piece.copy(score=piece.score.clip(0, end, clip_end=True))


FAMILY = Family(
    name="vae",
    config_class=VAEConfig,
    representation={"kind": "voices", "voices": 1, "mode": "top"},
    build_model=build_model,
    make_dataset=make_dataset,
    generate=generate,
    supported_controls=CONTROLS,
    afterwards=frozenset({"key", "tempo", "instruments", "velocity", "dynamics", "end_on_tonic", "loopable"}),
    limits={"time_signature": "its grid's metre", "density": "with attribute vectors"},
    refused={
        "style": "it learns no style tags (a token model's conditioning does)",
        "monophonic": "its run decides the voices (the zoo's and the default: the top voice alone)",
        "simple_rhythm": "its grid's steps are its rhythm",
        "harmonise": "it encodes whole segments and keeps no given melody on top",
        "condition_track": "it has no accompaniment conditioning (the gan has)",
        "roll_sampling": "it draws events, not a piano-roll",
    },
)
