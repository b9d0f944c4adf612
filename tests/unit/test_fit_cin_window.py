"""CIN census items that started before the census window are left-truncated and must not be fitted.

A CIN census holds every CIN episode open at any time in its window. An episode referred before
the window is there only because it was still open when the window began, which favours long
episodes: those with a CP plan, and those of children who went into care (the care's own episode
stays open until the care ends). Its assessments, S47 enquiries and plans are a length-biased
sample. On the shipped example data (fit to 31 March 2021) they took the S47 -> CP plan share
from 0.363 to 0.395 and kept 231 long CP plans (median 335 days against 263) in the plan routes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


EXTRACT = pd.Timestamp("2022-03-31")
WINDOW = pd.Timestamp("2019-04-01")   # the census covers 1 April 2019 to the extract
P_CP = 0.30                            # S47 enquiries that lead to a CP plan, in the window
CP_DAYS = 200                          # median length of CP plans in the window (lognormal, sigma 0.3)


def _census(h, n_in: int = 600, n_before: int = 150, seed: int = 3):
    rng = np.random.default_rng(seed)
    ref, ass, s47, cin, cpp = [], [], [], [], []

    def episode(child, referral, to_cp, cp_days):
        ast = referral + pd.Timedelta(days=1)
        auth = ast + pd.Timedelta(days=25)
        s = ast + pd.Timedelta(days=3)
        icpc = s + pd.Timedelta(days=12)
        ass.append((child, referral, ast, auth))
        if to_cp:
            s47.append((child, referral, s, icpc, False))
            end = icpc + pd.Timedelta(days=cp_days)
            cpp.append((child, referral, icpc, end if end <= EXTRACT else pd.NaT, 0))
            closure = end + pd.Timedelta(days=10)
        else:
            s47.append((child, referral, s, pd.NaT, True))
            closure = s + pd.Timedelta(days=20)
        ref.append((child, pd.Timestamp("2010-01-01"), referral, "1", "N1",
                    closure if closure <= EXTRACT else pd.NaT, "RC7" if closure <= EXTRACT else pd.NA, False))

    span = (EXTRACT - WINDOW).days - 300
    for i in range(n_in):        # referred in the window: seen from the start, whatever happens
        episode(f"A{i}", WINDOW + pd.Timedelta(days=int(rng.integers(0, span))), rng.random() < P_CP,
                int(CP_DAYS * np.exp(0.3 * rng.standard_normal())))
    for i in range(n_before):    # referred before it and still open at its start: all long CP plans
        referral = WINDOW - pd.Timedelta(days=int(rng.integers(30, 700)))
        days = max(int(1100 * np.exp(0.3 * rng.standard_normal())), (WINDOW - referral).days + 30)
        episode(f"B{i}", referral, True, days)
    return h.build(ref, ass, cin, s47, cpp, EXTRACT)


@pytest.fixture(scope="module")
def fitter(hand_made_cin):
    c = _census(hand_made_cin)
    return hand_made_cin.fit(c, EXTRACT), c


def test_the_census_window_starts_at_the_earliest_closure(fitter):
    f, c = fitter
    assert c.referrals["referral_date"].min() < WINDOW - pd.Timedelta(days=300)
    assert f.cin_start == c.referrals["closure_date"].min()
    assert WINDOW <= f.cin_start <= WINDOW + pd.Timedelta(days=60)


def test_s47_outcomes_use_only_enquiries_started_in_the_window(fitter):
    f, c = fitter
    in_window = c.s47[c.s47["start"] >= c.referrals["closure_date"].min()]
    p_data = in_window["icpc_date"].notna().mean()          # the share to recover (about P_CP)
    assert abs(p_data - P_CP) < 0.06
    assert f.p["s47"]["outcomes"]["cp"] == pytest.approx(p_data, abs=0.005)
    note = f.log.frame().set_index("parameter").loc["s47.outcomes", "note"]
    assert "before" in note


def test_cp_plan_durations_use_only_plans_started_in_the_window(fitter):
    f, _ = fitter
    # plans that started in the window last CP_DAYS (median); the 150 long ones from before it are left out
    assert f.p["cp_plan"]["routes"]["closed"]["probability"] == pytest.approx(1.0)
    fit = f.route_fits["cp_plan"].durations["closed"]
    assert abs(fit.median() - CP_DAYS) / CP_DAYS < 0.08
