"""The calibration report's back-cast MAPE leaves out the first month: it is the starting caseload
itself (the model starts from the data's snapshot), so it scores about 0% and flattered the rest."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from calibration.report import backcast_mape


def _table():
    months = ["2021-03", "2021-04", "2021-05", "2021-06"]
    rows = []
    for m, obs, sim in zip(months, [100, 100, 100, 100], [100, 110, 90, 120]):
        rows.append({"month": m, "series": "cin", "observed": obs, "simulated": sim, "low": sim, "high": sim})
    for m, obs, sim in zip(months, [4, 0, 2, 5], [4, 1, 3, 5]):
        rows.append({"month": m, "series": "care_semi_independent", "observed": obs, "simulated": sim,
                     "low": sim, "high": sim})
    return pd.DataFrame(rows)


def test_the_first_month_is_left_out():
    mape, scored = backcast_mape(_table(), pd.Timestamp("2021-03-31"))
    assert scored == ["2021-04", "2021-05", "2021-06"]
    # (10 + 10 + 20) / 3, not (0 + 10 + 10 + 20) / 4 = 10
    assert mape["cin"] == pytest.approx(40 / 3)


def test_months_with_no_observed_cases_are_left_out():
    mape, _ = backcast_mape(_table(), pd.Timestamp("2021-03-31"))
    # April (0 observed) has no percentage; May 50%, June 0%
    assert mape["care_semi_independent"] == pytest.approx(25.0)


def test_a_start_inside_a_month_leaves_that_month_out():
    mape, scored = backcast_mape(_table(), pd.Timestamp("2021-04-15"))
    assert scored == ["2021-05", "2021-06"] and mape["cin"] == pytest.approx(15.0)
    mape, scored = backcast_mape(_table(), pd.Timestamp("2021-06-30"))
    assert scored == [] and math.isnan(mape["cin"])
