"""Pieces of calibration.supply (entries into care without a CIN census) on hand-made rows."""
from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from calibration import supply

T = pd.Timestamp


def _periods(rows):
    return pd.DataFrame(rows, columns=["child", "period", "start", "end", "exit_reason", "dob"])


def test_a_period_after_a_return_home_is_not_a_first_entry():
    p = _periods([
        ("a", 1, T("2016-01-01"), T("2016-06-01"), "reunification", T("2010-01-01")),
        ("a", 2, T("2017-01-01"), pd.NaT, pd.NA, T("2010-01-01")),        # re-entry: the model's care.reentry
        ("b", 1, T("2016-01-01"), T("2016-06-01"), "sgo", T("2012-01-01")),
        ("b", 2, T("2018-01-01"), pd.NaT, pd.NA, T("2012-01-01")),        # after an SGO: a first entry
        ("c", 1, T("2019-01-01"), pd.NaT, pd.NA, T("2015-01-01")),
    ])
    window = p[p["start"] >= T("2016-06-01")]
    assert supply.first_entries(p, window).tolist() == [False, True, True]


def test_scaling_the_front_door_scales_its_volume_and_workers_not_its_conversion_rates():
    d = yaml.safe_load(open("experiments/baseline.yaml", encoding="utf-8"))
    before = copy.deepcopy(d)
    supply._scale_front_door(d, 0.25)
    assert d["arrivals"]["new_contacts"]["per_month"] == pytest.approx(before["arrivals"]["new_contacts"]["per_month"] * 0.25)
    for name in ("front_door", "assessment", "safeguarding"):
        t, t0 = d["capacity"]["teams"][name], before["capacity"]["teams"][name]
        assert t["workers"] == pytest.approx(t0["workers"] * 0.25)
        assert t["caseload_limit"] == t0["caseload_limit"]
        assert [c["value"] for c in t.get("changes") or []] == pytest.approx(
            [c["value"] * 0.25 for c in t0.get("changes") or []])
    assert d["capacity"]["teams"]["children_in_care"] == before["capacity"]["teams"]["children_in_care"]
    for sect in ("front_door", "assessment", "s47", "cin_plan", "cp_plan", "care", "recontact"):
        assert d[sect] == before[sect], sect
    # still a valid parameter set
    from sim.params import params_from_dict
    params_from_dict(d)


def test_recent_care_leavers_who_may_come_back():
    ex = T("2020-03-31")
    p = _periods([
        ("home", 1, T("2018-01-01"), T("2019-06-01"), "reunification", T("2008-01-01")),
        ("sgo", 1, T("2018-01-01"), T("2019-09-01"), "sgo", T("2015-01-01")),
        ("adopted", 1, T("2018-01-01"), T("2019-09-01"), "adoption", T("2016-01-01")),   # does not come back
        ("long_ago", 1, T("2015-01-01"), T("2017-01-01"), "reunification", T("2008-01-01")),  # over 730 days
        ("back", 1, T("2018-01-01"), T("2019-06-01"), "reunification", T("2008-01-01")),
        ("back", 2, T("2019-12-01"), pd.NaT, pd.NA, T("2008-01-01")),   # in care again: in the snapshot already
        ("eighteen", 1, T("2018-01-01"), T("2019-06-01"), "other", T("2002-04-01")),   # 18 on the first day
    ])
    out = supply.care_leavers(p, ex)
    assert sorted(out["child"]) == ["home", "sgo"]
    r = out.set_index("child")
    assert r.loc["home", "closure"] == "reunification" and r.loc["sgo", "closure"] == "care_exit"
    assert r.loc["home", "state"] == "closed" and r.loc["home", "state_start"] == "2019-06-01"
