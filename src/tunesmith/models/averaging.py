"""Exponential moving averages of weights: the warm-up that the GAN's generator average and the polyphonic
benchmark's weight average share."""

from __future__ import annotations


def ema_decay(decay: float, step: int) -> float:
    """The decay of a moving average of weights at `step`: `decay`, but at most (1 + step) / (10 + step), so
    that the first steps' weights, far from where training goes, are soon forgotten."""
    return min(decay, (1 + step) / (10 + step))
