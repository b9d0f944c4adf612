"""The schema of a scenario set's `uncertainty:` section: the uncertain inputs and their
distributions, checked on their own (experiments/uncertainty.py checks them against the
parameters and makes the draws; docs/business_case.md, section 6)."""
from __future__ import annotations

import math
from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DISTRIBUTIONS = ("normal", "lognormal", "beta", "triangular", "uniform", "fixed")
# the parameters each distribution takes (beta: a and b, or mean and sd)
NEEDS = {"normal": ("mean", "sd"), "lognormal": ("median", "sigma"), "beta": ("a", "b"),
         "triangular": ("low", "mode", "high"), "uniform": ("low", "high"), "fixed": ("value",)}
NUMBERS = ("mean", "sd", "median", "sigma", "a", "b", "low", "mode", "high", "value")

# the set's shared assumptions an input can draw, and the parameter paths each one sets
# (as experiments.scenarios.apply_assumptions applies them)
ASSUMPTION_PATHS = {
    "price_growth_per_year": ["costs.price_growth_per_year"],
    "high_cost_share_growth_per_year": ["costs.high_cost_share_growth_per_year"],
    "demand_growth_per_year": ["arrivals.new_contacts.trend_per_year", "arrivals.direct_care_entries.trend_per_year"],
    "foster_inhouse_retainer_weekly": ["costs.fixed_costs.foster_inhouse_retainer_weekly"],
}
ASSUMPTION_MAPS = {   # name.<key>: a map merged onto the parameters'
    "price_growth_by_type": "costs.price_growth_by_type",
    "unit_costs": "costs.placement_weekly",
    "empty_bed_share": "costs.fixed_costs.empty_bed_share",
}


class Calibrated(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    file: str = Field(description="calibrated_intervals.yaml written by `carepath calibrate`, relative to the set")
    measure: str = Field(description="a measure of the calibration summary with a 95% interval")


class UncertainInput(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    name: Optional[str] = Field(None, description="label in tables (default: the path, assumption or lever)")
    path: Optional[Union[str, list[str]]] = None
    assumption: Optional[str] = None
    lever: Optional[str] = None
    calibrated: Optional[Calibrated] = None
    distribution: Literal["normal", "lognormal", "beta", "triangular", "uniform", "fixed"]
    mean: Optional[float] = None
    sd: Optional[float] = None
    median: Optional[float] = None
    sigma: Optional[float] = Field(None, description="lognormal: the standard deviation of the log")
    a: Optional[float] = None
    b: Optional[float] = None
    low: Optional[float] = None
    mode: Optional[float] = None
    high: Optional[float] = None
    value: Optional[float] = None
    truncate: Optional[tuple[float, float]] = Field(None, description="[low, high]: the draws kept within")
    relative: bool = Field(False, description="the draw multiplies each path's central value")
    group: Optional[str] = Field(None, description="inputs of one group share one draw")
    source: str = Field(description='where the distribution comes from, or "assumption"')

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.lever:
            return f"{self.lever} effectiveness"
        if self.assumption:
            return self.assumption
        return self.path if isinstance(self.path, str) else ", ".join(self.path or [])

    @property
    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path or [])

    @field_validator("source")
    @classmethod
    def _source(cls, v):
        if not v.strip():
            raise ValueError('source is empty: say where the distribution comes from, or "assumption"')
        return v

    @model_validator(mode="after")
    def _check(self):
        targets = [k for k in ("path", "assumption", "lever") if getattr(self, k)]
        if len(targets) != 1:
            raise ValueError("give exactly one of path, assumption or lever")
        if self.calibrated is not None:
            if not self.path:
                raise ValueError("calibrated needs a path (the parameters the calibrated measure moves)")
            if self.distribution not in ("normal", "lognormal", "triangular", "uniform"):
                raise ValueError(f"calibrated: a {self.distribution} distribution cannot be fitted to an interval "
                                 "(use normal, lognormal, triangular or uniform)")
            given = [k for k in NUMBERS if getattr(self, k) is not None]
            if given:
                raise ValueError(f"calibrated: {given[0]} is taken from the calibrated interval, do not give it")
        else:
            need = NEEDS[self.distribution]
            if self.distribution == "beta" and self.a is None and self.b is None:
                need = ("mean", "sd")
            missing = [k for k in need if getattr(self, k) is None]
            if missing:
                raise ValueError(f"{self.distribution} needs {' and '.join(need)} ({missing[0]} missing)")
            extra = [k for k in NUMBERS if getattr(self, k) is not None and k not in need]
            if extra:
                raise ValueError(f"{self.distribution} takes {' and '.join(need)}, not {extra[0]}")
            _check_numbers(self)
        if self.truncate is not None:
            lo, hi = self.truncate
            if not lo < hi:
                raise ValueError(f"truncate: low ({lo:g}) must be below high ({hi:g})")
            if self.distribution == "fixed":
                raise ValueError("truncate: a fixed value has nothing to truncate")
        if self.lever is not None:
            from sim.levers import CATALOGUE
            if self.lever not in CATALOGUE:
                raise ValueError(f"unknown lever {self.lever!r} (known: {', '.join(CATALOGUE)})")
        if self.assumption is not None:
            head, _, key = self.assumption.partition(".")
            if not ((head in ASSUMPTION_PATHS and not key) or (head in ASSUMPTION_MAPS and key)):
                known = list(ASSUMPTION_PATHS) + [f"{m}.<type>" for m in ASSUMPTION_MAPS]
                raise ValueError(f"unknown assumption {self.assumption!r} (known: {', '.join(known)})")
        return self


def _check_numbers(s: UncertainInput) -> None:
    d = s.distribution
    if d == "normal" and not s.sd > 0:
        raise ValueError(f"normal: sd must be positive (got {s.sd:g})")
    if d == "lognormal":
        if not s.median > 0:
            raise ValueError(f"lognormal: median must be positive (got {s.median:g})")
        if not s.sigma > 0:
            raise ValueError(f"lognormal: sigma (the sd of the log) must be positive (got {s.sigma:g})")
    if d == "beta":
        if s.a is not None or s.b is not None:
            if not (s.a > 0 and s.b > 0):
                raise ValueError(f"beta: a and b must be positive (got a={s.a:g}, b={s.b:g})")
        else:
            if not 0 < s.mean < 1:
                raise ValueError(f"beta: mean must be between 0 and 1 (a beta lies within 0 to 1), got {s.mean:g}")
            if not s.sd > 0:
                raise ValueError(f"beta: sd must be positive (got {s.sd:g})")
            if not s.sd ** 2 < s.mean * (1 - s.mean):
                raise ValueError(f"beta: sd {s.sd:g} is too large for mean {s.mean:g} (at most "
                                 f"{math.sqrt(s.mean * (1 - s.mean)):.4g} for a beta)")
    if d == "triangular" and not (s.low <= s.mode <= s.high and s.low < s.high):
        raise ValueError(f"triangular: needs low <= mode <= high and low < high (got {s.low:g}, {s.mode:g}, {s.high:g})")
    if d == "uniform" and not s.low < s.high:
        raise ValueError(f"uniform: low ({s.low:g}) must be below high ({s.high:g})")


class Uncertainty(BaseModel):
    """A scenario set's `uncertainty:` section."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    replications_per_draw: int = Field(1, ge=1, description="replications each draw runs (--replications with --draws)")
    scenarios: Optional[list[str]] = Field(
        None, description="the scenarios the draws run (default: all); fewer make the draws faster")
    source: str = ""
    inputs: list[UncertainInput]

    @field_validator("inputs")
    @classmethod
    def _unique(cls, v):
        labels = [i.label for i in v]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"input names must be unique ({', '.join(dup)} repeated; give each a name)")
        return v
