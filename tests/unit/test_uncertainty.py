"""The uncertainty section (experiments/uncertainty.py) and the risk tables (experiments/risk.py):
bad specs are one line naming the field with exit status 2; each distribution draws what it
says; a group shares one draw; the draws come from their own named streams; a calibrated
interval becomes a multiplier with that interval; the Monte Carlo error is sqrt(p(1-p)/N); the
drivers' regression recovers a known split of the variance."""
from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from calibration.summary import calibrated_intervals
from carepath.cli import main
from experiments.risk import drivers_table, probability_table, UNEXPLAINED
from experiments.scenarios import load_scenarios
from experiments.uncertainty import Uncertainty, UncertaintyError, expand_path, prepare


def _write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def central(baseline_params):
    return baseline_params


def _plan(central, inputs, tmp_path=None, source="set.yaml"):
    return prepare(Uncertainty.model_validate({"inputs": inputs}), central, source)


def _set_file(tmp_path, params_dict, inputs, **extra):
    params_dict = copy.deepcopy(params_dict)
    params_dict["initial_caseload"] = None
    params_dict["horizon"]["end_date"] = "2023-03-31"
    sset = {"name": "t", "baseline": str(_write(tmp_path / "params.yaml", params_dict)), "replications": 2,
            "first_year": "2021/22",
            "scenarios": [{"name": "entries", "levers": [{"lever": "edge_of_care", "start": "2021-07-01",
                                                          "ramp_months": 6, "mechanism": {"divert_share": 0.5}}]}],
            "uncertainty": {"inputs": inputs}, **extra}
    return _write(tmp_path / "set.yaml", sset)


GOOD = {"lever": "reunification", "distribution": "beta", "a": 4, "b": 2, "source": "assumption"}

BAD = [
    ({"path": "recontact.nfa.probability", "distribution": "normal", "mean": 0.2, "sd": -0.1, "source": "x"},
     "sd must be positive"),
    ({"lever": "edge_of_care", "distribution": "beta", "mean": 1.3, "sd": 0.1, "source": "x"},
     "beta: mean must be between 0 and 1"),
    ({"lever": "edge_of_care", "distribution": "beta", "a": -1, "b": 2, "source": "x"}, "a and b must be positive"),
    ({"path": "recontact.nfa.no_such_thing", "distribution": "uniform", "low": 0.1, "high": 0.3, "source": "x"},
     "unknown path 'recontact.nfa.no_such_thing'"),
    ({"path": "recontact.nfa.probability", "distribution": "normal", "mean": 0.22, "sd": 0.02, "source": "x"},
     "a normal that can give negative values is not possible here"),
    ({"path": "recontact.nfa.probability", "distribution": "lognormal", "median": 0.22, "sigma": 0.1, "source": "x"},
     "a lognormal that can give values above 1 is not possible here"),
    ({"path": "recontact.nfa.delay.median_days", "distribution": "normal", "mean": 120, "sd": 10, "source": "x"},
     "a normal that can give negative values is not possible here"),
    ({"lever": "edge_of_care", "distribution": "normal", "mean": 0.8, "sd": 0.1, "source": "x"},
     "effectiveness multiplier must not be negative"),
    ({"path": "recontact.nfa.probability", "distribution": "uniform", "low": 0.5, "high": 1.5, "source": "x"},
     "recontact.nfa.probability"),
    ({"assumption": "price_growth_by_type.spaceship", "distribution": "uniform", "low": 0.01, "high": 0.05,
      "source": "x"}, "'spaceship' is not a placement type"),
    ({"assumption": "weather", "distribution": "uniform", "low": 0.01, "high": 0.05, "source": "x"},
     "unknown assumption 'weather'"),
    ({"lever": "magic_wand", "distribution": "uniform", "low": 0.5, "high": 1, "source": "x"}, "unknown lever"),
    ({"lever": "edge_of_care", "distribution": "uniform", "low": 0.5, "high": 1, "source": " "}, "source is empty"),
    ({"lever": "edge_of_care", "distribution": "triangular", "low": 0.5, "mode": 1.2, "high": 1, "source": "x"},
     "low <= mode <= high"),
    ({"lever": "edge_of_care", "distribution": "normal", "mean": 0.8, "source": "x"}, "sd missing"),
    ({"lever": "edge_of_care", "path": "recontact.nfa.probability", "distribution": "uniform", "low": 0.5,
      "high": 1, "source": "x"}, "exactly one of path, assumption or lever"),
    ({"path": "recontact.nfa.delay.median_days", "distribution": "lognormal", "source": "x", "relative": True,
      "calibrated": {"file": "nowhere.yaml", "measure": "cp_plan_median_days"}}, "nowhere.yaml: no such file"),
]


@pytest.mark.parametrize("spec,words", BAD, ids=[w[:30] for _, w in BAD])
def test_a_bad_uncertainty_spec_is_one_line_naming_the_field_and_exit_2(spec, words, tmp_path, capsys,
                                                                        _baseline_dict_master):
    path = _set_file(tmp_path, _baseline_dict_master, [GOOD, spec], draws=2)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert words in err, err
    assert "uncertainty.inputs" in err and ("[1]" in err or ".1" in err), err   # the field: the second input
    assert not (tmp_path / "out").exists()


def test_draws_without_an_uncertainty_section_are_refused(tmp_path, capsys, _baseline_dict_master):
    path = _set_file(tmp_path, _baseline_dict_master, [GOOD])
    data = yaml.safe_load(path.read_text())
    del data["uncertainty"]
    _write(path, data)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--quiet", "--draws", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no uncertainty section" in err


# ------------------------------------------------------------------------------ the draws
def _uniform_values(plan, label, n=4000):
    p = next(x for x in plan.inputs if x.label == label)
    u = (np.arange(n) + 0.5) / n   # a regular grid of uniforms: the quantile function's own moments
    return np.array([p.value(x) for x in u])


def test_each_distribution_draws_what_it_says(central):
    plan = _plan(central, [
        {"name": "n", "lever": "edge_of_care", "distribution": "normal", "mean": 1.0, "sd": 0.1, "truncate": [0, 3],
         "source": "x"},
        {"name": "ln", "path": "recontact.nfa.delay.median_days", "distribution": "lognormal", "median": 120,
         "sigma": 0.2, "source": "x"},
        {"name": "b", "lever": "reunification", "distribution": "beta", "mean": 0.7, "sd": 0.15, "source": "x"},
        {"name": "t", "lever": "block_beds", "distribution": "triangular", "low": 0.6, "mode": 0.9, "high": 1.0,
         "source": "x"},
        {"name": "u", "path": "recontact.nfa.probability", "distribution": "uniform", "low": 0.1, "high": 0.3,
         "source": "x"},
        {"name": "f", "lever": "foster_carers", "distribution": "fixed", "value": 0.8, "source": "x"},
    ])
    n = _uniform_values(plan, "n")
    assert abs(n.mean() - 1.0) < 1e-3 and abs(n.std() - 0.1) < 2e-3
    ln = _uniform_values(plan, "ln")
    assert abs(np.median(ln) - 120) < 0.1 and abs(np.log(ln).std() - 0.2) < 4e-3
    b = _uniform_values(plan, "b")
    assert abs(b.mean() - 0.7) < 1e-3 and abs(b.std() - 0.15) < 2e-3 and b.min() > 0 and b.max() < 1
    t = _uniform_values(plan, "t")
    assert abs(t.mean() - (0.6 + 0.9 + 1.0) / 3) < 1e-3 and t.min() >= 0.6 and t.max() <= 1.0
    u = _uniform_values(plan, "u")
    assert abs(u.mean() - 0.2) < 1e-4 and u.min() >= 0.1 and u.max() <= 0.3
    assert set(_uniform_values(plan, "f", 10)) == {0.8}


def test_a_truncated_normal_stays_within_its_bounds(central):
    plan = _plan(central, [{"name": "g", "assumption": "demand_growth_per_year", "distribution": "normal",
                            "mean": 0.025, "sd": 0.02, "truncate": [0.0, 0.04], "source": "x"}])
    g = _uniform_values(plan, "g")
    assert g.min() >= 0.0 and g.max() <= 0.04
    # the truncated normal's own mean (scipy), not the untruncated 0.025
    want = stats.truncnorm(-0.025 / 0.02, 0.015 / 0.02, loc=0.025, scale=0.02).mean()
    assert abs(g.mean() - want) < 1e-4


def test_inputs_of_a_group_share_one_draw_and_others_are_independent(central):
    inputs = [
        {"name": "spot", "assumption": "price_growth_by_type.residential_spot", "distribution": "triangular",
         "low": 0.04, "mode": 0.09, "high": 0.12, "group": "prices", "source": "x"},
        {"name": "ifa", "assumption": "price_growth_by_type.foster_ifa", "distribution": "uniform",
         "low": 0.02, "high": 0.06, "group": "prices", "source": "x"},
        {"name": "eoc", "lever": "edge_of_care", "distribution": "beta", "a": 4, "b": 2, "source": "x"},
    ]
    plan = _plan(central, inputs)
    vals = [plan.values(12345, d) for d in range(300)]
    spot, ifa, eoc = (np.array([v[k] for v in vals]) for k in ("spot", "ifa", "eoc"))
    # one uniform: the same quantile of each distribution
    assert stats.spearmanr(spot, ifa).statistic == pytest.approx(1.0)
    u_spot = stats.triang(c=0.5 / 0.8, loc=0.04, scale=0.08).cdf(spot)
    assert np.allclose(u_spot, (ifa - 0.02) / 0.04, atol=1e-9)
    # the ungrouped input is independent: |rank correlation| below 4 standard errors (1/sqrt(n))
    assert abs(stats.spearmanr(spot, eoc).statistic) < 4 / math.sqrt(300)


def test_a_draw_depends_only_on_the_seed_the_draw_number_and_its_group(central):
    one = _plan(central, [{"name": "eoc", "lever": "edge_of_care", "distribution": "beta", "a": 4, "b": 2,
                           "source": "x"}])
    two = _plan(central, [{"name": "other", "lever": "reunification", "distribution": "uniform", "low": 0.5,
                           "high": 1, "source": "x"},
                          {"name": "eoc", "lever": "edge_of_care", "distribution": "beta", "a": 4, "b": 2,
                           "source": "x"}])
    a = [one.values(7, d)["eoc"] for d in range(20)]
    assert a == [two.values(7, d)["eoc"] for d in range(20)]        # another input does not move it
    assert a == [one.values(7, d)["eoc"] for d in range(20)]        # the same seed, the same draws
    assert a != [one.values(8, d)["eoc"] for d in range(20)]        # another seed, other draws
    assert len(set(a)) == 20


def test_a_draw_sets_the_parameters_and_scales_the_levers(central):
    from sim.levers import Lever
    import datetime as dt
    plan = _plan(central, [
        {"name": "eoc", "lever": "edge_of_care", "distribution": "fixed", "value": 0.5, "source": "x"},
        {"name": "beds", "lever": "block_beds", "distribution": "fixed", "value": 0.74, "source": "x"},
        {"name": "spot", "assumption": "price_growth_by_type.residential_spot", "distribution": "fixed",
         "value": 0.11, "source": "x"},
        {"name": "demand", "assumption": "demand_growth_per_year", "distribution": "fixed", "value": 0.04,
         "source": "x"},
        {"name": "cp", "path": "cp_plan.routes.*.duration.median_days", "distribution": "fixed", "value": 1.1,
         "relative": True, "source": "x"},
    ])
    v = plan.values(1, 0)
    p = plan.params_for(v)
    assert p.costs.price_growth_by_type["residential_spot"] == 0.11
    assert p.arrivals.new_contacts.trend_per_year == 0.04 and p.arrivals.direct_care_entries.trend_per_year == 0.04
    for name, route in central.cp_plan.routes.items():
        assert p.cp_plan.routes[name].duration.median_days == pytest.approx(route.duration.median_days * 1.1)
        assert p.cp_plan.routes[name].probability == route.probability
    start = dt.date(2022, 11, 1)
    levers = {"s": [Lever(lever="edge_of_care", start=start, mechanism={"divert_share": 0.3}),
                    Lever(lever="block_beds", start=start, mechanism={"extra_beds": 10})]}
    got = plan.levers_for(v, levers)["s"]
    assert got[0].mechanism["divert_share"] == pytest.approx(0.15)
    assert got[1].mechanism["extra_beds"] == 7.0          # a count: rounded


def test_point_masses_at_the_central_values_leave_the_parameters_and_levers_as_they_are(central):
    from sim.levers import Lever
    import datetime as dt
    plan = _plan(central, [
        {"name": "eoc", "lever": "edge_of_care", "distribution": "fixed", "value": 1.0, "source": "x"},
        {"name": "spot", "assumption": "price_growth_by_type.residential_spot", "distribution": "fixed",
         "value": central.costs.price_growth_by_type["residential_spot"], "source": "x"},
        {"name": "nfa", "path": "recontact.nfa.probability", "distribution": "fixed",
         "value": central.recontact["nfa"].probability if isinstance(central.recontact, dict)
         else central.recontact.nfa.probability, "source": "x"},
        {"name": "cp", "path": "cp_plan.routes.*.duration.median_days", "distribution": "fixed", "value": 1.0,
         "relative": True, "source": "x"},
    ])
    v = plan.values(1, 3)
    assert plan.params_for(v) is central
    lv = [Lever(lever="edge_of_care", start=dt.date(2022, 11, 1), mechanism={"divert_share": 0.3})]
    assert plan.levers_for(v, {"s": lv})["s"][0] is lv[0]


def test_a_calibrated_interval_becomes_a_multiplier_with_that_interval(central, tmp_path):
    summary = pd.DataFrame({"measure": ["cp_plan_median_days", "no_interval", "parameter:x"],
                            "value": [275.0, 3.0, 10.0], "low": [250.0, np.nan, np.nan],
                            "high": [300.0, np.nan, np.nan], "source": "data", "note": ["km", "", ""]})
    intervals = calibrated_intervals(summary, "2022-03-31")
    assert list(intervals["measures"]) == ["cp_plan_median_days"]
    f = _write(tmp_path / "calibrated_intervals.yaml", intervals)
    for dist in ("lognormal", "normal", "uniform"):
        spec = {"name": "cp", "path": "cp_plan.routes.*.duration.median_days", "distribution": dist,
                "calibrated": {"file": f.name, "measure": "cp_plan_median_days"}, "source": "x"}
        if dist == "normal":   # a normal multiplier can go negative: truncated where it makes no difference
            spec["truncate"] = [0.5, 1.5]
        plan = _plan(central, [spec],
                     source=tmp_path / "set.yaml")
        p = plan.inputs[0]
        assert p.relative and len(p.paths) == len(central.cp_plan.routes)
        q = (0.025, 0.975) if dist != "uniform" else (0.0, 1.0)
        assert p.value(q[0]) == pytest.approx(250 / 275, rel=1e-6)
        assert p.value(q[1]) == pytest.approx(300 / 275, rel=1e-6)


def test_a_calibrated_measure_missing_from_the_file_is_named(central, tmp_path):
    f = _write(tmp_path / "calibrated_intervals.yaml", {"measures": {}})
    with pytest.raises(UncertaintyError, match="calibrated measure 'cp_plan_median_days' is not in"):
        _plan(central, [{"path": "cp_plan.routes.*.duration.median_days", "distribution": "lognormal",
                         "calibrated": {"file": f.name, "measure": "cp_plan_median_days"}, "source": "x"}],
              source=tmp_path / "set.yaml")


def test_wildcard_paths_match_every_numeric_parameter(central):
    d = central.model_dump(mode="json")
    got = expand_path(d, "care.exit_routes[*].*.*.duration.median_days")
    want = [f"care.exit_routes[{i}].{k}.{r}.duration.median_days"
            for i, band in enumerate(d["care"]["exit_routes"]) for k in ("kinship", "non_kinship")
            for r, route in band[k].items() if route.get("duration")]
    assert sorted(got) == sorted(want) and got
    assert expand_path(d, "nothing.*") == []


def test_the_shipped_business_case_uncertainty_section_is_valid_and_sourced(repo):
    from experiments.scenarios import apply_assumptions
    from sim.params import load_params
    path = repo / "experiments" / "business_case.yaml"
    sset = load_scenarios(path)
    params = apply_assumptions(load_params(repo / "experiments" / sset.baseline), sset.assumptions)
    plan = prepare(sset.uncertainty, params, path)
    assert all(p.spec.source.strip() for p in plan.inputs)
    levers = {p.spec.lever for p in plan.inputs if p.spec.lever}
    assert levers == {lv.lever for sc in sset.scenarios for lv in sc.levers}   # every lever's delivery is drawn


# ------------------------------------------------------------------------------ the tables
def test_probabilities_carry_their_monte_carlo_error(repo):
    sset = load_scenarios(repo / "experiments" / "business_case.yaml")
    years = ["2022/23", "2023/24"]
    rng = np.random.default_rng(4)
    n = 50
    rows = []
    for d in range(n):
        cum1 = rng.normal(0, 1)
        rows.append({"draw": d, "scenario": "all_levers", "year8_gross_saving": rng.normal(11e6, 2e6),
                     "year8_net_saving": 0.0, "gross_saving_8y": 0.0, "net_saving_8y": rng.normal(1, 1),
                     "roi_4y": rng.normal(3, 1), "roi_8y": rng.normal(1.2, 0.5), "npv_net_saving": 0.0,
                     "cumulative_net_saving_2022/23": cum1, "cumulative_net_saving_2023/24": cum1 + 1,
                     "payback_year": "2022/23" if cum1 > 0 else ("2023/24" if cum1 + 1 > 0 else "")})
    m = pd.DataFrame(rows)
    t = probability_table(m, sset, ["all_levers"], years)
    assert list(t.columns) == ["scenario", "measure", "threshold", "probability", "mc_error"]
    r = t.set_index(["measure", "threshold"])
    p = float((m["roi_4y"] >= 3).mean())
    assert r.loc[("roi_4y", 3.0), "probability"] == p
    assert r.loc[("roi_4y", 3.0), "mc_error"] == pytest.approx(math.sqrt(p * (1 - p) / n))
    assert r.loc[("roi_8y", 1.0), "probability"] == float((m["roi_8y"] >= 1).mean())
    # the council's figure for all levers: the gross profile's figure for the last year here (2023/24)
    council = sset.council.gross_profile_m["2023/24"] * 1e6
    assert r.loc[("year8_gross_saving", council), "probability"] == float((m["year8_gross_saving"] >= council).mean())
    pay = t[t["measure"] == "payback_year"]
    assert pay["probability"].sum() == pytest.approx(1.0)
    assert list(pay["threshold"]) == ["2022/23", "2023/24", "not by 2023/24"]


def test_the_drivers_regression_recovers_a_known_split_of_the_variance(central):
    plan = _plan(central, [
        {"name": "x1", "lever": "edge_of_care", "distribution": "uniform", "low": 0, "high": 1, "source": "x"},
        {"name": "x2", "lever": "reunification", "distribution": "uniform", "low": 0, "high": 1, "source": "x"},
        {"name": "fixed", "lever": "block_beds", "distribution": "fixed", "value": 1.0, "source": "x"},
    ])
    n = 2000
    values = {d: plan.values(5, d) for d in range(n)}
    rng = np.random.default_rng(1)
    x1 = np.array([values[d]["x1"] for d in range(n)])
    x2 = np.array([values[d]["x2"] for d in range(n)])
    # variance: 9 Var(x1) + Var(x2) + noise with the same variance as x2's part: shares 9/11, 1/11, 1/11
    y = 3 * x1 + x2 + rng.normal(0, math.sqrt(1 / 12), n)
    m = pd.DataFrame({"draw": range(n), "scenario": "s", "year8_gross_saving": y})
    t = drivers_table(m, plan, values, ["s"]).set_index("input")["share_of_variance"]
    # the shares' sampling error at n = 2000 is about 1-2 points
    assert t["x1"] == pytest.approx(9 / 11, abs=0.04)
    assert t["x2"] == pytest.approx(1 / 11, abs=0.03)
    assert t[UNEXPLAINED] == pytest.approx(1 / 11, abs=0.03)
    assert t["fixed"] == 0.0
    assert t.sum() == pytest.approx(1.0)


def test_the_drawn_scenarios_are_checked_and_bring_the_scenarios_they_are_based_on(repo):
    from experiments.uncertainty import drawn_scenarios
    sset = load_scenarios(repo / "experiments" / "business_case.yaml")
    section = sset.uncertainty.model_copy(update={"scenarios": ["stretch"]})
    assert drawn_scenarios(section, sset, "set.yaml") == ["all_levers", "stretch"]   # stretch is based on all_levers
    every = sset.uncertainty.model_copy(update={"scenarios": None})
    assert drawn_scenarios(every, sset, "set.yaml") == [sc.name for sc in sset.scenarios]   # default: all
    with pytest.raises(UncertaintyError, match=r"uncertainty.scenarios: 'nope' is not a scenario of the set"):
        drawn_scenarios(section.model_copy(update={"scenarios": ["nope"]}), sset, "set.yaml")
