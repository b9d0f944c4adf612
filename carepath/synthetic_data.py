"""`python -m carepath.synthetic_data --out DIR`: write realistic synthetic SSDA903, CIN census and
contacts files with a known truth (the generator is `calibration.synthetic`). SYNTHETIC: no real
child is in them."""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from calibration.synthetic import LABEL, SyntheticTruth, generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m carepath.synthetic_data",
                                 description="Write realistic synthetic SSDA903, CIN census and contacts files with a known truth.")
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--seed", type=int, default=2022, help="random seed (default 2022)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply arrivals (referrals, care entries, contacts); e.g. 0.25")
    ap.add_argument("--cin-contacts-from", type=dt.date.fromisoformat, default=None,
                    help="first day of the CIN census and contacts files (yyyy-mm-dd; default the start date)")
    ap.add_argument("--clean", action="store_true", help="write clean files (no injected mess)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    g = generate(SyntheticTruth(scale=a.scale, cin_contacts_from=a.cin_contacts_from), a.seed, a.out, messy=not a.clean)
    c = g.counts["counts"]
    print(f"{LABEL}\nwrote {g.out_dir} in {time.perf_counter() - t0:.1f}s: "
          f"{sum(c['ssda903_episode_rows'].values())} SSDA903 episode rows in {len(g.ssda903_years)} years, "
          f"{c['cin_episodes']} CIN episodes, {c['contact_rows']} contacts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
