"""Monthly counts and a rate fitted to them (level, trend, seasonality, Poisson): shared by the
full-data fit (`calibration.fit`) and the SSDA903-only supply fit (`calibration.supply`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import optimize

DAYS_PER_YEAR = 365.25
MIN_CASES = 30          # fewer cases than this in a cell: keep the template


def monthly_counts(dates: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Counts by calendar month from `first` to `last`, with the days of each month observed."""
    first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    months = pd.period_range(first, last, freq="M")
    d = pd.to_datetime(dates)
    d = d[(d >= first) & (d <= last)]
    counts = d.dt.to_period("M").value_counts().reindex(months, fill_value=0)
    days = []
    for m in months:
        a = max(m.start_time.normalize(), first)
        b = min(m.end_time.normalize(), last)
        days.append((b - a).days + 1)
    return pd.DataFrame({"month": months.to_timestamp(), "count": counts.to_numpy().astype(float),
                         "days": np.array(days, float)})


@dataclass
class RateFit:
    per_month: float                   # at the reference date
    trend_per_year: float
    seasonality: Optional[list]        # April first, averaging 1
    fitted: np.ndarray                 # expected counts per row of the table
    n: float
    note: str = ""
    trend_ci: tuple = (float("nan"), float("nan"))      # 95% interval of trend_per_year (Wald, on the log scale)
    per_month_ci: tuple = (float("nan"), float("nan"))  # 95% interval of per_month (Wald, on the log scale)


def fit_rate(table: pd.DataFrame, at: pd.Timestamp, trend_min_months: int = 12,
             season_min_months: int = 24) -> RateFit:
    """Poisson log-linear fit to monthly counts: log E[count] = log(days) + a + b t + s(month).

    t is in years from `at`; seasonal effects (only with 2+ years of months) are normalised to
    multipliers averaging 1, April first. The rate a month is at `at`, averaged over seasons.
    """
    tab = table[table["days"] > 0]
    y, days = tab["count"].to_numpy(), tab["days"].to_numpy()
    t = ((tab["month"] + pd.Timedelta(days=14)) - pd.Timestamp(at)).dt.days.to_numpy() / DAYS_PER_YEAR
    nm = len(tab)
    use_trend = nm >= trend_min_months
    use_season = nm >= season_min_months and y.sum() / max(nm, 1) >= 20  # noise otherwise
    mi = ((tab["month"].dt.month.to_numpy() - 4) % 12)
    X = [np.ones(nm)]
    if use_trend:
        X.append(t)
    if use_season:
        for k in range(1, 12):  # April is the reference month
            X.append((mi == k).astype(float))
    X = np.column_stack(X)
    off = np.log(days)
    beta0 = np.zeros(X.shape[1])
    beta0[0] = math.log(max(y.sum(), 0.5) / days.sum())

    def nll(b):
        eta = np.clip(X @ b + off, -50, 50)
        return float(np.exp(eta).sum() - (y * eta).sum())

    def grad(b):
        eta = np.clip(X @ b + off, -50, 50)
        return X.T @ (np.exp(eta) - y)

    res = optimize.minimize(nll, beta0, jac=grad, method="BFGS")
    b = res.x
    fitted = np.exp(np.clip(X @ b + off, -50, 50))
    trend = float(math.exp(b[1]) - 1.0) if use_trend else 0.0
    if use_season:
        eff = np.concatenate([[0.0], b[-11:]])
        mult = np.exp(eff)
        mean = mult.mean()
        season = [float(f"{x:.4f}") for x in mult / mean]
        season[-1] = float(f"{12 - sum(season[:-1]):.4f}")
        level = math.exp(b[0]) * mean
    else:
        season, level = None, math.exp(b[0])
    per_month = level * DAYS_PER_YEAR / 12.0
    note = (f"Poisson log-linear fit to {nm} months" + (", trend" if use_trend else ", no trend (under 12 months)")
            + (", seasonality" if use_season else ", no seasonality (needs 24 months and 20 a month)"))
    fitted_full = np.full(len(table), np.nan)
    fitted_full[(table["days"] > 0).to_numpy()] = fitted
    # intervals from the Poisson information matrix X' diag(mu) X: the trend's, and the level's
    # at `at` (t = 0, so the intercept's; the seasonal mean multiplier is taken as known)
    trend_ci = per_month_ci = (float("nan"), float("nan"))
    try:
        cov = np.linalg.inv(X.T @ (X * fitted[:, None]))
        z = 1.959964
        se0 = math.sqrt(max(cov[0, 0], 0.0))
        per_month_ci = (per_month * math.exp(-z * se0), per_month * math.exp(z * se0))
        if use_trend:
            se1 = math.sqrt(max(cov[1, 1], 0.0))
            trend_ci = (math.exp(b[1] - z * se1) - 1.0, math.exp(b[1] + z * se1) - 1.0)
    except (np.linalg.LinAlgError, OverflowError):   # too few months or events for an interval (tiny data)
        pass
    return RateFit(per_month, trend, season, fitted_full, float(y.sum()), note, trend_ci, per_month_ci)
