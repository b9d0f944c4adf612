"""The value of common random numbers: the 95% interval of a lever's year-8 saving when the
scenario shares the baseline's random numbers, against independent random numbers, for the
same number of runs (so the same run time).

Usage: python benchmarks/bench_crn.py [--lever edge_of_care] [--replications 10] [--workers 2]
Prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carepath.cache import Cache  # noqa: E402
from experiments.run import Context, run_many  # noqa: E402
from carepath.outputs import file_sha256  # noqa: E402
from sim.inputs import read_snapshot, resolve_snapshot  # noqa: E402
from sim.levers import Lever  # noqa: E402
from sim.params import load_params  # noqa: E402

LEVERS = {
    "edge_of_care": Lever(lever="edge_of_care", start=dt.date(2022, 11, 1), ramp_months=24,
                          mechanism={"divert_share": 0.12}),
    "foster_carers": Lever(lever="foster_carers", start=dt.date(2022, 11, 1), ramp_months=12,
                           mechanism={"extra_joiners_per_year": 11}),
    "block_beds": Lever(lever="block_beds", start=dt.date(2022, 11, 1), ramp_months=24,
                        mechanism={"extra_beds": 10}),
}


def saving(summary_base, summary_scen, fy: str) -> float:
    def cost(s):
        v = s[(s["financial_year"] == fy) & (s["measure"] == "cost_total")]["value"]
        return float(v.iloc[0])
    return cost(summary_base) - cost(summary_scen)


def half_width(x: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lever", choices=sorted(LEVERS), default="edge_of_care")
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()
    params_path = ROOT / "experiments" / "baseline.yaml"
    params = load_params(params_path)
    snap_path = resolve_snapshot(params, params_path)
    snapshot = read_snapshot(snap_path, params)
    identity = params.digest() + "-" + file_sha256(snap_path)
    cache = Cache(ROOT / "results" / "benchmarks" / "crn_cache")
    lever = LEVERS[args.lever]
    fy = "2029/30"
    t0 = time.perf_counter()
    R = args.replications
    # common random numbers: baseline and scenario with the same seed, replication by replication
    same = Context(params, snapshot, args.seed, identity, cache, workers=args.workers, progress=False)
    # independent: the scenario's runs use another seed
    other = Context(params, snapshot, args.seed + 1_000_003, identity, cache, workers=args.workers, progress=False)
    try:
        base = run_many(same, [("baseline", [], r) for r in range(R)], stocks=False)
        scen = run_many(same, [("scenario", [lever], r) for r in range(R)], stocks=False)
        scen_ind = run_many(other, [("scenario", [lever], r) for r in range(R)], stocks=False)
    finally:
        same.close()
        other.close()
    crn = np.array([saving(base[("baseline", r)]["summary"], scen[("scenario", r)]["summary"], fy) for r in range(R)])
    ind = np.array([saving(base[("baseline", r)]["summary"], scen_ind[("scenario", r)]["summary"], fy) for r in range(R)])
    hw_crn, hw_ind = half_width(crn), half_width(ind)
    print(f"Lever `{args.lever}` ({lever.mechanism}), gross saving in {fy}, {R} replications of each of baseline "
          f"and scenario in both designs; {platform.machine()}, {time.perf_counter() - t0:.0f} s.\n")
    print("| design | mean saving | 95% interval half-width |")
    print("|---|---|---|")
    print(f"| common random numbers | £{crn.mean() / 1e6:.2f}m | £{hw_crn / 1e6:.2f}m |")
    print(f"| independent random numbers | £{ind.mean() / 1e6:.2f}m | £{hw_ind / 1e6:.2f}m |")
    print(f"\nInterval width ratio, independent / common: {hw_ind / hw_crn:.1f}; replications independent "
          f"streams would need for the same width: about {R * (hw_ind / hw_crn) ** 2:.0f}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
