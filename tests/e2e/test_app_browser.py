"""The what-if app end to end in headless Chromium: a scenario with two levers, a bad value
refused beside its field, a run with its progress, the saving, a lever changed and the saving
moving, the scenario found again after a reload, two runs compared, the workbook downloaded and
opened, a malformed upload refused with a message; and the run's scenario set giving the same
results through `carepath experiment` with the same seed.

Screenshots of the main pages go to a temporary folder, or to the folder CAREPATH_SCREENSHOTS
names (`CAREPATH_SCREENSHOTS=docs/images` remakes the ones docs/app.md shows)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from .conftest import REPO

NAME = "Edge of care and shorter plans"
RUN_TIMEOUT = 240_000  # ms: a run of a few replications, the Python source on a busy machine included


def shots(tmp_path: Path) -> Path:
    where = os.environ.get("CAREPATH_SCREENSHOTS")
    out = (REPO / where) if where and not Path(where).is_absolute() else Path(where or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def pounds(text: str) -> float:
    """'£1.23m', '-£450k', '£12' -> pounds."""
    m = re.fullmatch(r"(-?)£([\d.]+)([mk]?)", text.strip())
    assert m, f"not an amount in pounds: {text!r}"
    x = float(m.group(2)) * {"m": 1e6, "k": 1e3, "": 1.0}[m.group(3)]
    return -x if m.group(1) else x


def saving_of(page, scenario: str) -> float:
    return pounds(page.locator(f'#headline tr[data-scenario="{scenario}"] td.saving').inner_text())


def wait_for_results(page) -> None:
    page.wait_for_selector("#headline", timeout=RUN_TIMEOUT)


@pytest.mark.e2e
def test_what_if_in_the_browser(app_page, app_server, tmp_path):
    page = app_page
    url, data = app_server
    out = shots(tmp_path)

    # a scenario with two levers; an out-of-range value is refused beside its field, in plain words
    page.goto(url + "/scenarios/new")
    page.fill("#name", NAME)
    page.fill("#description", "Edge-of-care support and CIN plans six weeks shorter")
    page.select_option("#add_lever", "edge_of_care")
    page.click("button[value=add]")
    page.fill("#lever-0-key-divert_share", "1.5")
    page.select_option("#add_lever", "shorter_plans")
    page.click("button[value=add]")
    page.fill("#lever-1-key-cin_weeks_shorter", "6")
    page.click("button[value=save]")
    err = page.locator("#err-lever-0-key-divert_share")
    assert "must be 0 to 1" in err.inner_text()
    assert page.locator("#lever-0-key-divert_share").get_attribute("aria-invalid") == "true"
    page.fill("#lever-0-key-divert_share", "0.15")

    # run it: a few replications; the progress page follows it, then shows the results
    page.fill("input[name=replications]", "2")
    page.click("button[value=run]")
    assert re.search(r"/runs/1$", page.url)
    page.wait_for_selector("#progress")
    # the bar moves as replications finish (or the results arrive first, on a fast machine)
    page.wait_for_function("() => !document.getElementById('counts') || "
                           "document.getElementById('counts').textContent.includes(' of ')", timeout=RUN_TIMEOUT)
    if page.locator("#progress").count():
        assert re.search(r"\d+ of \d+ replications", page.inner_text("#progress"))
        page.screenshot(path=str(out / "app_progress.png"), full_page=True)
    wait_for_results(page)
    first = saving_of(page, NAME)
    assert first > 0, "diverting children from care and shorter plans save money against the baseline"
    assert page.locator("#chart-savings .main-svg").count() > 0, "the savings chart is drawn"
    assert page.locator("#chart-attribution .main-svg").count() > 0, "each lever alone is shown"
    page.screenshot(path=str(out / "app_results.png"), full_page=True)

    # change a lever: the saving changes (more children kept out of care: a larger saving, same random numbers)
    page.goto(url + "/")
    page.click(f"text={NAME}")
    page.screenshot(path=str(out / "app_scenario.png"), full_page=True)
    page.fill("#lever-0-key-divert_share", "0.35")
    page.uncheck("input[name=attribution]")
    page.fill("input[name=replications]", "2")
    page.click("button[value=run]")
    assert re.search(r"/runs/2$", page.url)
    wait_for_results(page)
    second = saving_of(page, NAME)
    assert second > first * 1.2, (first, second)

    # saved: after a reload the scenario is there with its new value
    page.goto(url + "/")
    page.reload()
    row = page.locator(f'#scenarios tr[data-name="{NAME}"]')
    assert row.count() == 1
    page.screenshot(path=str(out / "app_home.png"), full_page=True)
    row.locator("a").click()
    assert page.locator("#lever-0-key-divert_share").input_value() == "0.35"

    # compare the two runs of the scenario: paired by replication (same parameters, seed and code)
    page.goto(url + "/compare")
    page.check(f'input[value="1:{NAME}"]')
    page.check(f'input[value="2:{NAME}"]')
    page.click("#compare-form button[type=submit]")
    table = page.locator("#comparison")
    assert "paired by replication" in table.inner_text()
    page.screenshot(path=str(out / "app_compare.png"), full_page=True)

    # the Excel workbook of run 2 downloads and opens
    page.goto(url + "/runs/2")
    with page.expect_download() as dl:
        page.click("#workbook")
    xlsx = tmp_path / "workbook.xlsx"
    dl.value.save_as(xlsx)
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    assert len(wb.sheetnames) >= 2
    cells = {str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None}
    assert any(NAME in c for c in cells), "the workbook holds the scenario's results"

    # the scenario set run 2 ran gives byte-identical tables through `carepath experiment`, same seed
    with page.expect_download() as dl:
        page.click("text=The scenario set this run ran (YAML)")
    spec = tmp_path / "exported.yaml"
    dl.value.save_as(spec)
    by_hand = tmp_path / "by_hand"
    done = subprocess.run([sys.executable, "-m", "carepath", "experiment", str(spec), "--out", str(by_hand), "--quiet",
                           "--workers", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    app_out = data / "runs" / "run-00002" / "results"
    for name in ("roi_profile.csv", "summary_by_scenario.csv", "business_case_summary.csv"):
        assert (by_hand / name).read_bytes() == (app_out / name).read_bytes(), name

    # a malformed upload gets a message, not a traceback
    bad = tmp_path / "broken.yaml"
    bad.write_text("scenarios: [unclosed\n  - {lever: ", encoding="utf-8")
    page.goto(url + "/")
    page.set_input_files("input[name=file]", str(bad))
    page.click("form[action='/import'] button[type=submit]")
    body = page.locator("main").inner_text()
    assert "broken.yaml could not be imported" in body and "Traceback" not in body
