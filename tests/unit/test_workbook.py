"""business_case.xlsx (experiments/workbook.py) opened with openpyxl: one sheet per table,
financial years as columns, £ to the nearest thousand, and a "What was run" sheet; cells checked
against the CSVs the experiment writes beside it."""
from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from carepath.outputs import manifest, write_csv, write_workbook
from experiments import business_case as bc
from experiments.workbook import business_case_workbook, manifest_words, thousand
from test_papers import fake_risk
from test_report import YEARS, intensities, scenario_set, synthetic


def make(tmp_path, with_risk: bool):
    sset = scenario_set()
    summary, _ = synthetic(sset)
    summary = bc.with_derived(summary)
    profile = bc.roi_profile(summary, sset, YEARS)
    bsum = bc.business_case_summary(summary, profile, sset, YEARS)
    flags = bc.headline_flags(bsum, intensities(sset))
    risk = fake_risk(sset, profile) if with_risk else None
    about = manifest("carepath experiment", scenario_file="set.yaml", scenario_file_hash="f00d", params_hash="abc123",
                     seed=77, replications=3, search_replications=2, scenarios=[s.name for s in sset.scenarios],
                     draws=200 if with_risk else None)
    wb = business_case_workbook(years=YEARS, profile=profile, summary_table=bsum, run=manifest_words(about, risk),
                                volumes=None, comparison=bc.comparison(summary, profile, sset, YEARS, intensities(sset)),
                                interaction=bc.interaction(profile, sset, YEARS, "all_levers"), flags=flags, risk=risk,
                                label=lambda n: n.replace("_", " "))
    path = write_workbook(wb, tmp_path / "business_case.xlsx")
    write_csv(profile, tmp_path / "roi_profile.csv")
    write_csv(bsum, tmp_path / "business_case_summary.csv")
    return load_workbook(path), tmp_path


def rows_of(ws) -> list[list]:
    return [[c.value for c in r] for r in ws.iter_rows()]


def test_sheets_headers_and_cells_match_the_csvs(tmp_path):
    wb, d = make(tmp_path, with_risk=False)
    assert wb.sheetnames[:2] == ["Headline", "Savings by year"]
    assert {"Council profile", "Council levers", "Interaction", "Flags", "Risk", "What was run"} <= set(wb.sheetnames)
    profile = pd.read_csv(d / "roi_profile.csv")
    ws = wb["Savings by year"]
    rows = rows_of(ws)
    assert rows[2] == ["Scenario", "Measure"] + YEARS                  # financial years as columns
    gross = {(r[0], r[1]): r[2:] for r in rows[3:]}
    for name in ("edge of care", "all levers"):
        csv = profile[profile["scenario"] == name.replace(" ", "_")].set_index("financial_year")
        for i, fy in enumerate(YEARS):
            v = gross[(name, "Gross saving")][i]
            assert v == thousand(csv.loc[fy, "gross_saving"]) and v % 1000 == 0
            assert abs(v - csv.loc[fy, "gross_saving"]) <= 500
        assert gross[(name, "Cumulative net saving")][-1] == thousand(csv.loc[YEARS[-1], "cumulative_net_saving"])
    assert ws.cell(row=4, column=3).number_format.startswith('"£"')
    bsum = pd.read_csv(d / "business_case_summary.csv").set_index("scenario")
    h = rows_of(wb["Headline"])
    head = h[2]
    row = next(r for r in h[3:] if r[0] == "all levers")
    assert row[head.index("Gross saving, all years")] == thousand(bsum.loc["all_levers", "gross_saving_8y"])
    assert row[head.index("Return on investment, all years")] == pytest.approx(bsum.loc["all_levers", "roi_8y"])
    assert "not estimated" in str(rows_of(wb["Risk"]))


def test_what_was_run_in_words(tmp_path):
    wb, _ = make(tmp_path, with_risk=True)
    run = dict((r[0], r[1]) for r in rows_of(wb["What was run"])[1:])
    assert run["Random seed"] == "77" and "abc123" in run["Baseline parameters"]
    assert "set.yaml" in run["Scenario file"] and run["Replications"].startswith("3 per scenario")
    assert run["Parameter draws"].startswith("200 draws") and run["Code version"]
    assert run["Made on"][:4].isdigit()


def test_risk_sheets_with_draws(tmp_path):
    wb, _ = make(tmp_path, with_risk=True)
    assert {"Risk", "Probabilities", "Uncertainty drivers", "Cumulative net (draws)"} <= set(wb.sheetnames)
    p = rows_of(wb["Probabilities"])
    assert p[2] == ["Scenario", "The chance that", "Chance", "Monte Carlo error"]
    assert p[3][2] == pytest.approx(0.62) and p[3][3] == pytest.approx(0.0343)
    assert "return on investment over 4 years at least 3:1" in p[3][1]
    c = rows_of(wb["Cumulative net (draws)"])
    assert c[2] == ["Scenario", "Measure"] + YEARS
