"""Model time (days from the start date) against calendar months and financial years."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class FinancialYear:
    """A UK local-government financial year, 1 April to 31 March, labelled like "2021/22"."""

    start_year: int

    @property
    def label(self) -> str:
        return f"{self.start_year}/{(self.start_year + 1) % 100:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.start_year, 4, 1)

    @property
    def end(self) -> dt.date:
        """The day after the year ends (1 April next year)."""
        return dt.date(self.start_year + 1, 4, 1)

    @classmethod
    def of(cls, day: dt.date) -> "FinancialYear":
        return cls(day.year if day.month >= 4 else day.year - 1)

    @classmethod
    def parse(cls, label: str) -> "FinancialYear":
        y = int(label.split("/")[0])
        fy = cls(y)
        if fy.label != label:
            raise ValueError(f"not a financial year label: {label!r} (expected like '2021/22')")
        return fy


def financial_years(start: dt.date, end: dt.date) -> list[FinancialYear]:
    """Financial years overlapping [start, end] (end inclusive)."""
    fy, last = FinancialYear.of(start), FinancialYear.of(end)
    out = []
    while fy.start_year <= last.start_year:
        out.append(fy)
        fy = FinancialYear(fy.start_year + 1)
    return out


def fy_edges(start: dt.date, horizon_days: float) -> list[tuple[str, float, float]]:
    """(label, from day, to day) for each financial year, clipped to the horizon."""
    end = start + dt.timedelta(days=horizon_days - 1)
    out = []
    for fy in financial_years(start, end):
        a = max(0.0, float((fy.first_day - start).days))
        b = min(horizon_days, float((fy.end - start).days))
        if b > a:
            out.append((fy.label, a, b))
    return out


def month_ends(start: dt.date, horizon_days: float) -> list[tuple[str, float]]:
    """(YYYY-MM, day) for the end of each calendar month within the horizon (end of its last day)."""
    out = []
    y, m = start.year, start.month
    while True:
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        t = float((nxt - start).days)
        if t > horizon_days:
            break
        out.append((f"{y:04d}-{m:02d}", t))
        y, m = nxt.year, nxt.month
    return out


def to_date(start: dt.date, t: float) -> dt.date:
    return start + dt.timedelta(days=int(t))
