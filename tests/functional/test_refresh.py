"""`carepath refresh` end to end on the shipped example data and example council file: the
calibration, the forecast from the day after the extract, the business case on the refreshed
parameters, and an index that names every value inherited from the template."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from carepath.cli import main

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "calibration" / "example_data"


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    out = tmp_path_factory.mktemp("refresh") / "r"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    buf = io.StringIO()
    capture.setattr(sys, "stdout", buf)
    try:
        rc = main(["refresh", "--ssda903", str(DATA / "ssda903"), "--cin", str(DATA / "cin_census" / "csv"),
                   "--council", str(DATA / "council.yaml"), "--extract-date", "2022-03-31", "--out", str(out),
                   "--replications", "2", "--no-backcast", "--quiet", "--workers", "2"])
    finally:
        capture.undo()
    return rc, out, buf.getvalue()


def test_refresh_writes_every_part_and_an_index(refreshed):
    rc, out, _ = refreshed
    assert rc == 0
    for f in ("index.html", "provenance.csv", "manifest.json", "calibration/params.yaml",
              "calibration/calibration_report.html", "forecast/summary_by_fy.csv", "business_case/report.html",
              "business_case/roi_profile.csv"):
        assert (out / f).exists(), f
    index = (out / "index.html").read_text()
    for link in ("calibration/calibration_report.html", "business_case/report.html", "provenance.csv"):
        assert f"href='{link}'" in index


def test_the_forecast_starts_the_day_after_the_extract(refreshed):
    _, out, _ = refreshed
    m = json.loads((out / "forecast" / "manifest.json").read_text())
    assert m["horizon"]["start_date"] == "2022-04-01"
    fy = pd.read_csv(out / "forecast" / "summary_by_fy.csv")["financial_year"]
    assert fy.min() == "2022/23"


def test_the_council_figures_are_in_the_refreshed_parameters(refreshed):
    import yaml

    _, out, _ = refreshed
    p = yaml.safe_load((out / "calibration" / "params.yaml").read_text())
    assert p["capacity"]["foster_carers"]["initial_carers"] == 45 and p["capacity"]["residential_inhouse_beds"] == 6
    assert p["costs"]["placement_weekly"]["foster_ifa"] == 950


def test_every_inherited_value_is_named_on_screen_and_in_the_index(refreshed):
    _, out, stdout = refreshed
    prov = pd.read_csv(out / "provenance.csv")
    assert set(prov["source"]) == {"data", "council file", "template"}
    inherited = prov[prov["source"] == "template"]["parameter"]
    assert len(inherited) > 0
    index = (out / "index.html").read_text()
    assert "INHERITED FROM THE TEMPLATE" in stdout
    for p in inherited:
        assert f"  - {p}\n" in stdout, p
        assert f"<td>{p}</td>" in index, p
    assert "capacity.foster_carers.initial_carers" not in set(inherited)


def test_the_business_case_runs_on_the_refreshed_parameters(refreshed):
    _, out, _ = refreshed
    m = json.loads((out / "business_case" / "manifest.json").read_text())
    assert Path(m["params_file"]).resolve() == (out / "calibration" / "params.yaml").resolve()
    roi = pd.read_csv(out / "business_case" / "roi_profile.csv")
    assert {"edge_of_care", "foster_carers", "all_levers"} <= set(roi["scenario"])
