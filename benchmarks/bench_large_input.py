"""Memory and time of loading a large SSDA903 return (results in docs/benchmarks.md).

Makes a synthetic episodes file of about SIZE_MB megabytes by copying the shipped example's
2022 episodes under new child ids (SYNTHETIC: no real child), then loads it with carepath's
SSDA903 loader in a fresh process and reports the peak resident memory against the file's size.

    python benchmarks/bench_large_input.py [SIZE_MB ...]        (default: 50 200)
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "calibration" / "example_data" / "ssda903" / "2022"

CHILD = r"""
import resource, sys, time
from pathlib import Path
from calibration.ssda903 import load_ssda903
t0 = time.perf_counter()
s = load_ssda903(Path(sys.argv[1]), "2022-03-31")
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # MB (Linux reports kB)
print(f"{wall:.1f} {peak:.0f} {len(s.episodes)}")
"""


def make(folder: Path, size_mb: float) -> Path:
    ep_lines = (SRC / "episodes.csv").read_text().splitlines()
    hd_lines = (SRC / "header.csv").read_text().splitlines()
    ep_head, ep_rows = ep_lines[0], ep_lines[1:]
    hd_head, hd_rows = hd_lines[0], hd_lines[1:]
    out = folder / "2022"
    out.mkdir(parents=True)
    target = size_mb * 1e6
    written, copy = 0, 0
    with open(out / "episodes.csv", "w") as ep, open(out / "header.csv", "w") as hd:
        ep.write(ep_head + "\n")
        hd.write(hd_head + "\n")
        while written < target:
            tag = f"X{copy:06d}"
            for r in ep_rows:
                line = r.replace("C1", tag, 1) + "\n"
                ep.write(line)
                written += len(line)
            for r in hd_rows:
                hd.write(r.replace("C1", tag, 1) + "\n")
            copy += 1
    return folder


def main(argv: list[str]) -> int:
    sizes = [float(a) for a in argv] or [50.0, 200.0]
    print("file MB | episodes | load s | peak memory MB | memory / file size")
    for size in sizes:
        with tempfile.TemporaryDirectory() as d:
            folder = make(Path(d), size)
            mb = (folder / "2022" / "episodes.csv").stat().st_size / 1e6
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, cwd=ROOT)
            if r.returncode != 0:
                print(r.stderr[-2000:])
                return 1
            wall, peak, n = r.stdout.split()
            print(f"{mb:7.0f} | {int(n):8,d} | {float(wall):6.1f} | {float(peak):14.0f} | {float(peak) / mb:5.1f}"
                  f"   ({time.perf_counter() - t0:.0f} s with start-up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
