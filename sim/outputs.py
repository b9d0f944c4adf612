"""Collecting replications into the run's output files: tables, event log, charts, manifest."""
from __future__ import annotations

import datetime as dt
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from .batch import run_replications
from .charts import plot_bands, plot_placements
from .files import atomic_write, file_sha256, write_csv, write_json
from .version import code_version


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


def manifest(params, params_path, snapshot_path, args, collected: Collected, wall: float) -> dict:
    return {
        "what": "carepath run",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "params_file": str(params_path) if params_path else None,
        "params_hash": params.digest(),
        "snapshot_file": str(snapshot_path) if snapshot_path else None,
        "snapshot_hash": file_sha256(snapshot_path) if snapshot_path else None,
        "seed": args.seed,
        "replications": args.replications,
        "workers": args.workers,
        "backend": getattr(args, "backend_used", None) or "local",
        "code_version": code_version(),
        "python": platform.python_version(),
        "wall_seconds": round(wall, 2),
        "replication_seconds": collected.replication_seconds,
        "simulation_events": collected.sim_events,
        "horizon": {"start_date": str(params.horizon.start_date), "end_date": str(params.horizon.end_date)},
        "params": params.model_dump(mode="json"),
    }


def write_run_outputs(collected: Collected, params, params_path, snapshot_path, args, out: Path, wall: float) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
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
    paths.append(write_json(manifest(params, params_path, snapshot_path, args, collected, wall), out / "manifest.json"))
    return paths


def headline(summary: pd.DataFrame, params) -> str:
    """A few plain-words lines: the first and last financial years' key figures."""
    m = summary.groupby(["financial_year", "measure"])["value"].mean()
    years = sorted(summary["financial_year"].unique())
    lines = [f"carepath: {summary['replication'].nunique()} replications of '{params.name}'"]
    for fy in (years[0], years[-1]):
        lines.append(
            f"  {fy}: {m[(fy, 'cic_average')]:.0f} children in care on average, "
            f"{m[(fy, 'care_entries')]:.0f} entries, {m[(fy, 'cin_at_year_end')]:.0f} on CIN plans and "
            f"{m[(fy, 'cp_at_year_end')]:.0f} on CP plans at year end; placements £{m[(fy, 'cost_placements')] / 1e6:.1f}m "
            f"(£{m[(fy, 'placement_weekly_cost_average')]:,.0f} a child-week), total £{m[(fy, 'cost_total')] / 1e6:.1f}m"
        )
    return "\n".join(lines)
