"""One validated schema for every input of the model, loaded from and saved to YAML.

Unknown keys are rejected, probabilities must lie in [0, 1] and sum to 1 per decision, durations
must be positive. `load_params` turns any problem into a `ParamsError` whose one-line message names
the file, the field path and the value, for the command line to print without a traceback.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .distributions import AgeBand, Duration, check_bands_cover
from .placements import PLACEMENTS
from .vocab import EXIT_REASONS, PLACEMENT_NEEDS, PLACEMENT_TYPES

_TOL = 1e-6


class ParamsError(Exception):
    """A parameter file that cannot be used; the message is one plain line."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)  # no NaN or infinity


def _check_probs(probs: dict[str, float], allowed, where: str) -> dict[str, float]:
    unknown = [k for k in probs if k not in allowed]
    if unknown:
        raise ValueError(f"unknown outcome {unknown[0]!r} (expected one of: {', '.join(allowed)})")
    for k, v in probs.items():
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"probability of {k!r} is {v}, outside [0, 1]")
    total = sum(probs.values())
    if abs(total - 1.0) > _TOL:
        raise ValueError(f"probabilities of {where} sum to {total:.6g}, not 1")
    return probs


# ----------------------------------------------------------------------------------- arrivals
class ArrivalRate(Strict):
    """A Poisson arrival stream: a monthly rate at the start date, a yearly trend and seasonality."""

    per_month: float = Field(ge=0, description="arrivals a month at the start date")
    trend_per_year: float = Field(0.0, gt=-1, description="yearly growth, e.g. 0.03 for 3%")
    seasonality: Optional[list[float]] = Field(
        None, description="12 monthly multipliers, April first, averaging 1"
    )

    @field_validator("seasonality")
    @classmethod
    def _season(cls, v):
        if v is None:
            return v
        if len(v) != 12 or any(x < 0 for x in v):
            raise ValueError("seasonality needs 12 non-negative monthly multipliers (April to March)")
        if abs(sum(v) / 12 - 1.0) > 1e-3:
            raise ValueError(f"seasonality multipliers must average 1 (they average {sum(v)/12:.4f})")
        return v


class AgeWeight(AgeBand):
    weight: float = Field(ge=0)


class Arrivals(Strict):
    new_contacts: ArrivalRate = Field(description="contacts about children not open to the service")
    age_at_contact: list[AgeWeight]
    direct_care_entries: ArrivalRate = Field(
        description="children entering care with no prior open case (e.g. police protection, remand)"
    )
    age_at_direct_entry: list[AgeWeight]

    @field_validator("age_at_contact", "age_at_direct_entry")
    @classmethod
    def _cover(cls, v, info):
        check_bands_cover(v, info.field_name)
        if sum(b.weight for b in v) <= 0:
            raise ValueError("age band weights must not all be zero")
        return v


# ----------------------------------------------------------------------------- decisions
class Recontact(Strict):
    """After a case closes, the chance that the child comes back to the front door, and when."""

    probability: float = Field(ge=0, le=1)
    delay: Duration
    referral_probability: Optional[float] = Field(
        None, ge=0, le=1,
        description="chance the returning contact is referred (known children are referred more often); "
                    "none = the front door's usual outcomes",
    )
    late_after_days: Optional[float] = Field(
        None, gt=0,
        description="returns more than this many days after the closure are 'late' and are referred with "
                    "late_referral_probability instead (a child back soon is referred far more often than one "
                    "back after a year); none = one chance whatever the delay",
    )
    late_referral_probability: Optional[float] = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _late(self):
        if (self.late_after_days is None) != (self.late_referral_probability is None):
            raise ValueError("late_after_days and late_referral_probability go together: give both or neither")
        if self.late_after_days is not None and self.referral_probability is None:
            raise ValueError("late_referral_probability needs referral_probability (the share for early returns)")
        return self

    def referral_chance(self, days_out: float) -> Optional[float]:
        """The chance a return this many days after the closure is referred (None: usual outcomes)."""
        if self.late_after_days is not None and days_out > self.late_after_days:
            return self.late_referral_probability
        return self.referral_probability


class RepeatPlan(Strict):
    """After a plan ends (closed or stepped down, not into care or at 18), the chance that the child
    comes back into a repeat plan of this kind, and when: a contact that is referred, assessed and
    (for a CP plan) taken through a S47 enquiry to an initial conference. Drawn before the
    ordinary return to the front door (`recontact`), which applies only if this does not."""

    probability: float = Field(ge=0, le=1)
    delay: Duration = Field(description="days from the closure to the returning contact")


class FrontDoor(Strict):
    screening: Duration = Field(description="days a contact stays open in screening once allocated")
    outcomes: dict[str, float] = Field(description="nfa / early_help / referral")
    escalation_contacts: int = Field(3, ge=2, description="contacts in the window that force a referral")
    escalation_window_days: float = Field(183, gt=0)
    escalation_enabled: bool = True

    _o = field_validator("outcomes")(lambda cls, v: _check_probs(v, ("nfa", "early_help", "referral"), "front_door.outcomes"))


class Assessment(Strict):
    nfa_before_assessment: float = Field(ge=0, le=1, description="referrals closed with no further action")
    duration: Duration
    outcomes: dict[str, float] = Field(description="nfa / cin / s47 / care")

    _o = field_validator("outcomes")(lambda cls, v: _check_probs(v, ("nfa", "cin", "s47", "care"), "assessment.outcomes"))


class Section47(Strict):
    duration: Duration = Field(description="days from strategy discussion to the ICPC or closure")
    outcomes: dict[str, float] = Field(description="cp / cin / nfa / care")

    _o = field_validator("outcomes")(lambda cls, v: _check_probs(v, ("cp", "cin", "nfa", "care"), "s47.outcomes"))


class Route(Strict):
    """One way a plan or episode can end, with its probability and the time it takes.

    The `age18` route of a period of care needs no duration: it runs to the 18th birthday.
    """

    probability: float = Field(ge=0, le=1)
    duration: Optional[Duration] = None


def _check_routes(routes: dict[str, Route], allowed, where):
    _check_probs({k: r.probability for k, r in routes.items()}, allowed, where)
    for name, r in routes.items():
        if r.duration is None and name != "age18":
            raise ValueError(f"route {name!r} of {where} needs a duration")
    return routes


CIN_EXITS = ("closed", "step_down_early_help", "s47", "care")
CP_EXITS = ("step_down_cin", "closed", "care")


class Plan(Strict):
    """A CIN or CP plan: how it ends (competing routes, each with its own duration)."""

    routes: dict[str, Route]


class CinPlan(Plan):
    _r = field_validator("routes")(lambda cls, v: _check_routes(v, CIN_EXITS, "cin_plan.routes"))


class CpPlan(Plan):
    _r = field_validator("routes")(lambda cls, v: _check_routes(v, CP_EXITS, "cp_plan.routes"))


class EdgeOfCare(Strict):
    """Support for children about to enter care; a success diverts the child to a CIN plan."""

    offered_share: float = Field(ge=0, le=1, description="share of children heading into care offered support")
    success_probability: float = Field(ge=0, le=1)


# ---------------------------------------------------------------------------------- care
class NeedByAge(AgeBand):
    """Placement need of a child entering care, for an age band."""

    probabilities: dict[str, float]

    @field_validator("probabilities")
    @classmethod
    def _p(cls, v):
        return _check_probs(v, PLACEMENT_NEEDS, "placement need")

    @model_validator(mode="after")
    def _semi(self):
        if self.from_age < 16 and self.probabilities.get("semi_independent", 0) > 0:
            raise ValueError("semi-independent placements are for 16-17 year olds only")
        return self


class ExitRoutesByAge(AgeBand):
    """How a period of care ends for children entering at this age; kinship placements differ."""

    kinship: dict[str, Route]
    non_kinship: dict[str, Route]

    @model_validator(mode="after")
    def _routes(self):
        for label, routes in (("kinship", self.kinship), ("non_kinship", self.non_kinship)):
            _check_routes(routes, EXIT_REASONS, f"care.exit_routes {label}")
            adoption = routes.get("adoption")
            if self.from_age >= 5 and adoption is not None and adoption.probability > 0:
                raise ValueError("adoption is only a route for children entering care under 5")
        return self


EXIT_HAZARD_REASONS = tuple(r for r in EXIT_REASONS if r != "age18")  # turning 18 ends care for certain


class ExitHazardCell(AgeBand):
    """Hazards a year of each exit reason for children in one placement need and CURRENT age band,
    one value for each time-in-care band of `ExitHazards.time_in_care_days`."""

    placement: str
    per_year: dict[str, list[float]]

    @field_validator("placement")
    @classmethod
    def _need(cls, v):
        if v not in PLACEMENT_NEEDS:
            raise ValueError(f"unknown placement need {v!r} (expected one of: {', '.join(PLACEMENT_NEEDS)})")
        return v

    @field_validator("per_year")
    @classmethod
    def _rates(cls, v):
        for k, xs in v.items():
            if k not in EXIT_HAZARD_REASONS:
                raise ValueError(f"unknown exit reason {k!r} (expected one of: {', '.join(EXIT_HAZARD_REASONS)}; "
                                 "turning 18 needs no hazard)")
            for x in xs:
                if not (x >= 0 and x < float("inf")):
                    raise ValueError(f"hazard of {k!r} is {x}: hazards a year must be finite and not negative")
        return v


class ExitHazards(Strict):
    """Exits as competing risks by current placement need, current age and time in care: when given,
    replaces `exit_routes`' draw at entry (docs/model.md, exits from care)."""

    source: str = Field("", description="where the hazards come from (a fit, a table, or 'assumption')")
    time_in_care_days: list[float] = Field(description="left edges of the time-in-care bands, from 0 (last band open)")
    cells: list[ExitHazardCell]
    allow_adoption_from_5: bool = Field(
        False, description="allow an adoption hazard for children aged 5 or over (off: adoption is for the young)")

    @field_validator("time_in_care_days")
    @classmethod
    def _edges(cls, v):
        if not v or v[0] != 0:
            raise ValueError("time-in-care bands must start at 0 days")
        if any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"time-in-care band edges must increase ({v})")
        return v

    @model_validator(mode="after")
    def _cells(self):
        n = len(self.time_in_care_days)
        for c in self.cells:
            for k, xs in c.per_year.items():
                if len(xs) != n:
                    raise ValueError(f"{c.placement} aged {c.from_age:g}-{c.to_age:g}: {k} has {len(xs)} hazards, "
                                     f"one for each of the {n} time-in-care bands is needed")
            if not self.allow_adoption_from_5 and c.to_age > 5 and any(c.per_year.get("adoption", [])):
                raise ValueError(f"{c.placement} aged {c.from_age:g}-{c.to_age:g}: an adoption hazard from age 5 "
                                 "(adoption is for children under 5; set allow_adoption_from_5 to allow it)")
        for need in PLACEMENT_NEEDS:
            check_bands_cover([c for c in self.cells if c.placement == need], f"exit_hazards for {need}")
        return self


class PlacementMoves(Strict):
    """Placement breakdowns (a rate a year by need) and the need of the next placement."""

    breakdown_per_year: dict[str, float]
    next_need: dict[str, dict[str, float]] = Field(description="need after a breakdown, by current need")
    step_down_residential_per_year: float = Field(0.0, ge=0, description="planned moves residential -> foster (under 16)")
    semi_independent_from_16_per_year: float = Field(
        0.0, ge=0, description="planned moves of 16-17s from foster or residential care to semi-independence"
    )

    @field_validator("breakdown_per_year")
    @classmethod
    def _b(cls, v):
        for k, x in v.items():
            if k not in PLACEMENT_NEEDS:
                raise ValueError(f"unknown placement need {k!r}")
            if x < 0:
                raise ValueError(f"breakdown rate of {k!r} is negative ({x})")
        return v

    @field_validator("next_need")
    @classmethod
    def _n(cls, v):
        for k, probs in v.items():
            if k not in PLACEMENT_NEEDS:
                raise ValueError(f"unknown placement need {k!r}")
            _check_probs(probs, PLACEMENT_NEEDS, f"next_need of {k}")
        return v


class Care(Strict):
    need_on_entry: list[NeedByAge]
    exit_routes: list[ExitRoutesByAge]
    exit_hazards: Optional[ExitHazards] = Field(
        None, description="exits as competing hazards by current placement, age and time in care; "
                          "none = the exit route drawn at entry from exit_routes")
    moves: PlacementMoves
    reentry: Recontact = Field(description="return to care after reunification")
    inhouse_foster_suitable_share: float = Field(
        1.0, ge=0, le=1, description="share of fostering needs an in-house carer can meet"
    )
    residential_could_foster_share: float = Field(
        0.0, ge=0, le=1,
        description="share of placements in residential care of children under 16 whose needs a foster family "
                    "could meet: they step down to an in-house foster carer when a place is free")
    foster_matching: Optional[Duration] = Field(
        None, description="days from an in-house foster place being free to the move of a child stepping down "
                          "from residential care (matching, introductions); none = at once")
    spot_residential_over_4100_share: float = Field(ge=0, le=1)
    sgo_allowance_share: float = Field(ge=0, le=1, description="SGOs with a weekly allowance until 18")
    adoption_allowance_share: float = Field(ge=0, le=1)

    @field_validator("need_on_entry", "exit_routes")
    @classmethod
    def _cover(cls, v, info):
        check_bands_cover(v, f"care.{info.field_name}")
        return v


# ------------------------------------------------------------------------------ capacity
class DatedChange(Strict):
    date: dt.date
    value: float = Field(ge=0)


class DatedShare(Strict):
    date: dt.date
    value: float = Field(ge=0, le=1)


class Team(Strict):
    """Social workers: each holds up to `caseload_limit` cases; more cases wait for allocation.

    `workers` are the posts (the establishment). Workers in post = posts x (1 - vacancy_share x
    (1 - agency_cover_share)): vacant posts hold no cases unless an agency worker covers them. Each
    of the three can change on dated days (`changes`, `vacancy_changes`, `agency_cover_changes`)."""

    workers: float = Field(ge=0)
    caseload_limit: float = Field(gt=0)
    changes: list[DatedChange] = Field(default_factory=list, description="dated changes in the number of workers")
    vacancy_share: float = Field(0.0, ge=0, le=1, description="share (0-1) of posts vacant")
    vacancy_changes: list[DatedShare] = Field(default_factory=list, description="dated changes in the vacancy share")
    agency_cover_share: float = Field(0.0, ge=0, le=1, description="share (0-1) of vacant posts covered by agency workers")
    agency_cover_changes: list[DatedShare] = Field(
        default_factory=list, description="dated changes in the agency cover share")

    def change_dates(self) -> list[dt.date]:
        """Every date on which the workers in post may change."""
        return sorted({c.date for c in (*self.changes, *self.vacancy_changes, *self.agency_cover_changes)})

    def workers_on(self, date: dt.date) -> float:
        """Workers in post on `date`: the posts, less the vacant posts no agency worker covers."""
        def latest(start, changes):
            value = start
            for c in sorted(changes, key=lambda c: c.date):
                if c.date <= date:
                    value = c.value
            return value

        posts = latest(self.workers, self.changes)
        vacancy = latest(self.vacancy_share, self.vacancy_changes)
        cover = latest(self.agency_cover_share, self.agency_cover_changes)
        return posts * (1.0 - vacancy * (1.0 - cover))


class Teams(Strict):
    front_door: Team
    assessment: Team
    safeguarding: Team = Field(description="CIN and CP plans and S47 enquiries")
    children_in_care: Team


class FosterCarers(Strict):
    initial_carers: int = Field(ge=0)
    places_per_carer: dict[int, float] = Field(description="share of carers approved for 1, 2, 3... children")
    joiners_per_year: float = Field(ge=0)
    leaving_rate_per_year: float = Field(ge=0, description="share of carers who resign in a year")
    move_after_resignation_weeks: Optional[tuple[float, float]] = Field(
        None, description="[earliest, latest] weeks after a carer resigns by which each child placed with them "
                          "has moved on (uniform between); none = the children stay until they move for other reasons")

    @field_validator("move_after_resignation_weeks")
    @classmethod
    def _mv(cls, v):
        if v is not None and not 0 <= v[0] <= v[1]:
            raise ValueError(f"move_after_resignation_weeks needs 0 <= earliest <= latest (got {list(v)})")
        return v

    @field_validator("places_per_carer")
    @classmethod
    def _p(cls, v):
        if any(k < 1 for k in v):
            raise ValueError("places per carer must be 1 or more")
        _check_probs({str(k): x for k, x in v.items()}, tuple(str(k) for k in v), "places_per_carer")
        return v


# the external markets: bed pools whose size may be none (unlimited), change on dated days and lie
# partly out of the council's area (`Capacity.markets`)
MARKETS = ("foster_ifa", "residential_spot", "semi_independent_spot")


class Market(Strict):
    """An external market (agency foster carers, spot children's homes, spot semi-independence) as
    a finite pool over time: the places open to the council (the `capacity` field of the market at
    the start date, then `changes`), of which a share lies inside the council's area. A child takes
    an in-area place if one is free, else an out-of-area one, else waits in an emergency or
    unregistered placement until a place is free."""

    changes: list[DatedChange] = Field(
        default_factory=list, description="dated new numbers of places open to the council (whole places)")
    in_area_share: float = Field(
        1.0, ge=0, le=1, description="share (0-1) of the market's places inside the council's area; the rest are "
                                     "out of area (a bounded market only: an unlimited one places everyone in area)")
    source: str = Field("", description="where the numbers come from, or 'assumption'")


class Capacity(Strict):
    foster_carers: FosterCarers
    residential_inhouse_beds: int = Field(ge=0)
    residential_block_beds: int = Field(ge=0)
    semi_independent_block_places: int = Field(ge=0)
    foster_ifa_places: Optional[int] = Field(None, ge=0, description="none = the market always has a place")
    residential_spot_places: Optional[int] = Field(None, ge=0)
    semi_independent_spot_places: Optional[int] = Field(None, ge=0)
    markets: dict[str, Market] = Field(
        default_factory=dict, description="by market (foster_ifa, residential_spot, semi_independent_spot): dated "
                                          "changes in its places and the share in the council's area")
    unlimited_markets: bool = Field(
        False, description="true: every external market always has a place in area, whatever its places say "
                           "(the model before bounded markets, for comparison)")
    teams: Teams

    @field_validator("markets")
    @classmethod
    def _markets(cls, v):
        for k in v:
            if k not in MARKETS:
                raise ValueError(f"{k!r} is not an external market (expected one of: {', '.join(MARKETS)})")
        return v

    def market_places(self, market: str, date: dt.date) -> Optional[int]:
        """The places open to the council in a market on `date` (None: unlimited)."""
        from .placements import BY_NAME
        if self.unlimited_markets:
            return None
        places = getattr(self, BY_NAME[market].capacity)
        m = self.markets.get(market)
        for c in sorted(m.changes if m else (), key=lambda c: c.date):
            if c.date <= date:
                places = int(c.value)
        return places


# --------------------------------------------------------------------------------- costs
class FixedCosts(Strict):
    """Costs paid whether or not a child is placed: block-contract and in-house beds (a share of
    the weekly price for each empty bed) and a retainer for empty approved in-house foster places."""

    empty_bed_share: dict[str, float] = Field(
        default_factory=dict, description="share (0-1) of its weekly price a bed pool's empty bed costs")
    foster_inhouse_retainer_weekly: float = Field(
        0.0, ge=0, description="£ a week for each empty place of an approved in-house foster carer")

    @field_validator("empty_bed_share")
    @classmethod
    def _share(cls, v):
        from .placements import BED_POOLS
        pools = [name for name, _ in BED_POOLS]
        for k, x in v.items():
            if k not in pools:
                raise ValueError(f"empty_bed_share: {k!r} is not a bed pool (known: {', '.join(pools)})")
            if not 0 <= x <= 1:
                raise ValueError(f"empty_bed_share.{k} is a share between 0 and 1 (got {x:g})")
        return v


class Costs(Strict):
    """Unit costs in £ at start-date prices, grown each April: placements by `price_growth_per_year`,
    social work and allowances by their own rates where given (pay awards and allowance uprating
    need not follow placement prices), else as placements."""

    placement_weekly: dict[str, float] = Field(description="£ a week by placement type")
    residential_spot_over_4100_weekly: float = Field(gt=4100)
    residential_spot_under_4100_weekly: float = Field(gt=0, le=4100)
    social_work_weekly: dict[str, float] = Field(description="£ a case-week by stage")
    awaiting_placement_weekly: float = Field(
        5000, ge=0, description="£ a week while no placement of the needed kind is free: an emergency or "
                                "unregistered placement until a registered one is found"
    )
    sgo_allowance_weekly: float = Field(ge=0)
    adoption_allowance_weekly: float = Field(ge=0)
    price_growth_per_year: float = Field(gt=-1)
    social_work_growth_per_year: Optional[float] = Field(
        None, gt=-1, description="yearly growth of social work costs (pay awards); none = price_growth_per_year "
                                 "and any price-growth lever, as placements")
    allowance_growth_per_year: Optional[float] = Field(
        None, gt=-1, description="yearly growth of SGO and adoption allowances; none = as placements")
    price_growth_by_type: dict[str, float] = Field(
        default_factory=dict, description="yearly price growth (a fraction) by placement type, and 'over_4100' for "
                                          "the spot residential price over £4,100; a type not listed grows by "
                                          "price_growth_per_year")
    high_cost_share_growth_per_year: float = Field(
        0.0, ge=0, description="yearly rise (a fraction) in the share of spot residential child-weeks below the "
                               "£4,100 line priced over it (year k: k times this, at most 1)")
    fixed_costs: FixedCosts = Field(default_factory=FixedCosts,
                             description="beds paid for when empty; the in-house foster retainer")

    @field_validator("price_growth_per_year", "social_work_growth_per_year", "allowance_growth_per_year",
                     "high_cost_share_growth_per_year")
    @classmethod
    def _growth_fraction(cls, v, info):
        if v is not None and abs(v) >= 1:
            raise ValueError(f"{info.field_name} is a fraction a year (0.05 for 5%), got {v:g}")
        return v

    @field_validator("price_growth_by_type")
    @classmethod
    def _growth_by_type(cls, v):
        for k, x in v.items():
            if k not in PLACEMENT_TYPES and k != "over_4100":
                raise ValueError(f"price_growth_by_type: unknown placement type {k!r}")
            if abs(x) >= 1:
                raise ValueError(f"price_growth_by_type.{k} is a fraction a year (0.05 for 5%), got {x:g}")
        return v

    @field_validator("placement_weekly")
    @classmethod
    def _pl(cls, v):
        missing = [p.cost_key for p in PLACEMENTS if p.cost_key is not None and p.cost_key not in v]
        if missing:
            raise ValueError(f"missing weekly cost for placement type {missing[0]!r}")
        for k, x in v.items():
            if k not in PLACEMENT_TYPES:
                raise ValueError(f"unknown placement type {k!r}")
            if x < 0:
                raise ValueError(f"weekly cost of {k!r} is negative ({x})")
        return v

    @field_validator("social_work_weekly")
    @classmethod
    def _sw(cls, v):
        allowed = ("contact", "assessment", "s47", "cin", "cp", "care")
        for k, x in v.items():
            if k not in allowed:
                raise ValueError(f"unknown stage {k!r} (expected one of: {', '.join(allowed)})")
            if x < 0:
                raise ValueError(f"weekly cost of {k!r} is negative ({x})")
        return v


# ----------------------------------------------------------------------------- the whole
class Horizon(Strict):
    start_date: dt.date = dt.date(2021, 4, 1)
    end_date: dt.date = dt.date(2030, 3, 31)

    @model_validator(mode="after")
    def _order(self):
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        return self

    @property
    def days(self) -> float:
        return float((self.end_date - self.start_date).days + 1)


class Params(Strict):
    """Everything the model needs. Saved as YAML; the hash identifies a parameter set."""

    name: str = "unnamed"
    description: str = ""
    horizon: Horizon = Field(default_factory=Horizon)
    initial_caseload: Optional[str] = Field(
        None, description="snapshot CSV of open cases at the start date, relative to this file; none = start empty"
    )
    arrivals: Arrivals
    recontact: dict[str, Recontact] = Field(description="return to the front door after each kind of closure")
    repeat_plans: dict[str, RepeatPlan] = Field(
        default_factory=dict,
        description="coming back into a repeat plan after a plan ends: `cp` for a child who has had a CP plan, "
                    "`cin` for one who has had only CIN plans; none = only the ordinary returns")
    front_door: FrontDoor
    assessment: Assessment
    s47: Section47
    cin_plan: CinPlan
    cp_plan: CpPlan
    edge_of_care: EdgeOfCare
    care: Care
    capacity: Capacity
    costs: Costs

    @field_validator("recontact")
    @classmethod
    def _rc(cls, v):
        allowed = ("nfa", "early_help", "assessment_nfa", "cin_closed", "cp_closed", "care_exit")
        for k in v:
            if k not in allowed:
                raise ValueError(f"unknown closure {k!r} (expected one of: {', '.join(allowed)})")
        return v

    @field_validator("repeat_plans")
    @classmethod
    def _rp(cls, v):
        for k in v:
            if k not in ("cin", "cp"):
                raise ValueError(f"unknown repeat plan kind {k!r} (expected cin or cp)")
        return v

    def digest(self) -> str:
        """A short hash of the parameter values: the identity of a run's inputs."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------- loading
def _loc(loc) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p in ("function-after", "function-before") or str(p).startswith(("function-", "tagged-union")):
            continue
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def describe_validation_error(err: ValidationError, source: str) -> str:
    """The first problem as one line: where, what value, what is wrong."""
    e = err.errors()[0]
    where = _loc(e["loc"]) or "(top level)"
    msg = e["msg"].removeprefix("Value error, ")
    if e["type"] == "missing":
        return f"{source}: missing field '{where}'"
    if e["type"] == "extra_forbidden":
        return f"{source}: unknown field {where!r} (not part of the parameter schema)"
    value = e.get("input")
    shown = "" if isinstance(value, (dict, list)) else f" (value: {value!r})"
    more = len(err.errors()) - 1
    tail = f"; and {more} more problem(s)" if more else ""
    line = f"{source}: field '{where}'{shown}: {msg}{tail}"
    return " ".join(line.split("\n")).replace("\r", " ")  # one line, whatever the value or message held


def params_from_dict(data: dict, source: str = "parameters") -> Params:
    try:
        params = Params.model_validate(data)
    except ValidationError as err:
        raise ParamsError(describe_validation_error(err, source)) from None
    from .bounds import out_of_range

    problem = out_of_range(params.model_dump(mode="json"))
    if problem:
        raise ParamsError(f"{source}: {problem}")
    return params


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last
    silently: a parameter file with `workers: 30` twice means one of them is a mistake)."""


def _no_duplicate_keys(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key}' is given twice in the same section (first at line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)


def _line_of_bad_date(text: str) -> str:
    """' at line N' for the first date-looking value that is not a real date, or ''."""
    import re

    for n, line in enumerate(text.splitlines(), start=1):
        for m in re.finditer(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])", line.split("#")[0]):
            try:
                dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return f" at line {n} ({m.group(0)} is not a date)"
    return ""


def read_yaml_mapping(path: str | Path, what: str, error: type[Exception]) -> dict:
    """A YAML file's top-level mapping; any problem raises `error` with one plain line naming
    the file (and the line and column of malformed YAML). `what` names the file in messages."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"{path}: line {line} is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the {what} as UTF-8") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise error(f"{path}: malformed YAML{at}: {problem}") from None
    except (ValueError, OverflowError) as exc:  # a value YAML reads as a date or number that cannot be one
        raise error(f"{path}: a value that cannot be read{_line_of_bad_date(text)}: {exc}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of names to values at the top level")
    return data


def _merged(base: dict, over: dict) -> dict:
    """`over` laid on `base`: sections merge key by key; any other value (a list included) replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def read_params_mapping(path: str | Path, _seen: tuple = ()) -> dict:
    """A parameter file's values, with `extends: OTHER.yaml` resolved: the file gives only what differs
    from the one it extends (relative to itself), so a variant of the baseline cannot drift from it."""
    path = Path(path)
    data = read_yaml_mapping(path, "parameter file", ParamsError)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise ParamsError(f"{path}: field 'extends' must name a parameter file (got {parent!r})")
    base_path = (path.parent / parent).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise ParamsError(f"{path}: 'extends: {parent}' leads back to a file already being read")
    base = read_params_mapping(base_path, _seen + (path.resolve(),))
    if "initial_caseload" in base and "initial_caseload" not in data and base["initial_caseload"]:
        # the caseload is named relative to the file that names it: keep pointing at the same file
        import os

        base["initial_caseload"] = os.path.relpath(base_path.parent / base["initial_caseload"], path.parent.resolve())
    return _merged(base, data)


def load_params(path: str | Path) -> Params:
    return params_from_dict(read_params_mapping(path), str(path))


def params_yaml(params: Params) -> str:
    """The parameters as YAML text that `load_params` reads back to the same parameters."""
    return yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False)
