"""A synthetic caseload snapshot, made by running the model itself for decades before the start.

Used for the shipped default snapshot when no council data are at hand: demand is wound back by
its trend so that arrival rates reach the parameters' start-date values exactly at the start,
and the open cases at the end of the warm-up (ages, stages, placements, time already spent)
become the snapshot. Calibration from real data replaces it with the council's own caseload.
"""
from __future__ import annotations

import datetime as dt

from .initial import OpenCase
from .params import Params
from .runner import run_replication


def warmup_params(params: Params, years: int) -> Params:
    """The same council `years` earlier: demand scaled back by its trend, workforce as at start."""
    p = params.model_copy(deep=True)
    start = params.horizon.start_date
    w_start = dt.date(start.year - years, start.month, start.day)
    p.horizon = p.horizon.model_copy(update={"start_date": w_start, "end_date": start - dt.timedelta(days=1)})
    for rate in (p.arrivals.new_contacts, p.arrivals.direct_care_entries):
        rate.per_month = rate.per_month * (1.0 + rate.trend_per_year) ** (-years)
    for _, team in p.capacity.teams:
        # dated changes belong to the forecast; the warm-up runs with the start-date workforce
        workers = team.workers
        for ch in sorted(team.changes, key=lambda c: c.date):
            if ch.date <= start:
                workers = ch.value
        team.workers = workers
        team.changes = []
    return p


def warmup_snapshot(params: Params, seed: int = 20210401, years: int = 30) -> list[OpenCase]:
    """Open cases at the start date after a warm-up of `years` from an empty system."""
    result = run_replication(warmup_params(params, years), seed, 0, keep_open_cases=True)
    return result.open_cases
