"""The business case report: built from small synthetic experiment tables (no simulation), passed
through the real business-case functions, so the test is fast and checks the report reads what
`carepath experiment` hands it. Checks the files exist, the HTML is self-contained, key numbers
appear in report.md, and scenario sets without a council section or all-levers scenario work."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import business_case as bc
from carepath.outputs import Writer
from experiments.report import money, ratio, write_report
from experiments.scenarios import ScenarioSet
from sim.vocab import PLACEMENT_TYPES

YEARS = ["2022/23", "2023/24", "2024/25"]
ALL_YEARS = ["2021/22"] + YEARS
MONTHS = [f"{y}-{m:02d}" for y in range(2021, 2025) for m in range(1, 13)][3:39]  # April 2021 to March 2024

LEVERS = {
    "edge_of_care": {"lever": "edge_of_care", "start": "2022-11-01", "ramp_months": 12,
                     "target": {"fewer_care_entries_per_year": 35}},
    "foster_carers": {"lever": "foster_carers", "start": "2022-11-01", "ramp_months": 12,
                      "mechanism": {"extra_joiners_per_year": 11}},
    "block_beds": {"lever": "block_beds", "start": "2022-11-01", "ramp_months": 24, "mechanism": {"extra_beds": 10}},
}
# What each scenario saves a year (£) at full effect, and how it moves entries / children in care.
SAVING = {"edge_of_care": 3_000_000.0, "foster_carers": 1_234_567.0, "block_beds": 400_000.0}
SAVING["all_levers"] = sum(SAVING.values()) * 0.9


def scenario_set(council: bool = True, all_levers: bool = True) -> ScenarioSet:
    scen = [{"name": k, "description": f"{k} alone", "levers": [v]} for k, v in LEVERS.items()]
    if all_levers:
        scen.append({"name": "all_levers", "description": "All together", "investment": "programme",
                     "levers": list(LEVERS.values())})
    d = {"name": "Synthetic programme", "description": "A test set.", "baseline": "baseline.yaml",
         "replications": 3, "seed": 77, "first_year": YEARS[0], "target_year": YEARS[-1],
         "investments": {"programme": {"2022/23": 1_000_000, "2023/24": 500_000}}, "scenarios": scen}
    if council:
        d["council"] = {
            "source": "Test council paper", "all_levers_scenario": "all_levers" if all_levers else None,
            "levers": [{"scenario": "edge_of_care", "target_volume": "35 fewer entries a year", "saving_m": 4.77},
                       {"scenario": "foster_carers", "target_volume": "11 more net a year", "saving_m": 1.8},
                       {"scenario": "block_beds", "target_volume": "10 more beds", "saving_m": 0.35}],
            "gross_profile_m": {"2022/23": 0.539, "2023/24": 3.557, "2024/25": 7.322},
            "net_profile_m": {"2022/23": 0.539, "2023/24": 3.557, "2024/25": 5.222},
        }
    return ScenarioSet.model_validate(d)


def synthetic(sset: ScenarioSet, reps: int = 3):
    """Summary by financial year and monthly stocks, baseline plus every scenario, `reps` replications."""
    rng = np.random.default_rng(5)
    rows, stock = [], []
    names = ["baseline"] + [s.name for s in sset.scenarios]
    measures = set(bc.LEVER_MEASURES) | set(bc.OUTCOME_MEASURES) | {"placement_moves"}
    measures -= {"repeat_plans", "placement_moves_per_child_year", "children_kept_out_of_care"}
    for rep in range(reps):
        noise = rng.normal(0, 1, size=(len(ALL_YEARS), len(measures)))
        for name in names:
            for i, fy in enumerate(ALL_YEARS):
                ramp = max(0, i - 0.5) / (len(ALL_YEARS) - 1)   # effect grows over the years
                for j, m in enumerate(sorted(measures)):
                    v = 100.0 + 5 * noise[i, j]   # common random numbers: the same noise for every scenario
                    if m == "cost_total":
                        v = 60e6 * 1.031 ** i + 2e5 * noise[i, j] - (SAVING.get(name, 0.0) * ramp
                                                                      * (1 + 0.03 * rng.normal()) if name != "baseline" else 0.0)
                    elif m == "care_entries":
                        v = 300 + 10 * noise[i, j] - (35 * ramp if name in ("edge_of_care", "all_levers") else 0)
                    elif m == "family_based_share":
                        v = 0.7 + 0.01 * noise[i, j]
                    rows.append((name, rep, fy, m, v))
        for name in names:
            for k, month in enumerate(MONTHS):
                care = 700 + k - (k / 3 if name != "baseline" else 0) + rng.normal(0, 5)
                for p, share in zip(PLACEMENT_TYPES + ("awaiting",), (0.15, 0.3, 0.25, 0.05, 0.02, 0.06, 0.05, 0.04,
                                                                      0.05, 0.02, 0.01)):
                    stock.append((name, rep, month, f"care_{p}", care * share))
                stock.append((name, rep, month, "care", care))
                stock.append((name, rep, month, "cin", 1500.0))
    summary = pd.DataFrame(rows, columns=["scenario", "replication", "financial_year", "measure", "value"])
    stocks = pd.DataFrame(stock, columns=["scenario", "replication", "month", "measure", "value"])
    return summary, stocks


def intensities(sset: ScenarioSet) -> pd.DataFrame:
    rows = []
    for sc in sset.scenarios:
        for lv in sc.levers:
            if lv.target:
                rows.append({"scenario": sc.name, "lever": lv.lever, "stated_as": "target",
                             "target": "fewer_care_entries_per_year", "target_value": 35.0, "mechanism": "divert_share",
                             "intensity": 0.1734, "achieved": 34.6, "achieved_low": 30.1, "achieved_high": 39.2,
                             "financial_year": YEARS[-1], "search_steps": json.dumps([[0.15, 30.2], [0.1734, 34.6]]),
                             "note": ""})
            else:
                for k, v in lv.mechanism.items():
                    rows.append({"scenario": sc.name, "lever": lv.lever, "stated_as": "mechanism", "target": "",
                                 "target_value": np.nan, "mechanism": k, "intensity": v, "achieved": np.nan,
                                 "achieved_low": np.nan, "achieved_high": np.nan, "financial_year": "",
                                 "search_steps": "", "note": ""})
    return pd.DataFrame(rows)


def make_report(out: Path, sset: ScenarioSet, tmp_path: Path) -> tuple[list[Path], dict]:
    summary, stocks = synthetic(sset)
    summary = bc.with_derived(summary)
    profile = bc.roi_profile(summary, sset, YEARS)
    tables = dict(summary=summary, stocks=stocks, profile=profile,
                  summary_table=bc.business_case_summary(summary, profile, sset, YEARS),
                  effects=bc.lever_effects(summary, sset, YEARS), outcomes=bc.outcomes(summary, sset, YEARS),
                  comparison=bc.comparison(summary, profile, sset, YEARS, intensities(sset)),
                  interaction=bc.interaction(profile, sset, YEARS, "all_levers"),
                  intensities=intensities(sset), years=YEARS)
    written = write_report(out, sset, tmp_path / "set.yaml", params_hash="abc123def4567890", writer=Writer(dpi=110),
                           **tables)
    return written, tables


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    sset = scenario_set()
    written, tables = make_report(tmp / "out", sset, tmp)
    return tmp / "out", written, tables, sset


def test_report_files_exist(full):
    out, written, _, _ = full
    names = {p.name for p in written}
    assert {"report.md", "report.html"} <= names
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) >= 5      # ROI profile, fan, placement mix, waterfall, interaction (and lever comparison)
    for p in written:
        assert p.exists() and p.stat().st_size > 0 and p.parent == out
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*.tmp"))   # atomic writes leave nothing behind


def test_html_is_self_contained(full):
    out, _, _, _ = full
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page.lower()                      # styles are inline
    srcs = re.findall(r"""<img[^>]*\ssrc=["']([^"']+)""", page)
    assert len(srcs) >= 5 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<style>" in page


def test_key_numbers_appear(full):
    out, _, t, sset = full
    md = (out / "report.md").read_text(encoding="utf-8")
    s = t["summary_table"].set_index("scenario")
    for name in s.index:
        r = s.loc[name]
        assert money(r["year8_gross_saving"]) in md
        assert money(r["year8_gross_saving_low"]) in md and money(r["year8_gross_saving_high"]) in md
        assert money(r["gross_saving_8y"]) in md
        assert money(r["npv_net_saving"]) in md
    assert ratio(s.loc["all_levers", "roi_8y"]) in md and ratio(s.loc["all_levers", "roi_4y"]) in md
    # council figures beside the model's
    assert "£4.77m" in md and "35 fewer entries a year" in md and "£7.32m" in md
    # what was run: seed, parameters' hash, replications needed, intensities found
    assert "77" in md and "abc123def4567890" in md
    assert "0.1734" in md and "34.6 (30.1 to 39.2)" in md
    assert str(int(s["replications_for_10pct_precision"].max())) in md
    for section in ("What was run", "Headline", "Comparison with the council", "Explaining the differences",
                    "Outcomes for children", "Assumptions and caveats", "Files in this folder"):
        assert section in md
    for f in ("roi_profile.csv", "business_case_summary.csv", "lever_effects.csv", "outcomes.csv",
              "business_case_comparison.csv", "lever_interaction.csv", "lever_intensities.csv",
              "summary_by_scenario.csv", "stocks_by_scenario_month.csv", "manifest.json"):
        assert f"`{f}`" in md
    # every PNG in the Markdown exists beside it
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / name).exists()


def test_money_words():
    assert money(11_241_000) == "£11.24m"
    assert money(-640_400) == "-£640k"
    assert money(512) == "£512"
    assert money(float("nan")) == "n/a"
    assert ratio(7.12) == "7.1:1"


def test_without_council_or_all_levers(tmp_path):
    sset = scenario_set(council=False, all_levers=False)
    written, _ = make_report(tmp_path / "out", sset, tmp_path)
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "no `council` section" in md
    assert "no all-levers scenario" in md
    assert (tmp_path / "out" / "report.html").exists()
    assert {p.name for p in written} >= {"report.md", "report.html", "chart_waterfall.png", "chart_children_in_care.png"}


def test_council_without_all_levers(tmp_path):
    sset = scenario_set(council=True, all_levers=False)
    make_report(tmp_path / "out", sset, tmp_path)
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "Each lever at full benefit" in md and "no all-levers scenario" in md
