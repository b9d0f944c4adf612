"""The compiled model core (Cython, `sim/core.py`) against the plain Python source: the same
results to the last digit, and never a stale build running in place of edited source."""
from __future__ import annotations

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sim.core as core

REPO = Path(__file__).resolve().parents[2]

# One replication of two years from the shipped snapshot, with levers acting on plans, returns,
# edge of care, placements and exits, so every compiled function is used; prints a hash of every
# table of the replication (event log, children, allowances, capacity, team waits and workers)
# and of the summary, values and column types, and the build that ran.
SCRIPT = r"""
import datetime as dt, hashlib, json, sys
from pathlib import Path
import pandas as pd
import sim.core
from sim.inputs import read_snapshot, resolve_snapshot
from sim.levers import Lever, build_mechanisms
from sim.measures import summary_by_fy
from sim.params import load_params
from sim.runner import run_replication

path = Path(sys.argv[1])
params = load_params(path)
params = params.model_copy(update={"horizon": params.horizon.model_copy(update={"end_date": dt.date(2023, 3, 31)})})
snap = read_snapshot(resolve_snapshot(params, path), params)
start = dt.date(2021, 10, 1)
levers = [Lever(lever="edge_of_care", start=start, ramp_months=6, mechanism={"divert_share": 0.1}),
          Lever(lever="reunification", start=start, ramp_months=6, mechanism={"reunification_rate_per_year": 0.05}),
          Lever(lever="fewer_repeat_plans", start=start, ramp_months=6, mechanism={"repeat_plan_reduction": 0.3}),
          Lever(lever="shorter_plans", start=start, ramp_months=6, mechanism={"cin_weeks_shorter": 6, "cp_weeks_shorter": 2}),
          Lever(lever="kinship_to_sgo", start=start, ramp_months=6, mechanism={"sgo_share": 0.3}),
          Lever(lever="faster_permanence", start=start, ramp_months=6, mechanism={"weeks_shorter": 5}),
          Lever(lever="foster_carers", start=start, ramp_months=6, mechanism={"extra_joiners_per_year": 11}),
          Lever(lever="block_beds", start=start, ramp_months=6, mechanism={"extra_beds": 10}),
          Lever(lever="carer_support", start=start, ramp_months=6, mechanism={"breakdown_reduction": 0.2}),
          Lever(lever="carer_retention", start=start, ramp_months=6, mechanism={"leaving_reduction": 0.2}),
          Lever(lever="front_door_workers", start=start, ramp_months=6, mechanism={"extra_workers": 3})]
out = {"core": sim.core.kind()}
for name, mech in (("baseline", None), ("levers", build_mechanisms(levers, params))):
    r = run_replication(params, 2024, 3, snapshot=snap, mechanisms=mech)
    h = hashlib.sha256()
    frames = (r.events.astype({c: str for c in r.events.columns[2:]}), r.children, r.allowances, r.capacity,
              r.team_waits, r.team_workers, summary_by_fy(r))
    for frame in frames:  # values and column types: an int time in one build and a float in the other differ
        h.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
        h.update(repr(list(frame.dtypes.astype(str))).encode())
    out[name] = [h.hexdigest(), int(r.sim_events), len(r.events)]
print(json.dumps(out))
"""


def _run(env_extra: dict, cwd: Path = REPO, pythonpath: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != core.ENV_PURE}
    env.update(env_extra)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(REPO / "experiments" / "baseline.yaml")],
                       cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1]) | {"stderr": p.stderr}


def _has_compiler() -> bool:
    return any(shutil.which(c) for c in ("cc", "gcc", "clang"))


def test_the_compiled_core_is_in_use_where_it_can_be_built():
    """`make setup` builds the compiled core wherever there is a C compiler; a build that failed
    quietly would leave every run several times slower."""
    if not _has_compiler():
        pytest.skip("no C compiler on this machine: carepath runs its Python source")
    assert core.kind() == "compiled", core.reason()


def test_compiled_and_python_builds_give_identical_results():
    if core.kind() != "compiled":
        pytest.skip(f"the compiled core is not in use here ({core.reason()})")
    compiled = _run({})
    python = _run({core.ENV_PURE: "1"})
    assert (compiled["core"], python["core"]) == ("compiled", "python")
    assert compiled["baseline"] == python["baseline"]
    assert compiled["levers"] == python["levers"]
    assert compiled["baseline"][0] != compiled["levers"][0]  # the levers did act


def test_an_edited_module_runs_from_its_source_not_an_older_build(tmp_path):
    """A compiled module shadows its .py file, so editing the .py must switch the whole core to
    the Python source, with a message saying so, until it is rebuilt."""
    built = [m for m in core.COMPILED
             if any((core.HERE / f"{m}{s}").exists() for s in importlib.machinery.EXTENSION_SUFFIXES)]
    if not built:
        pytest.skip("the compiled core is not built here")
    copy = tmp_path / "sim"
    shutil.copytree(core.HERE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    probe = ("import sim, sim.core, sim.pathway, sim.child; "
             "print(sim.core.kind(), sim.pathway.__file__.endswith('.py'), sim.child.__file__.endswith('.py'))")

    def kind_of() -> tuple[str, str]:
        env = {k: v for k, v in os.environ.items() if k != core.ENV_PURE} | {"PYTHONPATH": str(tmp_path)}
        p = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return p.stdout.strip(), p.stderr

    assert kind_of() == ("compiled False False", "")
    pathway = copy / "pathway.py"
    pathway.write_text(pathway.read_text() + "\n# edited\n")
    out, err = kind_of()
    assert out == "python True True"  # every core module from source, not a mix
    assert "sim/pathway.py" in err and "make setup" in err
    # a build record that does not parse is treated as out of date too
    pathway.write_text(pathway.read_text().removesuffix("\n# edited\n"))
    (copy / core.MANIFEST).write_text("{not json")
    assert kind_of()[0] == "python True True"
    (copy / core.MANIFEST).write_text(json.dumps(core.source_hashes(copy)))
    assert kind_of() == ("compiled False False", "")


def test_a_core_that_was_never_compiled_is_named_once_per_command(monkeypatch, capsys, tmp_path):
    """A failed build is quiet at install (`pip --quiet`), so each command says the source runs."""
    from carepath.cli import main

    missing = ["run", "--params", str(tmp_path / "no_such.yaml"), "--out", str(tmp_path / "out")]
    monkeypatch.setattr(core, "_kind", "python")
    monkeypatch.setattr(core, "_reason", "the compiled core is not built (no C compiler or Cython at install)")
    assert main(missing) == 2
    err = capsys.readouterr().err
    assert err.count("runs from its Python source") == 1 and "no_such.yaml" in err
    monkeypatch.setattr(core, "_kind", "compiled")
    monkeypatch.setattr(core, "_reason", "built from the current source")
    assert main(missing) == 2
    assert "Python source" not in capsys.readouterr().err
