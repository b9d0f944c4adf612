"""Assessments, S47 enquiries and CIN/CP plans are censored at the 18th birthday, as periods of care are.

The model closes any of them on the child's 18th birthday with no outcome ("turned 18"), and a
real CIN census shows them ending on (or the day before) the birthday. Read as ordinary endings,
they made plans look shorter, added `closed` endings to the plan routes (so fewer step-downs from
CP to CIN) and `nfa` outcomes to assessments and enquiries. Hand-made census: every child goes
referral -> assessment -> S47 -> CP plan; a CP plan steps down to a CIN plan with probability
P_STEP; some children turn 18 during the assessment, at the ICPC, or during the plan, and then
the item ends on the birthday with nothing after it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


EXTRACT = pd.Timestamp("2022-03-31")
WINDOW = pd.Timestamp("2019-04-01")
P_STEP = 0.40        # CP plans that step down to a CIN plan (the rest close), for children under 18
CP_DAYS = 250        # median CP plan length (lognormal, sigma 0.4), the same for both routes
N = 700


def _census(h, seed: int = 11):
    rng = np.random.default_rng(seed)
    rows = ref, ass, s47, cin, cpp = [], [], [], [], []
    span = (EXTRACT - WINDOW).days - 200
    for i in range(N):
        child = f"C{i}"
        referral = WINDOW + pd.Timedelta(days=int(rng.integers(0, span)))
        ast = referral + pd.Timedelta(days=1)
        auth = ast + pd.Timedelta(days=25)
        s = auth                                  # the assessment's outcome is always an S47 enquiry
        icpc = s + pd.Timedelta(days=12)
        days = int(CP_DAYS * np.exp(0.4 * rng.standard_normal()))
        step = rng.random() < P_STEP
        group = rng.random()
        if group < 0.06:      # turns 18 during the assessment: authorised on the birthday, nothing after
            b18 = ast + pd.Timedelta(days=int(rng.integers(3, 20)))
        elif group < 0.12:    # turns 18 at the ICPC: no plan follows
            b18 = icpc
        elif group < 0.45:    # turns 18 some time into the plan (or after it would have ended)
            b18 = icpc + pd.Timedelta(days=int(rng.integers(20, 400)))
        else:
            b18 = referral + pd.Timedelta(days=int(rng.integers(2000, 5000)))
        dob = b18 - pd.DateOffset(years=18)
        closure = None
        if b18 <= auth:
            ass.append((child, referral, ast, b18))
            closure = b18
        else:
            ass.append((child, referral, ast, auth))
            if b18 <= icpc:
                s47.append((child, referral, s, b18, False))
                closure = b18
            else:
                s47.append((child, referral, s, icpc, False))
                end = icpc + pd.Timedelta(days=days)
                if end >= b18:                    # the plan ends on the birthday, nothing follows
                    end, step = b18, False
                closure = h.cp_plan(rows, child, referral, icpc, end, step, EXTRACT)
        h.referral(rows, child, dob, referral, closure, EXTRACT)
    return h.build(ref, ass, cin, s47, cpp, EXTRACT)


@pytest.fixture(scope="module")
def fitter(hand_made_cin):
    c = _census(hand_made_cin)
    return hand_made_cin.fit(c, EXTRACT), c


def test_the_hand_made_data_end_items_on_the_18th_birthday(fitter):
    _, c = fitter
    dob = c.referrals.set_index("child")["dob"]
    for table, end in ((c.assessments, "authorised"), (c.s47, "icpc_date"), (c.cp_plans, "end")):
        at18 = table[end] == table["child"].map(dob) + pd.DateOffset(years=18)
        assert at18.sum() >= 30, table.columns


def test_assessments_and_enquiries_ending_at_18_have_no_outcome(fitter):
    f, _ = fitter
    # every assessment of a child under 18 leads to an S47 enquiry, every ICPC to a CP plan
    assert f.p["assessment"]["outcomes"]["s47"] == pytest.approx(1.0)
    assert f.p["s47"]["outcomes"]["cp"] == pytest.approx(1.0)
    notes = f.log.frame().set_index("parameter")["note"]
    assert "18th birthday" in notes["assessment.outcomes"] and "18th birthday" in notes["s47.outcomes"]


def test_assessment_durations_are_censored_at_18(fitter):
    f, _ = fitter
    # assessments last 25 days unless the child turns 18 first; those shorter ones are censored
    assert abs(f.curves["assessment"]["fit"].median() - 25) < 1.0
    assert f.curves["assessment"]["km"].at(24.0)[0] > 0.97


def test_cp_plans_ending_at_18_are_censored_not_closed(fitter):
    f, c = fitter
    dob = c.referrals.set_index("child")["dob"]
    ended = c.cp_plans[c.cp_plans["end"].notna()]
    at18 = ended["end"] == ended["child"].map(dob) + pd.DateOffset(years=18)
    stepped = ended["child"].isin(c.cin_plans["child"])
    naive = stepped.mean()                       # what reading the birthday as `closed` sees
    fair = stepped[~at18].mean()                 # the step-down share among plans not cut at 18
    assert abs(fair - P_STEP) < 0.06 and naive < P_STEP - 0.08
    p = f.p["cp_plan"]["routes"]["step_down_cin"]["probability"]
    assert p == pytest.approx(fair, abs=0.04)
    # plan length: the birthday cuts do not make plans look shorter
    rf = f.route_fits["cp_plan"]
    for route in ("step_down_cin", "closed"):
        assert abs(rf.durations[route].median() - CP_DAYS) / CP_DAYS < 0.12, route
    assert "18th birthday" in f.log.frame().set_index("parameter").loc["cp_plan.routes", "note"]
