"""Properties every run of the model must have, checked on real runs of the shipped baseline
(from the shipped snapshot, over short horizons) and on extreme parameter values:
conservation of children, capacity never exceeded, nobody 18 or over open, determinism,
common random numbers, parallel equals sequential, and the extremes."""
from __future__ import annotations

import datetime as dt
import gc

import numpy as np
import pandas as pd
import pytest

from sim.replications import run_replications
from sim.levers import Lever, build_mechanisms
from sim.measures import (STOCK_STATES, placement_series, plan_lengths, state_series, stocks_by_month,
                          summary_by_fy)
from sim.runner import run_replication
from sim.vocab import EXIT_REASONS, PLACEMENT_TYPES

DAYS_PER_YEAR = 365.25
BED_POOLS = ("residential_inhouse", "residential_block", "residential_spot", "semi_independent_block",
             "semi_independent_spot", "foster_ifa")
TEAMS = ("front_door", "assessment", "safeguarding", "children_in_care")


def _str(ev: pd.DataFrame) -> pd.DataFrame:
    out = ev.copy()
    for c in ("event", "from_state", "to_state", "placement", "from_placement", "detail"):
        out[c] = out[c].astype(str)
    return out


def _summary_dict(result) -> dict:
    s = summary_by_fy(result)
    return {(r.financial_year, r.measure): r.value for r in s.itertuples()}


@pytest.fixture(scope="module")
def one_year(baseline_dict_module, with_years, build):
    return build(with_years(baseline_dict_module, 1))


@pytest.fixture(scope="module")
def baseline_dict_module(_baseline_dict_master):
    import copy
    return copy.deepcopy(_baseline_dict_master)


@pytest.fixture(scope="module")
def scarce_run(baseline_dict_module, with_years, build, snapshot):
    """The baseline with the external market limited too, so children wait for placements."""
    d = with_years(baseline_dict_module, 2)
    d["capacity"].update(foster_ifa_places=70, residential_spot_places=60, semi_independent_spot_places=15,
                         markets={})
    return run_replication(build(d), 9, 0, snapshot=snapshot, trace=True)


@pytest.fixture(scope="module", params=["baseline", "scarce"])
def run(request, baseline_run, scarce_run):
    """Each property is checked on the baseline and on a run where every kind of placement is scarce."""
    return baseline_run if request.param == "baseline" else scarce_run


# ---------------------------------------------------------------------------------- conservation
def test_each_row_continues_from_the_childs_previous_state(run):
    ev = _str(run.events)
    assert len(ev) > 10000
    assert (np.diff(ev["time"].to_numpy()) >= 0).all(), "the log is in time order"
    prev = ev.groupby("child", sort=False)["to_state"].shift(1)
    first = prev.isna()
    # a child's first row starts from outside the service, or is the snapshot's opening row
    assert set(ev.loc[first, "from_state"]) <= {"out", ""}
    assert (ev.loc[first & (ev["from_state"] == ""), "event"] == "snapshot").all()
    assert (ev.loc[~first, "from_state"] == prev[~first]).all(), "a row starts where the child's last row ended"
    assert (ev.loc[ev["event"] == "snapshot", "time"] == 0).all()
    assert set(ev["to_state"]) <= set(STOCK_STATES) | {"out"}


def test_state_stocks_match_each_childs_last_state(run):
    """At month ends, the measured stock of each state equals the number of children whose latest
    row puts them in that state (an independent count from the log), and is never negative."""
    ev = _str(run.events)
    series = state_series(run.events)
    for s, st in series.items():
        assert st.minimum() >= 0, s
    for t in (0.5, 30.0, 200.0, 365.0, 500.5, 729.9):
        last = ev[ev["time"] <= t].groupby("child")["to_state"].last().value_counts()
        for s in STOCK_STATES:
            assert series[s].value_at(t)[0] == last.get(s, 0), (s, t)


def test_flows_balance_stocks_by_financial_year(run):
    """end of year = end of previous year + ins - outs, for every state, with the stocks, entries
    and exits taken from summary_by_fy and the other flows counted from the log's moves."""
    ev = _str(run.events)
    m = _summary_dict(run)
    moved = ev[ev["from_state"] != ev["to_state"]]
    years = [("2021/22", 0.0, 365.0), ("2022/23", 365.0, 730.0)]
    name = {"care": "cic", "contact": "open_contacts"}
    for s in STOCK_STATES:
        before = 0.0
        for label, a, b in years:
            yr = moved[(moved["time"] >= a) & (moved["time"] < b)]
            ins, outs = (yr["to_state"] == s).sum(), (yr["from_state"] == s).sum()
            end = m[(label, f"{name.get(s, s)}_at_year_end")]
            assert end == before + ins - outs, (s, label)
            snap = ((yr["event"] == "snapshot") & (yr["to_state"] == s)).sum()
            if s == "care":
                assert ins - snap == m[(label, "care_entries")]
                exits = sum(m[(label, f"care_exits_{r if r != 'cao' else 'child_arrangements'}")] for r in EXIT_REASONS)
                assert outs == exits == m[(label, "care_exits")]
            elif s == "contact":
                assert ins - snap == m[(label, "contacts")]
            elif s == "assessment":
                assert ins - snap == m[(label, "referrals")]
            elif s == "cp":
                assert ins - snap == m[(label, "cp_plan_starts")]
            elif s == "cin":  # a new CIN plan can follow a CIN plan (edge of care): a start but no move
                restarts = ((ev["event"] == "cin_plan_start") & (ev["from_state"] == "cin")
                            & (ev["time"] >= a) & (ev["time"] < b)).sum()
                assert ins - snap + restarts == m[(label, "cin_plan_starts")]
            before = end
        assert before >= 0


def test_a_child_in_care_has_exactly_one_placement_at_a_time(run):
    ev = _str(run.events)
    rel = ev[ev["event"].isin(["placed", "placement_end", "care_entry", "care_exit", "snapshot"])]
    rel = rel[(rel["event"] != "snapshot") | (rel["to_state"] == "care")]
    current: dict[int, str] = {}
    in_care: dict[int, bool] = {}
    needs_placement: dict[int, float] = {}
    for r in rel.itertuples(index=False):
        c = r.child
        if r.event in ("care_entry", "snapshot"):
            assert not in_care.get(c) and current.get(c, "") == ""
            in_care[c], needs_placement[c] = True, r.time
        elif r.event == "placed":
            assert in_care.get(c), "placed while not in care"
            assert r.from_placement == current.get(c, ""), "a new placement replaces the current one"
            assert r.placement != ""  # (a breakdown may move a child to another carer of the same kind)
            if c in needs_placement:
                assert needs_placement.pop(c) == r.time, "placed on the day of entry"
            current[c] = r.placement
        elif r.event == "placement_end":
            assert in_care.get(c) and r.from_placement == current.get(c) != ""
            current[c] = ""
        else:  # care_exit
            assert in_care.get(c) and current.get(c, "") == "", "the placement ends before the exit"
            in_care[c] = False
    assert not needs_placement
    open_ = [c for c, v in in_care.items() if v]
    assert open_ and all(current[c] not in ("",) for c in open_)
    assert all(p in PLACEMENT_TYPES + ("awaiting",) for p in current.values() if p)


def test_placement_stocks_sum_to_the_care_stock_every_month(run):
    w = stocks_by_month(run).pivot(index="month", columns="measure", values="value")
    assert len(w) == 24
    parts = w[[f"care_{p}" for p in PLACEMENT_TYPES + ("awaiting",)]]
    assert (parts >= 0).all().all()
    assert (parts.sum(axis=1) == w["care"]).all()
    assert (w["care_over_4100"] <= w["care_residential_spot"]).all()
    for name, st in placement_series(run.events).items():
        assert st.minimum() >= 0, name


# -------------------------------------------------------------------------------------- capacity
def test_capacity_never_exceeded(run, request):
    cap = run.capacity
    pools = cap[~cap["resource"].str.endswith("_waiting") & (cap["resource"] != "foster_carers")]
    assert set(BED_POOLS + ("foster_inhouse",) + TEAMS) <= set(pools["resource"])
    over = pools[pools["in_use"] > pools["capacity"]]
    assert over.empty, over.groupby("resource").size().to_dict()
    assert (cap["in_use"] >= 0).all()
    # the limits bind in these runs: the check has teeth
    full = pools.groupby("resource").apply(lambda g: (g["in_use"] == g["capacity"]).any(), include_groups=False)
    assert full[["residential_inhouse", "residential_block", "semi_independent_block"]].all()
    if request.node.callspec.params["run"] == "scarce":
        assert full[["foster_ifa", "residential_spot", "semi_independent_spot"]].all()
        placed = run.events[run.events["event"] == "placed"]
        assert (placed["placement"].astype(str) == "awaiting").sum() > 50
        assert (placed["from_placement"].astype(str) == "awaiting").sum() > 50


def test_bed_pool_counts_match_placement_stocks(run):
    """The pools' own count equals the number of children the event log places there."""
    cap = run.capacity
    places = placement_series(run.events)
    for pool in BED_POOLS:
        c = cap[cap["resource"] == pool].groupby("time")["in_use"].last()
        assert (places[pool].value_at(c.index.to_numpy()) == c.to_numpy()).all(), pool
    fi = cap[cap["resource"] == "foster_inhouse"].groupby("time")["in_use"].last()
    assert (fi.to_numpy() <= places["foster_inhouse"].value_at(fi.index.to_numpy())).all()


def test_team_waits_are_consistent(run):
    w = run.team_waits
    assert set(w["team"]) <= set(TEAMS)
    done = w.dropna(subset=["until"])
    assert (done["until"] >= done["since"]).all()
    assert (done["until"] <= run.params.horizon.days).all()
    # a case waits at most once at a time per team
    assert not w.duplicated(["team", "case", "since"]).any()


def test_no_negative_durations(run):
    for s in STOCK_STATES:
        pl = plan_lengths(run.events, s)
        assert len(pl) > 0 and (pl["length"] >= 0).all(), s


def _spells(result) -> pd.DataFrame:
    ev = _str(result.events)
    moves = ev[ev["from_state"] != ev["to_state"]].copy()
    moves["end"] = moves.groupby("child")["time"].shift(-1).fillna(result.params.horizon.days)
    dob = result.children.set_index("child")["dob"]
    moves["age_start"] = (moves["time"] - moves["child"].map(dob)) / DAYS_PER_YEAR
    moves["age_end"] = (moves["end"] - moves["child"].map(dob)) / DAYS_PER_YEAR
    return moves[moves["to_state"].isin(STOCK_STATES)]


def test_nobody_18_or_over_in_care(run):
    sp = _spells(run)
    care = sp[sp["to_state"] == "care"]
    assert len(care) > 500
    assert (care["age_start"] < 18).all()
    assert (care["age_end"] <= 18 + 1e-9).all()
    # and the 18th birthday is a real exit in this run
    assert (care["age_end"] > 18 - 1e-6).sum() > 10


def test_nobody_18_or_over_in_any_open_state(baseline_run):
    sp = _spells(baseline_run)
    bad = sp[(sp["age_start"] >= 18) | (sp["age_end"] > 18 + 1e-9)]
    assert bad.empty, bad[["child", "event", "to_state", "time", "age_start", "age_end"]].head().to_string()


def test_children_in_care_are_allocated_to_the_children_in_care_team(baseline_run):
    """Each child in care holds a place in the children-in-care team's caseload or waits for one."""
    cap = baseline_run.capacity
    cic = cap[cap["resource"] == "children_in_care"].groupby("time")["in_use"].last()
    waiting = cap[cap["resource"] == "children_in_care_waiting"].groupby("time")["in_use"].last()
    care = state_series(baseline_run.events)["care"]
    t = cic.index.to_numpy()
    assert cic.max() > 500
    assert ((cic + waiting.reindex(cic.index).fillna(0)).to_numpy() == care.value_at(t)).all()


# ----------------------------------------------------------------------------------- determinism
def test_same_seed_same_log_different_seed_different(one_year, snapshot):
    a = run_replication(one_year, 77, 0, snapshot=snapshot)
    b = run_replication(one_year, 77, 0, snapshot=snapshot)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(summary_by_fy(a), summary_by_fy(b))
    pd.testing.assert_frame_equal(a.capacity, b.capacity)
    c = run_replication(one_year, 78, 0, snapshot=snapshot)
    d = run_replication(one_year, 77, 1, snapshot=snapshot)
    for other in (c, d):
        assert not a.events[["time", "child", "event"]].equals(other.events[["time", "child", "event"]])
        assert not summary_by_fy(a)["value"].equals(summary_by_fy(other)["value"])


def test_parallel_equals_sequential(one_year, snapshot):
    kw = dict(snapshot=snapshot, keep_events=lambda r: True, progress=False)
    seq = run_replications(one_year, 5, 2, workers=1, **kw)
    par = run_replications(one_year, 5, 2, workers=2, **kw)
    assert [o.replication for o in par] == [0, 1]
    for s, p in zip(seq, par):
        pd.testing.assert_frame_equal(s.summary, p.summary)
        pd.testing.assert_frame_equal(s.stocks, p.stocks)
        pd.testing.assert_frame_equal(s.events, p.events)
        assert s.sim_events == p.sim_events
    assert not seq[0].summary["value"].equals(seq[1].summary["value"])


# ----------------------------------------------------------------------------------- memory
@pytest.mark.parametrize("variant", ["plain", "levers", "traced", "open cases kept"])
def test_a_finished_replication_leaves_nothing_for_the_garbage_collector(one_year, snapshot, variant):
    """The model breaks its own reference cycles (`Pathway.close`), so it is freed by reference
    counting as the replication returns: a later collection would otherwise visit every object the
    run made, which grew faster than the model did (issue 5, scaling). Levers add processes of
    their own (dated changes of workers and beds), still waiting when the run ends; a traced run
    and one that keeps its open cases (a warm-up) keep more."""
    mech = None
    if variant == "levers":
        start = one_year.horizon.start_date + dt.timedelta(days=300)
        mech = build_mechanisms([
            Lever(lever="front_door_workers", start=start, ramp_months=6, mechanism={"extra_workers": 3}),
            Lever(lever="block_beds", start=start, ramp_months=6, mechanism={"extra_beds": 10}),
            Lever(lever="shorter_plans", start=start, ramp_months=0, mechanism={"cin_weeks_shorter": 6})],
            one_year)
        assert mech.team_changes and mech.bed_changes
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        r = run_replication(one_year, 5, 0, snapshot=snapshot, mechanisms=mech, trace=variant == "traced",
                            keep_open_cases=variant == "open cases kept")
        found = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    assert len(r.events) > 1000
    assert (len(r.open_cases) > 100) is (variant == "open cases kept")
    assert found == 0, f"{found} objects left in reference cycles"


def test_the_garbage_collector_is_restored_after_a_replication(one_year, snapshot):
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            run_replication(one_year, 5, 0, snapshot=snapshot)
            assert gc.isenabled() is enabled
        finally:
            gc.enable()


def _rows(ev, mask, cols=("time", "child", "event", "from_state", "to_state", "detail")):
    return ev.loc[mask, list(cols)].reset_index(drop=True)


def test_placement_capacity_leaves_arrivals_and_front_door_unchanged(baseline_dict_module, with_years, build, snapshot):
    """Common random numbers: fewer foster carers and beds change placements, not who arrives or
    what the front door decides (nor, in this model, any move between stages)."""
    base = with_years(baseline_dict_module, 1)
    alt = with_years(baseline_dict_module, 1)
    alt["capacity"]["foster_carers"]["initial_carers"] = 60
    alt["capacity"]["foster_carers"]["joiners_per_year"] = 40
    alt["capacity"]["residential_inhouse_beds"] = 10
    alt["capacity"]["residential_block_beds"] = 20
    a = _str(run_replication(build(base), 31, 0, snapshot=snapshot).events)
    b = _str(run_replication(build(alt), 31, 0, snapshot=snapshot).events)

    known = {c.child_id for c in snapshot}

    def arrivals(ev):  # the first contact of each child new to the service, and direct entries to care
        new_contact = (ev["event"] == "contact") & ~ev["child"].isin(known) & ~ev.duplicated("child")
        return _rows(ev, new_contact | ((ev["event"] == "care_entry") & (ev["detail"] == "direct")))

    def front_door(ev):
        return _rows(ev, ev["event"].isin(["contact", "contact_closed", "referral"]))

    assert len(arrivals(a)) > 5000 and (arrivals(a)["detail"] == "direct").sum() > 10
    pd.testing.assert_frame_equal(arrivals(a), arrivals(b))
    pd.testing.assert_frame_equal(front_door(a), front_door(b))
    moves = lambda ev: _rows(ev, ev["from_state"] != ev["to_state"])  # noqa: E731
    pd.testing.assert_frame_equal(moves(a), moves(b))
    # the change did change placements
    pa, pb = _rows(a, a["event"] == "placed", ("child", "time", "placement")), _rows(b, b["event"] == "placed", ("child", "time", "placement"))
    assert not pa.equals(pb)
    assert (pb["placement"] == "foster_inhouse").sum() < (pa["placement"] == "foster_inhouse").sum()


# ----------------------------------------------------------------------------------- extremes
def _no_arrivals(d):
    d["arrivals"]["new_contacts"]["per_month"] = 0.0
    d["arrivals"]["direct_care_entries"]["per_month"] = 0.0
    return d


def test_no_arrivals_and_cold_start_stays_empty(baseline_dict, with_years, build):
    params = build(_no_arrivals(with_years(baseline_dict, 2)))
    r = run_replication(params, 1, 0, snapshot=None, trace=True)
    assert r.events.empty and r.children.empty and r.allowances.empty
    cap = r.capacity
    assert (cap.loc[~cap["resource"].isin(["foster_carers"]), "in_use"] == 0).all()
    assert cap["resource"].isin(["foster_inhouse", "residential_inhouse"]).any()


def test_no_arrivals_and_cold_start_summary_is_zero(baseline_dict, with_years, build):
    params = build(_no_arrivals(with_years(baseline_dict, 2)))
    r = run_replication(params, 1, 0, snapshot=None)
    m = _summary_dict(r)
    for fy in ("2021/22", "2022/23"):
        for s in ("cic_average", "cin_at_year_end", "cp_at_year_end", "contacts", "care_entries",
                  "cost_placements", "cost_social_work", "cost_allowances"):
            assert m[(fy, s)] == 0, (fy, s)
        # an empty system still pays for its empty beds and approved places (costs.fixed_costs)
        assert m[(fy, "cost_fixed")] > 0
        assert m[(fy, "cost_total")] == m[(fy, "cost_fixed")]


def test_no_arrivals_with_the_snapshot_empties_the_system(baseline_dict, build, snapshot):
    """With no new children only the snapshot's children (and those recently closed, who may come
    back) are in the system; once the youngest has turned 18 nobody is open."""
    youngest = max(c.dob for c in snapshot)
    d = _no_arrivals(baseline_dict)
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2039-06-30"}
    params = build(d)
    assert params.horizon.days > youngest + 18 * DAYS_PER_YEAR
    r = run_replication(params, 2, 0, snapshot=snapshot)
    ids = {c.child_id for c in snapshot}
    assert set(r.events["child"]) <= ids
    series = state_series(r.events)
    end = params.horizon.days - 1e-6
    assert all(series[s].value_at(end)[0] == 0 for s in STOCK_STATES)
    assert series["care"].value_at(0.0)[0] > 500
    # closed children do come back (so stocks need not fall at once) ...
    assert (r.events["event"] == "contact").sum() > 0


def test_no_arrivals_and_no_returns_stocks_only_fall(baseline_dict, with_years, build, snapshot):
    d = _no_arrivals(with_years(baseline_dict, 3))
    for v in d["recontact"].values():
        v["probability"] = 0.0
    d["repeat_plans"] = {}  # returns into a repeat plan are returns too
    d["care"]["reentry"]["probability"] = 0.0
    d["front_door"]["escalation_enabled"] = False
    r = run_replication(build(d), 3, 0, snapshot=snapshot)
    ev = _str(r.events)
    moved = ev[(ev["from_state"] != ev["to_state"]) & (ev["event"] != "snapshot")]
    # nobody enters from outside, except a CIN plan restarted at once after edge-of-care support
    prev = moved.groupby("child")[["time", "event"]].shift(1)
    back = moved["from_state"] == "out"
    restart = back & (prev["time"] == moved["time"]) & (prev["event"] == "cin_plan_end") \
        & (moved["event"] == "cin_plan_start")
    assert not (back & ~restart).any(), "nobody enters from outside"
    opened = (ev["event"] == "snapshot").sum()
    assert opened == sum(c.state != "closed" for c in snapshot)
    closed_t = np.sort(moved.loc[moved["to_state"] == "out", "time"].to_numpy())
    restart_t = np.sort(moved.loc[restart, "time"].to_numpy())
    # the number of open children only falls: the snapshot's open cases less the closures so far
    series = state_series(r.events)
    grid = np.linspace(0.0, r.params.horizon.days - 1e-6, 60)
    open_now = sum(series[s].value_at(grid) for s in STOCK_STATES)
    assert (np.diff(open_now) <= 0).all() and open_now[-1] < open_now[0] / 2
    count = opened - np.searchsorted(closed_t, grid, side="right") + np.searchsorted(restart_t, grid, side="right")
    assert (open_now == count).all()


def test_unlimited_inhouse_capacity_means_no_overflow(baseline_dict, with_years, build, snapshot):
    d = with_years(baseline_dict, 1)
    cap = d["capacity"]
    cap["foster_carers"].update(initial_carers=2000, places_per_carer={3: 1.0}, leaving_rate_per_year=0.0)
    cap["residential_inhouse_beds"] = 5000
    cap["semi_independent_block_places"] = 5000
    d["care"]["inhouse_foster_suitable_share"] = 1.0
    r = run_replication(build(d), 4, 0, snapshot=snapshot)
    ev = _str(r.events)
    placed = ev[ev["event"] == "placed"]
    later = placed[~placed["detail"].str.startswith("snapshot")]
    assert len(later) > 300
    assert set(later["placement"]).isdisjoint({"foster_ifa", "residential_spot", "semi_independent_spot", "awaiting"})
    assert {"foster_inhouse", "residential_inhouse", "semi_independent_block"} <= set(later["placement"])
    assert _summary_dict(r)[("2021/22", "children_waiting_for_placement_average")] == 0


def test_zero_foster_carers_sends_every_fostering_need_to_ifa(one_year, snapshot, build, baseline_dict_module, with_years):
    d = with_years(baseline_dict_module, 1)
    # moves that only a pool with carers makes (a resigned carer's children moving on, residential
    # step-downs to a free in-house place) are off in both runs: the placements must then be the same
    d["capacity"]["foster_carers"]["move_after_resignation_weeks"] = None
    d["care"]["residential_could_foster_share"] = 0.0
    d["capacity"]["unlimited_markets"] = True  # the agency market always has a place (markets: test_markets.py)
    base = run_replication(build(d), 6, 0, snapshot=snapshot)
    d["capacity"]["foster_carers"].update(initial_carers=0, joiners_per_year=0.0)
    zero = run_replication(build(d), 6, 0, snapshot=snapshot)
    pz, pb = (_str(x.events) for x in (zero, base))
    pz, pb = (_rows(x, x["event"] == "placed", ("time", "child", "placement")) for x in (pz, pb))
    assert "foster_inhouse" not in set(pz["placement"])
    assert len(pz) == len(pb)
    fostered = pb["placement"].isin(["foster_inhouse", "foster_ifa"])
    assert fostered.sum() > 100 and (pb["placement"] == "foster_inhouse").sum() > 50
    # the same placements, with every in-house foster placement of the baseline now with an agency
    assert (pz.loc[fostered, "placement"] == "foster_ifa").all()
    assert pz.loc[~fostered].equals(pb.loc[~fostered])


def test_zero_foster_carers_are_counted_as_zero(baseline_dict, with_years, build):
    d = with_years(baseline_dict, 1)
    d["capacity"]["foster_carers"].update(initial_carers=0, joiners_per_year=0.0)
    r = run_replication(build(d), 6, 0, snapshot=None)
    assert _summary_dict(r)[("2021/22", "foster_carers_at_year_end")] == 0


def test_a_late_return_to_the_front_door_is_referred_with_the_late_chance(baseline_dict, build):
    """`recontact.<kind>.late_after_days` splits returns by the time out since the closure: the
    model must hand a return the early or the late referral chance by that time, also for a
    child closed before the start (time out = time already out + the rest of the delay)."""
    from sim.initial import OpenCase
    from sim.pathway import Pathway

    d = baseline_dict
    d["recontact"]["cin_closed"] = {"probability": 1.0, "delay": {"dist": "exponential", "mean_days": 150.0},
                                    "referral_probability": 0.9, "late_after_days": 120.0,
                                    "late_referral_probability": 0.05}
    params = build(d)
    snap = [OpenCase(child_id=i, dob=-3000.0, state="closed", state_elapsed=float(e), care_elapsed=0.0,
                     placement="", previous_cp_plans=0, closure="cin_closed")
            for i, e in zip(range(1, 401), np.tile([1.0, 60.0, 200.0, 400.0], 100))]
    seen = []

    class Watched(Pathway):  # a subclass: the compiled Pathway's instances take no new attributes
        def _return(self, child, rp, repeat=""):
            seen.append((child.id, self.env.now, rp))

    model = Watched(params, 5, 0, snapshot=snap)
    for case in snap:
        model._start_open_case(case)
    model.run_events(model.horizon)
    elapsed = {c.child_id: c.state_elapsed for c in snap}
    assert len(seen) > 300
    for cid, now, rp in seen:
        out = elapsed[cid] + now
        assert rp == (0.9 if out <= 120.0 else 0.05), (cid, out, rp)
    assert {rp for _, _, rp in seen} == {0.9, 0.05}


# --------------------------------------------------------------------------- the short path
def _trace_of(params, snapshot, leaves: bool, mechanisms=None):
    """Everything a run leaves behind, with new contacts' short path on or off."""
    from sim.pathway import Pathway

    taken = []

    class Counted(Pathway):  # a subclass: the compiled Pathway's instances take no new attributes
        def _leaf_closed(self, cid, dob, outcome):
            taken.append(cid)
            Pathway._leaf_closed(self, cid, dob, outcome)

    pw = Counted(params, 31, 4, snapshot=snapshot, trace=True, mechanisms=mechanisms)
    pw._leaves = leaves
    pw.run()
    teams = {name: (t.waits, t.worker_changes, sorted(t.allocated), list(t.waiting)) for name, t in pw.teams.items()}
    cap = pw.caplog
    return dict(log=pw.log.to_frame(), retired=(pw.retired_ids.tolist(), pw.retired_dobs.tolist()),
                open=[(c.id, c.dob, c.state) for c in pw.children.values()], teams=teams,
                caplog=(cap.time, cap.resource, cap.capacity, cap.in_use), events=next(pw.env._eid)), taken


@pytest.mark.parametrize("front_door", ["keeps up", "overwhelmed", "levers"])
def test_new_contacts_short_path_changes_nothing(front_door, baseline_dict_module, with_years, build, snapshot):
    """New contacts whose whole path their first draws tell (screened at once, closed without a
    referral, never back) skip the general front door. The run must be the same to the last
    digit: the event log, who retires when, team allocations and waits, and the count of SimPy
    events. With the front door overwhelmed, contacts wait and must take the general path. With
    levers acting on returns and on the front door's staff, the short path must follow them too."""
    import datetime as dt

    from sim.levers import Lever, build_mechanisms

    d = with_years(baseline_dict_module, 1)
    mech = None
    if front_door in ("overwhelmed", "levers"):
        d["capacity"]["teams"]["front_door"].update(workers=12, changes=[])  # queues on and off
    params = build(d)
    if front_door == "levers":
        start = dt.date(2021, 7, 1)
        mech = build_mechanisms([
            Lever(lever="fewer_repeat_plans", start=start, ramp_months=3, mechanism={"repeat_plan_reduction": 0.5}),
            Lever(lever="front_door_workers", start=start, ramp_months=3, mechanism={"extra_workers": 4}),
            Lever(lever="edge_of_care", start=start, ramp_months=3, mechanism={"divert_share": 0.2}),
        ], params)
    short, taken = _trace_of(params, snapshot, leaves=True, mechanisms=mech)
    general, none = _trace_of(params, snapshot, leaves=False, mechanisms=mech)
    assert not none
    assert len(taken) > (4000 if front_door == "keeps up" else 100)  # the short path was taken
    pd.testing.assert_frame_equal(short.pop("log"), general.pop("log"))
    assert short == general
    if front_door != "keeps up":  # contacts waited for screening
        assert len(short["teams"]["front_door"][0]) > (1000 if front_door == "overwhelmed" else 100)
