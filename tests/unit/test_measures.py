"""Measures and costs as pure functions of an event log: checked on a hand-written log whose
stocks, flows and costs are computed by hand, and on a one-child model run."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from sim.eventlog import EventLog
from sim.initial import OpenCase
from sim.measures import StepSeries, plan_lengths, stocks_by_month, summary_by_fy
from sim.runner import ReplicationResult, run_replication

FY1, FY2 = "2021/22", "2022/23"
G = 1.031  # baseline price growth


def test_step_series_values_and_integrals():
    s = StepSeries(np.array([5.0, 1.0, 3.0, 3.0]), np.array([-1.0, 1.0, 1.0, 1.0]))
    # 0 before 1, 1 on [1,3), 3 on [3,5), 2 from 5
    assert list(s.value_at([0.5, 1.0, 2.9, 3.0, 4.0, 5.0, 9.0])) == [0, 1, 1, 3, 3, 2, 2]
    assert s.integral(0, 10)[0] == pytest.approx(2 * 1 + 2 * 3 + 5 * 2)
    assert s.integral(2, 4)[0] == pytest.approx(1 + 3)
    assert s.minimum() == 1
    empty = StepSeries(np.array([]), np.array([]))
    assert empty.value_at(3.0)[0] == 0 and empty.integral(0, 5)[0] == 0


def _hand_log() -> pd.DataFrame:
    """Three children, rows in time order (as the model writes them):
    child 1 is in care (kinship) at the start, 10.5 days into the stage, and leaves by SGO on day 400;
    child 3 has a contact closed after two days;
    child 2 has a contact, a referral and an assessment, enters care in a spot home over £4,100 on
    day 130 and steps down to an in-house foster carer on day 200."""
    log = EventLog()
    log.add(0.0, 1, "snapshot", "", "care", "", "", "10.50;200.00")
    log.add(0.0, 1, "placed", "care", "care", "kinship", "", "snapshot")
    log.add(50.0, 3, "contact", "out", "contact")
    log.add(52.0, 3, "contact_closed", "contact", "out", "", "", "nfa")
    log.add(100.0, 2, "contact", "out", "contact")
    log.add(101.0, 2, "referral", "contact", "assessment")
    log.add(101.0, 2, "assessment_start", "assessment", "assessment")
    log.add(130.0, 2, "assessment_complete", "assessment", "assessment")
    log.add(130.0, 2, "care_entry", "assessment", "care", "", "", "assessment_complete")
    log.add(130.0, 2, "placed", "care", "care", "residential_spot", "", "entry,over_4100")
    log.add(200.0, 2, "placed", "care", "care", "foster_inhouse", "residential_spot", "step_down")
    log.add(400.0, 1, "placement_end", "care", "care", "", "kinship", "exit")
    log.add(400.0, 1, "care_exit", "care", "out", "", "", "sgo")
    return log.to_frame()


@pytest.fixture
def hand_result(baseline_dict, with_years, build):
    params = build(with_years(baseline_dict, 2))
    assert params.horizon.days == 730
    capacity = pd.DataFrame({"time": [0.0, 500.0], "resource": ["foster_carers"] * 2,
                             "capacity": [10.0, 12.0], "in_use": [10, 12]})
    return ReplicationResult(
        params=params, seed=0, replication=7, events=_hand_log(),
        children=pd.DataFrame({"child": [1, 2, 3], "dob": [-2000.0, -3000.0, -1000.0]}),
        allowances=pd.DataFrame([(1, 400.0, 1500.0, "sgo")], columns=["child", "start", "end", "kind"]),
        capacity=capacity,
        team_waits=pd.DataFrame({"team": pd.Series([], dtype=str), "case": pd.Series([], dtype=int),
                                 "since": pd.Series([], dtype=float), "until": pd.Series([], dtype=float),
                                 "allocated": pd.Series([], dtype=bool)}),
        team_workers=pd.DataFrame(columns=["team", "time", "workers"]), sim_events=0, wall_seconds=0.0)


def _summary(result) -> dict:
    s = summary_by_fy(result)
    assert list(s.columns) == ["replication", "financial_year", "measure", "value"]
    assert (s["replication"] == result.replication).all()
    assert not s.duplicated(["financial_year", "measure"]).any()
    return {(r.financial_year, r.measure): r.value for r in s.itertuples()}


def test_stocks_and_flows_from_a_hand_written_log(hand_result):
    m = _summary(hand_result)
    assert m[(FY1, "days_in_horizon")] == 365 and m[(FY2, "days_in_horizon")] == 365
    assert m[(FY1, "cic_average")] == pytest.approx((130 * 1 + 235 * 2) / 365)
    assert m[(FY2, "cic_average")] == pytest.approx((35 * 2 + 330 * 1) / 365)
    assert m[(FY1, "cic_at_year_end")] == 2 and m[(FY2, "cic_at_year_end")] == 1
    assert m[(FY1, "contacts")] == 2 and m[(FY1, "referrals")] == 1
    assert m[(FY1, "care_entries")] == 1 and m[(FY2, "care_entries")] == 0
    assert m[(FY2, "care_exits_sgo")] == 1 and m[(FY1, "care_exits")] == 0
    assert m[(FY1, "assessments")] == 1
    assert m[(FY1, "placement_moves")] == 1
    assert m[(FY1, "placements_over_4100_average")] == pytest.approx(70 / 365)
    assert m[(FY2, "placements_over_4100_average")] == 0
    assert m[(FY1, "cic_residential_share")] == pytest.approx(70 / 600)
    assert m[(FY1, "foster_carers_at_year_end")] == 10 and m[(FY2, "foster_carers_at_year_end")] == 12
    assert m[(FY1, "price_index")] == 1 and m[(FY2, "price_index")] == pytest.approx(G)


def test_costs_by_hand_with_price_growth_at_the_year_boundary(hand_result):
    m = _summary(hand_result)
    # placements: kinship £300 (365 + 35 days), spot over £4,100 £5,574 (70 days), in-house foster £700 (165 + 365)
    fy1 = (365 * 300 + 70 * 5574 + 165 * 700) / 7
    fy2 = (35 * 300 + 365 * 700) / 7 * G
    assert m[(FY1, "cost_placements")] == pytest.approx(fy1)
    assert m[(FY2, "cost_placements")] == pytest.approx(fy2)
    # social work £ a case-week: contacts 3 days at £40, assessment 29 days at £110, care at £120
    sw1 = (3 * 40 + 29 * 110 + 600 * 120) / 7
    sw2 = 400 * 120 / 7 * G
    assert m[(FY1, "cost_social_work")] == pytest.approx(sw1)
    assert m[(FY2, "cost_social_work")] == pytest.approx(sw2)
    # an SGO allowance from day 400 (£180 a week)
    assert m[(FY1, "cost_allowances")] == 0
    assert m[(FY2, "cost_allowances")] == pytest.approx(330 * 180 / 7 * G)
    assert m[(FY2, "cost_total")] == pytest.approx(fy2 + sw2 + 330 * 180 / 7 * G)
    assert m[(FY1, "placement_weekly_cost_average")] == pytest.approx(fy1 / (600 / 7))


def test_social_work_and_allowances_can_grow_at_rates_of_their_own(hand_result):
    """Pay awards and allowance uprating need not follow placement prices: with their own rates
    set, those costs grow by them and placements keep the price growth."""
    costs = hand_result.params.costs.model_copy(update={"social_work_growth_per_year": 0.05,
                                                         "allowance_growth_per_year": 0.0})
    params = hand_result.params.model_copy(update={"costs": costs})
    m = _summary(ReplicationResult(**{**hand_result.__dict__, "params": params}))
    base = _summary(hand_result)
    assert m[(FY2, "cost_placements")] == pytest.approx(base[(FY2, "cost_placements")])
    assert m[(FY2, "cost_social_work")] == pytest.approx(400 * 120 / 7 * 1.05)
    assert m[(FY2, "cost_allowances")] == pytest.approx(330 * 180 / 7)
    assert m[(FY1, "cost_social_work")] == pytest.approx(base[(FY1, "cost_social_work")])
    assert m[(FY2, "price_index")] == pytest.approx(G)


def test_plan_lengths_start_snapshot_spells_before_day_zero(hand_result):
    care = plan_lengths(hand_result.events, "care")
    row = care[care["child"] == 1].iloc[0]
    assert row["start"] == pytest.approx(-10.5) and row["length"] == pytest.approx(410.5)
    assert len(care) == 1  # child 2's period has not ended
    contact = plan_lengths(hand_result.events, "contact").set_index("child")["length"]
    assert contact.to_dict() == {2: 1.0, 3: 2.0}


def test_stocks_by_month_sum_placements_to_care(hand_result):
    st = stocks_by_month(hand_result)
    assert list(st.columns) == ["replication", "month", "measure", "value"]
    w = st.pivot(index="month", columns="measure", values="value")
    assert w.loc["2021-04", "care"] == 1 and w.loc["2021-04", "care_kinship"] == 1
    assert w.loc["2021-08", "care"] == 2 and w.loc["2021-08", "care_residential_spot"] == 1
    assert w.loc["2021-08", "care_over_4100"] == 1 and w.loc["2021-10", "care_over_4100"] == 0
    assert w.loc["2022-05", "care"] == 1 and w.loc["2022-05", "care_foster_inhouse"] == 1
    assert len(w) == 24


def test_one_child_model_run_costs(minimal_care_params, build):
    """One child from the snapshot in an in-house home for 500 days (a fixed exit duration),
    over two financial years: placement cost = days x £4,500 / 7, grown by 3.1% in the second year."""
    d = minimal_care_params(per_month=0.0, mean_days=100.0, years=2, need="residential").model_dump(mode="json")
    route = {"other": {"probability": 1.0, "duration": {"dist": "fixed", "days": 500}}}
    d["care"]["exit_routes"][0]["kinship"] = route
    d["care"]["exit_routes"][0]["non_kinship"] = route
    d["arrivals"]["direct_care_entries"]["per_month"] = 0.0
    params = build(d)
    case = OpenCase(child_id=1, dob=-5 * 365.25, state="care", state_elapsed=0.0, care_elapsed=0.0,
                    placement="residential_inhouse")
    r = run_replication(params, 1, 0, snapshot=[case])
    exits = r.events[r.events["event"] == "care_exit"]
    assert list(exits["time"]) == [500.0]
    m = _summary(r)
    assert m[(FY1, "cost_placements")] == pytest.approx(365 * 4500 / 7)
    assert m[(FY2, "cost_placements")] == pytest.approx(135 * 4500 / 7 * G)
    assert m[(FY1, "cost_social_work")] == pytest.approx(365 * 120 / 7)
    assert m[(FY2, "cost_social_work")] == pytest.approx(135 * 120 / 7 * G)
    assert m[(FY1, "placement_weekly_cost_average")] == pytest.approx(4500)
    assert m[(FY2, "placement_weekly_cost_average")] == pytest.approx(4500 * G)
    assert m[(FY1, "cic_residential_inhouse_average")] == 1
    assert m[(FY2, "cic_average")] == pytest.approx(135 / 365)
