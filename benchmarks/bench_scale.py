"""Scaling with size: one replication (2021/22 to 2029/30) at 1, 2, 4 and 8 times the default
arrivals, with capacities (social workers, foster carers, beds) scaled alike and the default
snapshot. Each size runs in a fresh process so its peak memory (max resident set) is its own.

Usage: python benchmarks/bench_scale.py [--sizes 1 2 4 8]
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
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


def one(scale: float) -> dict:
    sys.path.insert(0, str(ROOT))
    from sim.files import read_snapshot, resolve_snapshot
    from sim.measures import stocks_by_month, summary_by_fy
    from sim.params import load_params
    from sim.runner import run_replication

    path = ROOT / "experiments" / "baseline.yaml"
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
    return {"scale": scale, "simulation_s": round(sim_s, 2), "with_measures_s": round(total, 2),
            "events": r.sim_events, "log_rows": len(r.events), "peak_mb": round(peak_mb)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one)))
        return 0
    rows = []
    for s in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(s)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print(f"One replication, 2021/22 to 2029/30; {platform.machine()}, Python {platform.python_version()}.\n")
    print("| arrivals | simulation (s) | with measures (s) | time per 1x | simulation events | peak memory (MB) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scale']:g}x | {r['simulation_s']} | {r['with_measures_s']} | "
              f"{r['with_measures_s'] / base['with_measures_s'] / (r['scale'] / base['scale']):.2f} | "
              f"{r['events']:,} | {r['peak_mb']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
