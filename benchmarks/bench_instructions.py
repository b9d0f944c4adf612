"""Instructions, not seconds: the CPU instructions one replication executes, counted by valgrind's
callgrind. On a shared virtual machine wall time moves 10-20% from minute to minute; an
instruction count is the same to a few parts in a million whatever else the machine is doing, so
small speed-ups can be seen and compared between commits.

Bare SimPy (the M/M/10 queue of `bench_replication.py`) is counted the same way first, so the
model's instructions per SimPy event can be set against bare SimPy's: the steady form of
"events per second as a share of bare SimPy's".

For each size the model's set-up (imports, parameters, snapshot) is counted alone and then with
one replication (2021/22 to 2029/30, seed 12345, replication 0, simulation only, no measures);
the difference is the simulation's count. Sizes scale arrivals and capacities as
`bench_scale.py` does. Instructions are not time: memory stalls, which grow with size, are not
counted, so a count that grows linearly with a time that does not points at the memory system.

Usage: python benchmarks/bench_instructions.py [--sizes 1 2 4] [--root OTHER_CHECKOUT]
Needs valgrind (Debian package `valgrind`); under it a replication runs about 50 times slower.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(root: Path, scale: float, run: bool) -> None:
    """Runs under callgrind: the set-up, and the replication if `run`."""
    if scale == 0:  # bare SimPy: the M/M/10 queue of bench_replication.py
        sys.path.insert(0, str(HERE))
        import bench_replication
        if run:
            _, events = bench_replication.bare_simpy()
            print(json.dumps({"events": events}))
        return
    sys.path.insert(0, str(root))
    from sim.inputs import read_snapshot, resolve_snapshot
    from sim.params import load_params
    from sim.pathway import Pathway

    path = root / "experiments" / "baseline.yaml"
    p = load_params(path)
    snap = read_snapshot(resolve_snapshot(p, path), p)
    sys.path.insert(0, str(HERE))
    from bench_scale import scale_params  # the same scaling as the wall-time benchmark

    scale_params(p, scale)
    if run:
        model = Pathway(p, 12345, 0, snapshot=snap)
        model.run()
        import sim.core
        print(json.dumps({"events": int(next(model.env._eid)), "log_rows": len(model.log), "core": sim.core.kind()}))


def count(root: Path, scale: float, run: bool) -> tuple[int, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
             "--child", str(root), str(scale), "run" if run else "setup"],
            capture_output=True, text=True, check=True)
        total = next(int(line.split()[1]) for line in out.read_text().splitlines() if line.startswith("summary:"))
    info = json.loads(proc.stdout.strip().splitlines()[-1]) if run else {}
    return total, info


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "run")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1.0])
    ap.add_argument("--root", type=Path, default=HERE.parent,
                    help="the carepath checkout to count (default: this one), e.g. another commit's worktree")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    root = args.root.resolve()
    print(f"# {root} on {platform.machine()}, Python {platform.python_version()}")
    setup, _ = count(root, 0, False)
    total, info = count(root, 0, True)
    bare = (total - setup) / info["events"]
    print(f"bare SimPy M/M/10 (200,000 customers): {(total - setup) / 1e9:.3f} billion instructions, "
          f"{info['events']:,} events, {bare:,.0f} instructions per event\n")
    print("| arrivals | simulation instructions (billions) | per 1x | SimPy events | instructions per event | "
          "events per instruction as a share of bare SimPy's |")
    print("|---|---|---|---|---|---|")
    base = None
    core = None
    for s in args.sizes:
        setup, _ = count(root, s, False)
        total, info = count(root, s, True)
        sim = total - setup
        base = base or sim / s
        core = info.get("core", "python")
        print(f"| {s:g}x | {sim / 1e9:.3f} | {sim / s / base:.3f} | {info['events']:,} | "
              f"{sim / info['events']:,.0f} | {bare / (sim / info['events']):.0%} |", flush=True)
    print(f"\nmodel core: {core} (sim/core.py; CAREPATH_PURE_PYTHON=1 counts the Python source)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
