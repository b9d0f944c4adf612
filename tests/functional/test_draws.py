"""Parameter draws with common random numbers (experiments.run.run_draws, `carepath experiment
--draws`): point-mass draws reproduce the noise-only replications exactly; within a draw the
baseline and every scenario share the drawn parameters and the random numbers; the same seed gives
the same draws on one worker, two, or a Dask cluster; an interrupted run resumes from the cache;
the command writes the risk files with the Monte Carlo error beside each probability.

Everything runs over one financial year (2021/22) from a cold start (no starting caseload: fast),
with one scenario."""
from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from carepath.cache import Cache
from carepath.cli import main
from experiments.risk import risk_result
from experiments.run import BASELINE, DRAW_MEASURES, Context, run_draws, run_experiment
from experiments.scenarios import ScenarioSet
from experiments.uncertainty import prepare
from sim import replications
from sim.levers import Lever
from sim.params import params_from_dict

SEED = 41
FY = "2021/22"
START = dt.date(2021, 5, 1)
LEVERS = [
    {"lever": "edge_of_care", "start": "2021-05-01", "ramp_months": 3, "mechanism": {"divert_share": 0.5}},
    {"lever": "foster_carers", "start": "2021-05-01", "ramp_months": 3, "mechanism": {"extra_joiners_per_year": 20}},
]
SCENARIOS = [{"name": "both", "levers": LEVERS, "investment": {FY: 50000.0}}]
UNCERTAIN = [
    {"name": "edge of care delivery", "lever": "edge_of_care", "distribution": "beta", "a": 4, "b": 2, "source": "x"},
    {"name": "carers delivery", "lever": "foster_carers", "distribution": "uniform", "low": 0.5, "high": 1.0,
     "source": "x"},
    {"name": "spot prices", "assumption": "price_growth_by_type.residential_spot", "distribution": "triangular",
     "low": 0.04, "mode": 0.09, "high": 0.12, "group": "prices", "source": "x"},
    {"name": "ifa prices", "assumption": "price_growth_by_type.foster_ifa", "distribution": "uniform",
     "low": 0.02, "high": 0.06, "group": "prices", "source": "x"},
    {"name": "CP plan length", "path": "cp_plan.routes.*.duration.median_days", "distribution": "lognormal",
     "median": 1.0, "sigma": 0.1, "relative": True, "source": "x"},
]


def _point_masses(params):
    """Every uncertainty at a point mass on its central value."""
    return [
        {"name": "edge of care delivery", "lever": "edge_of_care", "distribution": "fixed", "value": 1.0, "source": "x"},
        {"name": "carers delivery", "lever": "foster_carers", "distribution": "fixed", "value": 1.0, "source": "x"},
        {"name": "spot prices", "assumption": "price_growth_by_type.residential_spot", "distribution": "fixed",
         "value": params.costs.price_growth_by_type["residential_spot"], "source": "x"},
        {"name": "CP plan length", "path": "cp_plan.routes.*.duration.median_days", "distribution": "fixed",
         "value": 1.0, "relative": True, "source": "x"},
    ]


@pytest.fixture(scope="module")
def one_year(_baseline_dict_master):
    d = copy.deepcopy(_baseline_dict_master)
    d["initial_caseload"] = None
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2022-03-31"}
    return params_from_dict(d)


def _sset(inputs):
    return ScenarioSet.model_validate({"name": "t", "baseline": "x.yaml", "replications": 2, "seed": SEED,
                                       "first_year": FY, "scenarios": SCENARIOS,
                                       "uncertainty": {"inputs": inputs}})


def _ctx(params, snapshot, cache=None, workers=1, backend=None):
    return Context(params, snapshot, SEED, params.digest() + "-test", cache if cache is not None else Cache(None),
                   workers=workers, progress=False, backend=backend)


def _levers():
    return {sc["name"]: [Lever.model_validate(lv) for lv in sc["levers"]] for sc in SCENARIOS}


NAMES = [sc["name"] for sc in SCENARIOS]


def test_point_mass_draws_reproduce_the_noise_only_replications_exactly(one_year):
    snapshot = None
    sset = _sset(_point_masses(one_year))
    plan = prepare(sset.uncertainty, one_year, Path("set.yaml"))
    ctx = _ctx(one_year, snapshot)
    try:
        noise = run_experiment(ctx, sset.scenarios, 2, 2, FY)
        draws = run_draws(ctx, plan, noise.levers, NAMES, 2, 1)
        two = run_draws(ctx, plan, noise.levers, NAMES, 1, 2)     # 1 draw of 2 replications: replications 0-1
    finally:
        ctx.close()
    want = noise.summary[noise.summary["measure"].isin(DRAW_MEASURES)]
    want = want.sort_values(["scenario", "replication", "financial_year", "measure"]).reset_index(drop=True)
    for got in (draws, two):
        g = got.summary.drop(columns=["draw"]).sort_values(["scenario", "replication", "financial_year", "measure"])
        pd.testing.assert_frame_equal(g.reset_index(drop=True), want[g.columns], check_exact=True)
    assert list(two.summary.groupby("draw")["replication"].unique().map(list)) == [[0, 1]]
    # and so the business case of each draw is that replication's paired business case, to the penny
    risk = risk_result(draws, plan, sset, [FY])
    base = want[(want["scenario"] == BASELINE) & (want["measure"] == "cost_total")].set_index("replication")["value"]
    for name in NAMES:
        scen = want[(want["scenario"] == name) & (want["measure"] == "cost_total")].set_index("replication")["value"]
        g = risk.draws[risk.draws["scenario"] == name].set_index("draw")["gross_saving"]
        assert list(g) == list(base - scen)


@pytest.fixture(scope="module")
def plan(one_year):
    return prepare(_sset(UNCERTAIN).uncertainty, one_year, Path("set.yaml"))


def _recording(monkeypatch, fail_after=None):
    calls = []
    real = replications.run_group

    def fake(params, seed, snapshot, jobs):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt
        calls.extend((params.digest(), seed, j.replication, j.name, j.levers) for j in jobs)
        return real(params, seed, snapshot, jobs)

    monkeypatch.setattr(replications, "run_group", fake)
    return calls


@pytest.fixture(scope="module")
def recorded(one_year, plan):
    """Three draws on one worker in this process, with no cache, and what each replication ran with."""
    with pytest.MonkeyPatch.context() as mp:
        calls = _recording(mp)
        ctx = _ctx(one_year, None)
        try:
            return run_draws(ctx, plan, _levers(), NAMES, 3, 1), calls
        finally:
            ctx.close()


@pytest.fixture(scope="module")
def reference(recorded):
    return recorded[0]


def test_a_draw_shares_its_parameters_and_random_numbers_between_baseline_and_scenarios(one_year, recorded):
    got, calls = recorded
    assert len(calls) == 3 * (1 + len(NAMES))
    by_rep = {}
    for digest, seed, rep, name, levers in calls:
        by_rep.setdefault(rep, {})[name] = (digest, seed, levers)
    assert sorted(by_rep) == [0, 1, 2]                         # draw d: replication d (its random numbers)
    digests = set()
    for d, jobs in by_rep.items():
        assert set(jobs) == {BASELINE, *NAMES}
        assert len({(dig, seed) for dig, seed, _ in jobs.values()}) == 1   # one parameter set, one seed
        digests.add(jobs[BASELINE][0])
        assert jobs[BASELINE][0] == got.params[d].digest() != one_year.digest()
        # the scenario's levers: the central ones times the draw's effectiveness
        m = got.values[d]["edge of care delivery"]
        (eoc,) = [lv for lv in jobs["both"][2] if lv.lever == "edge_of_care"]
        assert eoc.mechanism["divert_share"] == pytest.approx(0.5 * m)
        assert got.params[d].costs.price_growth_by_type["residential_spot"] == got.values[d]["spot prices"]
    assert len(digests) == 3                                   # each draw its own parameters
    # the paired saving varies between draws (parameters and noise), the baseline between draws too
    s = got.summary[got.summary["measure"] == "cost_total"]
    assert s[s["scenario"] == BASELINE]["value"].nunique() == 3


@pytest.mark.slow  # several runs of the draws (a Dask cluster) / the whole command with its report
def test_the_same_seed_gives_the_same_draws_on_one_worker_two_and_dask(one_year, plan, reference):
    snapshot = None
    ctx = _ctx(one_year, snapshot, workers=2)
    try:
        two = run_draws(ctx, plan, _levers(), NAMES, 3, 1)
    finally:
        ctx.close()
    pd.testing.assert_frame_equal(two.summary, reference.summary, check_exact=True)
    pytest.importorskip("distributed")
    from sim.backends import DaskBackend
    backend = DaskBackend(workers=2)
    ctx = _ctx(one_year, snapshot, backend=backend)
    try:
        dask = run_draws(ctx, plan, _levers(), NAMES, 3, 1)
    finally:
        ctx.close()
    pd.testing.assert_frame_equal(dask.summary, reference.summary, check_exact=True)


def test_interrupted_draws_resume_from_the_cache(one_year, plan, reference, tmp_path, monkeypatch):
    snapshot = None
    total = 3 * (1 + len(NAMES))
    with pytest.MonkeyPatch.context() as mp:
        calls = _recording(mp, fail_after=4)
        ctx = _ctx(one_year, snapshot, cache=Cache(tmp_path / "cache"))
        with pytest.raises(KeyboardInterrupt):
            run_draws(ctx, plan, _levers(), NAMES, 3, 1)
        ctx.close()
        assert len(calls) == 4
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 4
    calls = _recording(monkeypatch)
    ctx = _ctx(one_year, snapshot, cache=Cache(tmp_path / "cache"))
    try:
        got = run_draws(ctx, plan, _levers(), NAMES, 3, 1)
        assert len(calls) == total - 4                         # only the unfinished ones
        again = run_draws(ctx, plan, _levers(), NAMES, 3, 1)
        assert len(calls) == total - 4                         # all from the cache now
    finally:
        ctx.close()
    pd.testing.assert_frame_equal(got.summary, reference.summary, check_exact=True)
    pd.testing.assert_frame_equal(again.summary, reference.summary, check_exact=True)


# ------------------------------------------------------------------------------ the command
def _write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def command_run(tmp_path_factory, _baseline_dict_master, repo):
    d = tmp_path_factory.mktemp("draws_cmd")
    params = copy.deepcopy(_baseline_dict_master)
    params["horizon"] = {"start_date": "2021-04-01", "end_date": "2022-03-31"}
    params["initial_caseload"] = None
    sset = {"name": "t", "baseline": str(_write(d / "params.yaml", params)), "replications": 2, "seed": SEED,
            "first_year": FY, "scenarios": SCENARIOS, "uncertainty": {"inputs": UNCERTAIN}, "draws": 4,
            "council": {"all_levers_scenario": "both", "gross_profile_m": {FY: 0.5}}}
    path = _write(d / "set.yaml", sset)
    out = d / "out"
    rc = main(["experiment", str(path), "--out", str(out), "--workers", "2", "--quiet"])
    return rc, out


@pytest.mark.slow  # several runs of the draws (a Dask cluster) / the whole command with its report
def test_the_command_writes_the_risk_files(command_run):
    rc, out = command_run
    assert rc == 0
    risk = pd.read_csv(out / "business_case_risk.csv")
    assert list(risk.columns) == ["scenario", "measure", "mean", "p05", "p50", "p95"]
    measures = set(risk["measure"])
    assert {"year8_gross_saving", "gross_saving_8y", "net_saving_8y", "npv_net_saving",
            f"cumulative_net_saving_{FY}"} <= measures
    both = risk[risk["scenario"] == "both"].set_index("measure")
    assert {"roi_4y", "roi_8y"} <= set(both.index)             # ROI where there is an investment
    assert (risk["p05"] <= risk["p50"]).all() and (risk["p50"] <= risk["p95"]).all()
    draws = pd.read_csv(out / "business_case_draws.csv")
    assert list(draws.columns) == ["draw", "scenario", "financial_year", "gross_saving", "net_saving",
                                   "cumulative_net_saving"]
    assert len(draws) == 4 * len(NAMES) and sorted(draws["draw"].unique()) == [0, 1, 2, 3]
    g = draws[draws["scenario"] == "both"]["gross_saving"].to_numpy()
    assert both.loc["year8_gross_saving", "mean"] == pytest.approx(g.mean())
    assert both.loc["year8_gross_saving", "p50"] == pytest.approx(np.percentile(g, 50))
    inputs = pd.read_csv(out / "draw_inputs.csv")
    assert list(inputs.columns) == ["draw", "input", "value"] and len(inputs) == 4 * len(UNCERTAIN)
    drivers = pd.read_csv(out / "uncertainty_drivers.csv")
    assert list(drivers.columns[:3]) == ["scenario", "measure", "input"] and "share_of_variance" in drivers
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["draws"] == 4 and manifest["replications_per_draw"] == 1


def test_each_probability_has_its_monte_carlo_error_beside_it(command_run):
    _, out = command_run
    p = pd.read_csv(out / "business_case_probabilities.csv")
    assert list(p.columns) == ["scenario", "measure", "threshold", "probability", "mc_error"]
    assert np.allclose(p["mc_error"], np.sqrt(p["probability"] * (1 - p["probability"]) / 4))
    both = p[p["scenario"] == "both"]
    assert {"roi_4y", "roi_8y", "year8_gross_saving", "payback_year"} <= set(both["measure"])
    assert float(both[both["measure"] == "year8_gross_saving"]["threshold"].iloc[0]) == 500000.0
    draws = pd.read_csv(out / "business_case_draws.csv")
    g = draws[draws["scenario"] == "both"]["gross_saving"]
    row = both[both["measure"] == "year8_gross_saving"].iloc[0]
    assert row["probability"] == float((g >= 500000.0).mean())
    pay = both[both["measure"] == "payback_year"]
    assert math.isclose(pay["probability"].sum(), 1.0)


def test_the_risk_tables_arithmetic_is_roi_profiles_draw_by_draw(one_year, plan, reference):
    """All draws at once (draw_profiles) give exactly what roi_profile gives draw by draw, running
    costs per unit of intensity and of volume included."""
    from experiments.risk import draw_profiles, draw_profiles_by_roi_profile
    from sim.levers import RunningCost
    sset = _sset(UNCERTAIN)
    rc = {"edge_of_care": RunningCost(per_volume=11000.0),
          "foster_carers": RunningCost(per_intensity=10000.0, per_volume=3700.0, per_year=20000.0)}
    draws = copy.copy(reference)
    draws.levers = {d: {n: [lv.model_copy(update={"running_cost": rc[lv.lever]}) for lv in lvs]
                        for n, lvs in by.items()} for d, by in reference.levers.items()}
    fast = draw_profiles(draws.summary, sset, [FY], draws)
    slow = draw_profiles_by_roi_profile(draws.summary, sset, [FY], draws)
    cols = ["draw", "scenario", "financial_year", "gross_saving", "investment", "running_cost", "net_saving",
            "cumulative_net_saving"]
    assert (fast["running_cost"] > 0).all()
    pd.testing.assert_frame_equal(fast[cols], slow[cols].reset_index(drop=True), check_exact=True)
