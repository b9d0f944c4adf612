"""Speed-up from 1 to 2 local worker processes: the same replications (default baseline, full
horizon), timed from submission to the last result, outputs not written.

The machine's speed varies from minute to minute (a shared virtual machine), so 1 and 2 workers
are timed in turn, `--repeats` times each, and the speed-up is the ratio of the median times.

Usage: python benchmarks/bench_workers.py [--replications 6] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.replications import run_replications  # noqa: E402
from sim.inputs import read_snapshot, resolve_snapshot  # noqa: E402
from sim.params import load_params  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    path = ROOT / "experiments" / "baseline.yaml"
    params = load_params(path)
    snapshot = read_snapshot(resolve_snapshot(params, path), params)
    times, results = {1: [], 2: []}, {}
    for _ in range(args.repeats):
        for w in (1, 2):
            t0 = time.perf_counter()
            outs = run_replications(params, 12345, args.replications, snapshot, workers=w,
                                    keep_events=lambda r: False, progress=False)
            times[w].append(time.perf_counter() - t0)
            results[w] = [o.summary for o in outs]
    same = all(a.equals(b) for a, b in zip(results[1], results[2]))
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"{args.replications} replications on {os.cpu_count()} cores, median of {args.repeats}: "
          f"1 worker {one:.1f} s ({', '.join(f'{t:.1f}' for t in times[1])}), "
          f"2 workers {two:.1f} s ({', '.join(f'{t:.1f}' for t in times[2])}), "
          f"speed-up {one / two:.2f}x; results identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
