"""Issue 13 (levers that mean what the council means), the model's side: repeat CP plans near
England's share, the fewer-repeat-plans lever able to reach the council's 230 a year, faster
permanence delivering its weeks, and children of a foster carer who resigns moving on in time.

Fixed seeds; scenario against baseline with common random numbers (same seed and replication);
tolerances from the replications' spread (t intervals).
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from sim.levers import Lever, build_mechanisms
from sim.measures import summary_by_fy
from sim.pathway import Pathway
from sim.runner import run_replication

SEED = 1313
_SHARED: dict = {}


def _value(summary: pd.DataFrame, measure: str, fy: str) -> float:
    s = summary[(summary["financial_year"] == fy) & (summary["measure"] == measure)]["value"]
    assert len(s) == 1, (measure, fy)
    return float(s.iloc[0])


def _run(kind: str, rep: int) -> pd.DataFrame:
    params, snapshot = _SHARED[kind.split(":")[0] + "_params"], _SHARED["snapshot"]
    levers = _SHARED["levers"].get(kind)
    mech = build_mechanisms(levers, params) if levers else None
    return summary_by_fy(run_replication(params, SEED, rep, snapshot=snapshot, mechanisms=mech))


# the council's programme dates (experiments/business_case.yaml): from November 2022, 24 months' ramp
REPEAT_AT_BOUND = [Lever(lever="fewer_repeat_plans", start=dt.date(2022, 11, 1), ramp_months=24,
                         mechanism={"repeat_plan_reduction": 1.0})]
SGO_AT_BOUND = [Lever(lever="kinship_to_sgo", start=dt.date(2022, 11, 1), ramp_months=24,
                     mechanism={"sgo_share": 1.0})]
PERMANENCE_5_WEEKS = [Lever(lever="faster_permanence", start=dt.date(2021, 10, 1), ramp_months=3,
                            mechanism={"weeks_shorter": 5.0})]
LONG_REPS, SHORT_REPS = 3, 4


@pytest.fixture(scope="module")
def summaries(with_years, build, _baseline_dict_master, snapshot):
    """(kind, rep) -> summary_by_fy: the nine-year baseline and the repeat-plans lever at its
    bound; a three-year baseline and faster permanence at 5 weeks."""
    _SHARED.update(long_params=build(_baseline_dict_master), short_params=build(with_years(_baseline_dict_master, 3)),
                   snapshot=snapshot,
                   levers={"long:repeat": REPEAT_AT_BOUND, "long:sgo": SGO_AT_BOUND,
                           "short:permanence": PERMANENCE_5_WEEKS})
    jobs = [(k, r) for k in ("long", "long:repeat", "long:sgo") for r in range(LONG_REPS)]
    jobs += [(k, r) for k in ("short", "short:permanence") for r in range(SHORT_REPS)]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {job: pool.submit(_run, *job) for job in jobs}
        return {job: f.result() for job, f in futures.items()}


@pytest.mark.slow  # nine-year runs (about a minute on 2 cores with the Python source)
def test_the_baselines_repeat_cp_share_is_in_englands_range(summaries, ci):
    """Second or subsequent CP plans: England about 23-24% of CP plans started (DfE, 2022/23 and
    2023/24), "a fifth to a quarter" in recent years. Judged over 2023/24 to 2029/30, when the
    forecast's own returns make the share (the first years lean on the snapshot's history)."""
    years = ["2023/24", "2024/25", "2025/26", "2026/27", "2027/28", "2028/29", "2029/30"]
    shares = [np.mean([_value(summaries[("long", r)], "cp_plan_starts_repeat_share", y) for y in years])
              for r in range(LONG_REPS)]
    mean, lo, hi = ci(shares)
    assert lo <= 0.25 and hi >= 0.20 and 0.18 <= mean <= 0.27, (mean, lo, hi)


@pytest.mark.slow  # nine-year runs (about a minute on 2 cores with the Python source)
def test_a_repeat_plan_target_of_230_is_reachable_on_the_defaults(summaries, ci):
    """The council's 141 fewer repeat CIN and 89 fewer repeat CP plans a year: at the lever's upper
    bound (every repeat plan that would end in closure or step-down avoided) the reduction in
    2029/30 exceeds 230, so a target search can meet it within the bound."""
    d = [sum(_value(summaries[("long", r)], m, "2029/30") - _value(summaries[("long:repeat", r)], m, "2029/30")
             for m in ("cin_plan_starts_repeat", "cp_plan_starts_repeat")) for r in range(LONG_REPS)]
    mean, lo, hi = ci(d)
    assert lo > 230, (mean, lo, hi)


@pytest.mark.slow  # nine-year runs
def test_kinship_to_sgo_gives_extra_sgos_year_after_year_from_the_flow(summaries, ci):
    """Extra SGOs come from children entering kinship care after the lever starts, so they keep
    coming: the last two years give at least 60% of the first two at full effect (a drain of the
    kinship stock would fall away), and every one of those years gives some."""
    def extra(y):
        return np.mean([_value(summaries[("long:sgo", r)], "care_exits_sgo", y)
                        - _value(summaries[("long", r)], "care_exits_sgo", y) for r in range(LONG_REPS)])
    first, last = [extra(y) for y in ("2025/26", "2026/27")], [extra(y) for y in ("2028/29", "2029/30")]
    assert min(first + last) > 0, (first, last)
    assert np.mean(last) >= 0.6 * np.mean(first), (first, last)


@pytest.mark.slow
def test_faster_permanence_takes_at_least_4_of_its_5_weeks_off(summaries, ci):
    """Faster permanence at 5 weeks, measured by the model's own weeks to permanence over a year at
    full effect (2023/24), paired with the baseline: at least 4 weeks off, and not more than 5.5."""
    d = [_value(summaries[("short:permanence", r)], "weeks_to_permanence_average", "2023/24")
         - _value(summaries[("short", r)], "weeks_to_permanence_average", "2023/24") for r in range(SHORT_REPS)]
    mean, lo, hi = ci(d)
    assert -5.5 <= mean <= -4.0, (mean, lo, hi)


def test_a_resigned_carers_children_are_all_placed_elsewhere_within_the_stated_weeks(short_params, snapshot):
    """Every child with a foster carer when the carer resigns has left that carer (a move to another
    placement, or leaving care) within the latest of `move_after_resignation_weeks`."""
    import os
    import subprocess
    import sys

    import sim.core

    if sim.core.kind() == "compiled":
        # the compiled Pathway's methods cannot be replaced to watch resignations: run this check
        # on the Python source, which gives the same results to the last digit (the back-test)
        name = "test_a_resigned_carers_children_are_all_placed_elsewhere_within_the_stated_weeks"
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{__file__}::{name}"],
                           env={**os.environ, "CAREPATH_PURE_PYTHON": "1"}, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout[-3000:]
        return
    lo, hi = short_params.capacity.foster_carers.move_after_resignation_weeks
    model = Pathway(short_params, SEED, 0, snapshot=snapshot)
    resigned: list[tuple[float, int]] = []  # (time, child)
    carer_left = model._carer_left

    def record(carer):
        resigned.extend((model.env.now, c.id) for c in carer.placed)
        carer_left(carer)

    model._carer_left = record
    model.run()
    ev = model.log.to_frame()
    model.close()
    assert len(resigned) > 20
    ev = ev[ev["event"].astype(str).isin(["placed", "placement_end"])]
    by_child = {c: g["time"].to_numpy() for c, g in ev.groupby("child", observed=True)}
    late, moved_in_window = [], 0
    for t, child in resigned:
        if t + hi * 7 >= short_params.horizon.days:  # the deadline falls after the run
            continue
        after = by_child.get(child, np.array([]))
        after = after[after > t]
        if not len(after) or after[0] > t + hi * 7 + 1e-6:
            late.append((t, child, after[:1]))
        elif after[0] >= t + lo * 7 - 1e-6:
            moved_in_window += 1
    assert not late, late[:5]
    assert moved_in_window > 10
