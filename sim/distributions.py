"""Durations as data: distribution specs (pydantic) and fast inverse-CDF samplers.

Every sampler works from a uniform number so that draws can come from counter-based streams
(common random numbers), and every sampler can condition on time already elapsed: the remaining
time of a case open at the snapshot is drawn from T - e given T > e.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import special
from scipy.special import cython_special  # the same routines as `special`, called per scalar at a third of the cost

_SQRT2 = math.sqrt(2.0)


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- interface -------------------------------------------------------------------------
    def cdf(self, t: float) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def ppf(self, p: float) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def median(self) -> float:
        return self.ppf(0.5)

    def ppf_many(self, us) -> list[float]:
        """`[self.ppf(u) for u in us]`, the same numbers to the last digit (subclasses may
        vectorise the slow part; a test checks they agree)."""
        return [self.ppf(float(u)) for u in us]

    def sf(self, t: float) -> float:
        """Survival: the chance the duration exceeds t days."""
        return 1.0 - self.cdf(t) if t > 0 else 1.0

    def sample(self, u: float, elapsed: float = 0.0, scale: float = 1.0) -> float:
        """Remaining duration (days) given `elapsed` days already spent, from uniform `u`.

        `scale` stretches the whole distribution (a lever making plans shorter uses scale < 1).
        """
        if elapsed <= 0.0:
            return scale * self.ppf(u)
        e = elapsed / scale
        f0 = self.cdf(e)
        if f0 >= 1.0 - 1e-12:  # beyond the support: the case ends now
            return 0.0
        t = self.ppf(f0 + u * (1.0 - f0))
        return max(0.0, scale * t - elapsed)


class Exponential(_Dist):
    """Memoryless; the analytic checks (Little's law, Erlang loss) use it."""

    dist: Literal["exponential"] = "exponential"
    mean_days: float = Field(gt=0)

    def cdf(self, t):
        return 1.0 - math.exp(-t / self.mean_days) if t > 0 else 0.0

    def ppf(self, p):
        return -self.mean_days * math.log1p(-min(p, 1.0 - 1e-16))

    def mean(self):
        return self.mean_days


class Lognormal(_Dist):
    """Long-tailed plan and care durations. Given by median (days) and sigma of log-days."""

    dist: Literal["lognormal"] = "lognormal"
    median_days: float = Field(gt=0)
    sigma: float = Field(gt=0)

    def cdf(self, t):
        if t <= 0:
            return 0.0
        return 0.5 * math.erfc(-(math.log(t / self.median_days)) / (self.sigma * _SQRT2))

    def ppf(self, p):
        p = min(max(p, 1e-16), 1.0 - 1e-16)
        return self.median_days * math.exp(self.sigma * cython_special.ndtri(p))

    def ppf_many(self, us) -> list[float]:
        # ndtri over the array is the costly part of ppf; exp stays math.exp, as in ppf
        z = special.ndtri(np.clip(np.asarray(us, dtype=float), 1e-16, 1.0 - 1e-16)).tolist()
        m, s, exp = self.median_days, self.sigma, math.exp
        return [m * exp(s * x) for x in z]

    def mean(self):
        return self.median_days * math.exp(self.sigma**2 / 2)


class Gamma(_Dist):
    dist: Literal["gamma"] = "gamma"
    shape: float = Field(gt=0)
    mean_days: float = Field(gt=0)

    def cdf(self, t):
        return cython_special.gammainc(self.shape, t * self.shape / self.mean_days) if t > 0 else 0.0

    def ppf(self, p):
        p = min(max(p, 0.0), 1.0 - 1e-16)
        return cython_special.gammaincinv(self.shape, p) * self.mean_days / self.shape

    def mean(self):
        return self.mean_days


class Weibull(_Dist):
    dist: Literal["weibull"] = "weibull"
    shape: float = Field(gt=0)
    scale_days: float = Field(gt=0)

    def cdf(self, t):
        return 1.0 - math.exp(-((t / self.scale_days) ** self.shape)) if t > 0 else 0.0

    def ppf(self, p):
        p = min(max(p, 0.0), 1.0 - 1e-16)
        return self.scale_days * (-math.log1p(-p)) ** (1.0 / self.shape)

    def mean(self):
        return self.scale_days * math.gamma(1.0 + 1.0 / self.shape)


class Fixed(_Dist):
    dist: Literal["fixed"] = "fixed"
    days: float = Field(gt=0)

    def cdf(self, t):
        return 1.0 if t >= self.days else 0.0

    def ppf(self, p):
        return self.days

    def mean(self):
        return self.days


class Empirical(_Dist):
    """A survival curve (e.g. Kaplan-Meier) given at increasing times; linear between points.

    `survival` starts at or below 1 and falls; the last value must be 0 so the curve defines an
    end (calibration closes a KM tail with a parametric fit before writing it here).
    """

    dist: Literal["empirical"] = "empirical"
    times_days: list[float]
    survival: list[float]

    @model_validator(mode="after")
    def _check(self):
        t, s = self.times_days, self.survival
        if len(t) != len(s) or len(t) < 2:
            raise ValueError("times_days and survival must have the same length (at least 2)")
        if any(x < 0 for x in t) or any(b <= a for a, b in zip(t, t[1:])):
            raise ValueError("times_days must be non-negative and strictly increasing")
        if any(not 0.0 <= x <= 1.0 for x in s) or any(b > a for a, b in zip(s, s[1:])):
            raise ValueError("survival must lie in [0, 1] and never rise")
        if s[-1] != 0.0:
            raise ValueError("survival must end at 0 (close the tail before writing the curve)")
        return self

    def _cdf_points(self):
        t = [0.0] + list(self.times_days) if self.times_days[0] > 0 else list(self.times_days)
        s = [1.0] + list(self.survival) if self.times_days[0] > 0 else list(self.survival)
        return t, [1.0 - x for x in s]

    def cdf(self, x):
        t, f = self._cdf_points()
        return float(np.interp(x, t, f))

    def ppf(self, p):
        t, f = self._cdf_points()
        i = bisect_left(f, p)
        if i <= 0:
            return t[0]
        if i >= len(f):
            return t[-1]
        f0, f1 = f[i - 1], f[i]
        if f1 == f0:
            return t[i]
        return t[i - 1] + (p - f0) / (f1 - f0) * (t[i] - t[i - 1])

    def mean(self):
        t, f = self._cdf_points()
        s = [1.0 - x for x in f]
        return float(sum((t[i + 1] - t[i]) * (s[i] + s[i + 1]) / 2 for i in range(len(t) - 1)))


Duration = Annotated[
    Union[Exponential, Lognormal, Gamma, Weibull, Fixed, Empirical], Field(discriminator="dist")
]


class AgeBand(BaseModel):
    """An age band [from_age, to_age) in years."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    from_age: float = Field(ge=0, le=18)
    to_age: float = Field(gt=0, le=18)

    @model_validator(mode="after")
    def _order(self):
        if self.to_age <= self.from_age:
            raise ValueError(f"to_age ({self.to_age}) must be above from_age ({self.from_age})")
        return self

    def contains(self, age: float) -> bool:
        return self.from_age <= age < self.to_age


def find_band(bands, age: float):
    """The first band containing `age` (ages of 18 and over fall in the last band)."""
    for b in bands:
        if b.from_age <= age < b.to_age:
            return b
    return bands[-1] if age >= bands[-1].to_age else bands[0]


def check_bands_cover(bands, where: str) -> None:
    """Bands must run from 0 to 18 without gaps or overlaps, so every child has one."""
    if not bands:
        raise ValueError(f"{where}: at least one age band is needed")
    edges = sorted((b.from_age, b.to_age) for b in bands)
    if edges[0][0] != 0 or edges[-1][1] != 18:
        raise ValueError(f"{where}: age bands must run from 0 to 18")
    for (a0, a1), (b0, b1) in zip(edges, edges[1:]):
        if a1 != b0:
            raise ValueError(f"{where}: age bands must meet without gaps or overlaps ({a1} vs {b0})")


def cumulative(probs: dict[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Outcome names and their cumulative probabilities, for drawing with one uniform."""
    names = tuple(probs)
    acc, cum = 0.0, []
    for n in names:
        acc += probs[n]
        cum.append(acc)
    cum[-1] = 1.0 + 1e-12
    return names, tuple(cum)


def choose(names, cum, u: float) -> str:
    return names[bisect_left(cum, u)]
