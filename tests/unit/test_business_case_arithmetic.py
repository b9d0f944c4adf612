"""The business case's arithmetic against hand-computed cases: paired differences and their
intervals, the ROI profile (gross, investment, net, cumulative), return on investment over 4 and 8
years, net present value at the Green Book 3.5%, and the replications a precision needs.

The experiment's results are built by hand here (tidy `scenario, replication, financial_year,
measure, value` frames with known numbers), so no simulation runs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments import business_case as bc
from experiments.run import BASELINE, paired_differences, replications_needed
from experiments.scenarios import ScenarioSet

YEARS = ["2022/23", "2023/24", "2024/25", "2025/26", "2026/27", "2027/28", "2028/29", "2029/30"]
# The council's gross benefit profile, Table 1 (£m), and its investment: £6.5m delivery partner over
# 2 years and £2.4m internal over 4 years.
TABLE1_GROSS_M = [0.539, 3.557, 7.322, 9.331, 10.139, 10.417, 10.829, 11.241]
PROGRAMME = {"2022/23": 3_850_000, "2023/24": 3_850_000, "2024/25": 600_000, "2025/26": 600_000}
T975_2 = 4.302652729749462   # Student's t, 97.5% point, 2 degrees of freedom (3 replications)
LEVER = {"lever": "block_beds", "start": "2022-11-01", "mechanism": {"extra_beds": 1}}


def scenario_set(**kw) -> ScenarioSet:
    data = {
        "name": "hand-made", "baseline": "baseline.yaml", "investments": {"programme": PROGRAMME},
        "scenarios": [
            {"name": "council", "investment": "programme", "levers": [LEVER]},
            {"name": "small", "investment": {"2022/23": 1000.0, "2029/30": 500.0}, "levers": [LEVER]},
        ],
    }
    data.update(kw)
    return ScenarioSet.model_validate(data)


def frame(costs: dict[str, np.ndarray], measure: str = "cost_total") -> pd.DataFrame:
    """costs[scenario] is a (replications x years) array of one measure."""
    rows = []
    for sc, a in costs.items():
        for rep in range(a.shape[0]):
            for j, fy in enumerate(YEARS):
                rows.append((sc, rep, fy, measure, float(a[rep, j])))
    return pd.DataFrame(rows, columns=["scenario", "replication", "financial_year", "measure", "value"])


@pytest.fixture
def summary() -> pd.DataFrame:
    """3 replications. 'council' saves exactly Table 1 every replication; 'small' saves 100 a year
    plus -50, 0, +50 by replication (so sd 50 in every year)."""
    base = np.array([[60e6 + 1e6 * rep + 2e6 * j for j in range(8)] for rep in range(3)])
    council = base - np.array(TABLE1_GROSS_M) * 1e6
    small = base - 100.0 - np.array([[-50.0], [0.0], [50.0]])
    return frame({BASELINE: base, "council": council, "small": small})


# ------------------------------------------------------------------------- paired differences
def test_paired_differences_mean_and_t_interval_by_hand(summary):
    d = paired_differences(summary, "small", ["cost_total"]).set_index("financial_year")
    assert list(d.index) == YEARS
    for fy in YEARS:
        r = d.loc[fy]
        # differences scenario - baseline: -50, -100, -150: mean -100, sd 50
        assert r["difference"] == pytest.approx(-100.0, abs=1e-6)
        assert r["sd"] == pytest.approx(50.0, abs=1e-6)
        half = T975_2 * 50.0 / math.sqrt(3)
        assert r["low"] == pytest.approx(-100.0 - half, abs=1e-6)
        assert r["high"] == pytest.approx(-100.0 + half, abs=1e-6)
        assert r["n"] == 3
    assert d.loc["2022/23", "baseline"] == pytest.approx(61e6)       # mean of 60, 61, 62 (£m)
    assert d.loc["2022/23", "scenario"] == pytest.approx(61e6 - 100)


def test_paired_differences_pair_by_replication_not_by_row_order(summary):
    shuffled = summary.sample(frac=1.0, random_state=7).reset_index(drop=True)
    a = paired_differences(summary, "small", ["cost_total"])
    b = paired_differences(shuffled, "small", ["cost_total"])
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_a_scenario_equal_to_the_baseline_has_zero_width_interval():
    base = np.arange(24, dtype=float).reshape(3, 8) * 1000
    d = paired_differences(frame({BASELINE: base, "same": base.copy()}), "same")
    assert (d["difference"] == 0).all() and (d["low"] == 0).all() and (d["high"] == 0).all()


# ------------------------------------------------------------------------------ ROI profile
def test_roi_profile_columns_are_the_relied_on_ones(summary):
    p = bc.roi_profile(summary, scenario_set(), YEARS)
    assert list(p.columns) == ["scenario", "financial_year", "baseline_cost", "scenario_cost", "gross_saving",
                               "gross_saving_low", "gross_saving_high", "investment", "net_saving",
                               "cumulative_net_saving", "running_cost", "gross_saving_real", "net_saving_real",
                               "real_terms_factor"]
    assert list(p["scenario"]) == ["council"] * 8 + ["small"] * 8
    assert list(p["financial_year"]) == YEARS * 2


def test_roi_profile_gross_net_and_cumulative_by_hand(summary):
    p = bc.roi_profile(summary, scenario_set(), YEARS)
    c = p[p["scenario"] == "council"].set_index("financial_year")
    gross = [g * 1e6 for g in TABLE1_GROSS_M]
    invest = [3.85e6, 3.85e6, 0.6e6, 0.6e6, 0, 0, 0, 0]
    net = [-3.311e6, -0.293e6, 6.722e6, 8.731e6, 10.139e6, 10.417e6, 10.829e6, 11.241e6]
    cumulative = [-3.311e6, -3.604e6, 3.118e6, 11.849e6, 21.988e6, 32.405e6, 43.234e6, 54.475e6]
    np.testing.assert_allclose(c["gross_saving"], gross, atol=1e-3)
    # every replication saves the same: the interval has no width
    np.testing.assert_allclose(c["gross_saving_low"], gross, atol=1e-3)
    np.testing.assert_allclose(c["gross_saving_high"], gross, atol=1e-3)
    np.testing.assert_allclose(c["investment"], invest, atol=0)
    np.testing.assert_allclose(c["net_saving"], net, atol=1e-3)
    np.testing.assert_allclose(c["cumulative_net_saving"], cumulative, atol=1e-3)
    np.testing.assert_allclose(c["baseline_cost"], [61e6 + 2e6 * j for j in range(8)])
    np.testing.assert_allclose(c["baseline_cost"] - c["scenario_cost"], c["gross_saving"], atol=1e-3)


def test_roi_profile_interval_and_a_dated_investment_by_hand(summary):
    p = bc.roi_profile(summary, scenario_set(), YEARS)
    s = p[p["scenario"] == "small"].set_index("financial_year")
    half = T975_2 * 50.0 / math.sqrt(3)       # 124.2069...
    np.testing.assert_allclose(s["gross_saving"], 100.0, atol=1e-6)
    np.testing.assert_allclose(s["gross_saving_low"], 100.0 - half, atol=1e-6)
    np.testing.assert_allclose(s["gross_saving_high"], 100.0 + half, atol=1e-6)
    assert list(s["investment"]) == [1000.0, 0, 0, 0, 0, 0, 0, 500.0]
    np.testing.assert_allclose(s["net_saving"], [-900, 100, 100, 100, 100, 100, 100, -400], atol=1e-6)
    np.testing.assert_allclose(s["cumulative_net_saving"], [-900, -800, -700, -600, -500, -400, -300, -700], atol=1e-6)


# ---------------------------------------------------------------------- ROI, NPV, summary
def test_npv_discounts_year_t_by_1_035_to_the_t():
    assert bc.npv([100.0], 0.035) == 100.0                        # year 0 is not discounted
    assert bc.npv([100.0, 100.0, 100.0], 0.035) == pytest.approx(100 + 100 / 1.035 + 100 / 1.071225)
    assert bc.npv([100.0, 100.0, 100.0], 0.035) == pytest.approx(289.969427525, abs=1e-6)
    assert bc.npv([1.0, 2.0, 3.0], 0.0) == 6.0
    assert bc.npv([0.0, 0.0, 1.1025], 0.05) == pytest.approx(1.0)


def test_roi_is_gross_per_pound_invested():
    assert bc.roi(10.0, 4.0) == 2.5
    assert bc.roi(0.0, 4.0) == 0.0
    assert math.isnan(bc.roi(10.0, 0.0))


def test_business_case_summary_reproduces_the_councils_stated_returns(summary):
    """Table 1's gross profile against £8.9m: 2.3:1 over 4 years and 7.1:1 over 8 (as the paper says)."""
    sset = scenario_set()
    p = bc.roi_profile(summary, sset, YEARS)
    s = bc.business_case_summary(summary, p, sset, YEARS).set_index("scenario")
    c = s.loc["council"]
    assert c["first_year"] == "2022/23" and c["last_year"] == "2029/30"
    assert c["gross_saving_4y"] == pytest.approx(20.749e6, abs=1)       # 0.539+3.557+7.322+9.331
    assert c["gross_saving_8y"] == pytest.approx(63.375e6, abs=1)       # Table 1's rows (it prints 63.376, rounded)
    assert c["investment_4y"] == c["investment_8y"] == 8.9e6
    assert c["net_saving_8y"] == pytest.approx(54.475e6, abs=1)
    assert c["roi_4y"] == pytest.approx(20.749 / 8.9, rel=1e-9) and round(c["roi_4y"], 1) == 2.3
    assert c["roi_8y"] == pytest.approx(63.375 / 8.9, rel=1e-9) and round(c["roi_8y"], 1) == 7.1
    # NPV of the net savings at 3.5%, by hand:
    # -3.311 - 0.293/1.035 + 6.722/1.035^2 + 8.731/1.035^3 + 10.139/1.035^4 + 10.417/1.035^5
    #  + 10.829/1.035^6 + 11.241/1.035^7 = 45.80694 (£m)
    assert c["npv_net_saving"] == pytest.approx(45_806_939.0, abs=1.0)
    assert c["discount_rate"] == 0.035
    assert c["year8_gross_saving"] == pytest.approx(11.241e6, abs=1e-3)
    assert c["year8_gross_saving_low"] == pytest.approx(11.241e6, abs=1e-3)
    assert c["replications"] == 3


def test_business_case_summary_intervals_and_replications_needed_by_hand(summary):
    sset = scenario_set()
    p = bc.roi_profile(summary, sset, YEARS)
    s = bc.business_case_summary(summary, p, sset, YEARS).set_index("scenario").loc["small"]
    assert s["gross_saving_4y"] == pytest.approx(400.0, abs=1e-6)
    assert s["gross_saving_8y"] == pytest.approx(800.0, abs=1e-6)
    assert s["investment_4y"] == 1000.0 and s["investment_8y"] == 1500.0
    assert s["roi_4y"] == pytest.approx(0.4) and s["roi_8y"] == pytest.approx(800 / 1500)
    assert s["net_saving_8y"] == pytest.approx(-700.0, abs=1e-6)
    net = [-900, 100, 100, 100, 100, 100, 100, -400]
    assert s["npv_net_saving"] == pytest.approx(sum(x / 1.035 ** t for t, x in enumerate(net)), abs=1e-6)
    # 8-year totals by replication: 8 x (50, 100, 150) = 400, 800, 1200: mean 800, sd 400
    half = T975_2 * 400.0 / math.sqrt(3)
    assert s["gross_saving_8y_low"] == pytest.approx(800 - half, abs=1e-6)
    assert s["gross_saving_8y_high"] == pytest.approx(800 + half, abs=1e-6)
    # year 8: saving 100, sd 50: (1.96 x 50 / (0.1 x 100))^2 = 96.04, so 97 replications
    assert s["year8_gross_saving"] == pytest.approx(100.0, abs=1e-6)
    assert s["replications_for_10pct_precision"] == 97


def test_replications_needed_formula():
    # n = ceil((1.96 sd / (relative |mean|))^2), at least 2
    assert replications_needed(10.0, 20.0, 5) == 97                 # (1.96*10/2)^2 = 96.04
    assert replications_needed(10.0, -20.0, 5) == 97                # a fall is as precise as a rise
    assert replications_needed(10.0, 20.0, 5, relative=0.2) == 25   # 24.01
    assert replications_needed(1.0, 1000.0, 5) == 2                 # never fewer than 2
    assert replications_needed(0.0, 5.0, 8) == 2
    assert replications_needed(10.0, 0.0, 8) == 8                   # no effect: keep what we have
    assert replications_needed(float("nan"), 5.0, 8) == 8
    assert replications_needed(5.0, float("nan"), 8) == 8


# -------------------------------------------------------------------- derived and interaction
def test_with_derived_adds_repeat_plans_moves_per_child_year_and_children_kept_out():
    rows = []
    for rep, (cin_r, cp_r, moves, cic, entries) in enumerate([(10, 4, 30, 600, 250), (12, 5, 0, 0, 240)]):
        for m, v in (("cin_plan_starts_repeat", cin_r), ("cp_plan_starts_repeat", cp_r), ("placement_moves", moves),
                     ("cic_average", cic), ("care_entries", entries)):
            rows.append((BASELINE, rep, "2022/23", m, float(v)))
    s = pd.DataFrame(rows, columns=["scenario", "replication", "financial_year", "measure", "value"])
    out = bc.with_derived(s)
    assert list(out.columns) == list(s.columns)
    got = out.set_index(["replication", "measure"])["value"]
    assert got[(0, "repeat_plans")] == 14 and got[(1, "repeat_plans")] == 17
    assert got[(0, "placement_moves_per_child_year")] == pytest.approx(0.05)
    assert (1, "placement_moves_per_child_year") not in got.index or math.isnan(got[(1, "placement_moves_per_child_year")])
    assert got[(0, "children_kept_out_of_care")] == -250 and got[(1, "children_kept_out_of_care")] == -240
    assert len(out) == len(s) + 5 or len(out) == len(s) + 6


def test_interaction_is_all_together_minus_the_sum_of_each_alone():
    sset = scenario_set(scenarios=[
        {"name": "a", "levers": [LEVER]},
        {"name": "b", "levers": [LEVER]},
        {"name": "all", "levers": [LEVER, LEVER]},
    ])
    profile = pd.DataFrame({"scenario": ["a", "b", "all"] * 2, "financial_year": ["2022/23"] * 3 + ["2023/24"] * 3,
                            "gross_saving": [10.0, 5.0, 12.0, 20.0, 8.0, 30.0]})
    i = bc.interaction(profile, sset, ["2022/23", "2023/24"], "all").set_index("financial_year")
    assert list(i.loc["2022/23"]) == [15.0, 12.0, -3.0]
    assert list(i.loc["2023/24"]) == [28.0, 30.0, 2.0]
    assert bc.interaction(profile, sset, ["2022/23"], "missing").empty


def test_effects_table_is_means_and_paired_differences(summary):
    e = bc.effects_table(summary, scenario_set(), YEARS[:2], ["cost_total"])
    assert list(e.columns) == ["scenario", "financial_year", "measure", "baseline", "scenario_value", "difference",
                               "low", "high"]
    r = e[(e["scenario"] == "small") & (e["financial_year"] == "2023/24")].iloc[0]
    assert r["baseline"] == pytest.approx(63e6) and r["scenario_value"] == pytest.approx(63e6 - 100)
    assert r["difference"] == pytest.approx(-100.0, abs=1e-6)
    assert set(e["financial_year"]) == set(YEARS[:2])


def test_investment_profiles_resolve_by_name_or_by_year():
    sset = scenario_set()
    assert sset.investment_of(sset.scenarios[0]) == PROGRAMME
    assert sset.investment_of(sset.scenarios[1]) == {"2022/23": 1000.0, "2029/30": 500.0}
    none = scenario_set(scenarios=[{"name": "x", "levers": [LEVER]}])
    assert none.investment_of(none.scenarios[0]) == {}


# ------------------------------------------------- running costs, real terms, net, flags
# (issue 13: costs the ROI left out, like for like, the headline's flags)
from experiments.run import (FLAG_AT_BOUND, FLAG_NOT_REACHED, FLAG_NOT_SUSTAINABLE, FLAG_PRECISION,  # noqa: E402
                             TargetSearch, judge_target)
from sim.levers import Lever  # noqa: E402
from sim.params import load_params  # noqa: E402

G = 0.031   # the shipped baseline's general price growth: running costs grow by it from 2021/22


@pytest.fixture(scope="module")
def params():
    return load_params("experiments/baseline.yaml")


def beds_summary() -> pd.DataFrame:
    """3 replications; 'beds' costs 1,000 less a year than the baseline and has 2, 3, 4 more
    children in block beds (mean 3) in every year."""
    base = np.full((3, 8), 50e6)
    cost = frame({BASELINE: base, "beds": base - 1000.0})
    vol = frame({BASELINE: np.full((3, 8), 10.0), "beds": 10.0 + np.array([[2.0], [3.0], [4.0]]) + np.zeros((3, 8))},
                measure="cic_residential_block_average")
    return pd.concat([cost, vol], ignore_index=True)


def beds_set(**lever_extra) -> ScenarioSet:
    lever = {"lever": "block_beds", "start": "2022-04-01", "ramp_months": 0, "mechanism": {"extra_beds": 2},
             "running_cost": {"per_year": 100.0, "per_intensity": 10.0, "per_volume": 5.0}, **lever_extra}
    return ScenarioSet.model_validate({"name": "beds", "baseline": "baseline.yaml",
                                       "scenarios": [{"name": "beds", "levers": [lever]}]})


def test_running_cost_by_hand_and_net_deducts_it(params):
    """From 2022/23 at full effect: 100 a year + 10 x 2 beds + 5 x 3 more children = 135 at
    2021/22 prices, grown by 3.1% a year: 135 x 1.031^k in the year k after 2021/22."""
    sset = beds_set()
    p = bc.roi_profile(beds_summary(), sset, YEARS, {"beds": sset.scenarios[0].levers}, params).set_index("financial_year")
    for k, fy in enumerate(YEARS, start=1):
        assert p.loc[fy, "running_cost"] == pytest.approx(135.0 * (1 + G) ** k)
        assert p.loc[fy, "gross_saving"] == pytest.approx(1000.0)
        assert p.loc[fy, "net_saving"] == pytest.approx(1000.0 - 135.0 * (1 + G) ** k)   # no investment
    s = bc.business_case_summary(beds_summary(), p.reset_index(), sset, YEARS).iloc[0]
    assert s["running_cost_8y"] == pytest.approx(sum(135.0 * (1 + G) ** k for k in range(1, 9)))
    assert s["net_saving_8y"] == pytest.approx(8000.0 - s["running_cost_8y"])


def test_running_cost_ramps_with_the_lever(params):
    """A lever starting on 1 April 2023 with no ramp costs nothing in 2022/23; per_volume is charged
    on the volume even before (here the volume is there every year)."""
    sset = beds_set(start="2023-04-01", running_cost={"per_year": 100.0})
    p = bc.roi_profile(beds_summary(), sset, YEARS, {"beds": sset.scenarios[0].levers}, params).set_index("financial_year")
    assert p.loc["2022/23", "running_cost"] == 0.0
    assert p.loc["2023/24", "running_cost"] == pytest.approx(100.0 * (1 + G) ** 2)


def test_real_terms_at_the_first_years_prices(params, summary):
    """Without assumptions the deflator is the baseline's 3.1%: year t's £ / 1.031^t; with
    `assumptions.deflator_per_year: 0.02`, / 1.02^t."""
    p = bc.roi_profile(summary, scenario_set(), YEARS, None, params)
    c = p[p["scenario"] == "council"].set_index("financial_year")
    for t, fy in enumerate(YEARS):
        assert c.loc[fy, "gross_saving_real"] == pytest.approx(TABLE1_GROSS_M[t] * 1e6 / 1.031 ** t)
        assert c.loc[fy, "net_saving_real"] == pytest.approx(c.loc[fy, "net_saving"] / 1.031 ** t)
    p2 = bc.roi_profile(summary, scenario_set(assumptions={"deflator_per_year": 0.02}), YEARS, None, params)
    c2 = p2[p2["scenario"] == "council"].set_index("financial_year")
    assert c2.loc["2029/30", "gross_saving_real"] == pytest.approx(11.241e6 / 1.02 ** 7)
    assert c2.loc["2022/23", "gross_saving_real"] == pytest.approx(0.539e6)      # the first year is at its own prices


def test_a_levers_own_investment_gives_per_lever_roi(params):
    """A scenario with no investment of its own takes its levers' (2 x 1,000 in 2022/23 here);
    ROI = 8 years x 1,000 saved / 2,000. A scenario's own investment replaces its levers'."""
    lever = {"lever": "block_beds", "start": "2022-04-01", "mechanism": {"extra_beds": 2}}
    sset = ScenarioSet.model_validate({"name": "x", "baseline": "b.yaml", "scenarios": [
        {"name": "beds", "levers": [{**lever, "investment": {"2022/23": 1000.0}},
                                    {**lever, "mechanism": {"extra_beds": 1}, "investment": {"2022/23": 1000.0}}]},
        {"name": "own", "investment": {"2023/24": 500.0}, "levers": [{**lever, "investment": {"2022/23": 1000.0}}]}]})
    assert sset.investment_of(sset.scenarios[0]) == {"2022/23": 2000.0}
    assert sset.investment_of(sset.scenarios[1]) == {"2023/24": 500.0}
    summ = beds_summary()
    summ = pd.concat([summ, summ[summ["scenario"] == "beds"].assign(scenario="own")], ignore_index=True)
    p = bc.roi_profile(summ, sset, YEARS, None, params)
    s = bc.business_case_summary(summ, p, sset, YEARS).set_index("scenario")
    assert s.loc["beds", "roi_8y"] == pytest.approx(8000.0 / 2000.0)
    assert s.loc["own", "roi_8y"] == pytest.approx(8000.0 / 500.0)
    assert s.loc["beds", "net_saving_8y"] == pytest.approx(6000.0)


def test_the_comparison_sets_gross_beside_gross_and_net_beside_net(params, summary):
    """The council's lever figures are net: the model's net (gross - investment - running cost)
    stands beside them; each side says what its net deducts; real terms are there."""
    council = {"source": "hand", "lever_savings_basis": "net", "add_back_m": 0.631, "prices": "constant",
               "lever_net_deducts": "implementation costs", "profile_net_deducts": "MTFP alignment",
               "all_levers_scenario": "council",
               "levers": [{"scenario": "small", "target_volume": "x", "saving_m": 1.0}],
               "gross_profile_m": dict(zip(YEARS, TABLE1_GROSS_M)),
               "net_profile_m": dict(zip(YEARS, [g - (2.1 if j >= 2 else 0) for j, g in enumerate(TABLE1_GROSS_M)]))}
    sset = scenario_set(council=council)
    p = bc.roi_profile(summary, sset, YEARS, None, params)
    comp = bc.comparison(summary, p, sset, YEARS, pd.DataFrame())
    lv = comp[comp["kind"] == "lever"].iloc[0]
    assert lv["council_net_m"] == 1.0 and np.isnan(lv["council_gross_m"])          # net figures are not grossed up by lever
    assert lv["model_net_m"] == pytest.approx((100.0 - 500.0) / 1e6)                # 2029/30: 100 saved, 500 invested
    assert lv["council_basis"] == "net" and lv["council_net_deducts"] == "implementation costs"
    assert lv["model_net_deducts"] == bc.MODEL_NET_DEDUCTS
    pr = comp[comp["kind"] == "profile"].set_index("financial_year")
    assert pr.loc["2029/30", "council_gross_m"] == 11.241 and pr.loc["2029/30", "council_net_m"] == pytest.approx(9.141)
    assert pr.loc["2029/30", "model_saving_m"] == pytest.approx(11.241)
    assert pr.loc["2029/30", "model_saving_real_m"] == pytest.approx(11.241 / 1.031 ** 7)
    assert pr.loc["2024/25", "model_net_m"] == pytest.approx(7.322 - 0.6)           # the model's net deducts its investment
    assert pr.loc["2024/25", "council_net_deducts"] == "MTFP alignment" and pr.loc["2024/25", "council_prices"] == "constant"


# --------------------------------------------------------------------------- headline flags
def test_judge_target_not_reached_at_bound_and_not_sustainable():
    years = {"2025/26": 30.0, "2026/27": 25.0, "2027/28": 20.0, "2028/29": 17.0, "2029/30": 14.6}
    flags, notes = judge_target(20.0, 1.0, 14.6, years, "2029/30", 0.9, float("inf"), "sgo_share", [(0.9, 14.6)])
    assert flags == [FLAG_NOT_REACHED, FLAG_NOT_SUSTAINABLE]
    assert notes[0].startswith("not sustainable: 30.0 in 2025/26 falling to 14.6 in 2029/30")
    flags, notes = judge_target(35.0, 1.75, 28.0, {"2029/30": 28.0}, "2029/30", 1.0, 1.0, "divert_share", [])
    assert flags == [FLAG_NOT_REACHED, FLAG_AT_BOUND, FLAG_NOT_SUSTAINABLE] and notes[0].startswith("at its bound: divert_share at its most (1)")
    assert notes[1].startswith("not sustainable: the children this lever acts on arrive too few to give 35 a year")
    flags, notes = judge_target(35.0, 1.75, 30.0, {"2028/29": 30.0, "2029/30": 30.0}, "2029/30", 0.5, 1.0, "k", [1, 2])
    assert flags == [FLAG_NOT_REACHED] and notes == ["closest reachable: 30.0 in 2029/30 against a target of 35 after 2 search steps"]
    assert judge_target(35.0, 1.75, 34.0, {"2029/30": 34.0}, "2029/30", 0.5, 1.0, "k", []) == ([], [])


def test_a_target_search_that_ends_at_its_bound_says_so():
    """Edge of care (a share, at most 1): 0.15 gives 5, the secant asks for 1.05, clipped to 1,
    which gives 20 against 35: the search stops at its bound and flags it."""
    lv = Lever(lever="edge_of_care", start="2022-11-01", target={"fewer_care_entries_per_year": 35})
    s = TargetSearch(lv, ["2028/29", "2029/30"])
    assert s.judged == "2029/30"
    assert s.x == pytest.approx(0.15)
    s.record(np.array([5.0, 5.0]), {"2028/29": 5.0, "2029/30": 5.0})
    assert s.x == 1.0
    s.record(np.array([20.0, 20.0]), {"2028/29": 20.0, "2029/30": 20.0})
    assert s.x is None
    r = s.result()
    assert r.intensity == 1.0 and r.achieved == 20.0 and r.years == ["2029/30"]
    assert FLAG_AT_BOUND in r.flags and FLAG_NOT_REACHED in r.flags and "at its bound" in r.note


def test_the_headline_carries_each_levers_flags_and_precision():
    bsum = pd.DataFrame([{"scenario": "a", "replications": 8, "replications_for_10pct_precision": 40},
                         {"scenario": "b", "replications": 8, "replications_for_10pct_precision": 3}])
    intens = pd.DataFrame([
        {"scenario": "a", "lever": "kinship_to_sgo", "flags": f"{FLAG_NOT_REACHED}; {FLAG_NOT_SUSTAINABLE}",
         "note": "not sustainable: 30.0 in 2025/26 falling to 14.6 in 2029/30; ...; closest reachable: 14.6"},
        {"scenario": "b", "lever": "edge_of_care", "flags": "", "note": ""}])
    f = bc.headline_flags(bsum, intens)
    assert list(zip(f["scenario"], f["lever"], f["flag"])) == [
        ("a", "kinship_to_sgo", f"{FLAG_NOT_REACHED}; {FLAG_NOT_SUSTAINABLE}"), ("a", "", FLAG_PRECISION)]
    assert f.iloc[0]["reason"].startswith("not sustainable: 30.0")
    assert "needs 40 replications, 8 were run" in f.iloc[1]["reason"]
    s = bc.with_flags(bsum, f).set_index("scenario")
    assert s.loc["a", "flags"] == f"kinship_to_sgo: {FLAG_NOT_REACHED}; {FLAG_NOT_SUSTAINABLE}; {FLAG_PRECISION}"
    assert s.loc["b", "flags"] == ""


def test_a_stretch_capped_at_a_bound_is_flagged():
    """A stretch of 1.43 on a share of 0.8 wants 1.144: capped at 1 and flagged 'at its bound'."""
    from experiments.run import resolve_scenarios
    from experiments.scenarios import Scenario
    base = Scenario(name="base", levers=[{"lever": "edge_of_care", "start": "2022-11-01", "mechanism": {"divert_share": 0.8}},
                                         {"lever": "block_beds", "start": "2022-11-01", "mechanism": {"extra_beds": 10}}])
    stretch = Scenario(name="stretch", based_on="base", intensity_scale=1.43)
    levers, table = resolve_scenarios(None, [base, stretch], 2, "2029/30")
    assert levers["stretch"][0].mechanism == {"divert_share": 1.0}
    rows = {(r["scenario"], r["lever"]): r for r in table}
    assert rows[("stretch", "edge_of_care")]["flags"] == FLAG_AT_BOUND
    assert "1.144 is capped at its most (1)" in rows[("stretch", "edge_of_care")]["note"]
    assert rows[("stretch", "block_beds")]["flags"] == "" and rows[("base", "edge_of_care")]["flags"] == ""


def test_assumptions_replace_the_baselines_values_and_merge_its_maps(params):
    from experiments.scenarios import Assumptions, ScenarioError, apply_assumptions
    a = Assumptions(price_growth_per_year=0.05, price_growth_by_type={"residential_spot": 0.12},
                    demand_growth_per_year=0.03, unit_costs={"foster_ifa": 1000.0}, foster_inhouse_retainer_weekly=0.0)
    p = apply_assumptions(params, a)
    assert p.costs.price_growth_per_year == 0.05
    assert p.costs.price_growth_by_type["residential_spot"] == 0.12
    assert p.costs.price_growth_by_type["foster_ifa"] == params.costs.price_growth_by_type["foster_ifa"]   # merged
    assert p.costs.placement_weekly["foster_ifa"] == 1000.0
    assert p.costs.placement_weekly["kinship"] == params.costs.placement_weekly["kinship"]
    assert p.costs.fixed_costs.foster_inhouse_retainer_weekly == 0.0
    assert p.arrivals.new_contacts.trend_per_year == 0.03 and p.arrivals.direct_care_entries.trend_per_year == 0.03
    assert p.digest() != params.digest()
    assert apply_assumptions(params, Assumptions(deflator_per_year=0.02)) is params     # the deflator is not a parameter
    with pytest.raises(ScenarioError, match="placement_weekly"):
        apply_assumptions(params, Assumptions(unit_costs={"foster_ifa": -5.0}))
