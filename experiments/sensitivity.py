"""Sensitivity analysis: which uncertain inputs drive an output of the model.

A sensitivity file names the baseline parameter file, optionally a scenario file and scenario,
the uncertain inputs (a dotted path into the parameters, or a lever's intensity) with low and high
bounds, and one output: a measure's level in a financial year, or a scenario's saving against the
baseline. Three analyses share one set of model evaluations:

- a one-way tornado: each input at its low and its high bound, the others at their base values;
- Morris elementary effects (SALib): mu*, sigma and a bootstrap interval for mu*;
- Sobol indices from Saltelli sampling (SALib): S1 and ST (and S2) with intervals.

One evaluation is the mean over R replications with common random numbers: every evaluation uses
the same seed and the same replication numbers, so two evaluations differ only because their
inputs differ. Replications run through `experiments.run.run_many` with one `Context` per distinct
parameter set (its identity is the parameters' hash), all sharing one on-disk cache and one process
pool, so an interrupted analysis resumes from the finished replications.

Setting a single branching probability renormalises the other outcomes of the same decision
proportionally, so the decision still sums to 1 (see `set_value`).
"""
from __future__ import annotations

import copy
import math
import re
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.replications import Progress
from sim.calendar import fy_edges
from sim.levers import CATALOGUE, Lever
from sim.params import Params, ParamsError, describe_validation_error, params_from_dict, read_yaml_mapping

from .run import BASELINE, Context, resolve_scenarios, run_many
from .scenarios import ScenarioSet

_TOL = 1e-6


class SensitivityError(ValueError):
    """A sensitivity file that cannot be used; the message is one plain line."""


# ------------------------------------------------------------------------------- the file
class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    name: Optional[str] = Field(None, description="short label for tables and charts (default: the path)")
    path: str = Field(description="dotted path into the parameters, or lever:<scenario>:<lever>:<mechanism>")
    low: float
    high: float
    unit: str = ""

    @model_validator(mode="after")
    def _bounds(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"input {self.label!r}: bounds must be finite numbers")
        if not self.low < self.high:
            raise ValueError(f"input {self.label!r}: low ({self.low:g}) must be below high ({self.high:g})")
        return self

    @property
    def label(self) -> str:
        return self.name or self.path

    @property
    def is_lever(self) -> bool:
        return self.path.startswith("lever:")


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    kind: Literal["level", "saving"] = "level"
    measure: str = "cost_total"
    financial_year: str
    scenario: Optional[str] = Field(None, description="level: the scenario's level (default: the baseline); "
                                                      "saving: the scenario whose saving against the baseline")
    unit: str = ""

    @model_validator(mode="after")
    def _check(self):
        if self.kind == "saving" and not self.scenario:
            raise ValueError("output of kind 'saving' needs a scenario")
        if not re.fullmatch(r"\d{4}/\d{2}", self.financial_year):
            raise ValueError(f"output financial_year {self.financial_year!r} is not a year like '2029/30'")
        return self

    def describe(self) -> str:
        what = self.measure.replace("_", " ")
        if self.kind == "saving":
            return f"saving in {what} of scenario {self.scenario} against the baseline, {self.financial_year}"
        return f"{what} in {self.financial_year}" + (f", scenario {self.scenario}" if self.scenario else "")


class MorrisOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    trajectories: int = Field(4, ge=2, description="r: evaluations are r(k+1)")
    levels: int = Field(4, ge=2, description="grid levels p (even numbers are usual)")


class SobolOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    samples: int = Field(64, ge=2, description="N, a power of 2: evaluations are N(2k+2), or N(k+2) without S2")
    second_order: bool = True


class SensitivityFile(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN or infinite number can only be a mistake
    name: str = "sensitivity"
    description: str = ""
    baseline: str = Field(description="parameter file, relative to this file")
    scenarios: Optional[str] = Field(None, description="scenario file, relative to this file (for lever inputs and savings)")
    method: Literal["morris", "sobol", "both"] = "morris"
    replications: int = Field(2, ge=1)
    seed: int = Field(12345, ge=0)
    search_replications: Optional[int] = Field(None, ge=2, description="for a scenario's target levers (default: the scenario file's)")
    morris: MorrisOptions = Field(default_factory=MorrisOptions)
    sobol: SobolOptions = Field(default_factory=SobolOptions)
    inputs: list[Input]
    output: Output

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, v):
        if not v:
            raise ValueError("at least one input is needed")
        labels = [i.label for i in v]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"input names must be unique ({', '.join(dup)} repeated)")
        return v

    @model_validator(mode="after")
    def _scen(self):
        if (self.output.scenario or any(i.is_lever for i in self.inputs)) and not self.scenarios:
            raise ValueError("a scenario output or a lever input needs a 'scenarios' file")
        return self


def load_sensitivity_file(path: str | Path) -> SensitivityFile:
    data = read_yaml_mapping(path, "sensitivity file", SensitivityError)
    try:
        return SensitivityFile.model_validate(data)
    except ValidationError as err:
        raise SensitivityError(describe_validation_error(err, str(path))) from None


# --------------------------------------------------------------------- paths into Params
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list:
    """'care.exit_routes[2].non_kinship.x' -> ['care', 'exit_routes', 2, 'non_kinship', 'x']."""
    parts, pos = [], 0
    for m in _TOKEN.finditer(path):
        if m.start() != pos and path[pos:m.start()] != ".":
            raise ValueError(f"cannot read path {path!r}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(path) or not parts:
        raise ValueError(f"cannot read path {path!r}")
    return parts


def _walk(data, parts: list, path: str):
    node = data
    for i, p in enumerate(parts):
        where = _show(parts[:i + 1])
        if isinstance(p, int):
            if not isinstance(node, list) or not 0 <= p < len(node):
                raise KeyError(f"no item {where} in the parameters")
        elif not isinstance(node, dict) or p not in node:
            raise KeyError(f"no parameter {where}")
        node = node[p]
    return node


def _show(parts: list) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def get_value(data: dict, path: str) -> float:
    """The number at `path` of a parameter dict (as `Params.model_dump(mode="json")`)."""
    v = _walk(data, parse_path(path), path)
    if not _is_number(v):
        raise KeyError(f"parameter {path} is not a number (it holds {type(v).__name__})")
    return v


def _decision(data: dict, parts: list):
    """The decision a probability belongs to, as (container, key of each outcome, getter, setter),
    or None. A decision is a set of numbers that sums to 1: either a mapping of outcome to
    probability (e.g. assessment.outcomes) or routes each with a `probability` (e.g. cin_plan.routes)."""
    parent = _walk(data, parts[:-1], "")
    if isinstance(parent, dict) and all(_is_number(x) for x in parent.values()) and len(parent) > 1:
        if abs(sum(parent.values()) - 1.0) < _TOL:
            return parent, parts[-1], (lambda k: parent[k]), (lambda k, v: parent.__setitem__(k, v))
    if parts[-1] == "probability" and len(parts) >= 3:
        routes = _walk(data, parts[:-2], "")
        if (isinstance(routes, dict) and len(routes) > 1
                and all(isinstance(r, dict) and _is_number(r.get("probability")) for r in routes.values())
                and abs(sum(r["probability"] for r in routes.values()) - 1.0) < _TOL):
            return (routes, parts[-2], (lambda k: routes[k]["probability"]),
                    (lambda k, v: routes[k].__setitem__("probability", v)))
    return None


def set_value(data: dict, path: str, value: float) -> dict:
    """A copy of the parameter dict with `path` set to `value`. An integer parameter takes the
    nearest whole number. A probability that is one outcome of a decision (its outcomes sum to 1)
    renormalises the other outcomes proportionally: each keeps its share of what is left."""
    parts = parse_path(path)
    out = copy.deepcopy(data)
    old = _walk(out, parts, path)
    if not _is_number(old):
        raise KeyError(f"parameter {path} is not a number (it holds {type(old).__name__})")
    if isinstance(old, int):
        value = int(round(value))
    dec = _decision(out, parts)
    node = _walk(out, parts[:-1], path)
    node[parts[-1]] = value
    if dec is not None:
        container, key, get, put = dec
        others = [k for k in container if k != key]
        rest = sum(get(k) for k in others)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"probability {value:g} outside [0, 1]")
        if rest <= 0:
            if abs(value - 1.0) > _TOL:
                raise ValueError("the other outcomes of this decision are all 0, so it cannot be renormalised")
        else:
            for k in others:
                put(k, get(k) * (1.0 - value) / rest)
    return out


def lever_parts(path: str) -> tuple[str, str, str]:
    parts = path.split(":")
    if len(parts) != 4 or parts[0] != "lever" or not all(parts[1:]):
        raise KeyError(f"lever input {path!r} is not lever:<scenario>:<lever>:<mechanism>")
    return parts[1], parts[2], parts[3]


# ------------------------------------------------------------------------------- the plan
@dataclass
class Point:
    """One evaluation: the values of every input."""

    values: tuple
    params: Params = None
    levers: list = field(default_factory=list)   # the output scenario's levers (empty: no scenario)


class Analysis:
    """A validated sensitivity file with its base parameters and (resolved) scenario levers."""

    def __init__(self, spec: SensitivityFile, source: Path, params: Params, params_path: Path,
                 sset: Optional[ScenarioSet] = None, scenario_path: Optional[Path] = None):
        self.spec, self.source, self.params, self.params_path = spec, source, params, params_path
        self.sset, self.scenario_path = sset, scenario_path
        self.base_data = params.model_dump(mode="json")
        self.inputs = spec.inputs
        self.labels = [i.label for i in spec.inputs]
        self.base_levers: list[Lever] = []   # set once targets are resolved
        self._check()

    # ---- validation that needs the parameters and the scenario file
    def _check(self) -> None:
        src = str(self.source)
        fy_labels = [label for label, _, _ in fy_edges(self.params.horizon.start_date, self.params.horizon.days)]
        out = self.spec.output
        if out.financial_year not in fy_labels:
            raise SensitivityError(f"{src}: output financial_year {out.financial_year} is outside the forecast "
                                   f"({fy_labels[0]} to {fy_labels[-1]})")
        scen = self._scenario()
        if out.scenario is not None and scen is None:
            raise SensitivityError(f"{src}: output scenario {out.scenario!r} is not in {self.scenario_path}")
        for inp in self.inputs:
            name = f"{src}: input {inp.label!r}"
            if inp.is_lever:
                try:
                    sc_name, lever, mech = lever_parts(inp.path)
                except KeyError as exc:
                    raise SensitivityError(f"{name}: {exc.args[0]}") from None
                if sc_name != out.scenario:
                    raise SensitivityError(f"{name}: lever of scenario {sc_name!r}, but the output is "
                                           f"{'for scenario ' + repr(out.scenario) if out.scenario else 'the baseline'}")
                lv = [x for x in self._chain_levers(scen) if x.lever == lever]
                if not lv:
                    raise SensitivityError(f"{name}: scenario {sc_name!r} has no lever {lever!r}")
                known = {k.name: k for k in CATALOGUE[lever].keys}  # the lever catalogue's bounds
                key = known.get(mech)
                if key is None:
                    raise SensitivityError(f"{name}: lever {lever!r} has no mechanism {mech!r} (known: {', '.join(known)})")
                if inp.low < key.lo:
                    raise SensitivityError(f"{name}: {mech} must not be negative (low is {inp.low:g})" if key.lo == 0 else
                                           f"{name}: {mech} must be at least {key.lo:g} (low is {inp.low:g})")
                if inp.high > key.hi:
                    what = "is a share; " if key.kind == "fraction" else ""
                    raise SensitivityError(f"{name}: {mech} {what}high ({inp.high:g}) must be at most {key.hi:g}")
                continue
            try:
                parse_path(inp.path)
                get_value(self.base_data, inp.path)
            except (KeyError, ValueError) as exc:
                raise SensitivityError(f"{name}: unknown path {inp.path!r} ({exc.args[0]})") from None
            for bound in (inp.low, inp.high):
                try:
                    params_from_dict(set_value(self.base_data, inp.path, bound), "parameters")
                except ValueError as exc:
                    raise SensitivityError(f"{name}: {inp.path} = {bound:g} is not allowed ({exc.args[0]})") from None
                except ParamsError as exc:
                    msg = str(exc).removeprefix("parameters: ")
                    raise SensitivityError(f"{name}: {inp.path} = {bound:g} makes the parameters invalid: {msg}") from None

    def _scenario(self):
        if self.sset is None or self.spec.output.scenario is None:
            return None
        return next((s for s in self.sset.scenarios if s.name == self.spec.output.scenario), None)

    def _chain(self, scen) -> list:
        """The scenario and the scenarios it is based on, earliest first."""
        by_name = {s.name: s for s in self.sset.scenarios}
        chain = [scen]
        while chain[0].based_on is not None:
            chain.insert(0, by_name[chain[0].based_on])
        return chain

    def _chain_levers(self, scen) -> list[Lever]:
        return self._chain(scen)[0].levers if scen is not None else []

    # ---- base values
    def resolve_levers(self, ctx: Context, fy: str) -> pd.DataFrame:
        """The output scenario's levers stated by mechanism: target levers are resolved once, at
        the base parameters, and then held at that intensity for every evaluation."""
        scen = self._scenario()
        if scen is None:
            return pd.DataFrame()
        reps = self.spec.search_replications or self.sset.search_replications
        levers, table = resolve_scenarios(ctx, self._chain(scen), reps, fy)
        self.base_levers = levers[scen.name]
        return pd.DataFrame(table)

    def base_values(self) -> tuple:
        vals = []
        for inp in self.inputs:
            if inp.is_lever:
                _, lever, mech = lever_parts(inp.path)
                lv = next(x for x in self.base_levers if x.lever == lever)
                vals.append(float(lv.mechanism.get(mech, 0.0)))
            else:
                vals.append(float(get_value(self.base_data, inp.path)))
        return tuple(vals)

    def point(self, values) -> Point:
        """Parameters and levers for one set of input values."""
        data = self.base_data
        changes: dict[str, dict[str, float]] = {}
        used = []
        for inp, v in zip(self.inputs, values):
            v = float(v)
            if inp.is_lever:
                _, lever, mech = lever_parts(inp.path)
                if mech in ("extra_beds", "extra_workers"):
                    v = float(round(v))
                changes.setdefault(lever, {})[mech] = v
            else:
                try:
                    data = set_value(data, inp.path, v)
                except ValueError as exc:
                    raise SensitivityError(f"input {inp.label!r} = {v:g}: {exc.args[0]}") from None
                if isinstance(get_value(self.base_data, inp.path), int):
                    v = float(round(v))
            used.append(v)
        try:
            params = self.params if data is self.base_data else params_from_dict(data, "parameters")
        except ParamsError as exc:
            shown = ", ".join(f"{lab}={x:g}" for lab, x in zip(self.labels, used))
            raise SensitivityError(f"the inputs {shown} make the parameters invalid: {exc}") from None
        levers = [lv.model_copy(update={"mechanism": {**lv.mechanism, **changes.get(lv.lever, {})}})
                  for lv in self.base_levers]
        return Point(tuple(used), params, levers)


# ------------------------------------------------------------------------------ evaluation
def _fy_value(summary: pd.DataFrame, fy: str, measure: str) -> float:
    v = summary.loc[(summary["financial_year"] == fy) & (summary["measure"] == measure), "value"]
    return float(v.iloc[0]) if len(v) else float("nan")


class Evaluator:
    """Runs points through `run_many`: one Context per distinct parameter set, all sharing one
    cache and one process pool; several points at once so the pool stays busy."""

    def __init__(self, analysis: Analysis, snapshot, snapshot_hash: str, seed: int, reps: int,
                 cache, workers: int, progress: bool, backend=None):
        self.a, self.snapshot, self.snap_hash = analysis, snapshot, snapshot_hash
        self.seed, self.reps, self.cache, self.workers, self.progress = seed, reps, cache, workers, progress
        self.backend = backend     # a shared backend (sim.backends), when Context has one
        self._pool: Optional[ProcessPoolExecutor] = None
        self._contexts: dict[str, Context] = {}

    def context(self, params: Params) -> Context:
        """The Context of one parameter set; every Context shares the cache and the workers."""
        d = params.digest()
        ctx = self._contexts.get(d)
        if ctx is None:
            ctx = Context(params, self.snapshot, self.seed, d + "-" + self.snap_hash, self.cache,
                          workers=self.workers, progress=False)
            if "backend" in getattr(Context, "__dataclass_fields__", {}):
                if self.backend is None:
                    self.backend = ctx.pool()      # made once, then shared
                ctx.backend = self.backend
            elif self.workers > 1:
                if self._pool is None:
                    self._pool = ProcessPoolExecutor(max_workers=self.workers)
                ctx._pool = self._pool
            self._contexts[d] = ctx
        return ctx

    def close(self) -> None:
        for ctx in self._contexts.values():
            if hasattr(ctx, "backend"):
                ctx.backend = None
            ctx._pool = None
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def jobs(self, point: Point) -> list:
        out = self.a.spec.output
        jobs = []
        if out.kind == "saving" or out.scenario is None:
            jobs += [(BASELINE, [], r) for r in range(self.reps)]
        if out.scenario is not None:
            jobs += [(out.scenario, point.levers, r) for r in range(self.reps)]
        return jobs

    def value(self, point: Point, res: dict) -> tuple[float, float]:
        """The output (mean over replications) and its standard error."""
        out = self.a.spec.output
        ys = []
        for r in range(self.reps):
            if out.kind == "saving":
                y = (_fy_value(res[(BASELINE, r)]["summary"], out.financial_year, out.measure)
                     - _fy_value(res[(out.scenario, r)]["summary"], out.financial_year, out.measure))
            else:
                name = out.scenario or BASELINE
                y = _fy_value(res[(name, r)]["summary"], out.financial_year, out.measure)
            ys.append(y)
        ys = np.asarray(ys, dtype=float)
        se = float(np.std(ys, ddof=1) / np.sqrt(len(ys))) if len(ys) > 1 else float("nan")
        return float(np.mean(ys)), se

    def evaluate(self, point: Point) -> tuple[float, float]:
        return self.value(point, run_many(self.context(point.params), self.jobs(point), stocks=False))

    def evaluate_all(self, points: list[Point], label: str = "evaluations") -> list[tuple[float, float]]:
        """Every point once (points with the same inputs share an evaluation)."""
        keys = [(p.params.digest(), _levers_key(p.levers)) for p in points]
        unique: dict = {}
        for k, p in zip(keys, points):
            unique.setdefault(k, p)
        per = len(self.jobs(points[0])) if points else 0
        bar = Progress(len(unique) * per, label=f"replications ({len(unique)} {label})", enabled=self.progress)
        if unique:   # the first evaluation alone starts the workers, before several threads use them
            first = next(iter(unique))
            results_first = self.evaluate(unique[first])
            bar.step(per)
        results: dict = {first: results_first} if unique else {}
        threads = max(1, self.workers)
        with ThreadPoolExecutor(max_workers=threads) as tp:
            futs = {tp.submit(self.evaluate, p): k for k, p in unique.items() if k not in results}
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                bar.step(per)
        return [results[k] for k in keys]


def _levers_key(levers: list[Lever]) -> str:
    from .run import levers_digest
    return levers_digest(levers)


# ------------------------------------------------------------------------------- methods
def problem(analysis: Analysis) -> dict:
    return {"num_vars": len(analysis.inputs), "names": analysis.labels,
            "bounds": [[i.low, i.high] for i in analysis.inputs]}


def tornado_points(analysis: Analysis, base: tuple) -> list[tuple]:
    pts = []
    for j, inp in enumerate(analysis.inputs):
        for v in (inp.low, inp.high):
            x = list(base)
            x[j] = v
            pts.append(tuple(x))
    return pts


def tornado_table(analysis: Analysis, base_out: float, outs: list[float], pts: list[tuple]) -> pd.DataFrame:
    rows = []
    for j, inp in enumerate(analysis.inputs):
        lo, hi = outs[2 * j], outs[2 * j + 1]
        rows.append({"input": inp.label, "path": inp.path, "unit": inp.unit,
                     "low_value": pts[2 * j][j], "high_value": pts[2 * j + 1][j],
                     "base_value": None, "output_at_low": lo, "output_at_high": hi,
                     "output_at_base": base_out, "swing": abs(hi - lo)})
    df = pd.DataFrame(rows)
    return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def _salib(module: str):
    """A SALib module, or a plain message when SALib (an optional part of carepath) is missing."""
    import importlib

    try:
        return importlib.import_module(f"SALib.{module}")
    except ImportError:
        raise SensitivityError("Morris and Sobol need SALib, which this installation lacks: "
                               "pip install 'carepath[sensitivity]' (make setup installs it)") from None


def morris_sample(analysis: Analysis, trajectories: int, levels: int, seed: int) -> np.ndarray:
    ms = _salib("sample.morris")
    return ms.sample(problem(analysis), trajectories, num_levels=levels, seed=seed)


def morris_indices(analysis: Analysis, X: np.ndarray, Y: np.ndarray, levels: int, seed: int) -> pd.DataFrame:
    ma = _salib("analyze.morris")
    r = ma.analyze(problem(analysis), X, Y, num_levels=levels, conf_level=0.95, num_resamples=1000, seed=seed)
    rows = []
    for j, name in enumerate(analysis.labels):
        mu_star, conf = float(r["mu_star"][j]), float(r["mu_star_conf"][j])
        rows += [{"method": "morris", "input": name, "index": "mu_star", "value": mu_star,
                  "low": max(0.0, mu_star - conf), "high": mu_star + conf},
                 {"method": "morris", "input": name, "index": "mu", "value": float(r["mu"][j]),
                  "low": np.nan, "high": np.nan},
                 {"method": "morris", "input": name, "index": "sigma", "value": float(r["sigma"][j]),
                  "low": np.nan, "high": np.nan}]
    return pd.DataFrame(rows)


def sobol_sample(analysis: Analysis, n: int, second_order: bool, seed: int) -> np.ndarray:
    import warnings

    ss = _salib("sample.sobol")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # SALib warns when N is not a power of 2; the docs say so
        return ss.sample(problem(analysis), n, calc_second_order=second_order, seed=seed)


def sobol_indices(analysis: Analysis, Y: np.ndarray, second_order: bool, seed: int) -> pd.DataFrame:
    sa = _salib("analyze.sobol")
    if np.ptp(Y) == 0:   # the output does not move at all: every index is 0
        r = {k: np.zeros(len(analysis.labels)) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        if second_order:
            k = len(analysis.labels)
            r["S2"], r["S2_conf"] = np.full((k, k), np.nan), np.full((k, k), np.nan)
            for i in range(k):
                r["S2"][i, i + 1:] = 0.0
                r["S2_conf"][i, i + 1:] = 0.0
    else:
        r = sa.analyze(problem(analysis), Y, calc_second_order=second_order, num_resamples=1000,
                       conf_level=0.95, seed=seed)
    rows = []
    for j, name in enumerate(analysis.labels):
        for idx in ("S1", "ST"):
            v, c = float(r[idx][j]), float(r[f"{idx}_conf"][j])
            rows.append({"method": "sobol", "input": name, "index": idx, "value": v, "low": v - c, "high": v + c})
    if second_order:
        k = len(analysis.labels)
        for i in range(k):
            for j in range(i + 1, k):
                v, c = float(r["S2"][i, j]), float(r["S2_conf"][i, j])
                rows.append({"method": "sobol", "input": f"{analysis.labels[i]} & {analysis.labels[j]}",
                             "index": "S2", "value": v, "low": v - c, "high": v + c})
    return pd.DataFrame(rows)


def evaluations_per_method(k: int, method: str, trajectories: int, samples: int, second_order: bool) -> dict:
    """Model evaluations (each R replications, twice that for a saving) by part of the analysis."""
    out = {"tornado": 2 * k + 1}
    if method in ("morris", "both"):
        out["morris"] = trajectories * (k + 1)
    if method in ("sobol", "both"):
        out["sobol"] = samples * (2 * k + 2 if second_order else k + 2)
    return out


# -------------------------------------------------------------------------------- charts
def _scale(analysis: Analysis, values) -> tuple[float, str]:
    """Divide by this and show this unit: money in £m or £k, other outputs as they are."""
    out = analysis.spec.output
    unit = out.unit or ("£" if out.measure.startswith("cost") else "")
    top = float(np.nanmax(np.abs(np.asarray(values, dtype=float)))) if len(values) else 0.0
    if unit == "£" and top >= 1e6:
        return 1e6, "£m"
    if unit == "£" and top >= 1e4:
        return 1e3, "£k"
    return 1.0, unit


def _axis_label(analysis: Analysis, unit: str) -> str:
    return analysis.spec.output.describe() + (f" ({unit})" if unit else "")


def plot_tornado(tornado: pd.DataFrame, analysis: Analysis, base_out: float):
    """Horizontal bars from the output at the base values to the output at each input's low
    and high bound; the input with the largest swing at the top."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = tornado.iloc[::-1].reset_index(drop=True)
    div, unit = _scale(analysis, list(t["output_at_low"]) + list(t["output_at_high"]) + [base_out])
    lo, hi, base = t["output_at_low"] / div, t["output_at_high"] / div, base_out / div
    fig, ax = plt.subplots(figsize=(10, 1.4 + 0.6 * len(t)))
    y = np.arange(len(t))
    ax.barh(y, lo - base, left=base, color="tab:blue", alpha=0.8, label="input at its low bound")
    ax.barh(y, hi - base, left=base, color="tab:orange", alpha=0.8, label="input at its high bound")
    ax.axvline(base, color="black", lw=1)
    labels = []
    for _, r in t.iterrows():
        u = f" {r['unit']}" if r["unit"] else ""
        labels.append(f"{r['input']}\n{r['low_value']:g} to {r['high_value']:g}{u}")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(_axis_label(analysis, unit))
    ax.set_title(f"One input at a time, the others at their base values\n(output at the base values: "
                 f"{base:,.2f}{' ' + unit if unit else ''})", fontsize=11)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_morris(ind: pd.DataFrame, analysis: Analysis):
    """Morris screening: mean absolute elementary effect (mu*) against their spread (sigma).
    Points are numbered; the key beside the chart names them (largest mu* first)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = ind.pivot_table(index="input", columns="index", values="value").sort_values("mu_star", ascending=False)
    conf = ind[ind["index"] == "mu_star"].set_index("input")
    div, unit = _scale(analysis, list(w["mu_star"]) + list(w["sigma"]))
    fig, ax = plt.subplots(figsize=(11, 6))
    key = []
    for n, (name, r) in enumerate(w.iterrows(), start=1):
        x, s = r["mu_star"] / div, r["sigma"] / div
        lo, hi = conf.loc[name, "low"] / div, conf.loc[name, "high"] / div
        ax.errorbar(x, s, xerr=[[x - lo], [hi - x]], fmt="o", color="tab:blue", ecolor="tab:gray", capsize=3)
        ax.annotate(str(n), (x, s), textcoords="offset points", xytext=(4, 4), fontsize=9, weight="bold")
        key.append(f"{n}  {name}")
    top_x = float(np.nanmax([(conf["high"] / div).max(), 1e-12])) * 1.05
    top_y = float(np.nanmax([(w["sigma"] / div).max(), 1e-12])) * 1.3
    d = min(top_x, top_y)
    ax.plot([0, d], [0, d], color="gray", lw=0.8, ls="--", label="sigma = mu* (above: interactions or non-linearity)")
    ax.set_xlim(0, top_x)
    ax.set_ylim(0, top_y)
    u = f" ({unit})" if unit else ""
    ax.set_xlabel(f"mu*{u}: mean absolute change in the output when the input moves across its range")
    ax.set_ylabel(f"sigma{u}: spread of those changes")
    ax.set_title(f"Morris screening of {analysis.spec.output.describe()}\n"
                 "inputs to the right matter most (bars: 95% interval of mu*)", fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.text(0.99, 0.5, "\n".join(key), ha="left", va="center", fontsize=9, transform=fig.transFigure)
    return fig
