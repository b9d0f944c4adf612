"""Pieces of calibration.supply (entries into care without a CIN census) on hand-made rows."""
from __future__ import annotations

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


def test_scaling_the_routes_into_care_keeps_every_decision_summing_to_one():
    d = yaml.safe_load(open("experiments/baseline.yaml", encoding="utf-8"))
    before = {"assessment": dict(d["assessment"]["outcomes"]), "s47": dict(d["s47"]["outcomes"]),
              "cin_plan": {r: v["probability"] for r, v in d["cin_plan"]["routes"].items()},
              "cp_plan": {r: v["probability"] for r, v in d["cp_plan"]["routes"].items()}}
    supply._scale_routes_into_care(d, 0.5)
    after = {"assessment": d["assessment"]["outcomes"], "s47": d["s47"]["outcomes"],
             "cin_plan": {r: v["probability"] for r, v in d["cin_plan"]["routes"].items()},
             "cp_plan": {r: v["probability"] for r, v in d["cp_plan"]["routes"].items()}}
    for sect in before:
        assert sum(after[sect].values()) == pytest.approx(1.0, abs=1e-9)
        assert after[sect]["care"] == pytest.approx(before[sect]["care"] * 0.5, abs=1e-4)
        # the other outcomes keep their proportions
        rest_b = {k: v for k, v in before[sect].items() if k != "care"}
        rest_a = {k: v for k, v in after[sect].items() if k != "care"}
        tb, ta = sum(rest_b.values()), sum(rest_a.values())
        for k in rest_b:
            assert rest_a[k] / ta == pytest.approx(rest_b[k] / tb, abs=1e-3)


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
