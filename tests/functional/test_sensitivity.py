"""`carepath sensitivity`: a tiny analysis (one financial year, three inputs, Morris with two
trajectories, two replications) writes its files; an input with no effect on the output gets
mu* = 0 exactly (common random numbers) while one that matters gets mu* > 0, and the tornado ranks
them the same way; a re-run comes from the cache; bad files end in exit status 2 and one line."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from experiments.sensitivity import get_value, set_value
from carepath.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_params(tmp_path_factory) -> Path:
    d = yaml.safe_load((REPO / "experiments" / "baseline.yaml").read_text(encoding="utf-8"))
    d["initial_caseload"] = str(REPO / "experiments" / "snapshot_2021-04-01.csv")
    d["horizon"]["end_date"] = "2022-03-31"
    path = tmp_path_factory.mktemp("sens_params") / "params.yaml"
    path.write_text(yaml.safe_dump(d), encoding="utf-8")
    return path


def _write(folder: Path, params: Path, **over) -> Path:
    spec = {
        "baseline": str(params),
        "replications": 2,
        "seed": 7,
        "morris": {"trajectories": 2},
        "inputs": [
            # nobody's output depends on what an 'other' placement costs when the output is a count
            {"name": "other placement weekly cost", "path": "costs.placement_weekly.other", "low": 400, "high": 1200},
            {"name": "new contacts a month", "path": "arrivals.new_contacts.per_month", "low": 500, "high": 900},
            {"name": "reunification 10-15 non-kinship",
             "path": "care.exit_routes[2].non_kinship.reunification.probability", "low": 0.3, "high": 0.5},
        ],
        "output": {"measure": "cic_average", "financial_year": "2021/22", "unit": "children"},
    }
    spec.update(over)
    path = folder / "sens.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def analysed(tiny_params, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sens")
    spec = _write(folder, tiny_params)
    out = folder / "out"
    assert main(["sensitivity", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    return spec, out


def test_writes_every_file(analysed):
    _, out = analysed
    for name in ("sensitivity_indices.csv", "tornado.csv", "tornado.png", "morris.png", "evaluations.csv",
                 "manifest.json"):
        assert (out / name).stat().st_size > 0, name
    ind = pd.read_csv(out / "sensitivity_indices.csv")
    assert list(ind.columns) == ["method", "input", "index", "value", "low", "high"]
    assert set(ind["index"]) == {"mu_star", "mu", "sigma"}
    tor = pd.read_csv(out / "tornado.csv")
    assert {"input", "low_value", "high_value", "output_at_low", "output_at_high", "swing"} <= set(tor.columns)
    ev = pd.read_csv(out / "evaluations.csv")
    assert (ev["method"] == "morris").sum() == 2 * (3 + 1)
    assert (ev["method"] == "tornado").sum() == 6 and (ev["method"] == "base").sum() == 1
    man = json.loads((out / "manifest.json").read_text())
    assert man["replications_per_evaluation"] == 2 and man["evaluations"]["morris"] == 8


def test_no_effect_input_has_mu_star_zero_and_demand_matters(analysed):
    _, out = analysed
    ind = pd.read_csv(out / "sensitivity_indices.csv")
    mu = ind[ind["index"] == "mu_star"].set_index("input")["value"]
    assert mu["other placement weekly cost"] == 0.0
    assert mu["new contacts a month"] > 0
    tor = pd.read_csv(out / "tornado.csv")
    assert tor.loc[tor["input"] == "other placement weekly cost", "swing"].iloc[0] == 0.0
    assert tor["input"].iloc[0] == "new contacts a month"       # largest swing first
    assert list(tor["swing"]) == sorted(tor["swing"], reverse=True)
    # the tornado's ranking agrees with Morris
    assert list(tor["input"]) == list(mu.sort_values(ascending=False, kind="stable").index)
    # more contacts, more children in care
    row = tor.set_index("input").loc["new contacts a month"]
    assert row["output_at_high"] > row["output_at_low"]


def test_rerun_comes_from_the_cache_with_the_same_results(analysed, capsys):
    spec, out = analysed
    before = pd.read_csv(out / "evaluations.csv")
    assert main(["sensitivity", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(before, pd.read_csv(out / "evaluations.csv"))


def test_probability_input_renormalises_its_decision(tiny_params):
    d = yaml.safe_load(tiny_params.read_text())
    path = "care.exit_routes[2].non_kinship.reunification.probability"
    new = set_value(d, path, 0.5)
    routes = new["care"]["exit_routes"][2]["non_kinship"]
    assert routes["reunification"]["probability"] == 0.5
    assert abs(sum(r["probability"] for r in routes.values()) - 1) < 1e-12
    old = d["care"]["exit_routes"][2]["non_kinship"]
    assert routes["age18"]["probability"] / routes["other"]["probability"] == \
        pytest.approx(old["age18"]["probability"] / old["other"]["probability"])
    out = set_value(d, "assessment.outcomes.care", 0.04)
    assert abs(sum(out["assessment"]["outcomes"].values()) - 1) < 1e-12
    assert get_value(d, path) == 0.42            # the input dict is not changed
    # a probability that is not part of a decision is set alone
    assert set_value(d, "care.reentry.probability", 0.3)["care"]["reentry"]["probability"] == 0.3


@pytest.mark.parametrize("change, words", [
    ({"inputs": [{"path": "costs.placement_weekly.castle", "low": 1, "high": 2}]}, "unknown path"),
    ({"inputs": [{"path": "arrivals.new_contacts.per_month", "low": 900, "high": 500}]}, "must be below high"),
    ({"inputs": [{"path": "arrivals.new_contacts.per_month", "low": 700, "high": 700}]}, "must be below high"),
    ({"inputs": [{"path": "assessment.outcomes.care", "low": 0.1, "high": 1.5}]}, "not allowed"),
    ({"inputs": [{"path": "horizon.end_date", "low": 1, "high": 2}]}, "not a number"),
    ({"inputs": [{"path": "arrivals.new_contacts.per_month", "low": 1, "high": 2, "colour": "red"}]}, "unknown field"),
    ({"output": {"measure": "cic_average", "financial_year": "2031/32"}}, "outside the forecast"),
    ({"inputs": [{"path": "lever:all_levers:edge_of_care:divert_share", "low": 0.1, "high": 0.2}]}, "scenarios"),
])
def test_bad_files_exit_2_with_one_line(tiny_params, tmp_path, capsys, change, words):
    spec = _write(tmp_path, tiny_params, **change)
    assert main(["sensitivity", str(spec), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err, err
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_unknown_path_names_the_input(tiny_params, tmp_path, capsys):
    spec = _write(tmp_path, tiny_params, inputs=[{"name": "castle upkeep", "path": "costs.castle", "low": 1, "high": 2}])
    assert main(["sensitivity", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "castle upkeep" in capsys.readouterr().err


@pytest.mark.slow
def test_saving_of_a_scenario_with_a_lever_input(tiny_params, tmp_path):
    """Paired saving against the baseline: with no diversion the scenario saves nothing."""
    scen = {"name": "tiny", "baseline": str(tiny_params), "scenarios": [
        {"name": "eoc", "levers": [{"lever": "edge_of_care", "start": "2021-05-01", "ramp_months": 1,
                                    "mechanism": {"divert_share": 0.3}}]}]}
    (tmp_path / "scen.yaml").write_text(yaml.safe_dump(scen), encoding="utf-8")
    spec = _write(tmp_path, tiny_params, scenarios="scen.yaml",
                  inputs=[{"name": "diverted", "path": "lever:eoc:edge_of_care:divert_share", "low": 0.0, "high": 0.5}],
                  output={"kind": "saving", "scenario": "eoc", "measure": "cost_total", "financial_year": "2021/22"})
    out = tmp_path / "out"
    assert main(["sensitivity", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    tor = pd.read_csv(out / "tornado.csv").iloc[0]
    assert tor["output_at_low"] == 0.0           # common random numbers: no lever, no difference
    assert tor["output_at_high"] > 0             # fewer children in care costs less


@pytest.mark.slow
def test_sobol_indices_with_intervals(tiny_params, tmp_path):
    """Saltelli sampling: S1, ST and S2 rows with intervals; an input with no effect gets 0."""
    spec = _write(tmp_path, tiny_params, replications=1)
    out = tmp_path / "out"
    assert main(["sensitivity", str(spec), "--out", str(out), "--method", "sobol", "--samples", "2",
                 "--workers", "2", "--quiet"]) == 0
    ind = pd.read_csv(out / "sensitivity_indices.csv")
    assert set(ind["method"]) == {"sobol"} and set(ind["index"]) == {"S1", "ST", "S2"}
    s = ind.set_index(["index", "input"])["value"]
    assert s[("ST", "other placement weekly cost")] == 0.0 and s[("S1", "other placement weekly cost")] == 0.0
    assert (ind["low"] <= ind["value"]).all() and (ind["value"] <= ind["high"]).all()
    ev = pd.read_csv(out / "evaluations.csv")
    assert (ev["method"] == "sobol").sum() == 2 * (2 * 3 + 2)
    assert not (out / "morris.png").exists()


def test_on_a_two_worker_dask_cluster_the_results_are_the_same(analysed, tmp_path, capsys):
    """The same file on an embedded Dask LocalCluster of 2 workers gives the same indices, tornado
    and evaluations, to the last digit, as the local process pool, and shows progress. One
    replication per evaluation keeps it short: the local reference reads replication 0 of every
    evaluation from the cache the local run above filled, so only the Dask run computes anything."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    spec, done = analysed
    local, dask = tmp_path / "local", tmp_path / "dask"
    shutil.copytree(done / ".cache", local / ".cache")
    common = ["sensitivity", str(spec), "--replications", "1", "--workers", "2"]
    assert main(common + ["--out", str(local), "--quiet"]) == 0
    capsys.readouterr()
    assert main(common + ["--out", str(dask), "--backend", "dask"]) == 0
    assert "replications (" in capsys.readouterr().err          # the progress bar
    for name in ("sensitivity_indices.csv", "tornado.csv", "evaluations.csv"):
        assert (dask / name).read_bytes() == (local / name).read_bytes(), name
    assert json.loads((dask / "manifest.json").read_text())["backend"] == "dask (local cluster)"
    assert len(list((dask / ".cache").glob("*.npz"))) == 1 + 6 + 8    # base, tornado, Morris: all run on Dask
