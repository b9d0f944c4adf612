"""Costs by financial year: placements, social work and allowances, at grown prices.

Unit costs are at start-date prices and grow by `price_growth_per_year` each April: a financial
year k years after the first is priced at (1 + g)^k. Social work and allowances may have growth
rates of their own (`social_work_growth_per_year`, `allowance_growth_per_year`); a price-growth
lever then acts on placements only.
"""
from __future__ import annotations

from typing import Optional

from .calendar import FinancialYear
from .placements import SPLIT_COST

STATE_COST_KEYS = ("contact", "assessment", "s47", "cin", "cp", "care")


def price_index(params, label: str, mechanisms=None) -> float:
    """Prices of a financial year relative to the first: grown each April by the yearly rate
    (a price-growth lever replaces the rate, in proportion to its ramp over each year)."""
    first = FinancialYear.of(params.horizon.start_date).start_year
    k = FinancialYear.parse(label).start_year - first
    g = params.costs.price_growth_per_year
    if mechanisms is None or not mechanisms.price_growth:
        return (1.0 + g) ** k
    start = params.horizon.start_date
    idx = 1.0
    for j in range(1, k + 1):
        fy = FinancialYear(first + j)
        a, b = float((fy.first_day - start).days), float((fy.end - start).days)
        rate = g
        for ramp, lever_g in mechanisms.price_growth:
            rate += (lever_g - g) * ramp.mean_over(a, b)
        idx *= 1.0 + rate
    return idx


def growth_index(params, label: str, rate: Optional[float], mechanisms=None) -> float:
    """Prices of a financial year relative to the first for costs with a yearly growth rate of
    their own; None: they grow as placements do (`price_index`)."""
    if rate is None:
        return price_index(params, label, mechanisms)
    first = FinancialYear.of(params.horizon.start_date).start_year
    return (1.0 + rate) ** (FinancialYear.parse(label).start_year - first)


def placement_weekly_costs(params) -> dict[str, float]:
    """£ a week by placement series name (spot residential split by the £4,100 line, see
    sim/placements.py's `cost_key`)."""
    c = params.costs
    w = dict(c.placement_weekly)
    for name in SPLIT_COST:
        w.pop(name, None)
    w["awaiting"] = c.awaiting_placement_weekly
    return w


def _cost_factor(mechanisms, placement: str, a: float, b: float) -> float:
    """1 + the unit-cost levers' % change for this placement, averaged over the ramp in [a, b)."""
    if mechanisms is None or not mechanisms.cost_changes:
        return 1.0
    f = 1.0
    for ramp, ptype, pct in mechanisms.cost_changes:
        if ptype is None or ptype == placement:
            f += pct / 100.0 * ramp.mean_over(a, b)
    return f


def fy_costs(params, edges, places, states, allowances, mechanisms=None) -> dict[str, dict[str, float]]:
    """For each financial year: £ on placements, social work and allowances.

    `places`, `states` and `allowances` map names to `StepSeries` of children over time.
    """
    c = params.costs
    weekly = placement_weekly_costs(params)
    out = {}
    for label, a, b in edges:
        idx = price_index(params, label, mechanisms)
        pl = sum(places[k].integral(a, b)[0] * w * _cost_factor(mechanisms, k, a, b)
                 for k, w in weekly.items() if k in places)
        spot = places["residential_spot"].integral(a, b)[0]
        high = places["over_4100"].integral(a, b)[0]
        pl += (high * c.residential_spot_over_4100_weekly + (spot - high) * c.residential_spot_under_4100_weekly) \
            * _cost_factor(mechanisms, "residential_spot", a, b)
        sw = sum(states[s].integral(a, b)[0] * c.social_work_weekly.get(s, 0.0) for s in STATE_COST_KEYS)
        al = (allowances["sgo"].integral(a, b)[0] * c.sgo_allowance_weekly
              + allowances["adoption"].integral(a, b)[0] * c.adoption_allowance_weekly)
        sw_idx = growth_index(params, label, c.social_work_growth_per_year, mechanisms)
        al_idx = growth_index(params, label, c.allowance_growth_per_year, mechanisms)
        out[label] = {"placements": pl / 7.0 * idx, "social_work": sw / 7.0 * sw_idx, "allowances": al / 7.0 * al_idx}
    return out
