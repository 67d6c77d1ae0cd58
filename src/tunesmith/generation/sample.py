"""The token sampler the token language models share: `sample_rows(model, plan, constraints, ...)`.

A token generation is a `Plan` (the conditioning prefix, then a primer or the infilling context: each slot
either a forced id or a set of ids to sample among) followed by free sampling under `MusicConstraints`.
Every row has its own seeded generator, so piece i is the same whatever --num is. The model's state
(the Transformer's key/value cache, the RNN's hidden state) is carried between steps; `use_cache=False`
recomputes it from the tokens each step instead (same tokens, slower: used to check the cache).
`Rows` holds what the rows have written and where the constraints stand; `ModelFeed` holds the model's side.

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
from typing import Any

import numpy as np
import torch

from tunesmith.controls.controls import Controls
from tunesmith.controls.logits import filter_logits
from tunesmith.errors import ControlError
from tunesmith.generation.drafts import Drafter
from tunesmith.generation.masks import MusicConstraints, RowState, apply_mask
from tunesmith.models.base import GuessingDecoder

log = logging.getLogger(__name__)
TOKENS_PER_BAR_LIMIT = 300  # a row that has not finished its bars after this many events per bar is cut


@dataclass
class Plan:
    """What every row writes before free sampling: forced ids, or bool [V] masks to sample one id from.
    Rows that each begin with their own forced ids (`rows`; the shared `slots` are then empty) start their
    music after them: sampled together where the model can read rows of different lengths into one state
    (`prefill`), else each row alone."""

    slots: list[int | torch.Tensor]
    music_at: int  # slot index where the constrained music begins
    rows: list[list[int]] | None = None


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
    torch.backends.mkldnn.enabled = False  # type: ignore[assignment]  # torch's stub types the flag as its descriptor
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
    joined = None
    if plan.rows is not None:
        if num > 1 and use_cache:
            joined = model.prefill(plan.rows) if hasattr(model, "prefill") else None
        if joined is None:  # one row, or a model that cannot read rows of different lengths at once
            return [_sample_rows(model, Plan(list(ids), len(ids)), constraints, [u], controls, device, max_new,
                                 use_cache, guess)[0] for ids, u in zip(plan.rows, uniforms, strict=True)]
    # one row with a cache that can take several events at once: feed guesses of the next events along
    # with each sampled one (drafts.py), and keep those that the row then draws anyway
    drafter = None
    if guess and num == 1 and use_cache and isinstance(model, GuessingDecoder) and model.guessing:
        drafter = Drafter(constraints.vocab.kind, constraints.vocab.values)
    rows = Rows(num, plan, constraints, drafter)
    fed = ModelFeed(model, device, use_cache, drafter)
    if joined is not None:
        fed.logits, fed.state = joined
    active = list(range(num))  # the rows in the model's batch, in its order
    i, sampled = 0, 0
    while True:
        forced = _forced_until(slots, i)
        if forced > i:
            rows.write_forced(slots[i:forced])
            fed.feed(rows.ids, forced - i)
            i = forced
            continue
        if not rows.unfinished or sampled >= max_new:
            break
        # a row that has ended draws no more numbers from its generator, so its piece is the same whatever
        # the rows beside it (its generator goes on to a loop's last bar)
        drawn = draw_rows(fed.next_logits(), rows.allowed(i, active), controls,
                          [uniforms[r] if rows.ends[r] is None else None for r in active])
        for r, token in zip(active, drawn, strict=True):
            rows.write(r, token)
        i += 1
        sampled += 1
        if not rows.unfinished:
            break
        if drafter is not None and i >= len(slots):
            fed.feed_guessing(drawn[0])
            continue
        if i >= len(slots) and len(active) - rows.unfinished >= max(1, len(active) // 4):
            # a quarter of the batch has ended: the model goes on with the others only, where it can
            keep = [k for k, r in enumerate(active) if rows.ends[r] is None]
            if fed.keep(keep):
                active = [active[k] for k in keep]
        fed.feed([rows.ids[r] for r in active], 1)
    return rows.finished(max_new)


def _forced_until(slots: list[int | torch.Tensor], i: int) -> int:
    """The end of the run of forced ids that begins at slot `i` (`i` itself when slot `i` is sampled)."""
    j = i
    while j < len(slots) and isinstance(slots[j], int):
        j += 1
    return j


def draw_rows(logits: np.ndarray, allowed: np.ndarray, controls: Controls,
              uniforms: list[Uniforms | None]) -> list[int]:
    """One id per row from logits [rows, V] among the `allowed` ids [rows, V], after temperature, top-k, top-p
    (0 for a row without uniform numbers: one that has ended)."""
    scores = apply_mask(logits, allowed)
    temperature = controls.sampling_temperature
    if temperature != 1.0 or controls.top_k is not None or controls.top_p is not None:
        scores = filter_logits(torch.from_numpy(scores), temperature, controls.top_k, controls.top_p).numpy()
    return [0 if u is None else draw(scores[r], u()) for r, u in enumerate(uniforms)]


class Rows:
    """The rows as they grow: their ids, each row's state under the constraints, and where each ended."""

    def __init__(self, num: int, plan: Plan, constraints: MusicConstraints, drafter: Drafter | None):
        self.plan, self.constraints, self.drafter = plan, constraints, drafter
        self.ids: list[list[int]] = [[] for _ in range(num)]
        self.music_at = [len(ids) for ids in plan.rows] if plan.rows is not None else [plan.music_at] * num
        self.states = [RowState() for _ in range(num)]
        self.ends: list[int | None] = [None] * num
        self.unfinished = num  # rows not yet ended
        self.everything = torch.ones(constraints.vocab.size, dtype=torch.bool)
        for r, ids in enumerate(plan.rows or []):
            for token in ids:
                self.write(r, token)

    def write(self, r: int, token: int) -> None:
        """Append `token` to row `r`: a conditioning id before the music, then events until the row ends."""
        index = len(self.ids[r])
        self.ids[r].append(token)
        if self.drafter is not None:
            self.drafter.see(token)
        if self.ends[r] is not None:
            return
        if index < self.music_at[r]:
            self.constraints.condition(self.states[r], token)
        else:
            self.constraints.advance(self.states[r], token)
            if self.constraints.done(self.states[r], token):
                self.ends[r], self.unfinished = index + 1, self.unfinished - 1

    def write_forced(self, tokens: list[int | torch.Tensor]) -> None:
        """The same forced ids at the end of every row."""
        for r in range(len(self.ids)):
            for token in tokens:
                self.write(r, int(token))

    def allowed(self, slot: int, active: list[int]) -> np.ndarray:
        """Which ids each `active` row may take at `slot` [rows, V]: the plan's set, or what the constraints
        allow next (anything, for a row that has ended); a ControlError when a row is left with none."""
        constraints = self.constraints
        if slot < len(self.plan.slots):
            allowed = torch.as_tensor(self.plan.slots[slot]).expand(len(active), -1).numpy()
        elif len(active) == 1:
            allowed = constraints.allowed(self.states[active[0]]).numpy()[None]
        else:
            allowed = torch.stack([self.everything if self.ends[r] is not None else constraints.allowed(self.states[r])
                                   for r in active]).numpy()
        possible = allowed.any(-1)
        if not possible.all():
            s = self.states[active[int(np.argmin(possible))]]
            raise ControlError(f"impossible request: the controls leave no possible next event in bar {s.bars} "
                               f"(after {s.notes_in_bar} notes in that bar); loosen --density, --pitch-range or "
                               "--scale-lock")
        return allowed

    def finished(self, max_new: int) -> list[list[int]]:
        """Each row's ids up to and including the event that ended it (all of them for a row that did not end)."""
        if any(e is None for e in self.ends):
            log.warning("%d row(s) did not finish within %d events", sum(e is None for e in self.ends), max_new)
        return [row[:e] if e is not None else row for row, e in zip(self.ids, self.ends, strict=True)]


class ModelFeed:
    """The model's side of sampling: its state after the ids fed so far, and the logits for each row's next id.

    With the cache, only the new ids are fed; without it, every row's ids (the last `context` of them) each
    time. With a drafter (one row), each drawn id is fed with guesses of the ids after it (`feed_guessing`).
    """

    def __init__(self, model: Any, device: torch.device, use_cache: bool, drafter: Drafter | None):
        self.model, self.device, self.use_cache, self.drafter = model, device, use_cache, drafter
        self.context = getattr(model, "context", None)
        self.logits: torch.Tensor | np.ndarray | None = None
        self.state = None
        self.guesses: list[int] = []  # guessed events fed after the latest sampled one, not yet drawn
        self.ahead = np.zeros((1, 0, 0), dtype=np.float32)  # logits after each event of the latest call on guesses
        self.pending = None  # the state of that call, not yet committed
        self.kept = 0  # how many of its guesses were drawn

    def feed(self, rows: list[list[int]], count: int) -> None:
        """The latest `count` ids of every row."""
        if self.use_cache:
            tokens = torch.tensor([r[-count:] for r in rows], device=self.device)
            self.logits, self.state = self.model.step(tokens, self.state)
        else:
            context = self.context
            tokens = torch.tensor([r[-context:] if context else r for r in rows], device=self.device)
            self.logits, _ = self.model.step(tokens, None)

    def keep(self, positions: list[int]) -> bool:
        """Only the rows at these positions of the batch from now on; False where the model cannot drop rows
        from its state (all of them are then fed on)."""
        state = self.model.select_rows(self.state, positions) if self.use_cache and hasattr(self.model, "select_rows") \
            else None
        if state is None:
            return False
        self.state = state
        return True

    def feed_guessing(self, token: int) -> None:
        """The one row's drawn `token`: known already when it was the next guess, else fed with new guesses."""
        if self.guesses and token == self.guesses[0]:  # guessed right: the logits after it are known already
            self.guesses, self.kept = self.guesses[1:], self.kept + 1
            self.logits = self.ahead[:, self.kept]
            return
        if self.pending is not None:
            self.state = self.model.commit(self.pending, self.kept + 1)
        self.guesses = self.drafter.guess() if self.drafter is not None else []
        ahead, self.pending = self.model.verify(np.array([[token, *self.guesses]]), self.state)
        self.ahead = ahead.numpy()
        self.logits, self.kept = self.ahead[:, 0], 0

    def next_logits(self) -> np.ndarray:
        """The logits for each row's next id [rows, V], as float32 numbers."""
        if isinstance(self.logits, torch.Tensor):
            self.logits = self.logits.float().cpu().numpy()
        return np.asarray(self.logits)
