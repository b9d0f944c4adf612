"""Bounded external markets: agency foster, spot residential and spot semi-independent places as
finite pools over time, partly out of the council's area, with an emergency or unregistered
placement while none is free.

Checked by hand (a pool's in-area and out-of-area places), against an exact result (children
waiting when a market of c places serves a stream of children in care: the overflow of their
count above c, at every moment), for capacity never exceeded and children conserved, for exact
equality with the model before bounded markets when they are switched off (common random
numbers), and for fewer emergency placements with more in-house foster carers.
"""
from __future__ import annotations

import copy
import datetime as dt
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.capacity import IN_AREA, NO_PLACE, OUT_OF_AREA, BedPool, CapacityLog
from sim.levers import Lever, build_mechanisms
from sim.measures import placement_series, state_series, stocks_by_month, summary_by_fy
from sim.params import MARKETS, ParamsError, params_from_dict
from sim.runner import run_replication

DAYS = 365.25


def _with_markets(params, **capacity):
    """`params` with capacity fields replaced (markets' places, `markets`, `unlimited_markets`)."""
    return params.model_copy(update={"capacity": params.capacity.model_copy(update=capacity)})


def _values(summary: pd.DataFrame, measure: str) -> pd.Series:
    return summary[summary["measure"] == measure].set_index("financial_year")["value"]


# ------------------------------------------------------------------------------- by hand
def test_a_pool_fills_in_area_places_first_then_out_of_area_then_none():
    t = [0.0]
    log = CapacityLog()
    pool = BedPool("foster_ifa", 4, log, lambda: t[0], in_area_share=0.5)
    assert [pool.take() for _ in range(5)] == [IN_AREA, IN_AREA, OUT_OF_AREA, OUT_OF_AREA, NO_PLACE]
    assert (pool.in_use, pool.out_of_area) == (4, 2)
    t[0] = 3.0
    pool.give_back(out_of_area=False)  # an in-area child leaves: the next child takes that place, in area
    assert pool.take() == IN_AREA and pool.out_of_area == 2
    pool.give_back(out_of_area=True)   # an out-of-area child leaves: 2 in area still full, so out of area
    assert pool.take() == OUT_OF_AREA
    rows = pd.DataFrame({"resource": log.resource, "capacity": log.capacity, "in_use": log.in_use})
    out = rows[rows["resource"] == "foster_ifa_out_of_area"]
    assert (out["capacity"] == 2).all() and out["in_use"].max() == 2
    assert (rows.loc[rows["resource"] == "foster_ifa", "in_use"] <= 4).all()
    # an unlimited market places everyone in area and logs no out-of-area places
    log2 = CapacityLog()
    unlimited = BedPool("residential_spot", None, log2, lambda: 0.0, in_area_share=0.3)
    assert {unlimited.take() for _ in range(50)} == {IN_AREA}
    assert "residential_spot_out_of_area" not in set(log2.resource)


def test_market_places_follow_their_dated_changes(baseline_params):
    cap = baseline_params.capacity
    ifa = cap.markets["foster_ifa"]
    first = min(ifa.changes, key=lambda c: c.date)
    assert cap.market_places("foster_ifa", dt.date(2021, 4, 1)) == cap.foster_ifa_places
    assert cap.market_places("foster_ifa", first.date - dt.timedelta(days=1)) == cap.foster_ifa_places
    assert cap.market_places("foster_ifa", first.date) == int(first.value)
    off = cap.model_copy(update={"unlimited_markets": True})
    assert all(off.market_places(m, dt.date(2025, 1, 1)) is None for m in MARKETS)


def test_a_market_that_is_not_one_is_refused_in_one_line(baseline_dict):
    d = copy.deepcopy(baseline_dict)
    d["initial_caseload"] = None
    d["capacity"]["markets"]["residential_block"] = {"in_area_share": 0.5}
    with pytest.raises(ParamsError) as e:
        params_from_dict(d, "baseline.yaml")
    assert "capacity.markets" in str(e.value) and "residential_block" in str(e.value) and "\n" not in str(e.value)
    d["capacity"]["markets"] = {"foster_ifa": {"in_area_share": 1.5}}
    with pytest.raises(ParamsError, match="in_area_share"):
        params_from_dict(d, "baseline.yaml")


# ----------------------------------------------------------------------- an exact result
def test_children_wait_exactly_when_the_agency_market_is_full(minimal_care_params):
    """Children enter care as a Poisson stream (20 a month), stay an exponential time (mean 90 days)
    whatever their placement, and need foster care, with no in-house carers and an agency market of
    55 places. At every moment the children in agency care are min(N, 55) and those waiting in an
    emergency placement max(N - 55, 0), N the children in care: a freed place goes at once to a
    child waiting, and no child waits while a place is free. Checked at every event of the run, in
    replications where the market binds and where it does not."""
    c = 55
    params = minimal_care_params(per_month=20.0, mean_days=90.0, years=3, need="foster", carers=0)
    params = _with_markets(params, foster_ifa_places=c, markets={}, unlimited_markets=False)
    waited = 0.0
    for r in range(3):
        result = run_replication(params, seed=11, replication=r)
        ev = result.events
        t = np.unique(ev["time"].to_numpy())
        n = state_series(ev)["care"].value_at(t)
        places = placement_series(ev)
        assert np.array_equal(places["awaiting"].value_at(t), np.maximum(n - c, 0))
        assert np.array_equal(places["foster_ifa"].value_at(t), np.minimum(n, c))
        s = summary_by_fy(result)
        assert np.allclose(_values(s, "children_in_emergency_placements_average"),
                           _values(s, "children_waiting_for_placement_average"))
        waited += _values(s, "emergency_placement_days").sum()
        # each emergency placement that ended moved into the agency market or ended with care
        placed = ev[(ev["event"] == "placed") & (ev["from_placement"].astype(str) == "awaiting")]
        assert (placed["placement"].astype(str) == "foster_ifa").all()
    assert waited > 0  # the market binds: the test has something to see


# ---------------------------------------------------------- capacity and children conserved
@pytest.fixture(scope="module")
def tight_run(_baseline_dict_master, snapshot):
    """Two years of the baseline from the shipped caseload with tight markets that grow each April."""
    d = copy.deepcopy(_baseline_dict_master)
    d["initial_caseload"] = None
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2023-03-31"}
    cap = d["capacity"]
    cap.update(foster_ifa_places=130, residential_spot_places=55, semi_independent_spot_places=18)
    cap["markets"] = {
        "foster_ifa": {"in_area_share": 0.5, "changes": [{"date": "2022-04-01", "value": 140}]},
        "residential_spot": {"in_area_share": 0.3, "changes": [{"date": "2022-04-01", "value": 60}]},
        "semi_independent_spot": {"in_area_share": 0.7},
    }
    params = params_from_dict(d)
    return run_replication(params, 2024, 0, snapshot=snapshot, trace=True)


def test_market_places_are_never_exceeded_in_or_out_of_area(tight_run):
    cap = tight_run.capacity
    for m in MARKETS:
        for resource in (m, m + "_out_of_area"):
            rows = cap[cap["resource"] == resource]
            assert len(rows), resource
            assert (rows["in_use"] <= rows["capacity"]).all(), resource
            assert (rows["in_use"] >= 0).all(), resource
    ifa = cap[cap["resource"] == "foster_ifa"]
    assert set(ifa["capacity"]) == {130.0, 140.0}
    assert ifa.loc[ifa["capacity"] == 140.0, "time"].min() == pytest.approx(365.0)  # 1 April 2022
    assert (ifa["in_use"] == ifa["capacity"]).any()  # the market was full at times: the test binds


def test_every_child_in_care_has_one_placement_and_waits_only_as_recorded(tight_run):
    st = stocks_by_month(tight_run).pivot_table(index="month", columns="measure", values="value")
    parts = [c for c in st.columns if c.startswith("care_") and c != "care_over_4100"]
    assert "care_awaiting" in parts
    assert np.allclose(st[parts].sum(axis=1), st["care"])
    assert st["care_awaiting"].max() > 0
    ev = tight_run.events
    placed = ev[ev["event"] == "placed"]
    # a child waiting is placed when a place is free ("waited"), always into a registered placement;
    # otherwise only a change of need (a breakdown, a planned move) moves them on, perhaps to wait anew
    left_waiting = placed[placed["from_placement"].astype(str) == "awaiting"]
    waited = left_waiting["detail"].astype(str).str.startswith("waited")
    assert waited.sum() > 0 and (left_waiting.loc[waited, "placement"].astype(str) != "awaiting").all()
    assert left_waiting.loc[~waited, "detail"].astype(str).str.startswith(("breakdown", "step_")).all()
    # out-of-area placements are market placements only
    out = placed[placed["detail"].astype(str).str.contains("out_of_area")]
    assert len(out) and set(out["placement"].astype(str)) <= set(MARKETS)
    s = summary_by_fy(tight_run)
    share = _values(s, "out_of_area_share")
    assert ((share > 0) & (share < 1)).all()


# ----------------------------------------------------- switched off: the model before them
def test_unlimited_markets_give_exactly_the_model_without_bounds(_baseline_dict_master, snapshot):
    """Common random numbers: the shipped (bounded) baseline with `unlimited_markets: true` and the
    same baseline with every market `null` and no market section give the same event log, capacity
    log and measures, row for row; and no child waits or is placed out of area."""
    d = copy.deepcopy(_baseline_dict_master)
    d["initial_caseload"] = None
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2023-03-31"}
    assert d["capacity"]["foster_ifa_places"] is not None  # the shipped markets are bounded
    off = copy.deepcopy(d)
    off["capacity"]["unlimited_markets"] = True
    null = copy.deepcopy(d)
    null["capacity"].update(foster_ifa_places=None, residential_spot_places=None, semi_independent_spot_places=None,
                            markets={})
    a = run_replication(params_from_dict(off), 99, 0, snapshot=snapshot)
    b = run_replication(params_from_dict(null), 99, 0, snapshot=snapshot)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.capacity, b.capacity)
    sa, sb = summary_by_fy(a), summary_by_fy(b)
    pd.testing.assert_frame_equal(sa, sb)
    assert (_values(sa, "children_in_emergency_placements_average") == 0).all()
    assert (_values(sa, "out_of_area_share") == 0).all()
    bounded = run_replication(params_from_dict(d), 99, 0, snapshot=snapshot)
    # the same children arrive either way (arrivals are their own streams)
    assert (bounded.events["event"] == "contact").sum() == (a.events["event"] == "contact").sum()


# -------------------------------------------------- more in-house carers, fewer emergencies
def _carers_lever(params, extra: float):
    lever = Lever(lever="foster_carers", start=params.horizon.start_date, ramp_months=0,
                  mechanism={"extra_joiners_per_year": extra})
    return build_mechanisms([lever], params)


def test_more_inhouse_carers_mean_fewer_emergency_placements(minimal_care_params):
    """The same children (common random numbers) with a bounded agency market: with 30 more
    in-house carers joining a year, the children waiting are max(N - agency - in-house places, 0)
    against max(N - agency, 0), so emergency days are never more in any replication and year, and
    fewer over the run; the paired difference's 95% interval lies below zero."""
    params = minimal_care_params(per_month=20.0, mean_days=90.0, years=3, need="foster", carers=0)
    params = _with_markets(params, foster_ifa_places=55, markets={}, unlimited_markets=False)
    mech = _carers_lever(params, 30.0)
    diffs = []
    for r in range(6):
        base = _values(summary_by_fy(run_replication(params, seed=5, replication=r)), "emergency_placement_days")
        more = _values(summary_by_fy(run_replication(params, seed=5, replication=r, mechanisms=mech)),
                       "emergency_placement_days")
        assert (more <= base + 1e-9).all(), (r, base.tolist(), more.tolist())
        diffs.append(more.sum() - base.sum())
    x = np.asarray(diffs)
    high = x.mean() + stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    assert high < 0, diffs


def test_the_business_case_outcomes_show_fewer_emergencies_with_more_carers(_baseline_dict_master, snapshot):
    """On a small run of the shipped baseline with a tight agency market (two years, four replications),
    the business case's outcomes table reads the new measures, and the foster carers lever shows
    fewer children in emergency placements, with an interval."""
    from experiments.business_case import OUTCOME_DEFINITIONS, OUTCOME_MEASURES, outcomes, with_derived

    d = copy.deepcopy(_baseline_dict_master)
    d["initial_caseload"] = None
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2023-03-31"}
    # the agency foster market tight, the others open: the waiting children are those needing foster care
    d["capacity"].update(foster_ifa_places=115, residential_spot_places=None, semi_independent_spot_places=None,
                         markets={"foster_ifa": {"in_area_share": 0.5}})
    params = params_from_dict(d)
    mech = _carers_lever(params, 40.0)
    frames = []
    for r in range(4):
        for name, m in (("baseline", None), ("foster_carers", mech)):
            s = summary_by_fy(run_replication(params, 31, r, snapshot=snapshot, mechanisms=m))
            frames.append(s.assign(scenario=name))
    summary = with_derived(pd.concat(frames, ignore_index=True))
    sset = SimpleNamespace(scenarios=[SimpleNamespace(name="foster_carers")])
    o = outcomes(summary, sset, ["2021/22", "2022/23"])
    assert {"children_in_emergency_placements_average", "out_of_area_share",
            "children_in_family_homes_share"} <= set(o["measure"])
    assert all(m in OUTCOME_DEFINITIONS for m in OUTCOME_MEASURES if m not in (
        "children_kept_out_of_care", "placement_moves_per_child_year", "repeat_plans", "cic_average"))
    row = o[(o["measure"] == "children_in_emergency_placements_average") & (o["financial_year"] == "2022/23")].iloc[0]
    assert row["baseline"] > 1 and row["difference"] < 0 and row["high"] < 0, row.to_dict()
