"""Scaling with size: one replication (2021/22 to 2029/30) at 1, 2, 4 and 8 times the default
arrivals, with capacities (social workers, foster carers, beds) scaled alike and the default
snapshot. Each size runs in a fresh process so its peak memory (max resident set) is its own.

The machine's speed moves from minute to minute (a shared virtual machine), so `--repeats N` runs
every size N times, in turn (1x, 2x, ..., 1x, 2x, ...), and reports ranges and medians; "time per
1x" is a size's median over the 1x median, divided by the size. `--root` adds other checkouts
(each with its own built core), interleaved with this one run by run, to compare code fairly.

Usage: python benchmarks/bench_scale.py [--sizes 1 2 4 8] [--repeats 1] [--root OTHER_CHECKOUT ...]
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def scale_params(p, scale: float) -> None:
    """Arrivals and every capacity (social workers, foster carers, beds) times `scale`, in place."""
    p.arrivals.new_contacts.per_month *= scale
    p.arrivals.direct_care_entries.per_month *= scale
    fc = p.capacity.foster_carers
    fc.initial_carers = int(round(fc.initial_carers * scale))
    fc.joiners_per_year *= scale
    p.capacity.residential_inhouse_beds = int(round(p.capacity.residential_inhouse_beds * scale))
    p.capacity.residential_block_beds = int(round(p.capacity.residential_block_beds * scale))
    p.capacity.semi_independent_block_places = int(round(p.capacity.semi_independent_block_places * scale))
    for _, team in p.capacity.teams:
        team.workers *= scale
        for ch in team.changes:
            ch.value *= scale


def one(scale: float, root: Path) -> dict:
    """One replication at `scale` with the code of checkout `root`, in this (fresh) process."""
    sys.path.insert(0, str(root))
    import sim.core
    from sim.inputs import read_snapshot, resolve_snapshot
    from sim.measures import stocks_by_month, summary_by_fy
    from sim.params import load_params
    from sim.runner import run_replication

    loaded = Path(sim.core.__file__).resolve().parents[1]
    if loaded != root:  # an installed carepath can shadow the checkout asked for
        raise SystemExit(f"asked for the code in {root} but Python loaded {loaded}")
    path = root / "experiments" / "baseline.yaml"
    p = load_params(path)
    snap = read_snapshot(resolve_snapshot(p, path), p)
    scale_params(p, scale)
    t0 = time.perf_counter()
    r = run_replication(p, 12345, 0, snapshot=snap)
    sim_s = time.perf_counter() - t0
    summary_by_fy(r)
    stocks_by_month(r)
    total = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"scale": scale, "simulation_s": round(sim_s, 3), "with_measures_s": round(total, 3),
            "events": r.sim_events, "log_rows": len(r.events), "peak_mb": round(peak_mb),
            "core": sim.core.kind()}


def _range(values: list[float], digits: int = 2) -> str:
    lo, hi, med = min(values), max(values), statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{lo:.{digits}f}-{hi:.{digits}f}, median {med:.{digits}f}"


def table(runs: dict[float, list[dict]]) -> str:
    sizes = sorted(runs)
    base = sizes[0]
    med = {s: statistics.median(r["with_measures_s"] for r in runs[s]) for s in sizes}
    med_sim = {s: statistics.median(r["simulation_s"] for r in runs[s]) for s in sizes}
    lines = ["| arrivals | simulation (s) | with measures (s) | time per 1x (with measures) "
             "| time per 1x (simulation) | simulation events | peak memory (MB) |",
             "|---|---|---|---|---|---|---|"]
    for s in sizes:
        rs = runs[s]
        mem = [r["peak_mb"] for r in rs]
        lines.append(
            f"| {s:g}x | {_range([r['simulation_s'] for r in rs])} | {_range([r['with_measures_s'] for r in rs])} "
            f"| {med[s] / med[base] / (s / base):.2f} | {med_sim[s] / med_sim[base] / (s / base):.2f} "
            f"| {rs[0]['events']:,} | {min(mem):,}-{max(mem):,} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--repeats", type=int, default=1, help="runs of every size, in turn (default 1)")
    ap.add_argument("--root", type=Path, nargs="*", default=[],
                    help="other checkouts (with their core built) to run interleaved with this one")
    ap.add_argument("--one", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--one-root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.one_root.resolve())))
        return 0
    roots = [ROOT] + [r.resolve() for r in args.root]
    runs = {r: {s: [] for s in args.sizes} for r in roots}
    for i in range(args.repeats):
        for s in args.sizes:
            for r in (roots if i % 2 == 0 else roots[::-1]):  # neither checkout always goes first
                out = subprocess.run([sys.executable, __file__, "--one", str(s), "--one-root", str(r)],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    print(f"bench_scale: {s:g}x with {r} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                    return 1
                runs[r][s].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"One replication, 2021/22 to 2029/30; {platform.machine()}, Python {platform.python_version()}; "
          f"{args.repeats} run(s) of each size, in turn.")
    for r in roots:
        cores = sorted({x["core"] for rs in runs[r].values() for x in rs})
        print(f"\n{r} (model core: {', '.join(cores)})\n")
        print(table(runs[r]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
