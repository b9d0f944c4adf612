"""Costs against hand-computed cases: price growth by placement type, the share of high-cost
placements growing, and fixed costs (empty block beds paid, in-house homes' empty beds, the
retainer for empty in-house foster places). sim/costs.py is called on hand-made series, so no
simulation runs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.calendar import fy_edges
from sim.costs import empty_series, fixed_cost_resources, fy_costs
from sim.measures import StepSeries
from sim.params import ParamsError, load_params, params_from_dict
from sim.vocab import PLACEMENT_TYPES

Y1, Y2, Y3 = "2021/22", "2022/23", "2023/24"


def make_params(base: dict, **costs) -> object:
    d = {**base, "costs": {**base["costs"], "price_growth_by_type": {}, "high_cost_share_growth_per_year": 0.0,
                           "fixed_costs": {}, **costs}}
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2024-03-31"}
    d["initial_caseload"] = None
    return params_from_dict(d)


@pytest.fixture
def base(_baseline_dict_master):
    import copy
    return copy.deepcopy(_baseline_dict_master)


def flat(n: float, days: float) -> StepSeries:
    """n children from day 0 to day `days`."""
    return StepSeries(np.array([0.0, days]), np.array([n, -n])) if n else StepSeries(np.zeros(0), np.zeros(0))


def series(params, **counts):
    days = params.horizon.days
    places = {k: flat(counts.get(k, 0.0), days) for k in PLACEMENT_TYPES + ("awaiting", "over_4100")}
    states = {s: flat(0.0, days) for s in ("contact", "assessment", "s47", "cin", "cp", "care")}
    allow = {k: flat(0.0, days) for k in ("sgo", "adoption")}
    return places, states, allow


def costs(params, empty=None, **counts):
    edges = fy_edges(params.horizon.start_date, params.horizon.days)
    places, states, allow = series(params, **counts)
    return fy_costs(params, edges, places, states, allow, None, empty), {lab: b - a for lab, a, b in edges}


def test_price_growth_by_type_grows_each_type_at_its_own_rate(base):
    p = make_params(base, price_growth_per_year=0.03,
                    price_growth_by_type={"residential_spot": 0.09, "over_4100": 0.12, "foster_ifa": 0.04})
    c, days = costs(p, foster_ifa=10, foster_inhouse=5, residential_spot=2, over_4100=1)
    w = p.costs.placement_weekly
    hi, lo = p.costs.residential_spot_over_4100_weekly, p.costs.residential_spot_under_4100_weekly
    for k, fy in enumerate((Y1, Y2, Y3)):
        d = days[fy] / 7.0
        expected = d * (10 * w["foster_ifa"] * 1.04 ** k + 5 * w["foster_inhouse"] * 1.03 ** k
                        + 1 * hi * 1.12 ** k + 1 * lo * 1.09 ** k)
        assert c[fy]["placements"] == pytest.approx(expected, rel=1e-12)


def test_the_high_cost_share_grows_each_year(base):
    """2 spot children, 1 over the line: in year k, 0.25k of the other is priced over it."""
    p = make_params(base, high_cost_share_growth_per_year=0.25)
    c, days = costs(p, residential_spot=2, over_4100=1)
    hi, lo = p.costs.residential_spot_over_4100_weekly, p.costs.residential_spot_under_4100_weekly
    g = p.costs.price_growth_per_year
    for k, fy in enumerate((Y1, Y2, Y3)):
        s = 0.25 * k
        assert c[fy]["placements"] == pytest.approx(days[fy] / 7 * ((1 + s) * hi + (1 - s) * lo) * (1 + g) ** k)


def capacity_log(rows):
    return pd.DataFrame(rows, columns=["time", "resource", "capacity", "in_use"])


def test_empty_block_beds_are_paid_and_the_retainer_for_empty_foster_places(base):
    """8 block beds, 5 filled all along, 3 filled from day 100: 3 empty for 100 days, then none;
    in-house foster places 10, 7 in use; in-house homes' empty beds at 0.8 of the price."""
    p = make_params(base, fixed_costs={"empty_bed_share": {"residential_block": 1.0, "residential_inhouse": 0.8},
                                       "foster_inhouse_retainer_weekly": 150.0})
    log = capacity_log([
        (0.0, "residential_block", 8, 5), (100.0, "residential_block", 8, 8),
        (0.0, "residential_inhouse", 30, 30), (0.0, "residential_inhouse", 30, 28),   # last record at a time wins
        (0.0, "foster_inhouse", 10, 7),
        (0.0, "residential_spot", float("inf"), 3),
    ])
    assert set(fixed_cost_resources(p)) == {"residential_block", "residential_inhouse", "foster_inhouse"}
    empty = empty_series(log, fixed_cost_resources(p))
    assert "residential_spot" not in empty            # unlimited pools have no empty beds
    c, days = costs(p, empty=empty)
    w = p.costs.placement_weekly
    g = p.costs.price_growth_per_year
    beds1 = 3 * 100 * w["residential_block"] + 2 * days[Y1] * 0.8 * w["residential_inhouse"]
    ret1 = 3 * days[Y1] * 150.0
    assert c[Y1]["empty_beds"] == pytest.approx(beds1 / 7)
    assert c[Y1]["foster_retainer"] == pytest.approx(ret1 / 7)
    assert c[Y1]["fixed"] == pytest.approx((beds1 + ret1) / 7)
    assert c[Y2]["empty_beds"] == pytest.approx(2 * days[Y2] * 0.8 * w["residential_inhouse"] / 7 * (1 + g))
    assert c[Y2]["foster_retainer"] == pytest.approx(3 * days[Y2] * 150.0 / 7 * (1 + g))
    assert c[Y1]["placements"] == 0.0                  # no child placed: the fixed costs alone


def test_no_fixed_costs_declared_costs_nothing(base):
    p = make_params(base)
    log = capacity_log([(0.0, "residential_block", 8, 0), (0.0, "foster_inhouse", 10, 0)])
    c, _ = costs(p, empty=empty_series(log, fixed_cost_resources(p)))
    assert all(c[fy]["fixed"] == 0.0 for fy in c)


@pytest.mark.parametrize("field,value", [("price_growth_per_year", 5), ("high_cost_share_growth_per_year", 2.0)])
def test_a_growth_rate_written_as_a_percentage_is_refused(base, field, value):
    with pytest.raises(ParamsError, match=rf"{field} is a fraction a year \(0.05 for 5%\), got {value:g}"):
        make_params(base, **{field: value})


def test_a_growth_rate_by_type_written_as_a_percentage_is_refused(base):
    with pytest.raises(ParamsError, match=r"price_growth_by_type.residential_spot is a fraction a year"):
        make_params(base, price_growth_by_type={"residential_spot": 9})


def test_the_shipped_baseline_grows_homes_faster_than_the_plan(base):
    p = load_params("experiments/baseline.yaml")
    assert p.costs.price_growth_by_type["residential_spot"] > p.costs.price_growth_per_year
    assert p.costs.fixed_costs.empty_bed_share["residential_block"] == 1.0
