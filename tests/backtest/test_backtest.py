"""Back-test: a short fixed scenario gives exactly the frozen results in `exp_results/`.

Two financial years of the shipped baseline from its starting caseload, seed 2024, as the
baseline and with eleven levers acting (see `_backtest.py`). Every table a replication returns
(event log, children, allowances, capacity, team waits, team workers), `summary_by_fy` and
`stocks_by_month` are compared with the expected files: the same columns, types, categories and
rows, every value exactly. Each build of the model core runs in its own process: the Python
source everywhere, and the compiled build where it exists.

The expected files were made by the code before the architecture refactor (commit ed6ff00,
Python source). A change that moves a number must update them (`tests/backtest/regenerate.py`)
in the same commit and say why.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim.core as core

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_spec = importlib.util.spec_from_file_location("carepath_backtest", HERE / "_backtest.py")
backtest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backtest)


def _run(build: str, out: Path) -> tuple[dict, dict, str]:
    env = {k: v for k, v in os.environ.items() if k != core.ENV_PURE}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if build == "python":
        env[core.ENV_PURE] = "1"
    p = subprocess.run([sys.executable, str(HERE / "_backtest.py"), "actual", str(out)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    frames, facts = pd.read_pickle(out / "actual.pkl")
    assert facts == json.loads(p.stdout.strip().splitlines()[-1])
    return frames, facts, p.stderr


def _compiled_build_exists() -> bool:
    return any(core._built(m) for m in core.COMPILED)


@pytest.mark.parametrize("build", ["python", "compiled"])
def test_results_match_the_frozen_expected_files(build, tmp_path):
    if build == "compiled" and not _compiled_build_exists():
        pytest.skip("no compiled build of the model core here (`make setup` builds it where there is a C "
                    "compiler): the Python source was back-tested alone")
    frames, facts, stderr = _run(build, tmp_path)
    if build == "compiled" and facts["core"] != "compiled":
        pytest.skip(f"the compiled build did not run: {facts['reason']}")
    assert facts["core"] == build, stderr
    assert Path(facts["sim"]) == REPO / "sim", f"ran the model from {facts['sim']}, not this checkout"
    problems = backtest.compare(frames, facts)
    assert not problems, (f"the {build} build's results differ from tests/backtest/exp_results "
                          "(a change that moves a number updates them in the same commit, saying why: "
                          "tests/backtest/regenerate.py):\n" + "\n".join(problems))


def test_the_comparison_sees_a_changed_value_type_or_row():
    """The comparison must be able to fail: one value, one type, one row lost."""
    expected = backtest.read_expected()
    schema = backtest.read_schema()
    facts = {"sim_events": schema["sim_events"]}
    assert backtest.compare(expected, facts, expected=expected) == []

    def changed(key, edit):
        frames = dict(expected)
        frames[key] = edit(frames[key].copy())
        return backtest.compare(frames, facts, expected=expected)

    def nudge(df):
        df.loc[10, "time"] = float(df.loc[10, "time"]) * (1 + 1e-15) + 1e-300
        return df

    out = changed("levers/events", nudge)
    assert any("column 'time' differs in 1 of" in p for p in out) and any("first difference at row 10" in p for p in out)
    out = changed("baseline/children", lambda df: df.astype({"dob": "float32"}))
    assert any("column 'dob' has type" in p for p in out)
    out = changed("baseline/events", lambda df: df.assign(event=df["event"].cat.reorder_categories(
        list(df["event"].cat.categories[::-1]))))
    assert any("column 'event' has type" in p for p in out)
    out = changed("levers/summary_by_fy", lambda df: df.drop(index=df.index[-1]).reset_index(drop=True))
    assert any("rows, expected" in p for p in out)
    out = backtest.compare(expected, {"sim_events": {**schema["sim_events"], "baseline": 1}}, expected=expected)
    assert any("SimPy events" in p for p in out)
