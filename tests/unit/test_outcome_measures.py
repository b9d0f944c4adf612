"""Outcome measures that mean what they say, on a hand-written event log whose values are worked
out by hand: waiting in an emergency placement, out of area, stability (placement changes per
child-year, children with 3 or more placements in the year), family-based care and family homes
counting children who left care on orders, and permanence for one cohort of entrants with those
still in care censored (the Aalen-Johansen estimate, by hand)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.eventlog import EventLog
from sim.measures import (cumulative_incidence, entrant_outcomes, order_home_series, placement_rows,
                          placements_in_year, summary_by_fy)
from sim.runner import ReplicationResult

FY1, FY2 = "2021/22", "2022/23"
Y = 365.25


def _log() -> pd.DataFrame:
    """Two years (FY1 is days 0-365, FY2 365-730):
    child 1 is in kinship care at the start and leaves on an SGO on day 100 (18 long after);
    child 2 enters care on day 50 in an agency foster placement out of area, breaks down on day 150
    into an emergency placement, is placed with an agency carer in area on day 160 ("waited"), breaks
    down on day 250 into a spot home out of area and stays there to the end;
    child 3 enters care on day 10 in kinship care and goes home on day 300."""
    log = EventLog()
    log.add(0.0, 1, "snapshot", "", "care", "", "", "50.00;50.00")
    log.add(0.0, 1, "placed", "care", "care", "kinship", "", "snapshot")
    log.add(10.0, 3, "care_entry", "out", "care", "", "", "direct")
    log.add(10.0, 3, "placed", "care", "care", "kinship", "", "entry")
    log.add(50.0, 2, "care_entry", "out", "care", "", "", "direct")
    log.add(50.0, 2, "placed", "care", "care", "foster_ifa", "", "entry,out_of_area")
    log.add(100.0, 1, "placement_end", "care", "care", "", "kinship", "exit")
    log.add(100.0, 1, "care_exit", "care", "out", "", "", "sgo")
    log.add(150.0, 2, "placed", "care", "care", "awaiting", "foster_ifa", "breakdown")
    log.add(160.0, 2, "placed", "care", "care", "foster_ifa", "awaiting", "waited")
    log.add(250.0, 2, "placed", "care", "care", "residential_spot", "foster_ifa", "breakdown,out_of_area")
    log.add(300.0, 3, "placement_end", "care", "care", "", "kinship", "exit")
    log.add(300.0, 3, "care_exit", "care", "out", "", "", "reunification")
    return log.to_frame()


DOB = pd.Series([-2000.0, -3000.0, -1000.0], index=[1, 2, 3])


@pytest.fixture
def summary(baseline_dict, with_years, build) -> dict:
    params = build(with_years(baseline_dict, 2))
    assert params.horizon.days == 730
    empty_waits = pd.DataFrame({"team": pd.Series([], dtype=str), "case": pd.Series([], dtype=int),
                                "since": pd.Series([], dtype=float), "until": pd.Series([], dtype=float),
                                "allocated": pd.Series([], dtype=bool)})
    result = ReplicationResult(
        params=params, seed=0, replication=0, events=_log(),
        children=pd.DataFrame({"child": DOB.index, "dob": DOB.to_numpy()}),
        allowances=pd.DataFrame(columns=["child", "start", "end", "kind"]),
        capacity=pd.DataFrame({"time": [0.0], "resource": ["foster_carers"], "capacity": [10.0], "in_use": [10]}),
        team_waits=empty_waits, team_workers=pd.DataFrame(columns=["team", "time", "workers"]),
        sim_events=0, wall_seconds=0.0)
    s = summary_by_fy(result)
    return {(r.financial_year, r.measure): r.value for r in s.itertuples()}


def test_waiting_and_out_of_area_by_hand(summary):
    # the emergency placement: days 150-160
    assert summary[(FY1, "emergency_placement_days")] == pytest.approx(10.0)
    assert summary[(FY1, "children_in_emergency_placements_average")] == pytest.approx(10.0 / 365)
    assert summary[(FY1, "children_waiting_for_placement_average")] == pytest.approx(10.0 / 365)
    assert summary[(FY1, "emergency_placements")] == 1 and summary[(FY2, "emergency_placements")] == 0
    # out of area: days 50-150 (agency) and 250-365 (spot home) of 705 care days (100 + 315 + 290)
    assert summary[(FY1, "out_of_area_placements_average")] == pytest.approx(215.0 / 365)
    assert summary[(FY1, "out_of_area_share")] == pytest.approx(215.0 / 705.0)
    assert summary[(FY1, "out_of_area_placements")] == 2
    assert summary[(FY2, "out_of_area_share")] == pytest.approx(1.0)  # child 2, all year in the spot home


def test_stability_by_hand(summary):
    # child 2, the only child in care at the end of FY1, held 4 placements in it (agency, emergency,
    # agency, spot home); in FY2 one (the spot home, held from the start)
    assert summary[(FY1, "children_3plus_placements_share")] == pytest.approx(1.0)
    assert summary[(FY2, "children_3plus_placements_share")] == pytest.approx(0.0)
    # 3 changes of placement while in care (days 150, 160, 250) over 705 care days
    assert summary[(FY1, "placement_changes_per_child_year")] == pytest.approx(3 / (705.0 / Y))
    assert summary[(FY2, "placement_changes_per_child_year")] == pytest.approx(0.0)


def test_family_based_care_and_family_homes_by_hand(summary):
    # family-based care days in FY1: kinship 100 (child 1) + 290 (child 3), agency foster 100 + 90 (child 2)
    assert summary[(FY1, "family_based_share")] == pytest.approx(580.0 / 705.0)
    # child 1 is with special guardians from day 100: 265 more days in a family home in FY1, all of FY2
    assert summary[(FY1, "children_in_family_homes_share")] == pytest.approx((580.0 + 265.0) / (705.0 + 265.0))
    assert summary[(FY2, "family_based_share")] == pytest.approx(0.0)
    assert summary[(FY2, "children_in_family_homes_share")] == pytest.approx(365.0 / 730.0)
    assert summary[(FY2, "children_left_care_to_family_orders_average")] == pytest.approx(1.0)
    # a child who leaves for an order stays counted; one who goes home (child 3) does not
    for fy in (FY1, FY2):
        assert summary[(fy, "children_in_family_homes_share")] >= summary[(fy, "family_based_share")]


def test_permanence_for_the_year_s_entrants_by_hand(summary):
    # FY1's entrants: child 3 home after 290 days, child 2 still in care at the end (680 days, censored)
    assert summary[(FY1, "entrants_permanence_within_1y_share")] == pytest.approx(0.5)
    assert math.isnan(summary[(FY1, "entrants_permanence_within_2y_share")])  # no one followed 2 years
    assert math.isnan(summary[(FY2, "entrants_permanence_within_1y_share")])  # no entrants in FY2


def test_aalen_johansen_by_hand():
    # four entrants: permanence at 100, another exit at 200, still in care at 300 (censored), permanence at 400
    days = np.array([100.0, 200.0, 300.0, 400.0])
    outcome = np.array([1, 2, 0, 1])
    # at 100: 4 at risk, 1 permanence -> 1/4, survival 3/4; at 200: 3 at risk, 1 other exit ->
    # survival 1/2; at 400: 1 at risk, 1 permanence -> + 1/2 * 1/1
    assert cumulative_incidence(days, outcome, 365.0) == pytest.approx(0.25)
    assert cumulative_incidence(days, outcome, 400.0) == pytest.approx(0.75)
    assert cumulative_incidence(days, outcome, 365.0, event=2) == pytest.approx(0.25)
    assert math.isnan(cumulative_incidence(days, outcome, 401.0))
    # tied times: at 100, 3 at risk, a permanence and another exit -> 1/3, survival 1/3; at 200, + 1/3
    assert cumulative_incidence(np.array([100.0, 100.0, 200.0]), np.array([1, 2, 1]), 200.0) == pytest.approx(2 / 3)
    # with no censoring it is the plain share
    d2, o2 = np.array([10.0, 20.0, 30.0, 40.0, 50.0]), np.array([1, 2, 1, 2, 2])
    assert cumulative_incidence(d2, o2, 50.0) == pytest.approx(2 / 5)


def test_the_pieces_by_hand():
    ev = _log()
    counts, children = placements_in_year(placement_rows(ev), 0.0, 365.0)
    assert dict(zip(children.tolist(), counts.tolist())) == {2: 4}
    counts, children = placements_in_year(placement_rows(ev), 365.0, 730.0)
    assert dict(zip(children.tolist(), counts.tolist())) == {2: 1}
    homes = order_home_series(ev, DOB, 730.0)
    assert homes.value_at([99.0, 100.0, 729.0])[0] == 0 and homes.value_at(100.0)[0] == 1
    assert homes.integral(0, 730)[0] == pytest.approx(630.0)
    e = entrant_outcomes(ev, 730.0).sort_values("entry")
    assert e["entry"].tolist() == [10.0, 50.0]
    assert e["days"].tolist() == [290.0, 680.0] and e["outcome"].tolist() == [1, 0]


def test_a_return_to_care_or_the_18th_birthday_ends_the_time_counted_at_home():
    log = EventLog()
    log.add(0.0, 5, "care_entry", "out", "care", "", "", "direct")
    log.add(0.0, 5, "placed", "care", "care", "kinship", "", "entry")
    log.add(40.0, 5, "placement_end", "care", "care", "", "kinship", "exit")
    log.add(40.0, 5, "care_exit", "care", "out", "", "", "cao")
    log.add(90.0, 5, "care_entry", "out", "care", "", "", "reentry")
    log.add(90.0, 5, "placed", "care", "care", "kinship", "", "entry")
    log.add(95.0, 5, "placement_end", "care", "care", "", "kinship", "exit")
    log.add(95.0, 5, "care_exit", "care", "out", "", "", "adoption")
    log.add(96.0, 6, "care_exit", "care", "out", "", "", "reunification")
    ev = log.to_frame()
    dob = pd.Series([200.0 - 18 * Y, -10.0], index=[5, 6])  # child 5 turns 18 on day 200
    homes = order_home_series(ev, dob, 730.0)
    # 40-90 under the order, back in care 90-95, adopted 95 to the 18th birthday on day 200
    assert homes.integral(0, 730)[0] == pytest.approx(50.0 + 105.0)
    assert homes.value_at(92.0)[0] == 0
