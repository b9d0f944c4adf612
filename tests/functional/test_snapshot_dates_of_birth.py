"""Snapshots hold months of birth unless exact dates are asked for, and the model reads both.

A child's exact date of birth with the rest of a snapshot row can identify the child, so
`carepath calibrate` and `carepath snapshot` write the month (yyyy-mm) by default; the model
reads a month as the middle of the days in it on which a child in the snapshot can have been
born, so ages are off by at most about half a month, and on average by nothing.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carepath.cli import main
from carepath.commands.calibrate import calibrate
from carepath.outputs import write_snapshot
from sim.child import DAYS_PER_YEAR
from sim.initial import SnapshotError, cases_from_frame
from sim.inputs import read_snapshot
from sim.params import load_params

EXAMPLE = Path(__file__).resolve().parents[2] / "calibration" / "example_data"
MONTH = re.compile(r"^\d{4}-\d{2}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """The example data calibrated twice: by default (the command line) and with exact dates."""
    base = tmp_path_factory.mktemp("dob")
    args = ["--ssda903", str(EXAMPLE / "ssda903"), "--cin", str(EXAMPLE / "cin_census" / "csv"),
            "--extract-date", "2022-03-31", "--no-backcast"]
    assert main(["calibrate", *args, "--out", str(base / "month")]) == 0
    assert main(["calibrate", *args, "--out", str(base / "exact"), "--exact-dates-of-birth"]) == 0
    return base / "month", base / "exact"


def test_default_snapshot_holds_months_of_birth_only(calibrated):
    month_dir, exact_dir = calibrated
    month, exact = _read(month_dir / "snapshot.csv"), _read(exact_dir / "snapshot.csv")
    assert len(month) > 500
    assert month["dob"].str.fullmatch(MONTH.pattern).all()
    assert exact["dob"].str.fullmatch(DAY.pattern).all()
    # the same rows, the dates of birth cut to their month, every other column as it was
    assert (month["dob"] == exact["dob"].str[:7]).all()
    others = [c for c in exact.columns if c != "dob"]
    pd.testing.assert_frame_equal(month[others], exact[others])
    # no row of the default file holds the child's exact date of birth (unless, by chance, it is
    # also one of the row's other dates)
    for (_, m), (_, e) in zip(month.iterrows(), exact.iterrows()):
        assert e["dob"] not in set(m) or e["dob"] in set(e[others])
    assert "month of birth" in (month_dir / "PERSONAL_DATA.txt").read_text()
    assert "exact date of birth" in (exact_dir / "PERSONAL_DATA.txt").read_text()
    # the parameters do not depend on how dates of birth are written
    assert (month_dir / "params.yaml").read_text() == (exact_dir / "params.yaml").read_text()


def test_month_of_birth_ages_are_within_half_a_month_and_unbiased(calibrated):
    month_dir, exact_dir = calibrated
    params = load_params(month_dir / "params.yaml")
    by_month = {c.child_id: c for c in read_snapshot(month_dir / "snapshot.csv", params)}
    exact = {c.child_id: c for c in read_snapshot(exact_dir / "snapshot.csv", params)}
    assert by_month.keys() == exact.keys()
    err = np.array([by_month[i].dob - exact[i].dob for i in exact])
    assert np.abs(err).max() <= 15.5          # the middle of a month of at most 31 days
    # born on a day spread over the month: errors average about 0 (sd about 9 days, so the mean of
    # n errors has a standard error of 9 / sqrt(n); 4 of them allow for chance)
    assert abs(err.mean()) < 4 * 9 / np.sqrt(len(err))
    for i, c in by_month.items():   # nothing else moves
        assert (c.state, c.state_elapsed, c.care_elapsed, c.placement) == (
            exact[i].state, exact[i].state_elapsed, exact[i].care_elapsed, exact[i].placement)


def test_a_run_from_a_month_of_birth_snapshot(calibrated, tmp_path):
    month_dir, _ = calibrated
    out = tmp_path / "run"
    rc = main(["run", "--params", str(month_dir / "params.yaml"), "--replications", "1", "--years", "1",
               "--workers", "1", "--out", str(out), "--quiet"])
    assert rc == 0
    summary = pd.read_csv(out / "summary_by_fy.csv")
    cic = summary.query("measure == 'cic_average'")["value"].iloc[0]
    n_care = int((_read(month_dir / "snapshot.csv")["state"] == "care").sum())
    assert 0.8 * n_care < cic < 1.2 * n_care   # the children in the snapshot are in the run


START = dt.date(2021, 3, 20)


def _frame(dob: str) -> pd.DataFrame:
    return pd.DataFrame([{"child_id": 1, "dob": dob, "state": "cin", "state_start": "2021-01-05",
                          "care_start": "", "placement": "", "previous_cp_plans": 0}])


@pytest.mark.parametrize("month, low, high", [
    ("2010-05", dt.date(2010, 5, 1), dt.date(2010, 5, 31)),
    ("2021-03", dt.date(2021, 3, 1), START),                  # born this month, by the start date
    ("2003-03", START - dt.timedelta(days=6574), dt.date(2003, 3, 31)),  # under 18 on the start date
])
def test_a_month_of_birth_is_read_as_the_middle_of_its_possible_days(month, low, high):
    (case,) = cases_from_frame(_frame(month), START)
    assert case.dob == ((low - START).days + (high - START).days) / 2
    assert (-case.dob) / DAYS_PER_YEAR < 18 and case.dob <= 0


@pytest.mark.parametrize("dob, words", [
    ("2021-04", "month of birth 2021-04 is after the start date"),
    ("2003-02", "born in 2003-02, is 18 or over"),
    ("2010-13", "field 'dob' is not a date or a month of birth"),
])
def test_an_impossible_month_of_birth_is_one_line_naming_the_row(dob, words):
    with pytest.raises(SnapshotError, match="row 2") as err:
        cases_from_frame(_frame(dob), START, "snap.csv")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_snapshot_command_writer_keeps_exact_dates_only_when_asked(calibrated, tmp_path):
    month_dir, exact_dir = calibrated
    params = load_params(exact_dir / "params.yaml")
    cases = read_snapshot(exact_dir / "snapshot.csv", params)
    write_snapshot(cases, params, tmp_path / "month.csv")
    write_snapshot(cases, params, tmp_path / "exact.csv", exact_dates_of_birth=True)
    month, exact = _read(tmp_path / "month.csv"), _read(tmp_path / "exact.csv")
    assert month["dob"].str.fullmatch(MONTH.pattern).all() and exact["dob"].str.fullmatch(DAY.pattern).all()
    assert sorted(exact["dob"]) == sorted(_read(exact_dir / "snapshot.csv")["dob"])
    assert (month["dob"] == exact["dob"].str[:7]).all()


def test_calibrate_function_defaults_to_months(tmp_path):
    """The function refresh and other callers use writes months unless asked."""
    paths = calibrate(EXAMPLE / "ssda903", extract_date="2022-03-31", out_dir=tmp_path / "o", backcast=False)
    assert _read(paths["snapshot"])["dob"].str.fullmatch(MONTH.pattern).all()
