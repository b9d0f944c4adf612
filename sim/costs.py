"""Costs by financial year: placements, social work, allowances and fixed costs, at grown prices.

Unit costs are at start-date prices and grow each April: a financial year k years after the first
is priced at (1 + g)^k. Each placement type may have a growth rate of its own
(`price_growth_by_type`; the spot residential price over £4,100 a week is `over_4100`); a type
without one grows by `price_growth_per_year`. Social work and allowances may have growth rates of
their own (`social_work_growth_per_year`, `allowance_growth_per_year`); a price-growth lever then
acts on placements only, replacing every type's rate from when it starts.

The share of spot residential child-weeks priced over the £4,100 line can grow
(`high_cost_share_growth_per_year`: in year k, that share of the child-weeks below the line, at
most all of them, is priced at the over-£4,100 price instead; k = 0 in the first year).

Fixed costs (`fixed_costs`): a bed of a pool listed in `empty_bed_share` is paid that share of its
weekly price while it is empty (a block contract pays for its beds filled or not; in-house homes
keep their staff), and an approved in-house foster place with no child in it is paid a retainer
(`foster_inhouse_retainer_weekly`), both grown as the type's price.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .calendar import FinancialYear
from .placements import SPLIT_COST

STATE_COST_KEYS = ("contact", "assessment", "s47", "cin", "cp", "care")
OVER_4100 = "over_4100"      # price_growth_by_type key of the spot residential price over £4,100
FOSTER_POOL = "foster_inhouse"  # the in-house foster carer pool's resource in the capacity log


def _years_since_first(params, label: str) -> int:
    return FinancialYear.parse(label).start_year - FinancialYear.of(params.horizon.start_date).start_year


def type_growth(params, ptype: Optional[str]) -> float:
    """The yearly price growth of a placement type (None: the general rate)."""
    c = params.costs
    if ptype is not None and ptype in c.price_growth_by_type:
        return c.price_growth_by_type[ptype]
    return c.price_growth_per_year


def price_index(params, label: str, mechanisms=None, ptype: Optional[str] = None) -> float:
    """Prices of a financial year relative to the first, for placement type `ptype` (None: the
    general rate): grown each April by the type's yearly rate (a price-growth lever replaces the
    rate, in proportion to its ramp over each year)."""
    first = FinancialYear.of(params.horizon.start_date).start_year
    k = _years_since_first(params, label)
    g = type_growth(params, ptype)
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
    their own; None: they grow as placements do at the general rate (`price_index`)."""
    if rate is None:
        return price_index(params, label, mechanisms)
    return (1.0 + rate) ** _years_since_first(params, label)


def high_cost_shift(params, label: str) -> float:
    """The share of spot residential child-weeks below the £4,100 line priced over it in this
    year: `high_cost_share_growth_per_year` × years since the first, at most 1."""
    k = _years_since_first(params, label)
    return min(1.0, max(0.0, params.costs.high_cost_share_growth_per_year * k))


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


class LevelSeries:
    """A level over time from (time, level) records (the last record at a time wins), 0 before
    the first; negative levels count as 0."""

    def __init__(self, times: np.ndarray, levels: np.ndarray):
        t = np.asarray(times, dtype=float)
        v = np.clip(np.asarray(levels, dtype=float), 0.0, None)
        if len(t):
            keep = np.r_[t[1:] != t[:-1], True]   # the last record at each time
            t, v = t[keep], v[keep]
        self.t, self.v = t, v
        self.cum = np.concatenate([[0.0], np.cumsum(np.diff(t) * v[:-1])]) if len(t) else np.zeros(0)

    def integral_to(self, x: float) -> float:
        if not len(self.t):
            return 0.0
        i = int(np.searchsorted(self.t, x, side="right")) - 1
        if i < 0:
            return 0.0
        return float(self.cum[i] + self.v[i] * (x - self.t[i]))

    def integral(self, a: float, b: float) -> float:
        return self.integral_to(b) - self.integral_to(a)


def empty_series(capacity, resources) -> dict[str, LevelSeries]:
    """Empty places over time of each resource in `resources` (capacity minus in use, from the
    capacity log `time, resource, capacity, in_use`); unlimited pools are left out."""
    out = {}
    if capacity is None or not len(capacity):
        return out
    for r in resources:
        c = capacity[capacity["resource"] == r]
        if not len(c) or not np.all(np.isfinite(c["capacity"].to_numpy())):
            continue
        out[r] = LevelSeries(c["time"].to_numpy(), c["capacity"].to_numpy() - c["in_use"].to_numpy())
    return out


def fixed_cost_resources(params) -> tuple[str, ...]:
    f = params.costs.fixed_costs
    return tuple(f.empty_bed_share) + ((FOSTER_POOL,) if f.foster_inhouse_retainer_weekly > 0 else ())


def fy_costs(params, edges, places, states, allowances, mechanisms=None,
             empty: Optional[dict] = None) -> dict[str, dict[str, float]]:
    """For each financial year: £ on placements, social work, allowances and fixed costs (empty
    block and in-house beds paid, the retainer of empty in-house foster places; `empty_beds` and
    `foster_retainer` are its two parts).

    `places`, `states` and `allowances` map names to `StepSeries` of children over time; `empty`
    maps resources to `LevelSeries` of empty places (see `empty_series`; None: no fixed costs).
    """
    c = params.costs
    weekly = placement_weekly_costs(params)
    fixed = c.fixed_costs
    empty = empty or {}
    out = {}
    for label, a, b in edges:
        pl = sum(places[k].integral(a, b)[0] * w * _cost_factor(mechanisms, k, a, b)
                 * price_index(params, label, mechanisms, None if k == "awaiting" else k)
                 for k, w in weekly.items() if k in places)
        spot = places["residential_spot"].integral(a, b)[0]
        high = places["over_4100"].integral(a, b)[0]
        shift = high_cost_shift(params, label) * (spot - high)
        pl += ((high + shift) * c.residential_spot_over_4100_weekly * price_index(params, label, mechanisms, OVER_4100)
               + (spot - high - shift) * c.residential_spot_under_4100_weekly
               * price_index(params, label, mechanisms, "residential_spot")) \
            * _cost_factor(mechanisms, "residential_spot", a, b)
        beds = sum(empty[p].integral(a, b) * share * c.placement_weekly.get(p, 0.0)
                   * _cost_factor(mechanisms, p, a, b) * price_index(params, label, mechanisms, p)
                   for p, share in fixed.empty_bed_share.items() if p in empty)
        retainer = (empty[FOSTER_POOL].integral(a, b) * fixed.foster_inhouse_retainer_weekly
                    * price_index(params, label, mechanisms, FOSTER_POOL)) if FOSTER_POOL in empty else 0.0
        sw = sum(states[s].integral(a, b)[0] * c.social_work_weekly.get(s, 0.0) for s in STATE_COST_KEYS)
        al = (allowances["sgo"].integral(a, b)[0] * c.sgo_allowance_weekly
              + allowances["adoption"].integral(a, b)[0] * c.adoption_allowance_weekly)
        sw_idx = growth_index(params, label, c.social_work_growth_per_year, mechanisms)
        al_idx = growth_index(params, label, c.allowance_growth_per_year, mechanisms)
        out[label] = {"placements": pl / 7.0, "social_work": sw / 7.0 * sw_idx, "allowances": al / 7.0 * al_idx,
                      "fixed": (beds + retainer) / 7.0, "empty_beds": beds / 7.0, "foster_retainer": retainer / 7.0}
    return out
