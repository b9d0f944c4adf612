"""Periods of care, placements and returns home from cleaned SSDA903 episodes.

The fitting code needs durations with censoring (a period still open at the extract date tells us
only that it lasted at least so long), placement moves within a period, and how often a return
home is followed by coming back into care. Everything here is vectorised over all children.

Input: the tidy episodes of `ssda903.load_ssda903` (child, start, end, rne, rec, placement_type,
exit_reason, reason_place_change), one child's episodes not overlapping.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

CONTINUES = "X1"


def completed_years(born: pd.Series, on: pd.Series) -> pd.Series:
    """Age in completed years on a date (the way the DfE counts ages)."""
    years = on.dt.year - born.dt.year
    before_birthday = (on.dt.month < born.dt.month) | ((on.dt.month == born.dt.month) & (on.dt.day < born.dt.day))
    return (years - before_birthday.astype(int)).astype("Int64")


def _starts_new_period(eps: pd.DataFrame) -> pd.Series:
    """A period starts with RNE S, after an episode that did not continue (REC not X1), or at a gap."""
    by_child = eps.groupby("child", sort=False)
    prev_end = by_child["end"].shift(1)
    prev_rec = by_child["rec"].shift(1)
    first = eps["child"] != eps["child"].shift(1)
    return first | (eps["rne"] == "S") | (prev_rec != CONTINUES) | (eps["start"] != prev_end)


def build_periods(episodes: pd.DataFrame, header: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Join episodes into periods of care.

    Returns the episodes with a `period` column (1, 2... per child) and one row per period: child,
    period, dob, sex, start, end (NaT if open), exit_reason (NA if open or if the last episode says
    X1 with nothing after it), rec, first_placement, last_placement, placements (count of
    placements), episodes (count), start_known (the period starts with RNE S inside the data, so
    its true start is seen), age_at_entry (completed years).
    """
    eps = episodes.sort_values(["child", "start"], kind="stable").reset_index(drop=True)
    new_period = _starts_new_period(eps)
    eps["period"] = new_period.groupby(eps["child"], sort=False).cumsum().astype("int64")
    eps["_new_placement"] = _starts_new_placement(eps, new_period)

    # first/last rows taken by position: groupby "last" would skip an empty (open) end date
    first = eps[~eps.duplicated(["child", "period"], keep="first")].reset_index(drop=True)
    last = eps[~eps.duplicated(["child", "period"], keep="last")].reset_index(drop=True)
    counts = eps.groupby(["child", "period"], sort=False).agg(
        placements=("_new_placement", "sum"), episodes=("start", "size")).reset_index()
    periods = pd.DataFrame({
        "child": first["child"], "period": first["period"], "start": first["start"],
        "end": last["end"], "rec": last["rec"], "exit_reason": last["exit_reason"],
        "first_placement": first["placement_type"], "last_placement": last["placement_type"],
        "start_known": first["rne"] == "S",
    }).merge(counts, on=["child", "period"], how="left", validate="one_to_one")
    periods["placements"] = periods["placements"].astype("int64")
    people = header[["child", "dob", "sex"]].drop_duplicates("child")
    periods = periods.merge(people, on="child", how="left", validate="many_to_one")
    periods["age_at_entry"] = completed_years(periods["dob"], periods["start"])
    cols = ["child", "period", "dob", "sex", "start", "end", "exit_reason", "rec", "first_placement",
            "last_placement", "placements", "episodes", "start_known", "age_at_entry"]
    return eps.drop(columns="_new_placement"), periods[cols]


def _starts_new_placement(eps: pd.DataFrame, new_period: pd.Series) -> pd.Series:
    """A placement starts with the period, at any episode other than a legal-status-only change
    (RNE L), or where the placement type changes."""
    prev_type = eps.groupby("child", sort=False)["placement_type"].shift(1)
    return new_period | (eps["rne"] != "L") | (eps["placement_type"] != prev_type)


def periods_at(periods: pd.DataFrame, extract_date) -> pd.DataFrame:
    """Periods of care with censoring at the extract date, ready for survival fitting.

    duration_days runs from the start to the exit, or to the extract date for periods still open,
    or to the last date seen for periods whose last episode says X1 with nothing after it.
    event_observed is True only where a real exit (with a reason) was seen by the extract date.
    """
    extract = pd.Timestamp(extract_date)
    out = periods.copy()
    observed = out["exit_reason"].notna() & out["end"].notna() & (out["end"] <= extract)
    until = out["end"].where(out["end"].notna() & (out["end"] <= extract), extract)
    out["duration_days"] = (until - out["start"]).dt.days.astype("int64")
    out["event_observed"] = observed.to_numpy()
    out["age_at_exit_or_censor"] = completed_years(out["dob"], until)
    return out


def placement_episodes(episodes: pd.DataFrame, extract_date=None) -> pd.DataFrame:
    """Placements within each period: child, period, placement (1, 2...), placement_type, start,
    end, reason_for_change (REASON_PLACE_CHANGE on the placement's last episode, where the move
    is recorded), ended_by (move / exit / open), and duration_days (censored at the extract date
    when one is given).

    Episodes that change only the legal status (RNE L) in the same placement type are merged.
    """
    eps = episodes.sort_values(["child", "start"], kind="stable").reset_index(drop=True)
    if "period" not in eps:
        raise ValueError("episodes need a period column: build them with build_periods first")
    prev_period = eps.groupby("child", sort=False)["period"].shift(1)
    new_period = eps["period"] != prev_period
    new_placement = _starts_new_placement(eps, new_period)
    eps["placement"] = new_placement.groupby([eps["child"], eps["period"]], sort=False).cumsum().astype("int64")
    keys = ["child", "period", "placement"]
    first = eps[~eps.duplicated(keys, keep="first")].reset_index(drop=True)
    last = eps[~eps.duplicated(keys, keep="last")].reset_index(drop=True)
    out = pd.DataFrame({
        "child": first["child"], "period": first["period"], "placement": first["placement"],
        "placement_type": first["placement_type"], "start": first["start"], "end": last["end"],
        "rec": last["rec"], "reason_for_change": last["reason_place_change"],
    })
    out["ended_by"] = np.select(
        [out["end"].isna(), out["rec"] == CONTINUES], ["open", "move"], default="exit"
    )
    if extract_date is not None:
        until = out["end"].fillna(pd.Timestamp(extract_date))
        out["duration_days"] = (until - out["start"]).dt.days.astype("int64")
    return out


def returns_home(periods: pd.DataFrame, extract_date) -> pd.DataFrame:
    """Periods that ended in a return home (reunification), and whether the child came back.

    Columns: child, period, left_care, age_at_exit, next_start (NaT if no re-entry seen),
    reentered, days_to_reentry (NaN if none), days_observed (to re-entry or to the extract date,
    so a fit can treat no re-entry as censored).
    """
    extract = pd.Timestamp(extract_date)
    p = periods.sort_values(["child", "start"], kind="stable").reset_index(drop=True)
    next_start = p.groupby("child", sort=False)["start"].shift(-1)
    home = (p["exit_reason"] == "reunification") & p["end"].notna()
    out = pd.DataFrame({
        "child": p.loc[home, "child"],
        "period": p.loc[home, "period"],
        "left_care": p.loc[home, "end"],
        "age_at_exit": completed_years(p.loc[home, "dob"], p.loc[home, "end"]),
        "next_start": next_start[home],
    }).reset_index(drop=True)
    out["reentered"] = out["next_start"].notna()
    out["days_to_reentry"] = (out["next_start"] - out["left_care"]).dt.days
    out["days_observed"] = (out["next_start"].fillna(extract) - out["left_care"]).dt.days.astype("int64")
    return out
