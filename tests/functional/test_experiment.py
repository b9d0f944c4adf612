"""`carepath experiment`: target seeking lands within its tolerance and is reproducible from the
cache; a resumed experiment writes the same files as an uninterrupted one without redoing finished
replications; parallel equals sequential; bad scenario files end in exit status 2 and one line.

Everything runs over two financial years (2021/22, 2022/23) from the shipped snapshot."""
from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import replications
from carepath.cache import Cache
from experiments.run import BASELINE, Context, resolve_target, run_many, target_effect
from carepath.cli import main
from sim.levers import Lever

END = "2023-03-31"
FY = "2022/23"
# manifest fields that differ between runs of the same experiment (clock, command line, machine, and
# the code's git commit, which moves when colleagues commit during the test run)
VOLATILE = ("created", "wall_seconds", "mean_replication_seconds", "command", "workers", "code_version")


# ------------------------------------------------------------------------------ target search
@pytest.fixture(scope="module")
def short_snapshot_params(with_years, build, _baseline_dict_master):
    return build(with_years(_baseline_dict_master, 2))


@pytest.fixture(scope="module")
def searched(short_snapshot_params, snapshot, tmp_path_factory):
    ctx = Context(short_snapshot_params, snapshot, seed=31, identity="test-target",
                  cache=Cache(tmp_path_factory.mktemp("target_cache")), workers=2, progress=False)
    lever = Lever(lever="edge_of_care", start=dt.date(2021, 7, 1), ramp_months=6,
                  target={"fewer_care_entries_per_year": 30})
    try:
        yield ctx, lever, resolve_target(ctx, lever, reps=3, fy=FY)
    finally:
        ctx.close()


def test_target_search_lands_within_its_tolerance(searched):
    _, lever, res = searched
    tol = max(0.05 * 30, 1.0)
    assert res.target == "fewer_care_entries_per_year" and res.target_value == 30
    assert abs(res.achieved - 30) <= tol, res.steps
    assert res.note == ""
    assert 0 < res.intensity < 1
    assert res.lever.mechanism == {"divert_share": res.intensity} and res.lever.target == {}
    assert res.lever.start == lever.start and res.lever.ramp_months == lever.ramp_months
    assert res.low <= res.achieved <= res.high
    assert res.steps[-1] == (round(res.intensity, 6), round(res.achieved, 3)) or \
        any(x == round(res.intensity, 6) for x, _ in res.steps)


def test_the_found_intensity_reproduces_the_achieved_volume(searched, monkeypatch):
    ctx, _, res = searched
    calls = []
    real = replications.run_group
    monkeypatch.setattr(replications, "run_group", lambda *a, **k: calls.append(a) or real(*a, **k))
    ctx.workers = 1
    # the scenario as an experiment runs it, after its search: every replication from the cache
    base = run_many(ctx, [(BASELINE, [], r) for r in range(3)])
    scen = run_many(ctx, [("found", [res.lever], r) for r in range(3)])
    assert calls == []
    years = getattr(res, "years", None) or FY   # the years the target is judged over
    effects = [target_effect(res.target, base[(BASELINE, r)]["summary"], scen[("found", r)]["summary"], years, res.lever)
               for r in range(3)]
    assert np.mean(effects) == pytest.approx(res.achieved, abs=1e-3)
    # and the same replication run afresh (no cache) gives the same numbers: common random numbers
    fresh = replications.run_job(ctx.params, ctx.seed, ctx.snapshot, replications.Job("found", 1, (res.lever,), False))
    pd.testing.assert_frame_equal(fresh["summary"], scen[("found", 1)]["summary"])


# ---------------------------------------------------------------------------- experiment files
def _write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory, _baseline_dict_master, repo):
    """A two-year parameter file and a scenario set of 2 scenarios x 2 replications."""
    d = tmp_path_factory.mktemp("experiment_files")
    params = copy.deepcopy(_baseline_dict_master)
    params["horizon"]["end_date"] = END
    params["initial_caseload"] = str(repo / "experiments" / "snapshot_2021-04-01.csv")
    params_path = _write_yaml(d / "params.yaml", params)
    sset = {
        "name": "small test set",
        "baseline": str(params_path),
        "replications": 2,
        "seed": 99,
        "first_year": "2021/22",
        "search_replications": 2,
        "investments": {"programme": {"2021/22": 100000.0, "2022/23": 50000.0}},
        "scenarios": [
            {"name": "carers", "investment": "programme",
             "levers": [{"lever": "foster_carers", "start": "2021-07-01", "ramp_months": 6,
                         "mechanism": {"extra_joiners_per_year": 20}}]},
            {"name": "entries",
             "levers": [{"lever": "edge_of_care", "start": "2021-07-01", "ramp_months": 6,
                         "mechanism": {"divert_share": 0.5}}]},
        ],
    }
    return d, params, params_path, sset, _write_yaml(d / "scenarios.yaml", sset)


def _counting(monkeypatch, fail_after=None):
    """Patch `sim.replications.run_group` (sequential runs) to count the replications it runs and,
    if asked, to stop like Ctrl-C."""
    calls = []
    real = replications.run_group

    def fake(params, seed, snapshot, jobs):
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt
        calls.extend(j.replication for j in jobs)
        return real(params, seed, snapshot, jobs)

    monkeypatch.setattr(replications, "run_group", fake)
    return calls


def _args(path, out, workers):
    return ["experiment", str(path), "--out", str(out), "--workers", str(workers), "--quiet"]


@pytest.fixture(scope="module")
def experiments_run(files, tmp_path_factory):
    """A clean sequential run, an interrupted-then-resumed one, and a parallel one."""
    _, _, _, _, path = files
    base = tmp_path_factory.mktemp("experiment_out")
    out = {"clean": base / "clean", "resumed": base / "resumed", "parallel": base / "parallel"}
    info = {}
    with pytest.MonkeyPatch.context() as mp:
        calls = _counting(mp)
        info["clean_rc"] = main(_args(path, out["clean"], 1))
        info["clean_calls"] = len(calls)
    with pytest.MonkeyPatch.context() as mp:
        calls = _counting(mp, fail_after=3)
        info["interrupted_rc"] = main(_args(path, out["resumed"], 1))
        info["interrupted_calls"] = len(calls)
        info["after_interrupt"] = sorted(p.name for p in out["resumed"].glob("*")) if out["resumed"].exists() else []
        info["cached_after_interrupt"] = len(list((out["resumed"] / ".cache").glob("*.npz")))
    with pytest.MonkeyPatch.context() as mp:
        calls = _counting(mp)
        info["resumed_rc"] = main(_args(path, out["resumed"], 1))
        info["resumed_calls"] = len(calls)
    info["parallel_rc"] = main(_args(path, out["parallel"], 2))
    return out, info


def _csvs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def _manifest(folder: Path) -> dict:
    m = json.loads((folder / "manifest.json").read_text())
    return {k: v for k, v in m.items() if k not in VOLATILE}


@pytest.mark.slow  # shares a ~25 s fixture: three runs of the experiment
def test_the_experiment_writes_the_relied_on_files(experiments_run):
    out, info = experiments_run
    assert info["clean_rc"] == 0 and info["clean_calls"] == 6  # (baseline + 2 scenarios) x 2
    folder = out["clean"]
    for name in ("roi_profile.csv", "business_case_summary.csv", "lever_effects.csv", "outcomes.csv",
                 "business_case_comparison.csv", "manifest.json", "lever_volumes_by_year.csv", "headline_flags.csv",
                 "back_of_envelope.csv", "summary.html", "business_case.xlsx"):
        assert (folder / name).exists(), name
    from openpyxl import load_workbook   # the workbook beside the report: its tables and what was run
    wb = load_workbook(folder / "business_case.xlsx")
    assert {"Headline", "Savings by year", "Back of envelope", "What was run"} <= set(wb.sheetnames)
    assert ["Random seed", "99"] in [[c.value for c in r] for r in wb["What was run"].iter_rows()]
    assert "parameter uncertainty not estimated" in (folder / "summary.html").read_text(encoding="utf-8")
    p = pd.read_csv(folder / "roi_profile.csv")
    assert list(p.columns) == ["scenario", "financial_year", "baseline_cost", "scenario_cost", "gross_saving",
                               "gross_saving_low", "gross_saving_high", "investment", "net_saving",
                               "cumulative_net_saving", "running_cost", "gross_saving_real", "net_saving_real",
                               "real_terms_factor"]
    assert list(p["scenario"]) == ["carers", "carers", "entries", "entries"]
    assert list(p["financial_year"]) == ["2021/22", "2022/23"] * 2
    assert list(p["investment"]) == [100000.0, 50000.0, 0.0, 0.0]
    assert (p["running_cost"] == 0).all()     # no running costs declared
    np.testing.assert_allclose(p["net_saving"], p["gross_saving"] - p["investment"] - p["running_cost"], rtol=1e-12)
    np.testing.assert_allclose(p["gross_saving"], p["baseline_cost"] - p["scenario_cost"], rtol=1e-9, atol=1e-3)
    s = pd.read_csv(folder / "business_case_summary.csv").set_index("scenario")
    assert s.loc["carers", "investment_8y"] == 150000.0
    e = pd.read_csv(folder / "lever_effects.csv")
    entries = e[(e["scenario"] == "entries") & (e["measure"] == "care_entries") & (e["financial_year"] == FY)].iloc[0]
    assert entries["difference"] < 0 and entries["low"] < entries["difference"] < entries["high"]
    carers = e[(e["scenario"] == "carers") & (e["measure"] == "foster_carers_at_year_end") & (e["financial_year"] == FY)]
    assert carers["difference"].iloc[0] > 0
    m = json.loads((folder / "manifest.json").read_text())
    assert m["replications"] == 2 and m["seed"] == 99 and m["scenarios"] == ["carers", "entries"]


@pytest.mark.slow  # shares a ~25 s fixture: three runs of the experiment
def test_a_resumed_experiment_writes_the_same_files_without_redoing_replications(experiments_run):
    out, info = experiments_run
    assert info["interrupted_rc"] == 130                      # stopped like Ctrl-C after 3 replications
    assert info["interrupted_calls"] == 3 and info["cached_after_interrupt"] == 3
    assert not [n for n in info["after_interrupt"] if n.endswith(".csv")]  # no half-finished outputs
    assert info["resumed_rc"] == 0
    assert info["resumed_calls"] == 3                         # only the 3 not yet finished
    clean, resumed = _csvs(out["clean"]), _csvs(out["resumed"])
    assert len(clean) >= 6 and clean.keys() == resumed.keys()
    for name in clean:
        assert resumed[name] == clean[name], name
    assert _manifest(out["resumed"]) == _manifest(out["clean"])
    assert not list(out["resumed"].glob("**/*.tmp"))


@pytest.mark.slow  # shares a ~25 s fixture: three runs of the experiment
def test_parallel_and_sequential_experiments_write_identical_files(experiments_run):
    out, info = experiments_run
    assert info["parallel_rc"] == 0
    clean, parallel = _csvs(out["clean"]), _csvs(out["parallel"])
    assert clean.keys() == parallel.keys()
    for name in clean:
        assert parallel[name] == clean[name], name
    assert _manifest(out["parallel"]) == _manifest(out["clean"])


# ----------------------------------------------------------------------------- bad input
def _bad_lever(sset, **lever):
    s = copy.deepcopy(sset)
    s["scenarios"][0]["levers"] = [{"start": "2021-07-01", **lever}]
    return s


BAD_CASES = {
    "unknown_lever": (lambda s: _bad_lever(s, lever="edge_of_cake", mechanism={"divert_share": 0.1}),
                      "unknown lever 'edge_of_cake'"),
    "ramp_after_end": (lambda s: _bad_lever(s, lever="edge_of_care", ramp_months=12, end="2022-01-01",
                                            mechanism={"divert_share": 0.1}), "switched off"),
    "end_before_start": (lambda s: _bad_lever(s, lever="edge_of_care", end="2021-06-01",
                                              mechanism={"divert_share": 0.1}), "not after start"),
    "negative_carers": (lambda s: _bad_lever(s, lever="foster_carers", mechanism={"extra_joiners_per_year": -5}),
                        "must not be negative"),
    "negative_carer_target": (lambda s: _bad_lever(s, lever="foster_carers", target={"net_extra_carers_per_year": -11}),
                              "must not be negative"),
    "target_for_a_mechanism_only_lever": (lambda s: _bad_lever(s, lever="block_beds", target={"extra_beds": 3}),
                                          "unknown target"),
    "unknown_investment_profile": (lambda s: {**s, "scenarios": [{**s["scenarios"][0], "investment": "nonesuch"}]},
                                   "investment profile 'nonesuch'"),
    "negative_investment": (lambda s: {**s, "investments": {"programme": {"2021/22": -5.0}}}, "negative"),
    "unknown_field": (lambda s: {**s, "replication": 3}, "replication"),
    "duplicate_scenarios": (lambda s: {**s, "scenarios": [s["scenarios"][0], s["scenarios"][0]]}, "unique"),
    "missing_baseline_file": (lambda s: {**s, "baseline": "no_such_params.yaml"}, "no_such_params.yaml"),
    # one convention for rates: fractions; a value that can only be a percentage is refused, naming the field
    "percent_growth_assumption": (lambda s: {**s, "assumptions": {"price_growth_per_year": 5}},
                                  "assumptions.price_growth_per_year is a fraction a year (0.05 for 5%), got 5"),
    "percent_growth_by_type": (lambda s: {**s, "assumptions": {"price_growth_by_type": {"residential_spot": 9}}},
                               "assumptions.price_growth_by_type.residential_spot is a fraction a year"),
    "percent_price_growth_lever": (lambda s: _bad_lever(s, lever="price_growth", mechanism={"price_growth_per_year": 5}),
                                   "price_growth_per_year is a fraction a year (0.05 for 5%), got 5"),
    "unit_cost_below_minus_100": (lambda s: _bad_lever(s, lever="unit_cost", mechanism={"weekly_change_pct": -150}),
                                  "would make the cost negative"),
    "unknown_running_cost_lever": (lambda s: {**s, "running_costs": {"edge_of_cake": {"per_year": 1}}},
                                   "running_costs: unknown lever 'edge_of_cake'"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_a_bad_scenario_file_gives_one_line_and_exit_status_2(case, files, tmp_path, capsys):
    _, _, _, sset, _ = files
    make, expected = BAD_CASES[case]
    path = _write_yaml(tmp_path / f"{case}.yaml", make(copy.deepcopy(sset)))
    out = tmp_path / "out"
    rc = main(_args(path, out, 1))
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert expected in lines[0], lines[0]
    if case != "missing_baseline_file":
        assert f"{case}.yaml" in lines[0], lines[0]   # names the scenario file
    assert not out.exists()                            # nothing half written


def test_malformed_yaml_gives_one_line_and_exit_status_2(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nscenarios: [\n  - {name: a, levers: [}\n", encoding="utf-8")
    assert main(_args(path, tmp_path / "out", 1)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "broken.yaml" in err and "malformed YAML" in err
    assert "Traceback" not in err


def test_a_missing_scenario_file_gives_one_line_and_exit_status_2(tmp_path, capsys):
    assert main(_args(tmp_path / "nowhere.yaml", tmp_path / "out", 1)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nowhere.yaml" in err and "not found" in err


def test_one_replication_is_refused(files, tmp_path, capsys):
    _, _, _, _, path = files
    assert main(_args(path, tmp_path / "out", 1) + ["--replications", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "at least 2" in err


def test_business_case_years_outside_the_horizon_are_refused(files, tmp_path, capsys):
    _, _, _, sset, _ = files
    path = _write_yaml(tmp_path / "late.yaml", {**sset, "first_year": "2035/36", "target_year": "2036/37"})
    assert main(_args(path, tmp_path / "out", 1)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "late.yaml" in err and "horizon" in err


def test_an_assumption_applies_to_the_baseline_and_every_scenario_alike(files, tmp_path):
    """`assumptions.price_growth_per_year: 0.05` reprices the baseline and the scenarios the same,
    with no copy of the parameter file: both show a price index of 1.05 in 2022/23, the manifest's
    parameters are the assumed ones, and a scenario that changes nothing saves nothing."""
    d, _, _, sset, _ = files
    data = {**copy.deepcopy(sset), "assumptions": {"price_growth_per_year": 0.05, "price_growth_by_type": {}},
            "scenarios": [{"name": "nothing", "levers": [{"lever": "block_beds", "start": "2021-07-01",
                                                           "mechanism": {"extra_beds": 0}}]}]}
    path = _write_yaml(tmp_path / "assumed.yaml", data)
    out = tmp_path / "out"
    assert main(_args(path, out, 1)) == 0
    s = pd.read_csv(out / "summary_by_scenario.csv")
    idx = s[(s["measure"] == "price_index") & (s["financial_year"] == FY)]
    assert set(idx["scenario"]) == {"baseline", "nothing"}
    np.testing.assert_allclose(idx["value"], 1.05)
    prof = pd.read_csv(out / "roi_profile.csv")
    np.testing.assert_allclose(prof["gross_saving"], 0.0, atol=1e-6)
    from experiments.scenarios import apply_assumptions, load_scenarios
    from sim.params import load_params
    manifest = json.loads((out / "manifest.json").read_text())
    assumed = apply_assumptions(load_params(sset["baseline"]), load_scenarios(path).assumptions)
    assert manifest["params_hash"] == assumed.digest() != load_params(sset["baseline"]).digest()
    assert (out / "lever_volumes_by_year.csv").exists() and (out / "headline_flags.csv").exists()
