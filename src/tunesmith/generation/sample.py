"""Sampling: `generate(run, controls)` for every family; token language models share the sampler here."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from tunesmith.errors import ControlError
from tunesmith.generation.controls import Controls, filter_logits
from tunesmith.generation.run import Run
from tunesmith.piece import Piece
from tunesmith.representations.tokens import TokenRepresentation

log = logging.getLogger(__name__)

# A logit mask sees the logits [B, V] and the ids so far per row, and returns new logits.
LogitMask = Callable[[torch.Tensor, list[list[int]]], torch.Tensor]


def generate(run: Run, controls: Controls) -> list[Piece]:
    """`controls.num` new pieces from a trained run, honouring `controls` or raising ControlError."""
    controls.check_supported(run.family.name, run.family.supported_controls)
    if run.family.generate is not None:
        return run.family.generate(run, controls)
    return generate_tokens(run, controls)


class BarTracker:
    """Counts the bars a token row has begun: Bar tokens (REMI) or accumulated time shifts (TSD)."""

    def __init__(self, rep: TokenRepresentation):
        self.bar_id = rep.bar_id
        self.beats = rep.beats_of_token().tolist()
        self.bar_beats = rep.bar_beats_of_token()

    def bars(self, ids: list[int]) -> float:
        """Bars begun so far (REMI: an integer count; TSD: elapsed bars as a fraction)."""
        if self.bar_id is not None:
            return float(sum(1 for i in ids if i == self.bar_id))
        per_bar, beats = 4.0, 0.0
        for i in ids:
            per_bar = self.bar_beats.get(i, per_bar)
            beats += self.beats[i]
        return beats / per_bar


def length_masks(rep: TokenRepresentation, bars: int) -> tuple[LogitMask, Callable[[list[int]], bool]]:
    """A mask forbidding special tokens (and EOS before the last bar), and the 'row is done' test."""
    tracker = BarTracker(rep)
    never = [i for i in rep.special_ids if i != rep.eos_id]

    def mask(logits: torch.Tensor, rows: list[list[int]]) -> torch.Tensor:
        logits = logits.clone()
        logits[:, never] = float("-inf")
        for r, ids in enumerate(rows):
            begun = tracker.bars(ids)
            if (tracker.bar_id is not None and begun < bars) or (tracker.bar_id is None and begun < bars - 1):
                logits[r, rep.eos_id] = float("-inf")
        return logits

    def done(ids: list[int]) -> bool:
        if ids[-1] == rep.eos_id:
            return True
        begun = tracker.bars(ids)
        return begun > bars if tracker.bar_id is not None else begun >= bars

    return mask, done


@torch.no_grad()
def sample_tokens(model: torch.nn.Module, prompt: list[int], controls: Controls, masks: list[LogitMask],
                  done: Callable[[list[int]], bool], max_new: int, device: torch.device) -> list[list[int]]:
    """`controls.num` continuations of `prompt`, each row drawn with its own seeded generator."""
    rows = [list(prompt) for _ in range(controls.num)]
    generators = [controls.generator(i) for i in range(controls.num)]
    finished = [False] * controls.num
    logits, state = model.step(torch.tensor(rows, device=device), None)  # [B, V]
    for _ in range(max_new):
        logits = logits.float().cpu()
        for mask in masks:
            logits = mask(logits, rows)
        probs = torch.softmax(filter_logits(logits, controls.temperature, controls.top_k, controls.top_p), -1)
        nxt = [int(torch.multinomial(probs[r], 1, generator=generators[r])) for r in range(len(rows))]
        for r, token in enumerate(nxt):
            if not finished[r]:
                rows[r].append(token)
                finished[r] = done(rows[r])
        if all(finished):
            break
        logits, state = model.step(torch.tensor(nxt, device=device)[:, None], state)
    return rows


def generate_tokens(run: Run, controls: Controls) -> list[Piece]:
    """Sample token sequences of `controls.bars` bars (beginning with the primer, if any) and decode them."""
    rep: TokenRepresentation = run.representation
    bars = controls.bars or 16
    primer = controls.primer_piece()
    prompt = [rep.bos_id]
    if primer is not None:
        if primer.bars >= bars:
            raise ControlError(f"the primer already has {primer.bars} bars: ask for more with --bars (the total length)")
        prompt += rep.encode(primer)
    mask, done = length_masks(rep, bars)
    rows = sample_tokens(run.model, prompt, controls, [mask], done, max_new=bars * 400 + 64, device=run.device)
    pieces = []
    for i, ids in enumerate(rows):
        piece = rep.decode(ids, name=f"{run.path.name}-{i + 1:02d}").bars_slice(0, bars)
        piece.tags.update({"family": run.family.name, "seed": controls.seed, "index": i})
        pieces.append(piece)
    return pieces
