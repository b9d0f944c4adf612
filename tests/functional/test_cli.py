"""The command line: `carepath run` writes the relied-on outputs and is reproducible; every bad
input ends in exit status 2 and one plain line naming the field or file, with no traceback."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from carepath.cli import main

RELIED_ON = (
    "cic_average", "cic_at_year_end", "cin_at_year_end", "cp_at_year_end", "contacts", "referrals",
    "assessments", "cin_plan_starts", "cp_plan_starts", "care_entries", "care_exits_reunification",
    "care_exits_sgo", "care_exits_adoption", "care_exits_age18", "care_exits_other",
    "placement_weekly_cost_average", "placements_over_4100_average", "foster_carers_at_year_end",
    "children_waiting_for_placement_average", "cost_placements", "cost_social_work", "cost_total",
)
MANIFEST_KEYS = ("params_hash", "seed", "replications", "code_version", "wall_seconds", "simulation_events")


@pytest.fixture(scope="module")
def happy_run(tmp_path_factory, repo):
    """Two runs with the same seed (one in parallel, one sequential) of 2 replications x 1 year."""
    base = tmp_path_factory.mktemp("cli")
    args = ["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--replications", "2",
            "--years", "1", "--quiet"]
    rc1 = main(args + ["--out", str(base / "a"), "--workers", "2"])
    rc2 = main(args + ["--out", str(base / "b"), "--workers", "1"])
    return rc1, rc2, base / "a", base / "b"


def test_run_writes_the_relied_on_outputs(happy_run):
    rc1, _, out, _ = happy_run
    assert rc1 == 0
    summary = pd.read_csv(out / "summary_by_fy.csv")
    assert list(summary.columns) == ["replication", "financial_year", "measure", "value"]
    assert sorted(summary["replication"].unique()) == [0, 1]
    assert list(summary["financial_year"].unique()) == ["2021/22"]
    for rep in (0, 1):
        got = summary[summary["replication"] == rep].set_index("measure")["value"]
        missing = [m for m in RELIED_ON if m not in got.index]
        assert not missing, missing
        assert got[list(RELIED_ON)].notna().all()
        assert got["cic_average"] > 100 and got["cost_total"] > got["cost_placements"] > 0
    stocks = pd.read_csv(out / "stocks_by_month.csv")
    assert list(stocks.columns) == ["replication", "month", "measure", "value"]
    assert stocks["month"].nunique() == 12 and {"care", "cin", "cp"} <= set(stocks["measure"])
    events = pd.read_csv(out / "event_log.csv.gz")
    assert {"time", "child", "event", "from_state", "to_state", "placement"} <= set(events.columns)
    assert len(events) > 1000
    manifest = json.loads((out / "manifest.json").read_text())
    for k in MANIFEST_KEYS:
        assert k in manifest, k
    assert manifest["seed"] == 12345 and manifest["replications"] == 2
    assert re.fullmatch(r"[0-9a-f]{16}", manifest["params_hash"])
    assert manifest["simulation_events"] > 0 and manifest["wall_seconds"] > 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["children_in_care_by_placement.png", "cin_cp_cic_bands.png"]
    for p in out.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_same_seed_gives_identical_summary_whatever_the_workers(happy_run):
    rc1, rc2, a, b = happy_run
    assert rc1 == rc2 == 0
    assert (a / "summary_by_fy.csv").read_bytes() == (b / "summary_by_fy.csv").read_bytes()
    assert (a / "stocks_by_month.csv").read_bytes() == (b / "stocks_by_month.csv").read_bytes()
    ma, mb = (json.loads((x / "manifest.json").read_text()) for x in (a, b))
    assert ma["params_hash"] == mb["params_hash"] and ma["simulation_events"] == mb["simulation_events"]


# ------------------------------------------------------------------------------------- bad input
def _write(tmp_path, name, data) -> str:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(p)


def _mutated(base: dict, fn) -> dict:
    d = copy.deepcopy(base)
    fn(d)
    return d


BAD_PARAMS = {
    "malformed": ("name: x\n  foo: [1, 2\n", ["malformed YAML", "line 2"]),
    "missing": (lambda d: d["front_door"].pop("screening"), ["missing field 'front_door.screening'"]),
    "unknown": (lambda d: d["care"].update(magic=1), ["unknown field 'care.magic'"]),
    "sum": (lambda d: d["front_door"]["outcomes"].update(nfa=0.5), ["'front_door.outcomes'", "sum to 1.05"]),
    "negative_duration": (lambda d: d["assessment"]["duration"].update(median_days=-30),
                          ["assessment.duration", "-30"]),
    "negative_rate": (lambda d: d["arrivals"]["new_contacts"].update(per_month=-1),
                      ["arrivals.new_contacts.per_month", "-1"]),
}


@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_bad_parameters_exit_2_with_one_line(case, baseline_dict, tmp_path, capsys):
    spec, expect = BAD_PARAMS[case]
    data = spec if isinstance(spec, str) else _mutated(baseline_dict, spec)
    path = _write(tmp_path, f"{case}.yaml", data)
    rc = main(["run", "--params", path, "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert path in lines[0] and "Traceback" not in err
    for e in expect:
        assert e in lines[0], (e, lines[0])
    assert not (tmp_path / "out").exists()


BAD_SNAPSHOTS = {
    "missing_column": ("child_id,dob\n1,2010-01-01\n", "missing column 'state'"),
    "bad_placement": ("child_id,dob,state,state_start,care_start,placement,previous_cp_plans\n"
                      "1,2010-01-01,care,2020-01-01,2020-01-01,palace,0\n", "placement 'palace'"),
    "bad_date": ("child_id,dob,state,state_start,care_start,placement,previous_cp_plans\n"
                 "1,yesterday,cin,2020-01-01,,,0\n", "field 'dob'"),
    "adult": ("child_id,dob,state,state_start,care_start,placement,previous_cp_plans\n"
              "1,2000-01-01,cin,2020-01-01,,,0\n", "18 or over"),
    "not_found": (None, "snapshot file not found"),
}


@pytest.mark.parametrize("case", list(BAD_SNAPSHOTS))
def test_bad_snapshot_exits_2_with_one_line(case, repo, tmp_path, capsys):
    text, expect = BAD_SNAPSHOTS[case]
    path = tmp_path / f"{case}.csv"
    if text is not None:
        path.write_text(text)
    rc = main(["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--snapshot", str(path),
               "--out", str(tmp_path / "out"), "--years", "1", "--replications", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and expect in lines[0], err


def test_bad_command_line_values_exit_2(repo, capsys):
    for argv in (["run", "--replications", "0"], ["run", "--seed", "x"], ["run", "--nonsense"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("carepath")


def test_real_process_prints_no_traceback(baseline_dict, tmp_path, repo):
    """The installed console script and `python -m carepath`, as a user runs them."""
    bad = _write(tmp_path, "bad.yaml", _mutated(baseline_dict, lambda d: d["s47"]["outcomes"].update(cp=0.9)))
    exe = os.path.join(os.path.dirname(sys.executable), "carepath")
    cmds = [[exe, "run", "--params", bad, "--out", str(tmp_path / "o"), "--quiet"],
            [sys.executable, "-m", "carepath", "run", "--params", bad, "--out", str(tmp_path / "o"), "--quiet"]]
    for cmd in cmds:
        if not os.path.exists(cmd[0]):
            pytest.fail(f"console script not installed: {cmd[0]}")
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=repo, timeout=120)
        assert p.returncode == 2
        assert "Traceback" not in p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and "s47.outcomes" in lines[0] and bad in lines[0], p.stderr
