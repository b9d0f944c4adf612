"""Levers: ramp arithmetic, the checks on a lever as written, and what each lever does to a run.

Every comparison is paired: a scenario and the baseline share seed and replication (common random
numbers), so a lever at zero intensity must give the baseline's event log row for row, a lever
must leave the log untouched before its start date, and each lever's effect on its own mechanism
is judged by the 95% interval of the paired differences over a few replications.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.levers import LEVERS, Lever, LeverError, Mechanisms, Ramp, build_mechanisms
from sim.measures import summary_by_fy
from sim.runner import run_replication

START = dt.date(2021, 4, 1)          # the shipped snapshot's date and every horizon's start here
LEVER_START = dt.date(2021, 10, 1)   # levers of the effect tests start half way through year 1
T_START = float((LEVER_START - START).days)
FY = "2022/23"                       # a whole year at full effect (ramps of 3 months)
SEED = 4242
REPS = 3
DAYS_PER_MONTH = 30.44

# A strong intensity for every lever, so that a few paired replications show its effect.
STRONG = {
    "edge_of_care": dict(mechanism={"divert_share": 0.5}),
    "kinship_to_sgo": dict(mechanism={"sgo_share": 1.0}),
    "reunification": dict(mechanism={"reunification_rate_per_year": 0.3}),
    "faster_permanence": dict(mechanism={"weeks_shorter": 20}),
    "fewer_repeat_plans": dict(mechanism={"repeat_plan_reduction": 0.8}),
    "shorter_plans": dict(mechanism={"cin_weeks_shorter": 10, "cp_weeks_shorter": 8}),
    "foster_carers": dict(mechanism={"extra_joiners_per_year": 40}),
    "block_beds": dict(mechanism={"extra_beds": 10}),
    "carer_support": dict(mechanism={"breakdown_reduction": 0.8}),
    "carer_retention": dict(mechanism={"leaving_reduction": 0.8}),
    "front_door_workers": dict(mechanism={"extra_workers": 6}),
    "unit_cost": dict(mechanism={"weekly_change_pct": 10.0}, placement_type="foster_ifa"),
    "price_growth": dict(mechanism={"price_growth_per_year": 0.10}),
}
PLACEMENT_ONLY = ("foster_carers", "block_beds", "carer_support")
DETERMINISTIC = ("front_door_workers", "unit_cost", "price_growth")  # exact checks: one replication is enough
COST_MEASURES = ("cost_placements", "cost_social_work", "cost_allowances", "cost_total",
                 "placement_weekly_cost_average", "price_index")


def lever(name: str, start: dt.date = LEVER_START, ramp_months: float = 3.0, **kw) -> Lever:
    spec = copy.deepcopy(STRONG[name])
    spec.update(kw)
    return Lever(lever=name, start=start, ramp_months=ramp_months, **spec)


def zero_lever(name: str) -> Lever:
    keys = LEVERS[name]["mechanism"]
    return Lever(lever=name, start=dt.date(2021, 5, 1), ramp_months=2, mechanism={k: 0.0 for k in keys},
                 placement_type=STRONG[name].get("placement_type"))


def value(summary: pd.DataFrame, measure: str, fy: str = FY) -> float:
    if "+" in measure:  # a sum of measures
        return sum(value(summary, m, fy) for m in measure.split("+"))
    s = summary[(summary["financial_year"] == fy) & (summary["measure"] == measure)]["value"]
    assert len(s) == 1, (measure, fy)
    return float(s.iloc[0])


# ------------------------------------------------------------------------------ lever specs
def test_every_lever_has_a_strong_case_here():
    assert set(STRONG) == set(LEVERS)


def test_ramp_values_at_start_mid_full_and_after_end():
    lv = Lever(lever="edge_of_care", start=dt.date(2022, 4, 1), ramp_months=12, end=dt.date(2024, 4, 1),
               mechanism={"divert_share": 0.3})
    r = Ramp(lv, START)
    a = float((dt.date(2022, 4, 1) - START).days)   # 365
    b = a + 12 * DAYS_PER_MONTH                      # full effect
    e = float((dt.date(2024, 4, 1) - START).days)   # switched off
    assert (r.a, r.b, r.e) == (a, pytest.approx(b), e)
    assert r(0.0) == 0.0 and r(a - 1e-9) == 0.0
    assert r(a) == 0.0                       # starts from nothing
    assert r(a + 0.25 * (b - a)) == pytest.approx(0.25)
    assert r((a + b) / 2) == pytest.approx(0.5)
    assert r(b) == 1.0 and r(b + 100) == 1.0 and r(e - 1e-9) == 1.0
    assert r(e) == 0.0 and r(e + 1000) == 0.0
    # the yearly average used for costs: the first year of the ramp averages a half
    assert r.mean_over(a, b) == pytest.approx(0.5)
    assert r.mean_over(b, e) == pytest.approx(1.0)
    assert r.mean_over(0.0, a) == 0.0


def test_ramp_of_zero_months_is_a_step_and_no_end_lasts_for_ever():
    lv = Lever(lever="block_beds", start=dt.date(2021, 7, 1), ramp_months=0, mechanism={"extra_beds": 2})
    r = Ramp(lv, START)
    assert r(90.0 - 1e-9) == 0.0 and r(91.0) == 1.0 and r(1e6) == 1.0
    assert r.e == float("inf")


def test_mechanisms_sum_levers_on_one_knob_and_bound_their_full_effect(params):
    lvs = [Lever(lever="edge_of_care", start=dt.date(2021, 4, 1), ramp_months=12, mechanism={"divert_share": 0.2}),
           Lever(lever="edge_of_care", start=dt.date(2022, 4, 1), ramp_months=0, mechanism={"divert_share": 0.1})]
    m = build_mechanisms(lvs, params)
    assert m.bound("care_entry_divert") == pytest.approx(0.3)
    assert m.value("care_entry_divert", 6 * DAYS_PER_MONTH) == pytest.approx(0.1)
    assert m.value("care_entry_divert", 400.0) == pytest.approx(0.3)
    assert m.active("care_entry_divert") and not m.active("kinship_sgo_share")
    assert Mechanisms().value("kinship_sgo_share", 10.0) == 0.0  # a term no lever sets here is at zero


@pytest.mark.parametrize("read", ["value", "bound", "active", "start", "term"])
def test_a_term_no_lever_declares_raises(read):
    args = ("care_entry_diverts", 10.0) if read == "value" else ("care_entry_diverts",)
    with pytest.raises(LeverError, match="unknown model term 'care_entry_diverts'"):
        getattr(Mechanisms(), read)(*args)


def test_beds_and_workers_arrive_one_at_a_time_over_the_ramp_and_go_at_the_end(params):
    lv = Lever(lever="block_beds", start=dt.date(2022, 4, 1), ramp_months=10, end=dt.date(2024, 4, 1),
               mechanism={"extra_beds": 4})
    m = build_mechanisms([lv], params)
    a, span = 365.0, 10 * DAYS_PER_MONTH
    assert [(round(d, 6), p, n) for d, p, n in m.bed_changes] == [
        (round(a + span * i / 4, 6), "residential_block", 1) for i in (1, 2, 3, 4)] + [(1096.0, "residential_block", -4)]
    fd = Lever(lever="front_door_workers", start=dt.date(2021, 4, 1), ramp_months=0, mechanism={"extra_workers": 3})
    assert build_mechanisms([fd], params).team_changes == [(0.0, "front_door", 1)] * 3


def test_a_lever_stated_as_a_target_must_be_resolved_before_it_is_built(params):
    lv = Lever(lever="edge_of_care", start=LEVER_START, target={"fewer_care_entries_per_year": 35})
    with pytest.raises(LeverError, match="target"):
        build_mechanisms([lv], params)
    found = lv.with_intensity(0.25)
    assert found.mechanism == {"divert_share": 0.25} and found.target == {}


BAD = [
    (dict(lever="edge_of_cake", mechanism={"divert_share": 0.1}), "unknown lever"),
    (dict(lever="edge_of_care", mechanism={"divert_rate": 0.1}), "unknown mechanism"),
    (dict(lever="edge_of_care", target={"more_care_entries": 3}), "unknown target"),
    (dict(lever="edge_of_care", ramp_months=12, end=dt.date(2022, 6, 1), mechanism={"divert_share": 0.1}),
     "switched off"),
    (dict(lever="edge_of_care", end=dt.date(2021, 9, 1), mechanism={"divert_share": 0.1}), "not after start"),
    (dict(lever="edge_of_care", end=dt.date(2021, 10, 1), mechanism={"divert_share": 0.1}), "not after start"),
    (dict(lever="foster_carers", mechanism={"extra_joiners_per_year": -3}), "negative"),
    (dict(lever="foster_carers", target={"net_extra_carers_per_year": -11}), "negative"),
    (dict(lever="block_beds", mechanism={"extra_beds": -2}), "negative"),
    (dict(lever="edge_of_care", mechanism={"divert_share": 1.2}), "between 0 and 1"),
    (dict(lever="carer_support", mechanism={"breakdown_reduction": -0.1}), "between 0 and 1"),
    (dict(lever="edge_of_care", mechanism={"divert_share": 0.1}, target={"fewer_care_entries_per_year": 3}),
     "not both"),
    (dict(lever="edge_of_care"), "give a mechanism or a target"),
    (dict(lever="faster_permanence", target={"weeks_shorter": 5}), "unknown target"),
    (dict(lever="unit_cost", mechanism={"weekly_change_pct": 5}, placement_type="castle"), "placement_type"),
    (dict(lever="edge_of_care", mechanism={"divert_share": 0.1}, ramp_months=-1), "greater than or equal"),
    (dict(lever="edge_of_care", mechanism={"divert_share": 0.1}, colour="red"), "extra"),
]


@pytest.mark.parametrize("spec,message", BAD, ids=[m + f"-{i}" for i, (_, m) in enumerate(BAD)])
def test_bad_lever_specs_are_rejected_with_a_plain_reason(spec, message):
    spec = {"start": LEVER_START, **spec}
    with pytest.raises(ValidationError) as err:
        Lever(**spec)
    assert message.lower() in str(err.value).lower()


def test_negative_changes_are_allowed_where_they_mean_something():
    Lever(lever="unit_cost", start=LEVER_START, mechanism={"weekly_change_pct": -15})
    Lever(lever="price_growth", start=LEVER_START, mechanism={"price_growth_per_year": -0.01})
    # the ramp may end exactly when the lever is switched off
    Lever(lever="edge_of_care", start=dt.date(2022, 4, 1), ramp_months=0, end=dt.date(2022, 4, 2),
          mechanism={"divert_share": 0.1})


# ------------------------------------------------------------------------------- simulation
@pytest.fixture(scope="module")
def params(with_years, build, _baseline_dict_master):
    d = with_years(_baseline_dict_master, 2)
    # one price growth for every placement and no fixed costs: the cost levers' hand checks below
    # read the baseline's one `price_index` (growth by type and fixed costs: test_costs.py)
    d["costs"]["price_growth_by_type"] = {}
    d["costs"]["high_cost_share_growth_per_year"] = 0.0
    d["costs"]["fixed_costs"] = {}
    return build(d)


# The effect runs: baseline and each lever, REPS paired replications over two years (levers from
# 1 October 2021); and the start-date runs: one replication to just after a late start (1 October
# 2022), to compare the 18 months before it. All in two processes.
LATE_START = dt.date(2022, 10, 1)
T_LATE = float((LATE_START - START).days)
_SHARED: dict = {}

# Before e287f10 four levers failed this (found by these tests): `Pathway._shorten` cut plans and care
# periods that would end after the start to end before it (faster_permanence, shorter_plans), and
# `_placements_until` redrew placement move times at the 16th birthday and woke children for candidate
# exits before the start (kinship_to_sgo, reunification).


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with categorical columns as strings (categories differ when a lever adds an event kind)."""
    df = df.reset_index(drop=True)
    return df.astype({c: str for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})


def _run(kind, name, rep):
    params, snapshot = _SHARED["params"], _SHARED["snapshot"]
    if kind == "late":
        params = params.model_copy(update={"horizon": params.horizon.model_copy(
            update={"end_date": LATE_START + dt.timedelta(days=30)})})
        mech = build_mechanisms([lever(name, start=LATE_START)], params) if name else None
        ev = run_replication(params, SEED, rep, snapshot=snapshot, mechanisms=mech).events
        return {"pre": _plain(ev[ev["time"] < T_LATE])}
    mech = build_mechanisms([lever(name)], params) if name else None
    trace = name in (None, "front_door_workers")
    r = run_replication(params, SEED, rep, snapshot=snapshot, mechanisms=mech, trace=trace)
    ev = r.events
    out = {"summary": summary_by_fy(r)}
    event = ev["event"].astype(str)
    if name is None or name in PLACEMENT_ONLY:
        keep = event.isin(["contact", "referral", "contact_closed"]) | ((event == "care_entry") & (ev["detail"] == "direct"))
        out["unrelated"] = _plain(ev[keep])
    in_fy = (ev["time"] >= 365.0) & (ev["time"] < 730.0)
    out["foster_breakdowns"] = int((in_fy & (event == "placed") & ev["detail"].str.startswith("breakdown")
                                    & ev["from_placement"].astype(str).isin(["foster_inhouse", "foster_ifa"])).sum())
    out["breakdowns_prevented"] = int((event == "breakdown_prevented").sum())
    out["lever_sgo"] = _plain(ev[event == "lever_sgo"][["time", "child"]])
    cap = r.capacity
    for res in ("residential_block", "front_door"):
        c = cap[cap["resource"] == res][["time", "capacity"]]
        c = c[c["capacity"].ne(c["capacity"].shift())]  # the capacity's changes only
        out[f"cap_{res}"] = c.reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def all_runs(params, snapshot):
    """(kind, lever or None, rep) -> reduced outputs of one replication."""
    _SHARED.update(params=params, snapshot=snapshot)
    jobs = [("effect", n, r) for n in (None, *LEVERS) for r in range(1 if n in DETERMINISTIC else REPS)]
    jobs += [("late", n, 0) for n in (None, *LEVERS)]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {job: pool.submit(_run, *job) for job in jobs}
        return {job: f.result() for job, f in futures.items()}


@pytest.fixture(scope="module")
def runs(all_runs):
    """(lever or None, rep) -> outputs of the effect runs."""
    return {(n, r): v for (kind, n, r), v in all_runs.items() if kind == "effect"}


def paired(runs, ci, name, measure, fy=FY):
    """Mean and 95% interval of scenario minus baseline, replication by replication."""
    d = [value(runs[(name, r)]["summary"], measure, fy) - value(runs[(None, r)]["summary"], measure, fy)
         for r in range(REPS)]
    return ci(d)


def paired_count(runs, ci, name, key):
    return ci([runs[(name, r)][key] - runs[(None, r)][key] for r in range(REPS)])


@pytest.fixture(scope="module")
def zero_base(params, snapshot):
    p1 = params.model_copy(update={"horizon": params.horizon.model_copy(update={"end_date": dt.date(2022, 3, 31)})})
    return p1, run_replication(p1, SEED, 0, snapshot=snapshot, trace=True)


@pytest.mark.parametrize("name", list(LEVERS))
def test_a_lever_at_zero_intensity_reproduces_the_baseline_exactly(name, zero_base, snapshot):
    p1, base = zero_base
    mech = build_mechanisms([zero_lever(name)], p1)
    r = run_replication(p1, SEED, 0, snapshot=snapshot, mechanisms=mech, trace=True)
    pd.testing.assert_frame_equal(r.events, base.events)
    pd.testing.assert_frame_equal(r.capacity, base.capacity)
    pd.testing.assert_frame_equal(r.team_waits, base.team_waits)
    pd.testing.assert_frame_equal(r.allowances, base.allowances)
    s, sb = summary_by_fy(r), summary_by_fy(base)
    if name == "price_growth":  # 0 here means no growth at all: prices differ, nothing else does
        keep = ~s["measure"].isin(COST_MEASURES)
        s, sb = s[keep], sb[keep]
    pd.testing.assert_frame_equal(s, sb)


def test_a_price_growth_lever_at_the_baseline_rate_changes_nothing(baseline_run, short_params):
    # every placement type at the one baseline rate (a type with a rate of its own is moved to the
    # lever's rate too: test_costs.py)
    one_rate = short_params.model_copy(update={"costs": short_params.costs.model_copy(update={"price_growth_by_type": {}})})
    g = short_params.costs.price_growth_per_year
    lv = Lever(lever="price_growth", start=START, ramp_months=6, mechanism={"price_growth_per_year": g})
    run = dataclasses.replace(baseline_run, params=one_rate)
    s = summary_by_fy(dataclasses.replace(run, mechanisms=build_mechanisms([lv], one_rate)))
    sb = summary_by_fy(run)
    np.testing.assert_allclose(s["value"], sb["value"], rtol=1e-12)


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
@pytest.mark.parametrize("name", list(LEVERS))
def test_before_its_start_a_lever_leaves_the_event_log_untouched(name, all_runs):
    base, scen = all_runs[("late", None, 0)]["pre"], all_runs[("late", name, 0)]["pre"]
    assert len(base) > 50_000
    pd.testing.assert_frame_equal(scen, base, obj=f"{name}: rows before {LATE_START}")


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
@pytest.mark.parametrize("name", PLACEMENT_ONLY)
def test_a_placement_lever_leaves_contacts_referrals_and_direct_entries_alone(name, runs):
    for r in range(REPS):
        u, ub = runs[(name, r)]["unrelated"], runs[(None, r)]["unrelated"]
        assert len(ub) > 10_000
        pd.testing.assert_frame_equal(u, ub, obj=f"{name} rep {r}")


# Each lever moves its own mechanism: (measure, +1 up / -1 down) in the full-effect year.
EFFECTS = [
    ("edge_of_care", "care_entries", -1),
    ("edge_of_care", "edge_of_care_diversions", +1),
    ("edge_of_care", "cic_average", -1),
    # kinship_to_sgo acts on kinship entries, whose SGOs come about 1.5 years later: beyond these
    # two-year runs (its SGOs, year after year, are checked in test_repeat_plans_and_carers.py)
    ("reunification", "care_exits_reunification", +1),
    # faster_permanence: its weeks, measured on weeks_to_permanence_average, in WEEKS below
    ("fewer_repeat_plans", "cin_plan_starts_repeat", -1),
    ("fewer_repeat_plans", "cp_plan_starts_repeat", -1),
    ("shorter_plans", "cin_plan_average_weeks", -1),
    ("shorter_plans", "cp_plan_average_weeks", -1),
    ("foster_carers", "foster_carers_at_year_end", +1),
    ("foster_carers", "cic_foster_inhouse_average", +1),
    ("foster_carers", "cic_foster_ifa_average", -1),
    ("block_beds", "cic_residential_block_average", +1),
    # the spot market is bounded: block beds take children who would be in a spot home or, when
    # that market is full, waiting in an emergency placement
    ("block_beds", "cic_residential_spot_average+children_in_emergency_placements_average", -1),
    ("carer_retention", "foster_carers_at_year_end", +1),
]


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
@pytest.mark.parametrize("name,measure,sign", EFFECTS, ids=[f"{n}-{m}" for n, m, _ in EFFECTS])
def test_each_lever_moves_its_own_mechanism_the_right_way(name, measure, sign, runs, ci):
    mean, lo, hi = paired(runs, ci, name, measure)
    assert (lo > 0) if sign > 0 else (hi < 0), f"{name}: {measure} changed by {mean:.3g} ({lo:.3g} to {hi:.3g})"


# (lever, measure, weeks stated, least share of them the average of every plan or period must lose):
# shorter plans cut only plans ending in closure or step-down (85% of CIN plans, 84% of CP plans), at
# most half of each plan's length; faster permanence cuts every permanence exit
WEEKS = [("shorter_plans", "cin_plan_average_weeks", 10, 0.6), ("shorter_plans", "cp_plan_average_weeks", 8, 0.6),
         ("faster_permanence", "weeks_to_permanence_average", 20, 0.8)]


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
@pytest.mark.parametrize("name,measure,weeks,least", WEEKS, ids=[m for _, m, _, _ in WEEKS])
def test_weeks_shorter_takes_about_that_many_weeks_off_the_average(name, measure, weeks, least, runs, ci):
    """At full effect the average of what ends in the year drops by about the stated weeks: at
    least `least` of them (plans heading into care are not cut; short cases lose at most half their
    length) and not more (within the paired interval)."""
    mean, lo, hi = paired(runs, ci, name, measure)
    assert mean <= -least * weeks, f"{measure}: {mean:.2f} weeks ({lo:.2f} to {hi:.2f}), stated {-weeks}"
    assert mean >= -weeks * 1.1, f"{measure}: {mean:.2f} weeks, more than the {weeks} stated"


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_shorter_plans_do_not_add_children_in_care(runs, ci):
    """Only plans ending in closure or step-down are cut, so no child reaches care sooner: care
    entries and children in care stay the baseline's (paired; a few returns come earlier)."""
    for measure, most in (("care_entries", 2.0), ("cic_average", 2.0)):
        mean, lo, hi = paired(runs, ci, "shorter_plans", measure)
        assert mean <= most, f"{measure}: {mean:+.2f} ({lo:.2f} to {hi:.2f})"


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_fewer_repeat_plans_leaves_care_entries_to_edge_of_care(runs, ci):
    """Repeat plans heading into S47 or care still start, so care entries barely move while repeat
    plans fall: the lever's care avoidance is under a tenth of its repeat plans avoided."""
    d_plans = [sum(value(runs[("fewer_repeat_plans", r)]["summary"], m) - value(runs[(None, r)]["summary"], m)
                   for m in ("cin_plan_starts_repeat", "cp_plan_starts_repeat")) for r in range(REPS)]
    d_care = [value(runs[("fewer_repeat_plans", r)]["summary"], "care_entries")
              - value(runs[(None, r)]["summary"], "care_entries") for r in range(REPS)]
    assert np.mean(d_plans) < -20
    assert abs(np.mean(d_care)) < 0.1 * abs(np.mean(d_plans)), (np.mean(d_care), np.mean(d_plans))
    avoided = [value(runs[("fewer_repeat_plans", r)]["summary"], "repeat_plans_avoided") for r in range(REPS)]
    assert min(avoided) > 0 and all(value(runs[(None, r)]["summary"], "repeat_plans_avoided") == 0 for r in range(REPS))


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_kinship_to_sgo_turns_kinship_entries_into_sgos_not_the_stock(runs):
    """The lever acts on children entering kinship care after it starts (at entry), never on the
    kinship stock: every child whose route it changed entered care after its start."""
    for r in range(REPS):
        ev = runs[("kinship_to_sgo", r)]["lever_sgo"]
        assert len(ev) > 0 and (ev["time"] >= T_START).all()


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_fewer_repeat_plans_cuts_repeat_plan_starts(runs, ci):
    d = []
    for r in range(REPS):
        s, b = runs[("fewer_repeat_plans", r)]["summary"], runs[(None, r)]["summary"]
        d.append(sum(value(s, m) - value(b, m) for m in ("cin_plan_starts_repeat", "cp_plan_starts_repeat")))
    mean, lo, hi = ci(d)
    assert hi < 0, (mean, lo, hi)


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_carer_support_prevents_foster_breakdowns(runs, ci):
    mean, lo, hi = paired_count(runs, ci, "carer_support", "foster_breakdowns")
    assert hi < 0, (mean, lo, hi)
    assert all(runs[("carer_support", r)]["breakdowns_prevented"] > 0 for r in range(REPS))
    assert all(runs[(None, r)]["breakdowns_prevented"] == 0 for r in range(REPS))


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_block_beds_add_their_beds_to_the_block_capacity(runs, params):
    base = params.capacity.residential_block_beds
    for r in range(REPS):
        cb = runs[(None, r)]["cap_residential_block"]
        assert list(cb["capacity"]) == [base]
        c = runs[("block_beds", r)]["cap_residential_block"]
        assert list(c["capacity"]) == [base + i for i in range(11)]
        # opened one at a time over the 3-month ramp from the start date
        assert c["time"].iloc[1] > T_START and c["time"].iloc[-1] == pytest.approx(T_START + 3 * DAYS_PER_MONTH)


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_front_door_workers_raise_the_front_door_capacity(runs, params):
    team = dict(params.capacity.teams)["front_door"]
    extra = 6
    for r in range(1):
        cb, c = runs[(None, r)]["cap_front_door"], runs[("front_door_workers", r)]["cap_front_door"]

        def at(frame, t):
            return float(frame[frame["time"] <= t]["capacity"].iloc[-1])

        assert at(c, T_START - 1) == at(cb, T_START - 1) == int(team.workers * team.caseload_limit)
        end = 729.9
        # the extra workers stay on top of the establishment's own change (Sept 2022)
        assert at(c, end) - at(cb, end) == int(extra * team.caseload_limit)
        assert at(cb, end) > at(cb, T_START - 1)


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_unit_cost_changes_the_cost_of_its_placement_type_only(runs, params):
    """Hand check: +10% on IFA foster care adds 10% of the IFA placement-days' cost, at full effect."""
    weekly = params.costs.placement_weekly["foster_ifa"]
    for r in range(1):
        s, b = runs[("unit_cost", r)]["summary"], runs[(None, r)]["summary"]
        nonc = ~b["measure"].isin(COST_MEASURES)
        pd.testing.assert_frame_equal(s[nonc], b[nonc])  # nothing else in the run moves
        for fy, share in ((FY, 1.0), ("2021/22", None)):
            ifa_days = value(b, "cic_foster_ifa_average", fy) * value(b, "days_in_horizon", fy)
            full = 0.10 * ifa_days / 7.0 * weekly * value(b, "price_index", fy)
            diff = value(s, "cost_placements", fy) - value(b, "cost_placements", fy)
            if share is None:  # ramp from day 183 to 274.3: averages (365-274.32+91.32/2)/365 of the year
                share = (365 - (T_START + 3 * DAYS_PER_MONTH) + 3 * DAYS_PER_MONTH / 2) / 365
                assert diff == pytest.approx(share * full, rel=0.02)
            else:
                assert diff == pytest.approx(full, rel=1e-9)
            for m in ("cost_social_work", "cost_allowances", "price_index"):
                assert value(s, m, fy) == value(b, m, fy)


def test_unit_cost_without_a_placement_type_scales_every_placement(baseline_run, short_params):
    lv = Lever(lever="unit_cost", start=START, ramp_months=0, mechanism={"weekly_change_pct": -20})
    s = summary_by_fy(dataclasses.replace(baseline_run, mechanisms=build_mechanisms([lv], short_params)))
    b = summary_by_fy(baseline_run)
    for fy in ("2021/22", "2022/23"):
        assert value(s, "cost_placements", fy) == pytest.approx(0.8 * value(b, "cost_placements", fy), rel=1e-12)
        assert value(s, "cost_social_work", fy) == value(b, "cost_social_work", fy)


@pytest.mark.slow  # shares the effect runs (about 45 s on 2 cores)
def test_price_growth_replaces_the_yearly_rate_from_its_start(runs, params):
    g = params.costs.price_growth_per_year
    for r in range(1):
        s, b = runs[("price_growth", r)]["summary"], runs[(None, r)]["summary"]
        assert value(b, "price_index", FY) == pytest.approx(1 + g, rel=1e-12)
        assert value(s, "price_index", "2021/22") == value(b, "price_index", "2021/22") == 1.0
        assert value(s, "price_index", FY) == pytest.approx(1.10, rel=1e-12)
        for m in ("cost_placements", "cost_social_work", "cost_allowances", "cost_total"):
            assert value(s, m, FY) == pytest.approx(value(b, m, FY) * 1.10 / (1 + g), rel=1e-9)
            assert value(s, m, "2021/22") == value(b, m, "2021/22")


def test_a_retired_mechanism_key_is_refused_with_what_to_write_instead():
    import pytest

    from sim.levers import Lever

    for lever, old, new in (("kinship_to_sgo", "sgo_rate_per_year", "sgo_share"),
                            ("fewer_repeat_plans", "recontact_reduction", "repeat_plan_reduction")):
        with pytest.raises(ValueError) as err:
            Lever(lever=lever, start="2022-04-01", mechanism={old: 0.3})
        assert f"{old} is no longer a mechanism key" in str(err.value) and new in str(err.value)
