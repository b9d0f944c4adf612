"""Scoring a back-tested forecast, and cutting an SSDA903 history back to a date.

Pure functions (numpy and pandas only, no carepath imports) shared by
benchmarks/peer_cs_demand_model.py and benchmarks/forecast_accuracy.py. They also run inside the
peer's own environment (pandas 1.x), so they keep to what both pandas versions do alike.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

UK_DATE = "%d/%m/%Y"


# ------------------------------------------------------------------------------- scoring
def percentage_errors(pred, obs) -> np.ndarray:
    """(forecast - observed) / observed x 100, month by month; NaN where nothing was observed
    (a percentage of zero children means nothing)."""
    pred, obs = np.asarray(pred, float), np.asarray(obs, float)
    if pred.shape != obs.shape:
        raise ValueError(f"forecast has {pred.shape} values, observed {obs.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(obs > 0, (pred - obs) / np.where(obs > 0, obs, 1.0) * 100, np.nan)


def mape(pred, obs) -> float:
    """Mean absolute percentage error (%) over the months with children observed."""
    pct = percentage_errors(pred, obs)
    return float(np.nanmean(np.abs(pct))) if np.isfinite(pct).any() else float("nan")


def bias(pred, obs) -> float:
    """Mean percentage error (%), signed: above zero the forecast runs high on average. Unlike the
    MAPE it tells a level error (all months on one side) from noise (errors that cancel)."""
    pct = percentage_errors(pred, obs)
    return float(np.nanmean(pct)) if np.isfinite(pct).any() else float("nan")


def flat_forecast(last_observed: float, months: int) -> np.ndarray:
    """The flat forecast: the last observed count held for every month ahead."""
    if months < 0:
        raise ValueError("months must not be negative")
    return np.full(months, float(last_observed))


def score(pred, obs) -> dict:
    """MAPE and bias over all months, and the signed error, forecast and observed at months 12 and
    24 (or the last month, for a shorter horizon)."""
    pred, obs = np.asarray(pred, float), np.asarray(obs, float)
    pct = percentage_errors(pred, obs)
    out = {"mape": mape(pred, obs), "bias": bias(pred, obs)}
    for k in (12, 24):
        i = min(k, len(pct)) - 1
        out[f"err{k}"] = float(pct[i])
        out[f"pred{k}"] = float(pred[i])
        out[f"obs{k}"] = float(obs[i])
    return out


# ------------------------------------------------------------------ cutting a history
def _dates(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col, format=UK_DATE, errors="coerce")


def cut_episodes(episodes: pd.DataFrame, cutoff) -> pd.DataFrame:
    """An SSDA903 episodes table (text columns, dd/mm/yyyy dates) as it stood on `cutoff`: episodes
    starting later are dropped; an end date after it is blanked with its reason for leaving (REC)
    and reason for the placement change, as the episode was still open then. Rows whose start date
    cannot be read are dropped (they cannot be placed before or after the cut)."""
    cut = pd.Timestamp(cutoff)
    start, end = _dates(episodes["DECOM"]), _dates(episodes["DEC"])
    kept = episodes[start <= cut].copy()
    late = (end > cut).reindex(kept.index)
    blank = [c for c in ("DEC", "REC", "REASON_PLACE_CHANGE") if c in kept.columns]
    kept.loc[late, blank] = ""
    return kept


def collection_year_end(folder_name: str, episodes: pd.DataFrame) -> pd.Timestamp:
    """The 31 March that ends the collection year of one year folder.

    DfE names a return by the year it ends in ("2020" = April 2019 to March 2020), but some
    published samples name it by the year it starts in. No episode in a year's return starts
    after the year's end, so the folder's year is the one that fits its latest start date: the
    year in the folder's name if the starts allow it, else the next; with no year in the name,
    the first 31 March on or after the latest start."""
    latest = _dates(episodes["DECOM"]).max()
    m = re.search(r"(19|20)\d{2}", folder_name)
    if m:
        named = pd.Timestamp(int(m.group()), 3, 31)
        return named if pd.isna(latest) or latest <= named else pd.Timestamp(named.year + 1, 3, 31)
    if pd.isna(latest):
        raise ValueError(f"{folder_name}: no year in the name and no readable start date")
    year = latest.year if latest <= pd.Timestamp(latest.year, 3, 31) else latest.year + 1
    return pd.Timestamp(year, 3, 31)


def months_after(cutoff: dt.date, years: int = 2) -> list[str]:
    """The month ends of the `years` after the cut-off, as 'YYYY-MM'."""
    start = pd.Timestamp(cutoff) + pd.Timedelta(days=1)
    end = pd.Timestamp(cutoff) + pd.DateOffset(years=years)
    return [p.strftime("%Y-%m") for p in pd.period_range(start, end, freq="M")]
