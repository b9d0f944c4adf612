"""The one replications API (`sim.replications.run_jobs`): each job once, scenarios that change
only costs reuse their simulation, the same numbers in any order, on any number of workers,
and a cache that is read before anything runs."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sim import replications
from sim.levers import Lever
from sim.replications import Job, acts_on_costs_only, run_group, run_jobs, run_replications

START = dt.date(2021, 7, 1)
COST = (Lever(lever="unit_cost", start=START, ramp_months=0, mechanism={"weekly_change_pct": -10}),)
PRICES = (Lever(lever="price_growth", start=START, ramp_months=0, mechanism={"price_growth_per_year": 0.06}),)
CARERS = (Lever(lever="foster_carers", start=START, ramp_months=3, mechanism={"extra_joiners_per_year": 12}),)


class DictCache:
    def __init__(self):
        self.d, self.gets, self.puts = {}, 0, 0

    def get(self, k):
        self.gets += 1
        return self.d.get(k)

    def put(self, k, v):
        self.puts += 1
        self.d[k] = v


@pytest.fixture
def count_simulations(monkeypatch):
    calls = []
    real = replications.run_replication

    def counted(params, seed, rep, **kw):
        calls.append(rep)
        return real(params, seed, rep, **kw)

    monkeypatch.setattr(replications, "run_replication", counted)
    return calls


def test_cost_levers_are_recognised_from_the_catalogue():
    assert acts_on_costs_only(COST[0]) and acts_on_costs_only(PRICES[0])
    assert not acts_on_costs_only(CARERS[0])


def test_cost_only_scenarios_share_the_baselines_simulation(short_params, count_simulations):
    jobs = [Job(name, rep, levers) for rep in (0, 1)
            for name, levers in (("baseline", ()), ("cheaper_spot", COST), ("prices", PRICES), ("both", COST + PRICES))]
    res = run_jobs(short_params, 7, None, jobs, progress=False)
    assert sorted(count_simulations) == [0, 1]          # one simulation a replication, not four
    assert len(res) == 8
    for rep in (0, 1):
        base, cheap = res[("baseline", rep)]["summary"], res[("cheaper_spot", rep)]["summary"]
        cost = lambda s: s[s["measure"] == "cost_placements"]["value"].sum()  # noqa: E731
        assert cost(cheap) < cost(base)
        # what happens to children is the same: the stocks are identical
        pd.testing.assert_frame_equal(res[("baseline", rep)]["stocks"], res[("both", rep)]["stocks"])


def test_a_shared_simulation_gives_what_its_own_simulation_gives(short_params):
    shared = run_group(short_params, 7, None, [Job("baseline", 1), Job("both", 1, COST + PRICES)])[1]
    alone = run_group(short_params, 7, None, [Job("both", 1, COST + PRICES)])[0]
    pd.testing.assert_frame_equal(shared["summary"], alone["summary"])
    pd.testing.assert_frame_equal(shared["stocks"], alone["stocks"])


def test_a_lever_that_changes_what_happens_gets_its_own_simulation(short_params, count_simulations):
    run_jobs(short_params, 7, None, [Job("baseline", 0), Job("carers", 0, CARERS), Job("carers_cheap", 0, CARERS + COST)],
             progress=False)
    assert count_simulations == [0, 0]


def test_the_same_job_under_two_names_runs_once(short_params, count_simulations):
    res = run_jobs(short_params, 7, None, [Job("a", 0, CARERS), Job("b", 0, CARERS)], progress=False)
    assert count_simulations == [0]
    pd.testing.assert_frame_equal(res[("a", 0)]["summary"], res[("b", 0)]["summary"])


def test_finished_jobs_come_from_the_cache(short_params, count_simulations):
    cache = DictCache()
    jobs = [Job("baseline", r) for r in range(2)] + [Job("cheap", r, COST) for r in range(2)]
    first = run_jobs(short_params, 7, None, jobs, cache=cache, key=lambda j: f"{j.name}-{j.replication}", progress=False)
    assert cache.puts == 4 and len(count_simulations) == 2
    again = run_jobs(short_params, 7, None, jobs, cache=cache, key=lambda j: f"{j.name}-{j.replication}", progress=False)
    assert len(count_simulations) == 2 and cache.puts == 4
    for k in first:
        pd.testing.assert_frame_equal(first[k]["summary"], again[k]["summary"])


def test_two_workers_give_what_one_gives(short_params):
    jobs = [Job(n, r, lv) for r in range(3) for n, lv in (("baseline", ()), ("carers", CARERS), ("cheap", COST))]
    one = run_jobs(short_params, 11, None, jobs, workers=1, progress=False)
    two = run_jobs(short_params, 11, None, list(reversed(jobs)), workers=2, progress=False)
    assert one.keys() == two.keys()
    for k in one:
        pd.testing.assert_frame_equal(one[k]["summary"], two[k]["summary"])
        pd.testing.assert_frame_equal(one[k]["stocks"], two[k]["stocks"])


def test_run_replications_is_the_baseline_in_order_with_the_event_logs_asked_for(short_params):
    outs = run_replications(short_params, 3, 3, None, workers=2, keep_events=lambda r: r == 1, progress=False)
    assert [o.replication for o in outs] == [0, 1, 2]
    assert outs[0].events is None and outs[2].events is None
    assert (outs[1].events["replication"] == 1).all()
    assert (outs[2].summary["replication"] == 2).all()
