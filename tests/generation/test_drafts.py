"""Guessing ahead: the guesses read off a row, and the draw that makes them change nothing."""

from __future__ import annotations

import numpy as np
import torch

from tunesmith.generation.drafts import Drafter
from tunesmith.generation.sample import Uniforms, draw

# ids: 0 Bar, 1-2 Position, 3-5 Pitch, 6 Velocity, 7-8 Duration
KINDS = ["Bar", "Position", "Position", "Pitch", "Pitch", "Pitch", "Velocity", "Duration", "Duration"]
VALUES = [-1.0, 0.0, 4.0, 60.0, 62.0, 64.0, 80.0, 4.0, 8.0]


def seen(tokens: list[int]) -> Drafter:
    drafter = Drafter(KINDS, VALUES)
    for token in tokens:
        drafter.see(token)
    return drafter


def test_a_row_that_repeats_itself_is_guessed_until_the_pitch():
    bar = [0, 1, 3, 6, 7, 2, 4, 6, 8]
    drafter = seen(bar * 6 + [0, 1, 5])
    assert drafter.guess()[:3] == [6, 7, 2]  # the velocity, the duration that followed, the next position
    assert seen([]).guess() == [] and seen([0]).guess() == []


def test_a_kind_mostly_guessed_wrong_ends_the_guesses():
    kinds = ["Position"] * 2 + ["Pitch"] * 12 + ["Velocity"] + ["Duration"] * 2  # ids 2-13 are pitches
    g = torch.Generator().manual_seed(0)
    drafter = Drafter(kinds, [float(i) for i in range(len(kinds))])
    for _ in range(30):  # positions, pitches and durations at random, one velocity
        for token in (int(torch.randint(0, 2, (), generator=g)), 2 + int(torch.randint(0, 12, (), generator=g)), 14,
                      15 + int(torch.randint(0, 2, (), generator=g))):
            drafter.see(token)
    drafter.see(0)
    assert drafter.guess() == []  # no pitch is guessed after a position
    drafter.see(5)
    assert drafter.guess()[:1] == [14]  # the velocity is


def test_draw_is_reproducible_and_never_takes_an_impossible_id():
    probs = np.array([0.0, 0.5, 0.0, 0.3, 0.2, 0.0], dtype=np.float32)
    with np.errstate(divide="ignore"):
        scores = np.log(probs) + 3.0  # logits: -inf where not allowed
    a = [draw(scores, float(torch.rand(1, generator=torch.Generator().manual_seed(s)))) for s in range(2000)]
    b = [draw(scores, float(torch.rand(1, generator=torch.Generator().manual_seed(s)))) for s in range(2000)]
    assert a == b and set(a) == {1, 3, 4}
    assert np.allclose(np.bincount(a, minlength=6) / len(a), probs, atol=0.04)
    assert draw(np.array([-np.inf, -np.inf, 0.5], dtype=np.float32), 0.99) == 2


def test_uniforms_drawn_in_blocks_are_those_drawn_one_at_a_time():
    one, block = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    uniforms = Uniforms(block)
    for count in (5, Uniforms.BLOCK + 7):  # within a block, then across two
        expected = [float(torch.rand(1, generator=one)) for _ in range(count)]
        assert [uniforms() for _ in range(count)] == expected
        uniforms.close()  # the generator goes on from where the numbers used so far leave it
        uniforms.close()  # (closing twice changes nothing)
        assert float(torch.rand(1, generator=block)) == float(torch.rand(1, generator=one))
        uniforms = Uniforms(block)
