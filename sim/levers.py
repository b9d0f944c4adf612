"""Transformation levers: declared changes to a mechanism, from a start date, with a ramp to
full effect, optionally switched off at an end date.

A lever is stated either by mechanism ("CP plans 2 weeks shorter", "edge-of-care support keeps
30% of children heading into care at home") or by a target volume ("35 fewer care entries a
year"); for a target, `experiments` searches for the mechanism intensity that delivers it. Here a
lever becomes `Mechanisms`: functions of time the pathway reads. A lever at zero intensity leaves
every random draw of the baseline untouched, so its effect is measured with common random numbers.

Every lever is declared once, in `CATALOGUE` (a `LeverSpec` each: label, mechanism keys with
their kind, units, bounds, how each acts and the model term it sets, targets with the measures
they are judged on, the target search's first guess, the report's volume). Scenario checks,
`build_mechanisms`, the target search, intensity scaling, the business case and the report read
it. Adding a lever: its `LeverSpec` here (and a term constant if it sets a new model term), the
one place in `sim/pathway.py` where the term acts, and its tests (docs/model.md, section 2.3).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .child import DAYS_PER_YEAR

INF = float("inf")

# ------------------------------------------------------------------------------ model terms
# The terms levers set, by the names the pathway reads them under (sim/pathway.py imports these
# constants, so a mistyped name fails at import; `Mechanisms` refuses a name no lever sets).
CARE_ENTRY_DIVERT = "care_entry_divert"                 # share of children heading into care kept home
KINSHIP_SGO_SHARE = "kinship_sgo_share"                 # extra share of kinship entries staying in care -> SGO
REUNIFICATION_RATE = "reunification_rate"               # extra hazard a year: non-kinship placement -> home
PERMANENCE_WEEKS_SHORTER = "permanence_weeks_shorter"   # weeks off the permanence routes of care
REPEAT_PLAN_REDUCTION = "repeat_plan_reduction"         # share of repeat plans (ending in closure) not needed
CIN_WEEKS_SHORTER = "cin_weeks_shorter"                 # weeks off the average CIN plan
CP_WEEKS_SHORTER = "cp_weeks_shorter"                   # weeks off the average CP plan
PLANS_INTO_CARE_SHORTER = "plans_into_care_shorter"     # > 0: shorter plans also cut plans heading into care or S47
CARER_JOINERS_EXTRA = "carer_joiners_extra"             # extra in-house foster carers joining a year
BREAKDOWN_REDUCTION = "breakdown_reduction"             # share of foster placement breakdowns prevented
CARER_LEAVING_REDUCTION = "carer_leaving_reduction"     # share of carer resignations cancelled

# How a mechanism key acts on the model: `term` adds its ramped value to the model term `sets`;
# `beds` opens beds of the pool `sets` one at a time over the ramp; `workers` adds workers to the
# team `sets` likewise; `unit_cost` changes weekly costs (of the lever's `placement_type`, or all);
# `price_growth` replaces the yearly price growth.
ACTS = ("term", "beds", "workers", "unit_cost", "price_growth")
# What a key's number is: a share in [0, 1], a rate a year, weeks, a whole count, a % change.
KINDS = ("fraction", "rate", "weeks", "count", "percent")


@dataclass(frozen=True)
class Key:
    """One mechanism key of a lever, as scenario files write it."""

    name: str
    kind: str                 # one of KINDS
    unit: str                 # for reports and docs
    description: str          # what a full-effect value means
    sets: str = ""            # the model term (act "term"), bed pool ("beds") or team ("workers")
    act: str = "term"         # one of ACTS
    lo: float = 0.0           # bounds a scenario's value must lie within
    hi: float = INF
    scales: bool = True       # multiplied when a scenario stretches another (`intensity_scale`)


@dataclass(frozen=True)
class Target:
    """A target volume a lever can be stated by; the search judges it on summary_by_fy measures."""

    name: str
    description: str
    measures: tuple[str, ...]  # summary_by_fy measure names, summed
    sign: int                  # +1: the aim is more (scenario - baseline); -1: fewer (baseline - scenario)
    judged: str = "mean"       # "mean": the year's volume, judged in the target year (experiments/run.py;
                               # the earlier years at full effect show whether it is sustained);
                               # "gain_per_year": the gain at the target year over the years since the lever started


@dataclass(frozen=True)
class Volume:
    """The operational volume a lever's row in the business case comparison shows."""

    measure: str               # a summary_by_fy measure, or one of business_case.with_derived's
    sign: int                  # +1: more is the aim
    words: str


@dataclass(frozen=True)
class LeverSpec:
    """One lever, declared once: everything else (validation, mechanisms, the target search,
    intensity scaling, the business case tables and the report) reads it from `CATALOGUE`."""

    name: str
    label: str                          # for reports
    keys: tuple[Key, ...]               # the first is the one a target search varies
    targets: tuple[Target, ...] = ()
    first_guess: float = 1.0            # a target search's first intensity of keys[0]
    volume: Optional[Volume] = None
    placement_type: bool = False        # takes a `placement_type` (unit_cost)

    @property
    def search_key(self) -> Key:
        return self.keys[0]

    def key(self, name: str) -> Key:
        for k in self.keys:
            if k.name == name:
                return k
        raise KeyError(name)

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


def _share(name, description, sets):
    return Key(name, "fraction", "share (0-1)", description, sets, lo=0.0, hi=1.0)


CATALOGUE: dict[str, LeverSpec] = {spec.name: spec for spec in (
    LeverSpec(
        "edge_of_care", "Edge of care",
        (_share("divert_share", "extra share (0-1) of children heading into care kept at home by edge-of-care support",
                CARE_ENTRY_DIVERT),),
        (Target("fewer_care_entries_per_year", "care entries a year fewer than the baseline at full effect",
                ("care_entries",), -1),),
        first_guess=0.15, volume=Volume("care_entries", -1, "fewer care entries a year")),
    LeverSpec(
        "kinship_to_sgo", "Kinship to SGO",
        (_share("sgo_share",
                "extra share (0-1) of children entering kinship care under 16, who would otherwise stay in care to 18 "
                "or leave by an 'other' route, whose period of care ends in an SGO (after the SGO route's time)",
                KINSHIP_SGO_SHARE),),
        (Target("extra_sgos_per_year", "SGOs a year more than the baseline at full effect", ("care_exits_sgo",), +1),),
        first_guess=0.5, volume=Volume("care_exits_sgo", +1, "more SGOs a year")),
    LeverSpec(
        "reunification", "Reunification",
        (Key("reunification_rate_per_year", "rate", "a year (hazard)",
             "extra chance a year (hazard) that a child under 16 in a non-kinship placement goes home",
             REUNIFICATION_RATE),),
        (Target("extra_reunifications_per_year", "returns home a year more than the baseline at full effect",
                ("care_exits_reunification",), +1),),
        first_guess=0.02, volume=Volume("care_exits_reunification", +1, "more returns home a year")),
    LeverSpec(
        "faster_permanence", "Faster permanence",
        (Key("weeks_shorter", "weeks", "weeks",
             "weeks off each period of care that ends in reunification, SGO, adoption or a child arrangements order "
             "(at most half its length), so the average time to permanence falls by about that much",
             PERMANENCE_WEEKS_SHORTER),),
        volume=Volume("weeks_to_permanence_average", -1, "weeks sooner to permanence")),
    LeverSpec(
        "fewer_repeat_plans", "Fewer repeat plans",
        (_share("repeat_plan_reduction",
                "share (0-1) of repeat CIN and CP plans not needed because the first plan's change lasted: a child back "
                "after a plan whose new plan would end in closure or step-down has no further action instead (plans "
                "heading into S47 or care still start)", REPEAT_PLAN_REDUCTION),),
        (Target("fewer_repeat_plans_per_year", "repeat CIN and CP plan starts a year fewer than the baseline at full effect",
                ("cin_plan_starts_repeat", "cp_plan_starts_repeat"), -1),),
        first_guess=0.5, volume=Volume("repeat_plans", -1, "fewer repeat CIN and CP plans a year")),
    LeverSpec(
        "shorter_plans", "Shorter CIN and CP plans",
        (Key("cin_weeks_shorter", "weeks", "weeks",
             "weeks off CIN plans that end in closure or step-down to early help (drift)", CIN_WEEKS_SHORTER),
         Key("cp_weeks_shorter", "weeks", "weeks",
             "weeks off CP plans that end in closure or step-down to a CIN plan (drift)", CP_WEEKS_SHORTER),
         Key("include_plans_into_care", "fraction", "0 or 1",
             "1: also shorten plans heading into care or a S47 enquiry (default 0: only plans ending in closure or step-down)",
             PLANS_INTO_CARE_SHORTER, hi=1.0, scales=False)),
        volume=Volume("cin_plan_average_weeks", -1, "weeks shorter CIN plans")),
    LeverSpec(
        "foster_carers", "More in-house foster carers",
        (Key("extra_joiners_per_year", "rate", "carers a year",
             "in-house foster carers recruited a year on top of the baseline", CARER_JOINERS_EXTRA, hi=1000.0),),
        (Target("net_extra_carers_per_year", "approved in-house foster carers gained a year, net, against the baseline",
                ("foster_carers_at_year_end",), +1, judged="gain_per_year"),),
        first_guess=11.0, volume=Volume("foster_carers_at_year_end", +1, "more foster carers than the baseline by year 8")),
    LeverSpec(
        "block_beds", "More block residential beds",
        (Key("extra_beds", "count", "beds", "block-contract residential beds added, opened evenly over the ramp",
             "residential_block", act="beds", hi=1000.0),),
        volume=Volume("cic_residential_block_average", +1, "more children in block beds")),
    LeverSpec(
        "carer_support", "Foster carer support",
        (_share("breakdown_reduction", "share (0-1) cut in foster placement breakdowns (support to carers)",
                BREAKDOWN_REDUCTION),)),
    LeverSpec(
        "carer_retention", "Foster carer retention",
        (_share("leaving_reduction", "share (0-1) cut in foster carers leaving (allowances, skills payments)",
                CARER_LEAVING_REDUCTION),)),
    LeverSpec(
        "front_door_workers", "Front door social workers",
        (Key("extra_workers", "count", "social workers",
             "social workers added to the front door (MASH), taken on evenly over the ramp", "front_door", act="workers",
             hi=1000.0),)),
    LeverSpec(
        "unit_cost", "Unit cost change",
        (Key("weekly_change_pct", "percent", "%",
             "change (%) in the weekly cost of `placement_type` (or of every placement if none)",
             act="unit_cost", lo=-INF, scales=False),),
        placement_type=True),
    LeverSpec(
        "price_growth", "Price growth",
        (Key("price_growth_per_year", "rate", "a year",
             "yearly price growth applied from the financial year the lever starts",
             act="price_growth", lo=-INF, scales=False),)),
)}

# The model terms levers set (each read by the pathway under the constant above).
TERMS: tuple[str, ...] = tuple(dict.fromkeys(k.sets for s in CATALOGUE.values() for k in s.keys if k.act == "term"))


def _check_catalogue() -> None:
    for spec in CATALOGUE.values():
        assert spec.keys and spec.label, spec.name
        for k in spec.keys:
            assert k.act in ACTS and k.kind in KINDS and k.lo <= k.hi and k.unit and k.description, (spec.name, k.name)
            assert (k.act in ("term", "beds", "workers")) == bool(k.sets), (spec.name, k.name)
        for t in spec.targets:
            assert t.measures and t.sign in (-1, 1) and t.judged in ("mean", "gain_per_year"), (spec.name, t.name)


_check_catalogue()

# Derived views, for code that reads them by these names.
LEVERS: dict[str, dict] = {
    name: {"mechanism": {k.name: k.description for k in spec.keys},
           "target": {t.name: t.description for t in spec.targets}}
    for name, spec in CATALOGUE.items()
}
FRACTIONS = {k.name for spec in CATALOGUE.values() for k in spec.keys if k.kind == "fraction"}


def lever_spec(name: str) -> LeverSpec:
    spec = CATALOGUE.get(name)
    if spec is None:
        raise LeverError(f"unknown lever {name!r} (known: {', '.join(CATALOGUE)})")
    return spec


# Mechanism keys of earlier versions whose meaning changed: a scenario file that names one is
# refused with what to write instead (reading it with the new meaning would change its results silently).
RETIRED_KEYS: dict[tuple[str, str], str] = {
    ("kinship_to_sgo", "sgo_rate_per_year"): (
        "the extra SGO hazard drained the kinship stock instead of helping children move to SGO; write sgo_share "
        "(0-1: the share of children entering kinship care whose care would otherwise last to 18 who leave on an "
        "SGO) or the target extra_sgos_per_year"),
    ("fewer_repeat_plans", "recontact_reduction"): (
        "cutting every return after a plan also deleted care entries that belong to edge of care; write "
        "repeat_plan_reduction (0-1: the share of repeat plans not needed) or the target fewer_repeat_plans_per_year"),
}


def _bound_words(k: Key, v: float) -> str:
    if k.lo == 0 and v < 0 and k.kind != "fraction":
        return "must not be negative" + (f" (and at most {k.hi:g})" if k.hi != INF else "")
    if k.hi == INF:
        return "must not be negative" if k.lo == 0 else f"must be at least {k.lo:g}"
    if k.lo == -INF:
        return f"must be at most {k.hi:g}"
    return f"must lie between {k.lo:g} and {k.hi:g}"


class LeverError(ValueError):
    """A lever that cannot be used; the message is one plain line."""


class RunningCost(BaseModel):
    """What a lever's service costs to run, £ at the parameters' start-date prices, grown each
    April by `costs.price_growth_per_year`; charged to the scenario beside its investment (not in
    the model's `cost_total`). The three parts add up:

    - `per_year`: £ a year at full effect, ramped as the lever (a team's cost);
    - `per_intensity`: £ a year per unit of the lever's first mechanism key, ramped (per carer
      recruited a year, per bed, per worker);
    - `per_volume`: £ per unit of the lever's volume achieved in the year (the catalogue's
      `volume`: per child kept out of care, per extra SGO, per extra approved carer), from the
      paired difference against the baseline (nothing when the volume is not positive)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    per_year: float = Field(0.0, ge=0)
    per_intensity: float = Field(0.0, ge=0)
    per_volume: float = Field(0.0, ge=0)
    source: str = Field("", description="where the figures come from, or 'assumption: why'")


class Lever(BaseModel):
    """One lever as written in a scenario file. `running_cost` and `investment` are money only:
    they do not change the simulation, so they are left out of the lever's dump (its cache key)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    running_cost: Optional[RunningCost] = Field(None, exclude=True, description="the lever's service running cost")
    investment: Optional[dict[str, float]] = Field(
        None, exclude=True, description="£ by financial year invested in this lever (per-lever ROI)")
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
        spec = CATALOGUE.get(self.lever)
        if spec is None:
            raise ValueError(f"unknown lever {self.lever!r} (known: {', '.join(CATALOGUE)})")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"lever {self.lever!r}: end {self.end} is not after start {self.start}")
        full = dt.date.fromordinal(self.start.toordinal() + int(self.ramp_months * 30.44))
        if self.end is not None and self.end < full:
            raise ValueError(f"lever {self.lever!r}: the ramp to full effect ends ({full}) after the lever is switched off ({self.end})")
        known = {k.name: k for k in spec.keys}
        for name, v in self.mechanism.items():
            k = known.get(name)
            if k is None:
                retired = RETIRED_KEYS.get((self.lever, name))
                if retired:
                    raise ValueError(f"lever {self.lever!r}: {name} is no longer a mechanism key: {retired}")
                raise ValueError(f"lever {self.lever!r}: unknown mechanism {name!r} (known: {', '.join(known)})")
            if not k.lo <= v <= k.hi:
                raise ValueError(f"lever {self.lever!r}: {name} {_bound_words(k, v)} (got {v})")
        targets = [t.name for t in spec.targets]
        for name, v in self.target.items():
            if name not in targets:
                words = ", ".join(targets) or "none: state it by mechanism"
                raise ValueError(f"lever {self.lever!r}: unknown target {name!r} (known: {words})")
            if v < 0:
                raise ValueError(f"lever {self.lever!r}: target {name} must not be negative (got {v})")
        if self.investment:
            for fy, x in self.investment.items():
                if not (len(fy) == 7 and fy[4] == "/" and fy[:4].isdigit() and fy[5:].isdigit()):
                    raise ValueError(f"lever {self.lever!r}: investment year {fy!r} is not a financial year like '2022/23'")
                if x < 0:
                    raise ValueError(f"lever {self.lever!r}: investment for {fy} is negative ({x})")
        for name, v in self.mechanism.items():
            k = known[name]
            if k.act == "price_growth" and abs(v) >= 1:
                raise ValueError(f"lever {self.lever!r}: {name} is a fraction a year (0.05 for 5%), got {v:g}")
            if k.kind == "percent" and v <= -100:
                raise ValueError(f"lever {self.lever!r}: {name} is a % change (-10 for 10% cheaper); "
                                 f"{v:g}% would make the cost negative")
        if len(self.target) > 1:
            raise ValueError(f"lever {self.lever!r}: one target per lever")
        if self.target and self.mechanism:
            raise ValueError(f"lever {self.lever!r}: give a mechanism or a target, not both")
        if not self.target and not self.mechanism:
            raise ValueError(f"lever {self.lever!r}: give a mechanism or a target")
        if spec.placement_type and self.placement_type is not None:
            from .vocab import PLACEMENT_TYPES
            if self.placement_type not in PLACEMENT_TYPES:
                raise ValueError(f"lever {self.lever!r}: unknown placement_type {self.placement_type!r}")
        return self

    @property
    def spec(self) -> LeverSpec:
        return CATALOGUE[self.lever]

    def mechanism_key(self) -> str:
        """The mechanism a target search varies."""
        return CATALOGUE[self.lever].search_key.name

    def with_intensity(self, value: float) -> "Lever":
        """The same lever stated by mechanism at `value` (used by the target search)."""
        return self.model_copy(update={"mechanism": {self.mechanism_key(): value}, "target": {}})

    def scaled(self, factor: float) -> "Lever":
        """A mechanism-stated lever with every intensity that scales multiplied by `factor`, kept
        within its bounds (shares capped at 1) and counts rounded (a stretched scenario)."""
        spec = CATALOGUE[self.lever]
        mech = {}
        for name, v in self.mechanism.items():
            k = spec.key(name)
            x = v * factor if k.scales else v
            if k.hi != INF:
                x = min(x, k.hi)
            if k.kind == "count":
                x = float(round(x))
            mech[name] = x
        return self.model_copy(update={"mechanism": mech})


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


class Term:
    """One model term: the levers acting on it, each a (ramp, full-effect value); the pathway
    looks a term up once (`Mechanisms.term`) and reads it as a function of time."""

    __slots__ = ("name", "parts", "bound")

    def __init__(self, name: str):
        self.name = name
        self.parts: list[tuple[Ramp, float]] = []
        self.bound = 0.0      # the largest the term can be (for thinning): the values summed

    def add(self, ramp: Ramp, value: float) -> None:
        self.parts.append((ramp, value))
        self.bound = self.bound + value

    def value(self, t: float) -> float:
        """The summed intensity of every lever acting on the term at time t."""
        parts = self.parts
        if not parts:
            return 0.0
        return sum(r(t) * v for r, v in parts)

    def active(self) -> bool:
        return self.bound > 0.0

    def start(self) -> float:
        """The first day any lever acts on the term (infinity if none does)."""
        parts = self.parts
        return min((r.a for r, v in parts if v > 0), default=INF) if parts else INF


class Mechanisms:
    """The knobs the pathway reads; the defaults are the baseline (no change). Every term of
    `TERMS` is there (at zero unless a lever sets it); any other name raises."""

    def __init__(self):
        self.terms: dict[str, Term] = {name: Term(name) for name in TERMS}
        self.team_changes: list[tuple[float, str, float]] = []   # (day, team, extra workers)
        self.bed_changes: list[tuple[float, str, int]] = []      # (day, pool, extra beds)
        self.cost_changes: list[tuple[Ramp, Optional[str], float]] = []  # (ramp, placement type, % change)
        self.price_growth: list[tuple[Ramp, float]] = []

    def term(self, name: str) -> Term:
        """The term of this name; a name no lever declares raises `LeverError`."""
        try:
            return self.terms[name]
        except KeyError:
            raise LeverError(f"unknown model term {name!r}: no lever in sim/levers.py's CATALOGUE sets it "
                             f"(known: {', '.join(TERMS)})") from None

    def _add(self, name: str, ramp: Ramp, value: float) -> None:
        self.term(name).add(ramp, value)

    def value(self, name: str, t: float) -> float:
        """The summed intensity of every lever acting on `name` at time t."""
        return self.term(name).value(t)

    def bound(self, name: str) -> float:
        """The largest the intensity can be (for thinning)."""
        return self.term(name).bound

    def active(self, name: str) -> bool:
        return self.term(name).bound > 0.0

    def start(self, name: str) -> float:
        """The first day any lever acts on `name` (infinity if none does)."""
        return self.term(name).start()

    def set_terms(self) -> set[str]:
        """The terms some lever sets (at any value)."""
        return {name for name, t in self.terms.items() if t.parts}


def _act_term(m: Mechanisms, key: Key, ramp: Ramp, value: float, lever: Lever) -> None:
    m._add(key.sets, ramp, value)


def _act_beds(m: Mechanisms, key: Key, ramp: Ramp, value: float, lever: Lever) -> None:
    m.bed_changes.extend(_steps(ramp, int(round(value)), key.sets))


def _act_workers(m: Mechanisms, key: Key, ramp: Ramp, value: float, lever: Lever) -> None:
    m.team_changes.extend((d, key.sets, n) for d, _, n in _steps(ramp, int(round(value)), key.sets))


def _act_unit_cost(m: Mechanisms, key: Key, ramp: Ramp, value: float, lever: Lever) -> None:
    m.cost_changes.append((ramp, lever.placement_type, value))


def _act_price_growth(m: Mechanisms, key: Key, ramp: Ramp, value: float, lever: Lever) -> None:
    m.price_growth.append((ramp, value))


_ACT = {"term": _act_term, "beds": _act_beds, "workers": _act_workers, "unit_cost": _act_unit_cost,
        "price_growth": _act_price_growth}
assert set(_ACT) == set(ACTS)


def build_mechanisms(levers: list[Lever], params) -> Mechanisms:
    """Turn mechanism-stated levers into the functions of time the pathway reads: each key given
    acts as the catalogue declares (`Key.act`)."""
    start = params.horizon.start_date
    m = Mechanisms()
    for lev in levers:
        if lev.target:
            raise LeverError(f"lever {lev.lever!r} is stated as a target: find its intensity first")
        ramp = Ramp(lev, start)
        x = lev.mechanism
        for key in CATALOGUE[lev.lever].keys:
            if key.name in x:
                _ACT[key.act](m, key, ramp, x[key.name], lev)
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
