"""Scenario files: a baseline plus named scenarios, each a list of levers, and the investment
the business case sets against the savings. Validated like parameters: unknown keys and bad
levers are one-line errors naming the scenario and field."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.calendar import FinancialYear
from sim.levers import Lever
from sim.params import describe_validation_error, read_yaml_mapping


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
    model_config = ConfigDict(extra="forbid")
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

    model_config = ConfigDict(extra="forbid")
    scenario: str
    target_volume: str
    saving_m: float


class CouncilCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = ""
    levers: list[CouncilLever] = Field(default_factory=list)
    gross_profile_m: dict[str, float] = Field(default_factory=dict)
    net_profile_m: dict[str, float] = Field(default_factory=dict)
    all_levers_scenario: Optional[str] = None


class ScenarioSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
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

    @field_validator("investments")
    @classmethod
    def _inv(cls, v):
        for name, amounts in v.items():
            _fy_amounts(amounts, f"investments.{name}")
        return v

    @model_validator(mode="after")
    def _check(self):
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
        if scenario.investment is None:
            return {}
        if isinstance(scenario.investment, str):
            return dict(self.investments[scenario.investment])
        return dict(scenario.investment)


def load_scenarios(path: str | Path) -> ScenarioSet:
    data = read_yaml_mapping(path, "scenario file", ScenarioError)
    try:
        return ScenarioSet.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(describe_validation_error(err, str(path))) from None
