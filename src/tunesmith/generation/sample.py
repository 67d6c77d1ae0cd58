"""Sampling: `generate(run, controls)` for every family; token language models share the sampler here.

A token generation is a `Plan` (the conditioning prefix, then a primer or the infilling context: each slot
either a forced id or a set of ids to sample among) followed by free sampling under `MusicConstraints`.
Every row has its own seeded generator, so piece i is the same whatever --num is. The model's state
(the Transformer's key/value cache, the RNN's hidden state) is carried between steps; `use_cache=False`
recomputes it from the tokens each step instead (same tokens, slower: used to check the cache).

Each id is drawn from one uniform number by the cumulative sum (`draw`), so the ids depend only on the
probabilities and the seed. That lets one row of the Transformer be sampled speculatively: the sampler
feeds the model the id it drew together with guesses of the next ids (drafts.py), draws the next id from
the logits after the fed one, and while the draw equals the next guess goes on with the logits after that
guess, which the same model call gave. The first wrong guess and the ones after it are taken back from
the cache (`commit`). Each call of the model then yields two to three events instead of one. The events
are those drawn without guessing, up to rounding: the logits of a call on several events differ from
those of one event at a time by about 1e-7, which changes a draw only when its uniform number falls that
close to a boundary between two ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from tunesmith.controls.controls import Controls
from tunesmith.controls.logits import filter_logits
from tunesmith.errors import ControlError
from tunesmith.generation.drafts import Drafter
from tunesmith.generation.masks import MusicConstraints, RowState, apply_mask

log = logging.getLogger(__name__)
TOKENS_PER_BAR_LIMIT = 300  # a row that has not finished its bars after this many events per bar is cut


@dataclass
class Plan:
    """What every row writes before free sampling: forced ids, or bool [V] masks to sample one id from."""

    slots: list[int | torch.Tensor]
    music_at: int  # slot index where the constrained music begins


def sample_rows(model: torch.nn.Module, plan: Plan, constraints: MusicConstraints, generators: list[torch.Generator],
                controls: Controls, device: torch.device, max_new: int, use_cache: bool = True,
                guess: bool = True) -> list[list[int]]:
    """One row per generator: the plan, then events under `constraints` until each row is done. One row with
    a model that can take several events at once (`verify`) is fed guesses of the next events (`guess`).

    Returns each row's ids up to and including the event that ended it.
    """
    # oneDNN's LSTM builds its kernels on every call: for one step at a time the plain kernels are faster.
    # Attention weights that underflow to subnormal numbers slow a CPU down several times: from the first
    # generation on, the process flushes them to zero (torch has no way to read the setting back, and
    # worker threads copy it when they start, so it is not undone; nothing here needs numbers below 1e-38)
    torch.set_flush_denormal(True)
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    uniforms = [Uniforms(g) for g in generators]
    try:
        with torch.no_grad():
            return _sample_rows(model, plan, constraints, uniforms, controls, device, max_new, use_cache, guess)
    finally:
        torch.backends.mkldnn.enabled = previous
        for u in uniforms:
            u.close()


def draw(scores: np.ndarray, u: float) -> int:
    """One id from logits [V] (-inf for the ids not allowed) by a uniform number `u` in [0, 1) and the
    cumulative sum: the same numbers give the same ids whether or not the sampler guessed ahead."""
    cdf = np.add.accumulate(np.exp(scores - np.maximum.reduce(scores)))
    return min(int(cdf.searchsorted(u * cdf[-1], "right")), scores.shape[0] - 1)


class Uniforms:
    """A generator's uniform numbers, drawn a block at a time (one call of torch.rand costs as much as a
    step's sampling arithmetic). `close` leaves the generator where drawing them one at a time would have:
    a later use of it (another attempt, the loop's closing bars) sees the same numbers either way."""

    BLOCK = 256

    def __init__(self, generator: torch.Generator):
        self.generator, self.saved = generator, generator.get_state()
        self.block: list[float] = []
        self.used = 0

    def __call__(self) -> float:
        if self.used == len(self.block):
            self.saved, self.used = self.generator.get_state(), 0
            self.block = torch.rand(self.BLOCK, generator=self.generator).tolist()
        self.used += 1
        return self.block[self.used - 1]

    def close(self) -> None:
        self.generator.set_state(self.saved)
        if self.used:
            torch.rand(self.used, generator=self.generator)
        self.saved, self.block, self.used = self.generator.get_state(), [], 0  # closing again changes nothing


def _sample_rows(model, plan, constraints, uniforms, controls, device, max_new, use_cache, guess) -> list[list[int]]:
    num, slots = len(uniforms), plan.slots
    rows: list[list[int]] = [[] for _ in range(num)]
    states = [RowState() for _ in range(num)]
    ends: list[int | None] = [None] * num
    context = getattr(model, "context", None)
    logits, state = None, None
    everything = torch.ones(constraints.vocab.size, dtype=torch.bool)
    # one row with a cache that can take several events at once: feed guesses of the next events along
    # with each sampled one (drafts.py), and keep those that the row then draws anyway
    drafter = None
    if guess and num == 1 and use_cache and getattr(model, "guessing", False):
        drafter = Drafter(constraints.vocab.kind, constraints.vocab.values)
    guesses: list[int] = []  # guessed events fed after the latest sampled one, not yet drawn
    ahead, pending, kept = None, None, 0  # logits after each fed event, the uncommitted state, guesses drawn

    def feed(count: int) -> None:
        nonlocal logits, state
        if use_cache:
            logits, state = model.step(torch.tensor([r[-count:] for r in rows], device=device), state)
        else:
            logits, _ = model.step(torch.tensor([r[-context:] if context else r for r in rows], device=device), None)

    def feed_guessing(token: int) -> None:
        nonlocal logits, state, ahead, pending, kept, guesses
        if guesses and token == guesses[0]:  # guessed right: the logits after it are known already
            guesses, kept = guesses[1:], kept + 1
            logits = ahead[:, kept]
            return
        if pending is not None:
            state = model.commit(pending, kept + 1)
        guesses = drafter.guess()
        ahead, pending = model.verify(np.array([[token, *guesses]]), state)
        ahead = ahead.numpy()
        logits, kept = ahead[:, 0], 0

    unfinished = num  # rows not yet ended

    def write(r: int, token: int) -> None:
        nonlocal unfinished
        index = len(rows[r])
        rows[r].append(token)
        if drafter is not None:
            drafter.see(token)
        if ends[r] is not None:
            return
        if index < plan.music_at:
            constraints.condition(states[r], token)
        else:
            constraints.advance(states[r], token)
            if constraints.done(states[r], token):
                ends[r], unfinished = index + 1, unfinished - 1

    filtering = controls.temperature != 1.0 or controls.top_k is not None or controls.top_p is not None
    i, sampled = 0, 0
    while True:
        if i < len(slots) and isinstance(slots[i], int):
            j = i
            while j < len(slots) and isinstance(slots[j], int):
                j += 1
            for r in range(num):
                for token in slots[i:j]:
                    write(r, int(token))
            feed(j - i)
            i = j
            continue
        if not unfinished or sampled >= max_new:
            break
        if i < len(slots):
            allowed = slots[i].expand(num, -1).numpy()
        elif num == 1:
            allowed = constraints.allowed(states[0]).numpy()[None]
        else:
            allowed = torch.stack([everything if ends[r] is not None else constraints.allowed(states[r])
                                   for r in range(num)]).numpy()
        possible = allowed.any(-1)
        if not possible.all():
            s = states[int(np.argmin(possible))]
            raise ControlError(f"impossible request: the controls leave no possible next event in bar {s.bars} "
                               f"(after {s.notes_in_bar} notes in that bar); loosen --density, --pitch-range or "
                               "--scale-lock")
        if isinstance(logits, torch.Tensor):
            logits = logits.float().cpu().numpy()
        scores = apply_mask(logits, allowed)
        if filtering:
            scores = filter_logits(torch.from_numpy(scores), controls.temperature, controls.top_k,
                                   controls.top_p).numpy()
        drawn = [draw(scores[r], uniforms[r]()) for r in range(num)]
        for r, token in enumerate(drawn):
            write(r, token)
        i += 1
        sampled += 1
        if not unfinished:
            break
        if drafter is not None and i >= len(slots):
            feed_guessing(drawn[0])
        else:
            feed(1)
    if any(e is None for e in ends):
        log.warning("%d row(s) did not finish within %d events", sum(e is None for e in ends), max_new)
    return [row[:e] if e is not None else row for row, e in zip(rows, ends, strict=True)]
