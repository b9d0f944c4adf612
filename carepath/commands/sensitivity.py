"""`carepath sensitivity FILE`: which uncertain inputs drive an output (tornado, Morris, Sobol)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from experiments import sensitivity as sa
from experiments.run import Context
from experiments.scenarios import load_scenarios
from sim.backends import default_workers
from sim.inputs import read_snapshot, resolve_snapshot
from sim.params import load_params

from ..options import UsageError, add_backend_arguments, make_backend, positive_int, seed
from ..cache import Cache
from ..outputs import file_sha256, manifest, output_folder, write_csv, write_figure, write_json


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "sensitivity", help="which uncertain inputs drive an output: tornado, Morris and Sobol indices",
        description="Vary the uncertain inputs a sensitivity file declares (parameters or lever intensities, "
                    "each between a low and a high bound) and measure one output (a level in a financial year, "
                    "or a scenario's saving against the baseline): a one-way tornado, Morris elementary effects "
                    "and/or Sobol indices, with 95% intervals. Each evaluation is the mean over R replications "
                    "with common random numbers. Finished replications are kept in --out/.cache, so an "
                    "interrupted run resumes where it stopped. See docs/sensitivity.md.")
    p.add_argument("file", metavar="FILE", help="sensitivity file (YAML), e.g. experiments/sensitivity.yaml")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--method", choices=("morris", "sobol", "both"), default=None,
                   help="global method (default: the file's); the tornado is always run")
    p.add_argument("--samples", type=positive_int, default=None, metavar="N",
                   help="Morris trajectories r and/or Sobol base samples N (default: the file's)")
    p.add_argument("--replications", type=positive_int, default=None, metavar="R",
                   help="replications per evaluation (default: the file's)")
    p.add_argument("--seed", type=seed, default=None, metavar="S", help="random seed (default: the file's)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="W",
                   help="parallel processes (default: the number of cores)")
    p.add_argument("--no-cache", action="store_true", help="run everything again, ignoring finished replications")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p)
    p.set_defaults(handler=run_sensitivity_command)


def _relative(base: Path, name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else base.parent / p


def load_analysis(path: Path) -> sa.Analysis:
    spec = sa.load_sensitivity_file(path)
    params_path = _relative(path, spec.baseline)
    params = load_params(params_path)
    sset = scen_path = None
    if spec.scenarios:
        scen_path = _relative(path, spec.scenarios)
        sset = load_scenarios(scen_path)
    return sa.Analysis(spec, path, params, params_path, sset, scen_path)


def run_sensitivity_command(args) -> int:
    t0 = time.perf_counter()
    path = Path(args.file)
    try:
        a = load_analysis(path)
    except sa.SensitivityError as exc:
        raise UsageError(str(exc)) from None
    spec = a.spec
    method = args.method or spec.method
    trajectories = args.samples or spec.morris.trajectories
    n_sobol = args.samples or spec.sobol.samples
    if method in ("morris", "both") and trajectories < 2:
        raise UsageError("Morris needs at least 2 trajectories (--samples 2 or more)")
    reps = args.replications or spec.replications
    seed = spec.seed if args.seed is None else args.seed
    workers = args.workers or default_workers()
    out = Path(args.out)
    snap_path = resolve_snapshot(a.params, a.params_path)
    snapshot = read_snapshot(snap_path, a.params) if snap_path else None
    snap_hash = file_sha256(snap_path) if snap_path else "cold"
    cache = Cache(None if args.no_cache else out / ".cache")
    k = len(a.inputs)
    plan = sa.evaluations_per_method(k, method, trajectories, n_sobol, spec.sobol.second_order)
    per_eval = reps * (2 if spec.output.kind == "saving" else 1)
    print(f"carepath: {k} inputs, output {spec.output.describe()}; evaluations: "
          + ", ".join(f"{m} {n}" for m, n in plan.items())
          + f"; {per_eval} replications each (at most {sum(plan.values()) * per_eval} in all, fewer from the cache)",
          file=sys.stderr)

    backend, where = make_backend(args.backend, args.scheduler, args.workers, args)

    # target levers of the output scenario: resolved once at the base parameters
    intensities = pd.DataFrame()
    if spec.output.scenario is not None:
        ctx = Context(a.params, snapshot, seed, a.params.digest() + "-" + snap_hash, cache,
                      workers=workers, progress=not args.quiet)
        if backend is not None:
            ctx.backend = backend
        fy = a.sset.target_year or spec.output.financial_year
        try:
            intensities = a.resolve_levers(ctx, fy)
        finally:
            if backend is None:
                ctx.close()

    ev = sa.Evaluator(a, snapshot, snap_hash, seed, reps, cache, workers, progress=not args.quiet,
                      backend=backend)
    try:
        base_vals = a.base_values()
        base_point = a.point(base_vals)
        base_out, base_se = ev.evaluate(base_point)
        if not np.isfinite(base_out):
            raise UsageError(f"{path}: the model has no measure {spec.output.measure!r} in {spec.output.financial_year} "
                             f"(see the measures in summary_by_fy.csv of `carepath run`)")
        outside = [f"{i.label} (base {b:g})" for i, b in zip(a.inputs, base_vals) if not i.low <= b <= i.high]
        if outside:
            print(f"carepath: note: base value outside [low, high] for {', '.join(outside)}; "
                  f"the tornado holds the others at their base values", file=sys.stderr)

        groups: dict[str, np.ndarray] = {"tornado": np.array(sa.tornado_points(a, base_vals))}
        if method in ("morris", "both"):
            groups["morris"] = sa.morris_sample(a, trajectories, spec.morris.levels, seed)
        if method in ("sobol", "both"):
            groups["sobol"] = sa.sobol_sample(a, n_sobol, spec.sobol.second_order, seed)
        points, owner = [], []
        for g, X in groups.items():
            for row in X:
                points.append(a.point(row))
                owner.append(g)
        results = ev.evaluate_all(points)
    finally:
        ev.close()

    ys = np.array([r[0] for r in results])
    ses = np.array([r[1] for r in results])
    evals = pd.DataFrame([dict(zip(a.labels, p.values)) for p in points])
    evals.insert(0, "sample", [sum(1 for o in owner[:i] if o == owner[i]) for i in range(len(owner))])
    evals.insert(0, "method", owner)
    evals["output"] = ys
    evals["output_standard_error"] = ses
    base_row = pd.DataFrame([{"method": "base", "sample": 0, **dict(zip(a.labels, base_point.values)),
                              "output": base_out, "output_standard_error": base_se}])
    evals = pd.concat([base_row, evals], ignore_index=True)

    sel = np.array(owner)
    tor_pts = [p.values for p, o in zip(points, owner) if o == "tornado"]
    tornado = sa.tornado_table(a, base_out, list(ys[sel == "tornado"]), tor_pts)
    tornado["base_value"] = [base_vals[a.labels.index(n)] for n in tornado["input"]]
    indices = []
    if "morris" in groups:
        Xm = np.array([p.values for p, o in zip(points, owner) if o == "morris"])
        indices.append(sa.morris_indices(a, Xm, ys[sel == "morris"], spec.morris.levels, seed))
    if "sobol" in groups:
        indices.append(sa.sobol_indices(a, ys[sel == "sobol"], spec.sobol.second_order, seed))
    ind = (pd.concat(indices, ignore_index=True) if indices
           else pd.DataFrame(columns=["method", "input", "index", "value", "low", "high"]))

    with output_folder(out) as stage:  # written whole or not at all
        written = [write_csv(ind, stage / "sensitivity_indices.csv"),
                   write_csv(tornado, stage / "tornado.csv"),
                   write_csv(evals, stage / "evaluations.csv")]
        if len(intensities):
            written.append(write_csv(intensities, stage / "lever_intensities.csv"))
        written.append(write_figure(sa.plot_tornado(tornado, a, base_out), stage / "tornado.png"))
        if "morris" in groups:
            written.append(write_figure(sa.plot_morris(ind[ind["method"] == "morris"], a), stage / "morris.png"))
        wall = time.perf_counter() - t0
        written.append(write_json(manifest(
            "carepath sensitivity",
            sensitivity_file=str(path), sensitivity_file_hash=file_sha256(path),
            params_file=str(a.params_path), params_hash=a.params.digest(),
            scenario_file=str(a.scenario_path) if a.scenario_path else None,
            scenario_file_hash=file_sha256(a.scenario_path) if a.scenario_path else None,
            snapshot_file=str(snap_path) if snap_path else None, snapshot_hash=snap_hash,
            output=spec.output.model_dump(), output_at_base=base_out,
            inputs=[{**i.model_dump(), "base_value": b} for i, b in zip(a.inputs, base_vals)],
            method=method, morris_trajectories=trajectories if "morris" in groups else None,
            morris_levels=spec.morris.levels if "morris" in groups else None,
            sobol_samples=n_sobol if "sobol" in groups else None,
            sobol_second_order=spec.sobol.second_order if "sobol" in groups else None,
            evaluations={g: int(len(X)) for g, X in groups.items()} | {"base": 1},
            replications_per_evaluation=reps, seed=seed, workers=workers, backend=where,
            probability_inputs="setting one outcome's probability renormalises the decision's other outcomes proportionally",
            levers_used=[lv.model_dump(mode="json") for lv in a.base_levers],
            wall=wall,
        ), stage / "manifest.json"))

    money = spec.output.unit == "£" or (not spec.output.unit and spec.output.measure.startswith("cost"))

    def show(v: float) -> str:
        """An output value as an analyst reads it: £ in millions for money, else with its unit."""
        if money:
            return f"£{v / 1e6:,.2f}m" if abs(v) >= 100_000 else f"£{v:,.0f}"
        return f"{v:,.1f}{' ' + spec.output.unit if spec.output.unit else ''}"

    print(f"carepath: {spec.output.describe()}, at the base values: {show(base_out)}; {wall:.0f} s")
    print("  one at a time (tornado), inputs at their low and high values:")
    for _, r in tornado.iterrows():
        print(f"  {r['input']}: {show(r['output_at_low'])} at {r['low_value']:g}, {show(r['output_at_high'])} "
              f"at {r['high_value']:g} (swing {show(r['swing'])})")
    if "morris" in groups:
        m = ind[(ind["method"] == "morris") & (ind["index"] == "mu_star")].sort_values("value", ascending=False)
        print("  Morris mu* (mean absolute effect of moving an input across its range): "
              + ", ".join(f"{r['input']} {show(r['value'])}" for _, r in m.iterrows()))
    if "sobol" in groups:
        s = ind[(ind["method"] == "sobol") & (ind["index"] == "ST")].sort_values("value", ascending=False)
        print("  Sobol ST: " + ", ".join(f"{r['input']} {r['value']:.2f}" for _, r in s.iterrows()))
    print(f"Wrote {len(written)} files to {out}/")
    return 0
