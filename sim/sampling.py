"""Durations drawn in the model's inner loop: the numbers of `sim.distributions`, faster.

A `Sampler` wraps a duration spec (a pydantic model) and draws from a uniform exactly as the
spec's `sample` does. For the lognormal (every duration of the shipped parameters) and the
exponential, with no time elapsed, it does the arithmetic itself, in C in the compiled build
(`sim/core.py`); anything else (other families, a snapshot case's time already spent) it hands
to the spec. A test checks the two give the same numbers to the last digit.
"""
from __future__ import annotations

import math

from scipy.special import cython_special

from .distributions import Exponential, Lognormal

OTHER, LOGNORMAL, EXPONENTIAL = 0, 1, 2
ndtri = cython_special.ndtri  # the routine Lognormal.ppf calls


class Sampler:
    __slots__ = ("dist", "kind", "a", "b")

    def __init__(self, dist):
        self.dist = dist
        if isinstance(dist, Lognormal):
            self.kind, self.a, self.b = LOGNORMAL, dist.median_days, dist.sigma
        elif isinstance(dist, Exponential):
            self.kind, self.a, self.b = EXPONENTIAL, dist.mean_days, 0.0
        else:
            self.kind, self.a, self.b = OTHER, 0.0, 0.0

    def sample(self, u, elapsed=0.0, scale=1.0):
        """`dist.sample(u, elapsed, scale)`: remaining days given `elapsed` days already spent."""
        if elapsed <= 0.0:
            return scale * self.ppf(u)
        return self.dist.sample(u, elapsed, scale)

    def ppf(self, p):
        kind = self.kind
        if kind == LOGNORMAL:  # Lognormal.ppf
            p = min(max(p, 1e-16), 1.0 - 1e-16)
            return self.a * math.exp(self.b * ndtri(p))
        if kind == EXPONENTIAL:  # Exponential.ppf
            return -self.a * math.log1p(-min(p, 1.0 - 1e-16))
        return self.dist.ppf(p)


def sampler(dist):
    """A Sampler for a duration spec, or None for none (a route with no duration)."""
    return None if dist is None else Sampler(dist)
