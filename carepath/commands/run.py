"""`carepath run` (the baseline forecast into tables, charts and a manifest) and `carepath
snapshot` (a synthetic starting caseload from a long warm-up run)."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from sim.backends import default_workers
from sim.replications import run_replications
from sim.inputs import read_snapshot, resolve_snapshot
from sim.params import load_params

from ..charts import plot_bands, plot_placements
from ..options import UsageError, add_backend_arguments, default_params, make_backend, positive_int, seed
from ..outputs import atomic_write, manifest, output_folder, write_csv, write_json, write_snapshot


def add_parsers(sub) -> None:
    run = sub.add_parser("run", help="forecast the baseline: stocks, flows and costs by financial year",
                         description="Run the pathway model from the start date's caseload and write "
                                     "tables and charts by financial year into --out.")
    run.add_argument("--params", default=None, metavar="FILE",
                     help="parameter file (YAML); default: the shipped Nottingham-like baseline")
    run.add_argument("--replications", type=positive_int, default=20, metavar="R",
                     help="independent runs, for uncertainty bands (default: %(default)s)")
    run.add_argument("--seed", type=seed, default=12345, metavar="S",
                     help="base random seed; the same seed gives identical results (default: %(default)s)")
    run.add_argument("--years", type=positive_int, default=None, metavar="N",
                     help="forecast N financial years from the start date instead of the file's horizon")
    run.add_argument("--out", default="results/baseline", metavar="DIR", help="output folder (default: %(default)s)")
    run.add_argument("--snapshot", default=None, metavar="FILE",
                     help="caseload at the start date (CSV); default: the file named in the parameters")
    run.add_argument("--cold-start", action="store_true", help="start with nobody open (for checks, not forecasts)")
    run.add_argument("--workers", type=positive_int, default=None, metavar="W",
                     help="parallel processes (default: the number of cores)")
    run.add_argument("--event-log", choices=("first", "all", "none"), default="first",
                     help="which replications' event logs to write (default: %(default)s)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(run)
    run.set_defaults(handler=cmd_run)

    snap = sub.add_parser("snapshot", help="make a synthetic starting caseload by running the model for decades",
                          description="Write a synthetic caseload snapshot (children open at each stage at "
                                      "the start date) made by a long warm-up run of the model.")
    snap.add_argument("--params", default=None, metavar="FILE",
                      help="parameter file (YAML); default: the shipped baseline")
    snap.add_argument("--out", required=True, metavar="FILE", help="snapshot CSV to write")
    snap.add_argument("--seed", type=seed, default=20210401, metavar="S")
    snap.add_argument("--years", type=positive_int, default=30, metavar="N", help="warm-up years (default: %(default)s)")
    snap.add_argument("--exact-dates-of-birth", action="store_true",
                      help="write exact dates of birth (default: the month of birth, yyyy-mm)")
    snap.set_defaults(handler=cmd_snapshot)


MAX_YEARS = 100  # a longer forecast can only be a mistake (and dates past 9999 do not exist)


def load(params_file: Optional[str], years: Optional[int] = None):
    """The parameter file (the packaged baseline if none is given) and its parameters, cut to
    `years` financial years from the start date when asked."""
    params_path = Path(params_file) if params_file else default_params()
    params = load_params(params_path)
    if years and years > MAX_YEARS:
        raise UsageError(f"--years {years}: a forecast of at most {MAX_YEARS} financial years")
    if years:
        start = params.horizon.start_date
        end = dt.date(start.year + years, start.month, start.day) - dt.timedelta(days=1)
        params = params.model_copy(update={"horizon": params.horizon.model_copy(update={"end_date": end})})
    return params_path, params


def starting_caseload(params, params_path, snapshot_file: Optional[str] = None, cold_start: bool = False):
    """The snapshot's path and open cases (None, None for a cold start or a parameter set naming none)."""
    if cold_start:
        return None, None
    path = Path(snapshot_file) if snapshot_file else resolve_snapshot(params, params_path)
    if path is None:
        return None, None
    return path, read_snapshot(path, params)


@dataclass
class Collected:
    summary: pd.DataFrame
    stocks: pd.DataFrame
    events: Optional[pd.DataFrame]
    sim_events: int
    replication_seconds: list


def run_and_collect(params, seed, replications, snapshot, workers, event_log="first", progress=True,
                    backend=None) -> Collected:
    """`backend`: a sim.backends.Backend to run on (default: a local process pool of `workers`)."""
    keep = {"first": lambda r: r == 0, "all": lambda r: True, "none": lambda r: False}[event_log]
    outs = run_replications(params, seed, replications, snapshot, workers=workers, keep_events=keep, progress=progress,
                            backend=backend)
    events = [o.events for o in outs if o.events is not None]
    return Collected(
        summary=pd.concat([o.summary for o in outs], ignore_index=True),
        stocks=pd.concat([o.stocks for o in outs], ignore_index=True),
        events=pd.concat(events, ignore_index=True) if events else None,
        sim_events=sum(o.sim_events for o in outs),
        replication_seconds=[round(o.wall_seconds, 3) for o in outs],
    )


def event_log_with_dates(events: pd.DataFrame, start: dt.date) -> pd.DataFrame:
    ev = events.copy()
    ev.insert(2, "date", (pd.Timestamp(start) + pd.to_timedelta(ev["time"].astype(float).clip(lower=0), unit="D")).dt.date)
    ev["time"] = ev["time"].round(4)
    return ev


def write_run_outputs(collected: Collected, params, out: Path, run_manifest: dict) -> list[Path]:
    paths = [
        write_csv(collected.summary, out / "summary_by_fy.csv"),
        write_csv(collected.stocks, out / "stocks_by_month.csv"),
    ]
    if collected.events is not None:
        ev = event_log_with_dates(collected.events, params.horizon.start_date)
        paths.append(atomic_write(out / "event_log.csv.gz",
                                  lambda p: ev.to_csv(p, index=False, compression="gzip")))
    paths.append(plot_placements(collected.stocks, out / "children_in_care_by_placement.png"))
    paths.append(plot_bands(collected.stocks, out / "cin_cp_cic_bands.png"))
    paths.append(write_json(run_manifest, out / "manifest.json"))
    return paths


def headline(summary: pd.DataFrame, params) -> str:
    """A few plain-words lines: the first and last financial years' key figures."""
    m = summary.groupby(["financial_year", "measure"])["value"].mean()
    years = sorted(summary["financial_year"].unique())
    lines = [f"carepath: {summary['replication'].nunique()} replications of '{params.name}'"]
    for fy in dict.fromkeys((years[0], years[-1])):  # once when the run is one year long
        lines.append(
            f"  {fy}: {m[(fy, 'cic_average')]:.0f} children in care on average, "
            f"{m[(fy, 'care_entries')]:.0f} entries, {m[(fy, 'cin_at_year_end')]:.0f} on CIN plans and "
            f"{m[(fy, 'cp_at_year_end')]:.0f} on CP plans at year end; placements £{m[(fy, 'cost_placements')] / 1e6:.1f}m "
            f"(£{m[(fy, 'placement_weekly_cost_average')]:,.0f} a child-week), total £{m[(fy, 'cost_total')] / 1e6:.1f}m"
        )
    return "\n".join(lines)


def collect_and_write_forecast(params, params_path, snap_path, out: Path, seed_: int, replications: int,
                               workers: int, args, event_log: str = "first", progress: bool = True):
    """Run the forecast's replications and write its folder (whole or not at all); returns the
    summary by financial year. `args` carries --backend, --scheduler and the TLS files."""
    snapshot = read_snapshot(snap_path, params) if snap_path else None
    t0 = time.perf_counter()
    backend, where = make_backend(args.backend, args.scheduler, getattr(args, "workers", None), args)
    try:
        collected = run_and_collect(params, seed_, replications, snapshot, workers, event_log,
                                    progress=progress, backend=backend)
    finally:
        if backend is not None:
            backend.close()
    wall = time.perf_counter() - t0
    run_manifest = manifest(
        "carepath run", parameters=params, params_path=params_path, snapshot_path=snap_path, seed=seed_,
        replications=replications, workers=workers, backend=where, wall=wall,
        replication_seconds=collected.replication_seconds, simulation_events=collected.sim_events,
        horizon={"start_date": str(params.horizon.start_date), "end_date": str(params.horizon.end_date)},
        params=params.model_dump(mode="json"))
    child_level = {"event_log.csv.gz": "every event of each child's path in the simulation (synthetic children and, "
                                       "from a calibrated snapshot, the council's children under pseudonymous numbers)"}
    with output_folder(out, child_level) as stage:  # written whole or not at all
        paths = write_run_outputs(collected, params, stage, run_manifest)
    print(headline(collected.summary, params))
    print(f"Wrote {len(paths)} files to {out}/ ({', '.join(p.name for p in paths)})")
    return collected.summary


def cmd_run(args) -> int:
    params_path, params = load(args.params, args.years)
    if args.cold_start:
        snap_path = None
    else:
        snap_path = Path(args.snapshot) if args.snapshot else resolve_snapshot(params, params_path)
    collect_and_write_forecast(params, params_path, snap_path, Path(args.out), args.seed, args.replications,
                               args.workers or default_workers(), args, args.event_log, progress=not args.quiet)
    return 0


def cmd_snapshot(args) -> int:
    from sim.warmup import warmup_snapshot

    _, params = load(args.params)
    t0 = time.perf_counter()
    cases = warmup_snapshot(params, seed=args.seed, years=args.years)
    write_snapshot(cases, params, Path(args.out), exact_dates_of_birth=args.exact_dates_of_birth)
    counts = {}
    for c in cases:
        counts[c.state] = counts.get(c.state, 0) + 1
    closed = counts.pop("closed", 0)
    parts = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"Wrote a synthetic caseload for {params.horizon.start_date} to {args.out}: "
          f"{sum(counts.values())} children open ({parts}) and {closed} closed in the last two years "
          f"who may come back; {time.perf_counter() - t0:.0f} s")
    return 0
