"""How long the app takes to answer a what-if once the baseline's replications are cached.

The app's own path, without the browser: a Store in a fresh data folder and its RunQueue (which
runs `carepath experiment` on the scenario set, with the shared replications cache). First a
what-if with edge of care at one intensity (the baseline's replications run and are cached),
then the same lever at another intensity: its 20 paired replications run, the baseline's are
read from the cache. Prints both times, the seconds per replication, the model core in use and
the load on the machine, as a Markdown table for docs/benchmarks.md.

Usage: python benchmarks/bench_app_whatif.py [--replications 20] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carepath.app import scenarios as S  # noqa: E402
from carepath.app.db import Store  # noqa: E402
from carepath.app.results import Run  # noqa: E402
from carepath.app.runner import RESULTS, RunQueue, run_folder  # noqa: E402


def what_if(store: Store, queue: RunQueue, share: float, reps: int) -> tuple[float, dict]:
    spec = S.new_spec(f"Edge of care {share:g}")
    spec["attribution"] = False
    spec["levers"] = [{"lever": "edge_of_care", "start": "2022-11-01", "ramp_months": 24.0,
                       "mechanism": {"divert_share": share}, "target": {}}]
    text = S.dump_yaml(S.scenario_set([spec], title=spec["name"], seed=S.DEFAULT_SEED, replications=reps))
    t0 = time.perf_counter()
    rid = store.add_run(spec["name"], [], text)
    queue.submit()
    while store.run(rid)["status"] in ("queued", "running"):
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    run = store.run(rid)
    assert run["status"] == "finished", run["message"]
    return wall, Run.read(run_folder(store.data, rid) / RESULTS).manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import sim.core as core

    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d))
        queue = RunQueue(store, Path(d), workers=args.workers)
        queue.start()
        try:
            load0 = os.getloadavg()[0]
            cold, m1 = what_if(store, queue, 0.1, args.replications)
            warm, m2 = what_if(store, queue, 0.2, args.replications)
            load1 = os.getloadavg()[0]
        finally:
            queue.stop()
            store.close()
    print(f"| model core | {core.kind()} ({core.reason()}) |")
    print(f"| machine | {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{load0:.1f} before and {load1:.1f} after |")
    print(f"| replications | {args.replications} paired, {args.workers} worker processes |")
    print(f"| first what-if (baseline's replications run and cached) | {cold:.1f} s |")
    print(f"| second what-if (baseline from the cache) | {warm:.1f} s |")
    print(f"| one replication (mean, inside the runs) | {m1.get('mean_replication_seconds')} s, "
          f"{m2.get('mean_replication_seconds')} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
