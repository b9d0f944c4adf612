"""The risk analysis's speed: the shipped business case with N parameter draws (default 200).

Runs `carepath experiment experiments/business_case.yaml` twice into one fresh folder: first with
no draws (the noise-only business case and its target searches, which fill the cache), then with
`--draws N`, which reads those from the cache and runs only the draws. Reports for the draws
part: the wall time, the CPU time of the worker processes and of this one, the replications run,
and CPU seconds per replication; and, since a shared machine's wall time says little, the time
the draws would take on `--workers` dedicated cores (CPU time over the workers, plus this
process's own). Says which model core ran (compiled, or the Python source about three times
slower).

Usage: python benchmarks/bench_draws.py [--draws 200] [--workers 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carepath.cli import main as carepath  # noqa: E402


def _cpu() -> tuple[float, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="output folder (default: a fresh temporary one)")
    args = ap.parse_args()
    import sim.core as core
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench_draws_"))
    case = ROOT / "experiments" / "business_case.yaml"
    base = ["experiment", str(case), "--out", str(out), "--workers", str(args.workers), "--quiet"]
    t0 = time.perf_counter()
    if carepath(base + ["--draws", "0"]) != 0:
        return 1
    t1 = time.perf_counter()
    me1, kids1 = _cpu()
    cached = len(list((out / ".cache").glob("*.npz")))
    if carepath(base + ["--draws", str(args.draws)]) != 0:
        return 1
    t2 = time.perf_counter()
    me2, kids2 = _cpu()
    reps = len(list((out / ".cache").glob("*.npz"))) - cached
    manifest = json.loads((out / "manifest.json").read_text())
    wall, workers_cpu, own_cpu = t2 - t1, kids2 - kids1, me2 - me1
    dedicated = workers_cpu / args.workers + own_cpu
    print(f"model core: {core.kind()} ({core.reason()}); {os.cpu_count()} cores, {args.workers} workers; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"noise-only business case ({manifest['replications']} replications per scenario, searches): "
          f"{t1 - t0:.0f} s wall")
    print(f"{args.draws} draws: {reps} replications in {wall:.0f} s wall; worker CPU {workers_cpu:.0f} s "
          f"({workers_cpu / max(reps, 1):.2f} s a replication), this process {own_cpu:.0f} s; "
          f"on {args.workers} dedicated cores about {dedicated:.0f} s ({dedicated / 60:.1f} min)")
    print(f"outputs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
