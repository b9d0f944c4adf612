"""Periods of care, censoring, placements and returns home, on small hand-made episode tables."""
from __future__ import annotations

import pandas as pd

from calibration import episodes as ep

T = pd.Timestamp
EXTRACT = T("2022-03-31")


def episodes_frame(rows):
    cols = ["child", "start", "end", "rne", "rec", "placement_type", "reason_place_change"]
    df = pd.DataFrame(rows, columns=cols)
    df["start"] = pd.to_datetime(df["start"])
    df["end"] = pd.to_datetime(df["end"])
    df["exit_reason"] = df["rec"].map({"E4A": "reunification", "E11": "adoption", "E17": "age18"})
    return df


HEADER = pd.DataFrame({"child": ["a", "b"], "dob": [T("2010-06-01"), T("2004-01-01")], "sex": ["male", "female"]})

ROWS = [
    # child a: foster, legal change only, move to residential, home; re-enters, still open
    ("a", "2019-01-01", "2019-03-01", "S", "X1", "foster_inhouse", None),
    ("a", "2019-03-01", "2019-05-01", "L", "X1", "foster_inhouse", "CARPL"),
    ("a", "2019-05-01", "2019-09-01", "P", "E4A", "residential_spot", None),
    ("a", "2020-01-01", None, "S", None, "kinship", None),
    # child b: one period ending at 18; a later return home never followed by re-entry
    ("b", "2019-02-01", "2021-12-31", "S", "E17", "foster_ifa", None),
]


def built():
    return ep.build_periods(episodes_frame(ROWS), HEADER)


def test_build_periods():
    eps, periods = built()
    assert list(eps["period"]) == [1, 1, 1, 2, 1]
    p = periods.set_index(["child", "period"])
    assert p.loc[("a", 1), "placements"] == 2 and p.loc[("a", 1), "episodes"] == 3
    assert p.loc[("a", 1), "exit_reason"] == "reunification"
    assert p.loc[("a", 1), "age_at_entry"] == 8
    assert pd.isna(p.loc[("a", 2), "end"])
    assert p.loc[("b", 1), "age_at_entry"] == 15


def test_periods_at_censors_open_periods_at_the_extract_date():
    _, periods = built()
    c = ep.periods_at(periods, EXTRACT).set_index(["child", "period"])
    assert c.loc[("a", 1), "event_observed"] and c.loc[("a", 1), "duration_days"] == 243
    assert not c.loc[("a", 2), "event_observed"]
    assert c.loc[("a", 2), "duration_days"] == (EXTRACT - T("2020-01-01")).days
    # an exit after an earlier extract date is not yet seen
    early = ep.periods_at(periods, T("2021-06-30")).set_index(["child", "period"])
    assert not early.loc[("b", 1), "event_observed"]
    assert early.loc[("b", 1), "duration_days"] == (T("2021-06-30") - T("2019-02-01")).days


def test_placement_episodes_merge_legal_changes_and_record_moves():
    eps, _ = built()
    pl = ep.placement_episodes(eps, EXTRACT)
    a1 = pl[(pl["child"] == "a") & (pl["period"] == 1)]
    assert list(a1["placement_type"]) == ["foster_inhouse", "residential_spot"]
    assert list(a1["end"]) == [T("2019-05-01"), T("2019-09-01")]
    assert list(a1["reason_for_change"].fillna("")) == ["CARPL", ""]
    assert list(a1["ended_by"]) == ["move", "exit"]
    assert pl.loc[(pl["child"] == "a") & (pl["period"] == 2), "ended_by"].item() == "open"


def test_returns_home_followed_by_reentry():
    _, periods = built()
    r = ep.returns_home(periods, EXTRACT)
    assert len(r) == 1
    row = r.iloc[0]
    assert row["reentered"] and row["days_to_reentry"] == (T("2020-01-01") - T("2019-09-01")).days
    assert row["days_observed"] == row["days_to_reentry"]
    assert row["age_at_exit"] == 9


def test_no_reentry_is_censored_at_the_extract_date():
    rows = [("a", "2019-01-01", "2019-06-01", "S", "E4A", "kinship", None)]
    _, periods = ep.build_periods(episodes_frame(rows), HEADER)
    r = ep.returns_home(periods, EXTRACT).iloc[0]
    assert not r["reentered"] and pd.isna(r["days_to_reentry"])
    assert r["days_observed"] == (EXTRACT - T("2019-06-01")).days


def test_a_period_whose_last_episode_is_open_is_open():
    rows = [("a", "2019-01-01", "2019-03-01", "S", "X1", "foster_ifa", "CARPL"),
            ("a", "2019-03-01", None, "P", None, "kinship", None)]
    eps, periods = ep.build_periods(episodes_frame(rows), HEADER)
    assert len(periods) == 1 and pd.isna(periods.loc[0, "end"]) and pd.isna(periods.loc[0, "exit_reason"])
    assert periods.loc[0, "last_placement"] == "kinship"
    pl = ep.placement_episodes(eps)
    assert list(pl["ended_by"]) == ["move", "open"] and pd.isna(pl.loc[1, "end"])
