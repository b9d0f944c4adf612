"""The back-test's fixed scenario, and the reading, writing and comparing of its tables.

Run as a script, it runs the scenario with whatever `sim` is importable (set PYTHONPATH to take it
from another checkout, and CAREPATH_PURE_PYTHON=1 for the Python source) and writes the tables:

    python tests/backtest/_backtest.py expected DIR   # as the committed expected files
    python tests/backtest/_backtest.py actual DIR     # as pickles, for the test to compare

It imports `sim` only inside functions, so the test can use the reader and the comparison
without choosing a build of the model core in its own process.

The scenario: the shipped `experiments/baseline.yaml` cut to two financial years (to 31 March
2023), from its starting caseload, seed 2024, replication 0, as the baseline and with eleven
levers acting from 1 October 2021 (the levers of tests/functional/test_compiled_core.py). Every
table a replication returns is kept, with `summary_by_fy` and `stocks_by_month`.

The files: one `<scenario>/<table>.csv.gz` a table and `schema.json` (the scenario, each table's
columns, their types and, for categorical columns, their categories in order, and the count of
SimPy events). Floats are written with `repr`, which reads back to the same bits, so every value
is compared exactly. Text columns are written as they are; no text value is missing in these
tables (checked on writing), so an empty field is an empty string.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "exp_results"

END_DATE = dt.date(2023, 3, 31)
SEED = 2024
REPLICATIONS = (0,)
LEVER_START = dt.date(2021, 10, 1)
LEVERS = [  # (lever, mechanism), each from LEVER_START with a ramp of 6 months
    ("edge_of_care", {"divert_share": 0.1}),
    ("reunification", {"reunification_rate_per_year": 0.05}),
    ("fewer_repeat_plans", {"repeat_plan_reduction": 0.3}),
    ("shorter_plans", {"cin_weeks_shorter": 6, "cp_weeks_shorter": 2}),
    ("kinship_to_sgo", {"sgo_share": 0.3}),
    ("faster_permanence", {"weeks_shorter": 5}),
    ("foster_carers", {"extra_joiners_per_year": 11}),
    ("block_beds", {"extra_beds": 10}),
    ("carer_support", {"breakdown_reduction": 0.2}),
    ("carer_retention", {"leaving_reduction": 0.2}),
    ("front_door_workers", {"extra_workers": 3}),
]
SCENARIOS = ("baseline", "levers")
TABLES = ("events", "children", "allowances", "capacity", "team_waits", "team_workers",
          "summary_by_fy", "stocks_by_month")


def scenario_description() -> dict:
    return {"params": "experiments/baseline.yaml", "end_date": END_DATE.isoformat(), "seed": SEED,
            "replications": list(REPLICATIONS), "lever_start": LEVER_START.isoformat(), "ramp_months": 6,
            "levers": {name: mech for name, mech in LEVERS}}


# ------------------------------------------------------------------------------ running
def shipped_params() -> Path:
    """The shipped baseline beside the `sim` package imported (so another checkout's code runs
    with that checkout's parameters and starting caseload)."""
    import sim

    return Path(sim.__file__).resolve().parents[1] / "experiments" / "baseline.yaml"


def _read_snapshot(path: Path, params):
    """What sim/files.py's `read_snapshot` does (that module is moving), without its error wording."""
    from sim.initial import cases_from_frame

    df = pd.read_csv(path, dtype={"state": str, "placement": str, "closure": str}, keep_default_na=False,
                     na_values={"previous_cp_plans": [""]}, comment="#")
    return cases_from_frame(df, params.horizon.start_date, str(path))


def run_scenarios() -> tuple[dict[str, pd.DataFrame], dict]:
    """Every table of every scenario and replication, keyed `<scenario>/<table>` (with `_rep<r>`
    after the scenario when there is more than one replication), and facts about the run."""
    import sim
    import sim.core
    from sim.levers import Lever, build_mechanisms
    from sim.measures import stocks_by_month, summary_by_fy
    from sim.params import load_params
    from sim.runner import run_replication

    params_path = shipped_params()
    params = load_params(params_path)
    params = params.model_copy(update={"horizon": params.horizon.model_copy(update={"end_date": END_DATE})})
    snap_path = Path(params.initial_caseload)  # relative to the parameter file (sim/files.py's resolve_snapshot)
    if not snap_path.is_absolute():
        snap_path = params_path.parent / snap_path
    snapshot = _read_snapshot(snap_path, params)
    levers = [Lever(lever=name, start=LEVER_START, ramp_months=6, mechanism=mech) for name, mech in LEVERS]
    frames, sim_events = {}, {}
    for scenario in SCENARIOS:
        for rep in REPLICATIONS:
            mech = None if scenario == "baseline" else build_mechanisms(levers, params)
            r = run_replication(params, SEED, rep, snapshot=snapshot, mechanisms=mech)
            key = scenario if len(REPLICATIONS) == 1 else f"{scenario}_rep{rep}"
            for table in TABLES[:6]:
                frames[f"{key}/{table}"] = getattr(r, table)
            frames[f"{key}/summary_by_fy"] = summary_by_fy(r)
            frames[f"{key}/stocks_by_month"] = stocks_by_month(r)
            sim_events[key] = int(r.sim_events)
    facts = {"core": sim.core.kind(), "reason": sim.core.reason(), "sim": str(Path(sim.__file__).resolve().parent),
             "params": str(params_path), "sim_events": sim_events}
    return frames, facts


# ------------------------------------------------------------------------------ files
def _column_schema(s: pd.Series) -> dict:
    d = {"name": str(s.name), "dtype": str(s.dtype)}
    if isinstance(s.dtype, pd.CategoricalDtype):
        d["categories"] = [str(c) for c in s.cat.categories]
        d["categories_dtype"] = str(s.cat.categories.dtype)
        d["ordered"] = bool(s.cat.ordered)
    return d


def _kind(dtype) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "text"


def _as_text(s: pd.Series, where: str) -> list[str]:
    kind = _kind(s.dtype)
    if kind == "float":
        return [repr(float(v)) for v in s.to_numpy(dtype=np.float64)]
    if kind in ("int", "bool"):
        return [str(v) for v in s.tolist()]
    values = s.astype(object).tolist()
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{where}: column {s.name!r} holds a value that is not text at row {bad[0]}: "
                         f"{values[bad[0]]!r} (the expected files write text as it is)")
    return values


def write_expected(frames: dict[str, pd.DataFrame], facts: dict, folder: Path = EXPECTED) -> None:
    folder = Path(folder)
    schema = {"scenario": scenario_description(), "sim_events": facts["sim_events"], "tables": {}}
    for key, df in frames.items():
        path = folder / f"{key}.csv.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = pd.DataFrame({c: _as_text(df[c], key) for c in df.columns}, columns=list(df.columns))
        with gzip.GzipFile(path, "wb", mtime=0) as raw:  # no time stamp: the same tables, the same bytes
            text.to_csv(raw, index=False, lineterminator="\n")
        schema["tables"][key] = {"rows": len(df), "columns": [_column_schema(df[c]) for c in df.columns]}
    (folder / "schema.json").write_text(json.dumps(schema, indent=1) + "\n", encoding="utf-8")


def read_schema(folder: Path = EXPECTED) -> dict:
    return json.loads((Path(folder) / "schema.json").read_text(encoding="utf-8"))


def read_expected(folder: Path = EXPECTED) -> dict[str, pd.DataFrame]:
    """The expected tables with the recorded column types."""
    folder = Path(folder)
    out = {}
    for key, spec in read_schema(folder)["tables"].items():
        raw = pd.read_csv(folder / f"{key}.csv.gz", dtype=object, keep_default_na=False, na_filter=False)
        cols = {}
        for c in spec["columns"]:
            v = raw[c["name"]].tolist() if len(raw) else []
            if "categories" in c:
                cats = pd.Index(c["categories"], dtype=c["categories_dtype"])
                cols[c["name"]] = pd.Categorical(v, categories=cats, ordered=c["ordered"])
            elif c["dtype"] == "bool":
                cols[c["name"]] = pd.array([{"True": True, "False": False}[x] for x in v], dtype="bool")
            elif c["dtype"].startswith(("int", "uint")):
                cols[c["name"]] = np.array([int(x) for x in v], dtype=c["dtype"])
            elif c["dtype"].startswith("float"):
                cols[c["name"]] = np.array([float(x) for x in v], dtype=c["dtype"])
            else:
                cols[c["name"]] = pd.array(v, dtype=c["dtype"])
        out[key] = pd.DataFrame(cols, columns=[c["name"] for c in spec["columns"]])
        assert len(out[key]) == spec["rows"], f"{key}: {len(out[key])} rows read, {spec['rows']} recorded"
    return out


# ------------------------------------------------------------------------------ comparing
def _same(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    if kind == "float":
        a, b = a.astype(np.float64), b.astype(np.float64)
        # the same bits but for -0.0 against 0.0; NaN equals NaN
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return a == b


def compare_table(key: str, actual: pd.DataFrame, expected: pd.DataFrame, spec: dict, show: int = 5) -> list[str]:
    """Differences between a table and its expected file, as plain lines (none: the same)."""
    problems = []
    want_cols = [c["name"] for c in spec["columns"]]
    if list(actual.columns) != want_cols:
        return [f"{key}: columns {list(actual.columns)}, expected {want_cols}"]
    for c in spec["columns"]:
        got = _column_schema(actual[c["name"]])
        if got != c:
            problems.append(f"{key}: column {c['name']!r} has type {got}, expected {c}")
    if len(actual) != len(expected):
        problems.append(f"{key}: {len(actual)} rows, expected {len(expected)}")
    n = min(len(actual), len(expected))
    differ = np.zeros(n, dtype=bool)
    for c in spec["columns"]:
        name = c["name"]
        kind = _kind(expected[name].dtype)
        a = actual[name].to_numpy()[:n]
        b = expected[name].to_numpy()[:n]
        if kind in ("category", "text"):
            a, b = a.astype(object).astype(str), b.astype(object).astype(str)
        same = _same(a, b, kind)
        if not same.all():
            problems.append(f"{key}: column {name!r} differs in {int((~same).sum())} of {n} rows")
            differ |= ~same
    if differ.any() or len(actual) != len(expected):
        first = int(np.argmax(differ)) if differ.any() else n
        problems.append(f"{key}: first difference at row {first}")
        rows = np.flatnonzero(differ)[:show]
        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 17):
            if len(rows):
                problems.append("actual rows:\n" + actual.iloc[rows].to_string())
                problems.append("expected rows:\n" + expected.iloc[rows].to_string())
            if len(actual) != len(expected):
                problems.append(f"rows from {n}: actual\n" + actual.iloc[n:n + show].to_string()
                                + "\nexpected\n" + expected.iloc[n:n + show].to_string())
    return problems


def compare(actual: dict[str, pd.DataFrame], actual_facts: dict, folder: Path = EXPECTED,
            expected: dict[str, pd.DataFrame] | None = None) -> list[str]:
    """Every difference between a run's tables and facts and the expected files, as plain lines."""
    schema = read_schema(folder)
    if expected is None:
        expected = read_expected(folder)
    problems = []
    if schema["scenario"] != scenario_description():
        problems.append("the scenario in _backtest.py is not the one the expected files were made from: "
                        "run tests/backtest/regenerate.py")
    if set(actual) != set(expected):
        problems.append(f"tables {sorted(actual)}, expected {sorted(expected)}")
    for key in expected:
        if key in actual:
            problems.extend(compare_table(key, actual[key], expected[key], schema["tables"][key]))
    if actual_facts["sim_events"] != schema["sim_events"]:
        problems.append(f"SimPy events scheduled {actual_facts['sim_events']}, expected {schema['sim_events']}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("expected", "actual"):
        print("usage: _backtest.py expected|actual DIR", file=sys.stderr)
        return 2
    what, folder = argv[0], Path(argv[1])
    frames, facts = run_scenarios()
    if what == "expected":
        write_expected(frames, facts, folder)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        pd.to_pickle((frames, facts), folder / "actual.pkl")
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
