"""The back-of-envelope check (experiments/envelope.py) on small hand-made tables: the envelope is
the stock the lever moves times the unit cost, computed by hand here; the gap is the model's
saving minus it; a reason in words appears only above a quarter, and names the cost that explains it."""
from __future__ import annotations

import pandas as pd
import pytest

from experiments.envelope import LARGE_GAP, back_of_envelope
from experiments.scenarios import ScenarioSet

FY = "2029/30"
UNITS = {"place_kinship": 20_000.0, "place_foster_inhouse": 46_000.0, "place_foster_ifa": 64_000.0,
         "place_residential_block": 280_000.0, "spot_over_4100": 580_000.0, "spot_under_4100": 380_000.0,
         "social_work_cin": 5_000.0, "social_work_cp": 7_000.0, "sgo_allowance": 12_000.0}


def sset() -> ScenarioSet:
    lv = {"edge_of_care": {"lever": "edge_of_care", "start": "2022-11-01", "mechanism": {"divert_share": 0.2}},
          "shorter_plans": {"lever": "shorter_plans", "start": "2022-11-01", "mechanism": {"cin_weeks_shorter": 6}},
          "block_beds": {"lever": "block_beds", "start": "2022-11-01", "mechanism": {"extra_beds": 10}}}
    scen = [{"name": k, "levers": [v]} for k, v in lv.items()]
    scen.append({"name": "all_levers", "levers": list(lv.values())})
    return ScenarioSet.model_validate({"name": "t", "baseline": "baseline.yaml", "replications": 2,
                                       "first_year": "2022/23", "target_year": FY, "scenarios": scen})


BASE = {"cic_average": 800.0, "cost_placements": 80e6, "cost_social_work": 20e6, "cost_allowances": 2e6,
        "cost_fixed": 1e5, "cin_average": 1200.0, "cp_average": 350.0, "care_entries": 330.0,
        "cic_residential_spot_average": 100.0, "placements_over_4100_average": 40.0,
        "cic_residential_block_average": 8.0, "cic_foster_ifa_average": 220.0}


def table(changes: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Two replications; each scenario's measures are the baseline's plus `changes` (the same in both)."""
    rows = []
    for rep in (0, 1):
        wobble = 1.0 + 0.01 * rep   # the replications differ; the paired differences do not
        for m, v in BASE.items():
            rows.append(("baseline", rep, FY, m, v * wobble))
        for name, ch in changes.items():
            for m, v in BASE.items():
                rows.append((name, rep, FY, m, v * wobble + ch.get(m, 0.0)))
            for m in set(ch) - set(BASE):
                rows.append((name, rep, FY, m, ch[m]))
                rows.append(("baseline", rep, FY, m, 0.0))
    rows += [(n, r, "2028/29", "cost_total", 1.0) for n in ["baseline", *changes] for r in (0, 1)]  # another year: ignored
    df = pd.DataFrame(rows, columns=["scenario", "replication", "financial_year", "measure", "value"])
    tot = (df[df["measure"].isin(["cost_placements", "cost_social_work", "cost_allowances", "cost_fixed"])
             & (df["financial_year"] == FY)]
           .groupby(["scenario", "replication", "financial_year"], as_index=False)["value"].sum())
    tot["measure"] = "cost_total"
    return pd.concat([df, tot[df.columns]], ignore_index=True)


@pytest.fixture(scope="module")
def result():
    changes = {
        # 30 fewer entries, 80 fewer in care; placements fall 80 x the average (£100k) exactly, and social
        # work by £0.4m: the envelope (placements only) is 8.0m, the model 8.4m, a gap under a quarter
        "edge_of_care": {"care_entries": -30, "cic_average": -80, "cost_placements": -8.0e6, "cost_social_work": -0.4e6},
        # 150 fewer on CIN and 10 on CP plans: envelope 150 x 5k + 10 x 7k = 820k; the model also saves £600k
        # on placements (children move): a gap of 600 / 1420 = 42%, explained by placements
        "shorter_plans": {"cin_average": -150, "cp_average": -10, "cost_social_work": -0.82e6,
                          "cost_placements": -0.6e6, "cic_foster_ifa_average": -9.0},
        # 10 more children in block homes, 10 fewer in spot: spot at the baseline's mix (40% over £4,100)
        # 0.4 x 580k + 0.6 x 380k = 460k less the block's 280k = 180k each: 1.8m; the model's 1.8m
        # less £0.9m of empty-bed fixed costs: the envelope is double, a gap of -100%, explained by fixed costs
        "block_beds": {"cic_residential_block_average": 10, "cic_residential_spot_average": -10,
                       "cost_placements": -1.8e6, "cost_fixed": 0.9e6},
        "all_levers": {"cost_placements": -1e7},
    }
    return back_of_envelope(table(changes), sset(), FY, UNITS).set_index("scenario")


def test_one_row_per_single_lever_scenario(result):
    assert list(result.index) == ["edge_of_care", "shorter_plans", "block_beds"]   # all_levers has several levers


def test_envelope_arithmetic(result):
    e = result.loc["edge_of_care"]
    assert e["envelope_saving"] == pytest.approx(80 * 80e6 / 800)      # 80 children x £100k
    assert e["model_gross_saving"] == pytest.approx(8.4e6)
    assert e["gap"] == pytest.approx(0.4e6) and e["gap_share"] == pytest.approx(0.4 / 8.4)
    assert e["volume"] == pytest.approx(30) and "fewer care entries a year" in e["volume_means"]
    assert "80.0 fewer children in care" in e["working"] and "£100.0k a year" in e["working"]
    assert "each about 2.7 years" in e["working"]                       # 80 / 30
    assert not e["large_gap"] and e["reason"] == ""
    s = result.loc["shorter_plans"]
    assert s["envelope_saving"] == pytest.approx(150 * 5_000 + 10 * 7_000)
    b = result.loc["block_beds"]
    assert b["envelope_saving"] == pytest.approx(10 * (0.4 * 580_000 + 0.6 * 380_000 - 280_000))


def test_large_gaps_say_why(result):
    s = result.loc["shorter_plans"]
    assert s["large_gap"] and s["gap_share"] == pytest.approx(600 / 1420) and s["gap_share"] > LARGE_GAP
    assert "placements save £600.0k more" in s["reason"] and "agency foster (IFA)" in s["reason"]
    assert "worth £576.0k a year at list prices" in s["reason"]       # 9 fewer with agencies x £64k
    assert "list prices in the model" not in s["reason"]             # the moves explain the gap
    b = result.loc["block_beds"]
    assert b["large_gap"] and b["gap"] == pytest.approx(-0.9e6)
    assert "fixed costs of empty places" in b["reason"] and "rise by £900.0k" in b["reason"]
    assert "placements" not in b["reason"]          # placements match the envelope exactly
