"""Speed of one replication against a bare SimPy M/M/c queue measured in the same run.

Prints a Markdown table to paste into docs/benchmarks.md:
- wall time of one replication of the baseline (1 April 2021 to 31 March 2030, default scale,
  default snapshot), on one core;
- simulation events per second of the model and of bare SimPy (M/M/10, 200,000 customers);
- the time to reduce a replication to its measures.

Usage: python benchmarks/bench_replication.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.inputs import read_snapshot, resolve_snapshot  # noqa: E402
from sim.measures import stocks_by_month, summary_by_fy  # noqa: E402
from sim.params import load_params  # noqa: E402
from sim.runner import run_replication  # noqa: E402


def bare_simpy(customers: int = 200_000, servers: int = 10, lam: float = 9.0, mu: float = 1.0) -> tuple[float, int]:
    """M/M/c with simpy.Resource: (wall seconds, events scheduled)."""
    env = simpy.Environment()
    res = simpy.Resource(env, servers)
    rnd = random.Random(1)

    def customer():
        with res.request() as req:
            yield req
            yield env.timeout(rnd.expovariate(mu))

    def source():
        for _ in range(customers):
            yield env.timeout(rnd.expovariate(lam))
            env.process(customer())

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    return wall, int(next(env._eid))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    params_path = ROOT / "experiments" / "baseline.yaml"
    params = load_params(params_path)
    snapshot = read_snapshot(resolve_snapshot(params, params_path), params)

    model_walls, model_rates, measure_walls, bare_rates = [], [], [], []
    for rep in range(args.repeats):
        w, ev = bare_simpy()
        bare_rates.append(ev / w)
        r = run_replication(params, 12345, rep, snapshot=snapshot)
        model_walls.append(r.wall_seconds)
        model_rates.append(r.sim_events / r.wall_seconds)
        t0 = time.perf_counter()
        summary_by_fy(r)
        stocks_by_month(r)
        measure_walls.append(time.perf_counter() - t0)
        log_rows = len(r.events)
        sim_events = r.sim_events

    med = statistics.median
    import sim.core
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, SimPy {simpy.__version__}; model core: {sim.core.kind()} "
          f"({sim.core.reason()}); median of {args.repeats} repeats.\n")
    print("| what | figure |")
    print("|---|---|")
    print(f"| one replication, 2021/22 to 2029/30, default scale (simulation only) | {med(model_walls):.2f} s |")
    print(f"| measures (summary by financial year and monthly stocks) | {med(measure_walls):.2f} s |")
    print(f"| simulation events in one replication | {sim_events:,} (event log rows: {log_rows:,}) |")
    print(f"| model events per second | {med(model_rates):,.0f} |")
    print(f"| bare SimPy M/M/10 events per second, same run | {med(bare_rates):,.0f} |")
    print(f"| model as a share of bare SimPy | {med(model_rates) / med(bare_rates):.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
