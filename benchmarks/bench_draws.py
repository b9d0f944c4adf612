"""The risk analysis's speed: the shipped business case with N parameter draws (default 200).

Does what `carepath experiment experiments/business_case.yaml --draws N` does, timing its parts,
with no cache (everything is run): the target searches and the noise-only business case, then
the N draws (experiments.run.run_draws, on `--workers` local processes), then the risk tables
(experiments.risk.risk_result). For the draws it reports the wall time, the CPU time of the
workers and this process (and so CPU seconds a replication) and what the draws would take on
`--workers` dedicated cores (the CPU time over the workers), since a shared machine's wall time
says little.
`--quick` skips the searches and the noise-only case: target levers are set at their catalogue's
first guess (sim/levers.py), which times the draws alone (their results are not the business
case's). Says which model core ran (compiled, or the Python source, about three times slower).

Usage: python benchmarks/bench_draws.py [--draws 200] [--workers 2] [--quick]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carepath.cache import Cache  # noqa: E402
from experiments.risk import risk_result  # noqa: E402
from experiments.run import Context, run_draws, run_experiment  # noqa: E402
from experiments.scenarios import apply_assumptions, load_scenarios  # noqa: E402
from experiments.uncertainty import drawn_scenarios, prepare  # noqa: E402
from sim.calendar import fy_edges  # noqa: E402
from sim.inputs import read_snapshot, resolve_snapshot  # noqa: E402
from sim.params import load_params  # noqa: E402


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the workers, once their pool closes)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def _first_guess_levers(sset) -> dict:
    """Each scenario's levers with targets at the catalogue's first guess (no search)."""
    out = {}
    for sc in sset.scenarios:
        if sc.based_on is not None:
            out[sc.name] = [lv.scaled(sc.intensity_scale) for lv in out[sc.based_on]]
        else:
            out[sc.name] = [lv.with_intensity(min(lv.spec.first_guess, lv.spec.search_key.hi)) if lv.target else lv
                            for lv in sc.levers]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="no target searches or noise-only case: the draws alone")
    args = ap.parse_args()
    import sim.core as core
    path = ROOT / "experiments" / "business_case.yaml"
    sset = load_scenarios(path)
    params_path = path.parent / sset.baseline
    params = apply_assumptions(load_params(params_path), sset.assumptions)
    snapshot = read_snapshot(resolve_snapshot(params, params_path), params)
    plan = prepare(sset.uncertainty, params, path)
    names = drawn_scenarios(sset.uncertainty, sset, path)
    labels = [label for label, _, _ in fy_edges(params.horizon.start_date, params.horizon.days)]
    last = sset.target_year or labels[-1]
    years = labels[labels.index(sset.first_year):labels.index(last) + 1]
    ctx = Context(params, snapshot, sset.seed, params.digest() + "-bench", Cache(None), workers=args.workers,
                  progress=False)
    print(f"model core: {core.kind()} ({core.reason()}); {os.cpu_count()} cores, {args.workers} workers; "
          f"scenarios drawn: {', '.join(names)} ({1 + len(names)} replications a draw)")
    try:
        t0 = time.perf_counter()
        if args.quick:
            levers = _first_guess_levers(sset)
        else:
            levers = run_experiment(ctx, sset.scenarios, sset.replications, sset.search_replications, last).levers
            print(f"target searches and the noise-only business case: {time.perf_counter() - t0:.0f} s wall")
        ctx.close()   # the pool's processes are reaped here, so their CPU is counted before the draws
        cpu0, t1 = _cpu(), time.perf_counter()
        draws = run_draws(ctx, plan, levers, names, args.draws, 1)
        ctx.close()
        wall, cpu = time.perf_counter() - t1, _cpu() - cpu0
    finally:
        ctx.close()
    t2 = time.perf_counter()
    risk_result(draws, plan, sset, years, names)
    tables = time.perf_counter() - t2
    reps = args.draws * (1 + len(names))
    print(f"{args.draws} draws: {reps} replications in {wall:.0f} s wall (load average {os.getloadavg()[0]:.1f}); "
          f"CPU {cpu:.0f} s (workers and this process), {cpu / reps:.2f} s a replication; on {args.workers} dedicated cores about "
          f"{cpu / args.workers:.0f} s; the risk tables {tables:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
