"""Scenario files: a baseline plus named scenarios, each a list of levers, and the investment
the business case sets against the savings. Validated like parameters: unknown keys and bad
levers are one-line errors naming the scenario and field."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.calendar import FinancialYear
from sim.levers import CATALOGUE, Lever, RunningCost
from sim.params import describe_validation_error, read_yaml_mapping

from .uncertainty_spec import Uncertainty


class ScenarioError(ValueError):
    """A scenario file that cannot be used; one plain line."""


def _fy_amounts(v: dict[str, float], where: str) -> dict[str, float]:
    for k, x in v.items():
        try:
            FinancialYear.parse(k)
        except ValueError:
            raise ValueError(f"{where}: {k!r} is not a financial year like '2022/23'") from None
        if x < 0:
            raise ValueError(f"{where}: amount for {k} is negative ({x})")
    return v


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    name: str
    description: str = ""
    levers: list[Lever] = Field(default_factory=list)
    based_on: Optional[str] = Field(None, description="take the levers of this (earlier) scenario, as resolved")
    intensity_scale: float = Field(1.0, gt=0, description="with based_on: multiply every lever's intensity")
    investment: Optional[str | dict[str, float]] = Field(
        None, description="£ by financial year, or the name of a profile under `investments`")

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if not v or v == "baseline" or any(c in v for c in "/\\:"):
            raise ValueError(f"scenario name {v!r} is empty, reserved or holds / \\ :")
        return v

    def digest(self) -> str:
        blob = json.dumps([lv.model_dump(mode="json") for lv in self.levers], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


class CouncilLever(BaseModel):
    """The council's own business case for one lever (for the side-by-side comparison)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    scenario: str
    target_volume: str
    saving_m: float


class CouncilCase(BaseModel):
    """The council's own case. Its lever figures may be net or gross (`lever_savings_basis`; net
    ones add up to the net benefit, `add_back_m` the costs added back to reach gross); each net
    says what it deducts; `prices` says whether its figures are nominal or at constant prices."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    source: str = ""
    lever_savings_basis: Literal["gross", "net"] = "gross"
    add_back_m: Optional[float] = Field(None, ge=0, description="£m a year added back to the net lever figures for gross")
    lever_net_deducts: str = ""
    profile_net_deducts: str = ""
    prices: Literal["nominal", "constant"] = "nominal"
    levers: list[CouncilLever] = Field(default_factory=list)
    gross_profile_m: dict[str, float] = Field(default_factory=dict)
    net_profile_m: dict[str, float] = Field(default_factory=dict)
    all_levers_scenario: Optional[str] = None


def _fraction_a_year(name: str, v: Optional[float]) -> Optional[float]:
    if v is not None and abs(v) >= 1:
        raise ValueError(f"{name} is a fraction a year (0.05 for 5%), got {v:g}")
    return v


class Assumptions(BaseModel):
    """Shared assumptions a scenario set applies to the baseline and every scenario alike (not
    levers): prices, demand and unit costs. Each replaces the baseline file's value; maps are
    merged onto the baseline's. Rates are fractions a year (0.05 for 5%)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    price_growth_per_year: Optional[float] = Field(None, description="costs.price_growth_per_year")
    price_growth_by_type: dict[str, float] = Field(default_factory=dict, description="merged onto costs.price_growth_by_type")
    high_cost_share_growth_per_year: Optional[float] = Field(None, ge=0)
    demand_growth_per_year: Optional[float] = Field(
        None, description="yearly trend of new contacts and direct entries to care (arrivals' trend_per_year)")
    unit_costs: dict[str, float] = Field(default_factory=dict, description="£ a week by placement type, merged onto costs.placement_weekly")
    foster_inhouse_retainer_weekly: Optional[float] = Field(None, ge=0)
    empty_bed_share: dict[str, float] = Field(default_factory=dict, description="merged onto costs.fixed_costs.empty_bed_share")
    deflator_per_year: Optional[float] = Field(
        None, description="general inflation for real terms (default: the baseline's price_growth_per_year)")
    source: str = ""

    @model_validator(mode="after")
    def _rates(self):
        for name in ("price_growth_per_year", "high_cost_share_growth_per_year", "demand_growth_per_year",
                     "deflator_per_year"):
            _fraction_a_year(f"assumptions.{name}", getattr(self, name))
        for k, v in self.price_growth_by_type.items():
            _fraction_a_year(f"assumptions.price_growth_by_type.{k}", v)
        return self

    def is_empty(self) -> bool:
        return not any(v for k, v in self.model_dump().items() if k not in ("source", "deflator_per_year"))


def apply_assumptions(params, assumptions: Optional[Assumptions], source: str = "assumptions"):
    """The parameters with the set's shared assumptions applied (the same for baseline and
    scenarios); unchanged if there are none."""
    if assumptions is None or assumptions.is_empty():
        return params
    from sim.params import ParamsError, params_from_dict
    d = params.model_dump(mode="json")
    c, a = d["costs"], assumptions
    if a.price_growth_per_year is not None:
        c["price_growth_per_year"] = a.price_growth_per_year
    c["price_growth_by_type"] = {**c.get("price_growth_by_type", {}), **a.price_growth_by_type}
    if a.high_cost_share_growth_per_year is not None:
        c["high_cost_share_growth_per_year"] = a.high_cost_share_growth_per_year
    c["placement_weekly"] = {**c["placement_weekly"], **a.unit_costs}
    fixed = c.setdefault("fixed_costs", {})
    fixed["empty_bed_share"] = {**fixed.get("empty_bed_share", {}), **a.empty_bed_share}
    if a.foster_inhouse_retainer_weekly is not None:
        fixed["foster_inhouse_retainer_weekly"] = a.foster_inhouse_retainer_weekly
    if a.demand_growth_per_year is not None:
        for stream in ("new_contacts", "direct_care_entries"):
            if d["arrivals"].get(stream) is not None:
                d["arrivals"][stream]["trend_per_year"] = a.demand_growth_per_year
    try:
        return params_from_dict(d, source)
    except ParamsError as err:
        raise ScenarioError(str(err)) from None


class ScenarioSet(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    name: str
    description: str = ""
    baseline: str = Field(description="parameter file, relative to this file")
    replications: int = Field(8, ge=2)
    seed: int = Field(12345, ge=0)
    first_year: Optional[str] = Field(None, description="first financial year of the business case")
    target_year: Optional[str] = Field(None, description="year of full benefit (default: the last)")
    discount_rate: float = Field(0.035, ge=0, description="HM Treasury Green Book 3.5%")
    search_replications: int = Field(4, ge=2, description="replications per step of a target search")
    investments: dict[str, dict[str, float]] = Field(default_factory=dict)
    scenarios: list[Scenario]
    council: Optional[CouncilCase] = None
    assumptions: Optional[Assumptions] = Field(None, description="shared assumptions, applied to baseline and scenarios alike")
    running_costs: dict[str, RunningCost] = Field(
        default_factory=dict, description="by lever name: the running cost of every lever of that name without its own")
    uncertainty: Optional[Uncertainty] = Field(
        None, description="uncertain inputs and their distributions, for the risk analysis (experiments/uncertainty.py)")
    draws: int = Field(0, ge=0, description="parameter draws of the risk analysis (0: none; --draws overrides)")

    @field_validator("investments")
    @classmethod
    def _inv(cls, v):
        for name, amounts in v.items():
            _fy_amounts(amounts, f"investments.{name}")
        return v

    @model_validator(mode="after")
    def _check(self):
        for lever in self.running_costs:
            if lever not in CATALOGUE:
                raise ValueError(f"running_costs: unknown lever {lever!r} (known: {', '.join(CATALOGUE)})")
        for sc in self.scenarios:
            for i, lv in enumerate(sc.levers):
                if lv.running_cost is None and lv.lever in self.running_costs:
                    sc.levers[i] = lv.model_copy(update={"running_cost": self.running_costs[lv.lever]})
        names = [s.name for s in self.scenarios]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"scenario names must be unique ({', '.join(sorted(dup))} repeated)")
        seen = set()
        for s in self.scenarios:
            if s.based_on is not None:
                if s.based_on not in seen:
                    raise ValueError(f"scenario {s.name!r}: based_on {s.based_on!r} is not an earlier scenario")
                if s.levers:
                    raise ValueError(f"scenario {s.name!r}: give levers or based_on, not both")
            elif s.intensity_scale != 1.0:
                raise ValueError(f"scenario {s.name!r}: intensity_scale needs based_on")
            seen.add(s.name)
            if isinstance(s.investment, str) and s.investment not in self.investments:
                raise ValueError(f"scenario {s.name!r}: investment profile {s.investment!r} is not under 'investments'")
            if isinstance(s.investment, dict):
                _fy_amounts(s.investment, f"scenario {s.name} investment")
        for y in (self.first_year, self.target_year):
            if y is not None:
                FinancialYear.parse(y)
        return self

    def investment_of(self, scenario: Scenario) -> dict[str, float]:
        """The scenario's investment: its own `investment` if declared, else the sum of its
        levers' own investments (so a programme-level figure is never added to the levers')."""
        if scenario.investment is None:
            out: dict[str, float] = {}
            for lv in self.levers_of(scenario):
                for fy, x in (lv.investment or {}).items():
                    out[fy] = out.get(fy, 0.0) + x
            return out
        if isinstance(scenario.investment, str):
            return dict(self.investments[scenario.investment])
        return dict(scenario.investment)

    def levers_of(self, scenario: Scenario) -> list[Lever]:
        """The levers as written (a `based_on` scenario: those of the scenario it stretches)."""
        by = {s.name: s for s in self.scenarios}
        while scenario.based_on is not None:
            scenario = by[scenario.based_on]
        return list(scenario.levers)

    def business_case_years(self, labels: list[str], source: str) -> tuple[str, str, list[str]]:
        """(first, last, years) of the business case within the forecast's financial years
        `labels`. A first_year or target_year the file states outside them is refused, naming the
        field, rather than clipped to the horizon (a business case of fewer years than asked for
        would read as the one asked for); an unstated first_year (eight years to the target) is
        clipped to the forecast's first year."""
        span = f"the forecast horizon runs {labels[0]} to {labels[-1]}"
        for field, year in (("first_year", self.first_year), ("target_year", self.target_year)):
            if year is not None and year not in labels:
                where = "before" if FinancialYear.parse(year).start_year < FinancialYear.parse(labels[0]).start_year \
                    else "after"
                raise ScenarioError(f"{source}: {field} {year} is {where} the forecast ({span}); "
                                    f"give a {field} within it")
        last = self.target_year or labels[-1]
        first = self.first_year or FinancialYear(max(FinancialYear.parse(last).start_year - 7,
                                                     FinancialYear.parse(labels[0]).start_year)).label
        if FinancialYear.parse(first).start_year > FinancialYear.parse(last).start_year:
            raise ScenarioError(f"{source}: first_year {first} is after target_year {last}")
        years = [y for y in _years_between(first, last) if y in labels]
        return first, last, years

    def lever_date_warnings(self, start: dt.date, end: dt.date, labels: list[str], last: str,
                            source: str) -> list[str]:
        """Refuse a lever that cannot act in the forecast (starting after its last day `end`,
        switched off before its first day `start`, or a target judged in a year it does not
        hold), naming the scenario and field; return a warning for each lever that starts after
        the business case's last year `last` (it acts only in the forecast's later years)."""
        warnings = []
        for sc in self.scenarios:
            for lv in sc.levers:
                where = f"{source}: scenario {sc.name!r}, lever {lv.lever!r}"
                if lv.start > end:
                    raise ScenarioError(f"{where}: start {lv.start} is after the forecast ends ({end}), so the "
                                        "lever would do nothing")
                if lv.end is not None and lv.end <= start:
                    raise ScenarioError(f"{where}: end {lv.end} is not after the forecast starts ({start}), so the "
                                        "lever would do nothing")
                if lv.target_year is not None and lv.target_year not in labels:
                    raise ScenarioError(f"{where}: target_year {lv.target_year} is outside the forecast horizon "
                                        f"({labels[0]} to {labels[-1]})")
                if lv.start >= FinancialYear.parse(last).end:
                    warnings.append(f"{where}: starts on {lv.start}, after the business case's last year {last}: "
                                    "it changes none of the business case's years")
        return warnings


def _years_between(first: str, last: str) -> list[str]:
    a, b = FinancialYear.parse(first).start_year, FinancialYear.parse(last).start_year
    return [FinancialYear(y).label for y in range(a, b + 1)]


def load_scenarios(path: str | Path) -> ScenarioSet:
    data = read_yaml_mapping(path, "scenario file", ScenarioError)
    try:
        return ScenarioSet.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(describe_validation_error(err, str(path))) from None
