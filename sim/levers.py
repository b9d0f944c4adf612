"""Transformation levers: declared changes to a mechanism, from a start date, with a ramp to
full effect, optionally switched off at an end date.

A lever is stated either by mechanism ("CP plans 2 weeks shorter", "edge-of-care support keeps
30% of children heading into care at home") or by a target volume ("35 fewer care entries a
year"); for a target, `experiments` searches for the mechanism intensity that delivers it. Here a
lever becomes `Mechanisms`: functions of time the pathway reads. A lever at zero intensity leaves
every random draw of the baseline untouched, so its effect is measured with common random numbers.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .child import DAYS_PER_YEAR

# What each lever's mechanism is called, what a full-effect value means, and its target volume.
LEVERS: dict[str, dict] = {
    "edge_of_care": {
        "mechanism": {"divert_share": "extra share (0-1) of children heading into care kept at home by edge-of-care support"},
        "target": {"fewer_care_entries_per_year": "care entries a year fewer than the baseline at full effect"},
    },
    "kinship_to_sgo": {
        "mechanism": {"sgo_rate_per_year": "extra chance a year (hazard) that a child under 16 in a kinship placement leaves care on an SGO"},
        "target": {"extra_sgos_per_year": "SGOs a year more than the baseline at full effect"},
    },
    "reunification": {
        "mechanism": {"reunification_rate_per_year": "extra chance a year (hazard) that a child under 16 in a non-kinship placement goes home"},
        "target": {"extra_reunifications_per_year": "returns home a year more than the baseline at full effect"},
    },
    "faster_permanence": {
        "mechanism": {"weeks_shorter": "weeks off the average time to leave care by reunification, SGO, adoption or child arrangements order"},
        "target": {},
    },
    "fewer_repeat_plans": {
        "mechanism": {"recontact_reduction": "share (0-1) cut in the chance that a child returns after a CIN or CP plan closes"},
        "target": {"fewer_repeat_plans_per_year": "repeat CIN and CP plan starts a year fewer than the baseline at full effect"},
    },
    "shorter_plans": {
        "mechanism": {"cin_weeks_shorter": "weeks off the average CIN plan", "cp_weeks_shorter": "weeks off the average CP plan"},
        "target": {},
    },
    "foster_carers": {
        "mechanism": {"extra_joiners_per_year": "in-house foster carers recruited a year on top of the baseline"},
        "target": {"net_extra_carers_per_year": "approved in-house foster carers gained a year, net, against the baseline"},
    },
    "block_beds": {
        "mechanism": {"extra_beds": "block-contract residential beds added, opened evenly over the ramp"},
        "target": {},
    },
    "carer_support": {
        "mechanism": {"breakdown_reduction": "share (0-1) cut in foster placement breakdowns (support to carers)"},
        "target": {},
    },
    "carer_retention": {
        "mechanism": {"leaving_reduction": "share (0-1) cut in foster carers leaving (allowances, skills payments)"},
        "target": {},
    },
    "front_door_workers": {
        "mechanism": {"extra_workers": "social workers added to the front door (MASH), taken on evenly over the ramp"},
        "target": {},
    },
    "unit_cost": {
        "mechanism": {"weekly_change_pct": "change (%) in the weekly cost of `placement_type` (or of every placement if none)"},
        "target": {},
    },
    "price_growth": {
        "mechanism": {"price_growth_per_year": "yearly price growth applied from the financial year the lever starts"},
        "target": {},
    },
}

FRACTIONS = {"divert_share", "recontact_reduction", "breakdown_reduction", "leaving_reduction"}


class LeverError(ValueError):
    """A lever that cannot be used; the message is one plain line."""


class Lever(BaseModel):
    """One lever as written in a scenario file."""

    model_config = ConfigDict(extra="forbid")
    lever: str
    start: dt.date
    ramp_months: float = Field(12.0, ge=0, description="months from start to full effect, linear")
    end: Optional[dt.date] = Field(None, description="switched off from this date")
    mechanism: dict[str, float] = Field(default_factory=dict)
    target: dict[str, float] = Field(default_factory=dict)
    target_year: Optional[str] = Field(None, description="financial year the target applies to (default: the last)")
    placement_type: Optional[str] = None  # unit_cost only

    @model_validator(mode="after")
    def _check(self):
        spec = LEVERS.get(self.lever)
        if spec is None:
            raise ValueError(f"unknown lever {self.lever!r} (known: {', '.join(LEVERS)})")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"lever {self.lever!r}: end {self.end} is not after start {self.start}")
        full = dt.date.fromordinal(self.start.toordinal() + int(self.ramp_months * 30.44))
        if self.end is not None and self.end < full:
            raise ValueError(f"lever {self.lever!r}: the ramp to full effect ends ({full}) after the lever is switched off ({self.end})")
        for k, v in self.mechanism.items():
            if k not in spec["mechanism"]:
                raise ValueError(f"lever {self.lever!r}: unknown mechanism {k!r} (known: {', '.join(spec['mechanism'])})")
            if k in FRACTIONS and not 0.0 <= v <= 1.0:
                raise ValueError(f"lever {self.lever!r}: {k} must lie between 0 and 1 (got {v})")
            if k not in ("weekly_change_pct", "price_growth_per_year") and v < 0:
                raise ValueError(f"lever {self.lever!r}: {k} must not be negative (got {v})")
        for k, v in self.target.items():
            if k not in spec["target"]:
                known = ", ".join(spec["target"]) or "none: state it by mechanism"
                raise ValueError(f"lever {self.lever!r}: unknown target {k!r} (known: {known})")
            if v < 0:
                raise ValueError(f"lever {self.lever!r}: target {k} must not be negative (got {v})")
        if len(self.target) > 1:
            raise ValueError(f"lever {self.lever!r}: one target per lever")
        if self.target and self.mechanism:
            raise ValueError(f"lever {self.lever!r}: give a mechanism or a target, not both")
        if not self.target and not self.mechanism:
            raise ValueError(f"lever {self.lever!r}: give a mechanism or a target")
        if self.lever == "unit_cost" and self.placement_type is not None:
            from .vocab import PLACEMENT_TYPES
            if self.placement_type not in PLACEMENT_TYPES:
                raise ValueError(f"lever 'unit_cost': unknown placement_type {self.placement_type!r}")
        return self

    def mechanism_key(self) -> str:
        """The mechanism a target search varies."""
        return next(iter(LEVERS[self.lever]["mechanism"]))

    def with_intensity(self, value: float) -> "Lever":
        """The same lever stated by mechanism at `value` (used by the target search)."""
        return self.model_copy(update={"mechanism": {self.mechanism_key(): value}, "target": {}})


class Ramp:
    """0 before the start, rising linearly to 1 over the ramp, 1 until the end, 0 after."""

    def __init__(self, lever: Lever, start_date: dt.date):
        self.a = float((lever.start - start_date).days)
        self.b = self.a + lever.ramp_months * 30.44
        self.e = float((lever.end - start_date).days) if lever.end else float("inf")

    def __call__(self, t: float) -> float:
        if t < self.a or t >= self.e:
            return 0.0
        if t >= self.b:
            return 1.0
        return (t - self.a) / (self.b - self.a)

    def mean_over(self, a: float, b: float, steps: int = 48) -> float:
        """Average of the ramp over [a, b) (for costs by financial year)."""
        h = (b - a) / steps
        return sum(self(a + (i + 0.5) * h) for i in range(steps)) / steps


def _zero(*_args) -> float:
    return 0.0


class Mechanisms:
    """The knobs the pathway reads; the defaults are the baseline (no change)."""

    def __init__(self):
        self.terms: dict[str, list] = {}
        self.team_changes: list[tuple[float, str, float]] = []   # (day, team, extra workers)
        self.bed_changes: list[tuple[float, str, int]] = []      # (day, pool, extra beds)
        self.cost_changes: list[tuple[Ramp, Optional[str], float]] = []  # (ramp, placement type, % change)
        self.price_growth: list[tuple[Ramp, float]] = []
        self.bounds: dict[str, float] = {}

    def _add(self, name: str, ramp: Ramp, value: float) -> None:
        self.terms.setdefault(name, []).append((ramp, value))
        self.bounds[name] = self.bounds.get(name, 0.0) + value

    def value(self, name: str, t: float) -> float:
        """The summed intensity of every lever acting on `name` at time t."""
        terms = self.terms.get(name)
        if not terms:
            return 0.0
        return sum(r(t) * v for r, v in terms)

    def bound(self, name: str) -> float:
        """The largest the intensity can be (for thinning)."""
        return self.bounds.get(name, 0.0)

    def active(self, name: str) -> bool:
        return self.bounds.get(name, 0.0) > 0.0

    def start(self, name: str) -> float:
        """The first day any lever acts on `name` (infinity if none does)."""
        terms = self.terms.get(name)
        return min((r.a for r, v in terms if v > 0), default=float("inf")) if terms else float("inf")


def build_mechanisms(levers: list[Lever], params) -> Mechanisms:
    """Turn mechanism-stated levers into the functions of time the pathway reads."""
    start = params.horizon.start_date
    m = Mechanisms()
    for lev in levers:
        if lev.target:
            raise LeverError(f"lever {lev.lever!r} is stated as a target: find its intensity first")
        ramp = Ramp(lev, start)
        x = lev.mechanism
        name = lev.lever
        if name == "edge_of_care":
            m._add("care_entry_divert", ramp, x["divert_share"])
        elif name == "kinship_to_sgo":
            m._add("kinship_sgo_rate", ramp, x["sgo_rate_per_year"])
        elif name == "reunification":
            m._add("reunification_rate", ramp, x["reunification_rate_per_year"])
        elif name == "faster_permanence":
            m._add("permanence_weeks_shorter", ramp, x["weeks_shorter"])
        elif name == "fewer_repeat_plans":
            m._add("recontact_reduction", ramp, x["recontact_reduction"])
        elif name == "shorter_plans":
            if x.get("cin_weeks_shorter"):
                m._add("cin_weeks_shorter", ramp, x["cin_weeks_shorter"])
            if x.get("cp_weeks_shorter"):
                m._add("cp_weeks_shorter", ramp, x["cp_weeks_shorter"])
        elif name == "foster_carers":
            m._add("carer_joiners_extra", ramp, x["extra_joiners_per_year"])
        elif name == "carer_support":
            m._add("breakdown_reduction", ramp, x["breakdown_reduction"])
        elif name == "carer_retention":
            m._add("carer_leaving_reduction", ramp, x["leaving_reduction"])
        elif name == "block_beds":
            m.bed_changes.extend(_steps(ramp, int(round(x["extra_beds"])), "residential_block"))
        elif name == "front_door_workers":
            m.team_changes.extend((d, "front_door", n) for d, _, n in _steps(ramp, int(round(x["extra_workers"])), "front_door"))
        elif name == "unit_cost":
            m.cost_changes.append((ramp, lev.placement_type, x["weekly_change_pct"]))
        elif name == "price_growth":
            m.price_growth.append((ramp, x["price_growth_per_year"]))
    return m


def _steps(ramp: Ramp, n: int, what: str) -> list[tuple[float, str, int]]:
    """Add `n` units one at a time, evenly over the ramp; take them away at the end."""
    out = []
    if n <= 0:
        return out
    span = ramp.b - ramp.a
    for i in range(n):
        out.append((ramp.a + span * (i + 1) / n if span > 0 else ramp.a, what, 1))
    if ramp.e != float("inf"):
        out.append((ramp.e, what, -n))
    return out


def per_year_to_per_day(rate_per_year: float) -> float:
    return rate_per_year / DAYS_PER_YEAR
