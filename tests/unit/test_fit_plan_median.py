"""The summary's plan medians are the route model's, as the model draws plan lengths.

`cp_plan_median_days` (and `cin_plan_median_days`) used to be the median of one family fitted to
all plans. The model does not draw from that curve: it draws a route with its fitted probability,
then that route's duration. When the routes' lengths differ (short plans that step down, long
ones that close), one family cannot match the mix and its median is off. Hand-made census: every
child goes referral -> assessment -> S47 -> CP plan; 40% of plans step down to a CIN plan on the
day they end after about 60 days, the rest close after about 400 days; many are still open at
the extract. The true median of plan length solves 0.4 S_60(t) + 0.6 S_400(t) = 1/2.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from calibration import survival as sv
from sim import distributions as sd

EXTRACT = pd.Timestamp("2022-03-31")
WINDOW = pd.Timestamp("2018-04-01")
P_STEP, SHORT, LONG, SIGMA = 0.40, 60.0, 400.0, 0.3
N = 900


def _true_median() -> float:
    def sf(t):
        return (P_STEP * stats.norm.sf(math.log(t / SHORT) / SIGMA)
                + (1 - P_STEP) * stats.norm.sf(math.log(t / LONG) / SIGMA))
    return float(optimize.brentq(lambda t: sf(t) - 0.5, 1, 5000))


def _census(h, seed: int = 5):
    rng = np.random.default_rng(seed)
    rows = ref, ass, s47, cin, cpp = [], [], [], [], []
    # an early closed referral sets the census window's start (its earliest closure)
    ref.append(("C_first", pd.Timestamp("2010-01-01"), WINDOW - pd.Timedelta(days=3), "1", "N1", WINDOW, "RC8", True))
    span = (EXTRACT - WINDOW).days - 30
    for i in range(N):
        child = f"C{i}"
        referral = WINDOW + pd.Timedelta(days=int(rng.integers(0, span)))
        dob = referral - pd.Timedelta(days=int(rng.integers(365, 3650)))   # far from 18
        ast, auth = referral + pd.Timedelta(days=1), referral + pd.Timedelta(days=20)
        icpc = auth + pd.Timedelta(days=10)
        ass.append((child, referral, ast, auth))
        s47.append((child, referral, auth, icpc, False))
        step = rng.random() < P_STEP
        days = max(1, int((SHORT if step else LONG) * math.exp(SIGMA * rng.standard_normal())))
        end = icpc + pd.Timedelta(days=days)
        closure = h.cp_plan(rows, child, referral, icpc, end, step, EXTRACT)
        h.referral(rows, child, dob, referral, closure, EXTRACT)
    return h.build(ref, ass, cin, s47, cpp, EXTRACT)


@pytest.fixture(scope="module")
def fitter(hand_made_cin):
    return hand_made_cin.fit(_census(hand_made_cin), EXTRACT)


def _row(f, measure):
    rows = [r for r in f.summary if r["measure"] == measure]
    assert len(rows) == 1, measure
    return rows[0]


def test_cp_plan_median_is_the_route_models(fitter):
    f = fitter
    true = _true_median()
    row = _row(f, "cp_plan_median_days")
    # the model's own curve: the written routes' probabilities and durations
    routes = f.p["cp_plan"]["routes"]
    parts = [(r["probability"], _duration(r["duration"])) for r in routes.values() if r["probability"] > 0]
    assert row["value"] == pytest.approx(sv.route_mixture_median(parts), rel=1e-6)
    assert abs(row["value"] - true) / true < 0.06, (row["value"], true)
    assert row["low"] <= row["value"] <= row["high"]
    assert "route model" in row["note"]


def test_the_single_family_median_is_kept_under_a_new_name_and_is_off(fitter):
    f = fitter
    true = _true_median()
    single = _row(f, "cp_plan_median_days_single_family")
    model = _row(f, "cp_plan_median_days")
    assert single["value"] == pytest.approx(f.curves["cp_plan"]["fit"].median())
    # one family cannot match 60- and 400-day plans: the route model is much closer
    assert abs(single["value"] - true) > 3 * abs(model["value"] - true)
    assert "cp_plan_median_days" in single["note"]
    # CIN plans get both rows too (here the step-down CIN plans never end: neither can be estimated)
    for m in ("cin_plan_median_days", "cin_plan_median_days_single_family"):
        assert _row(f, m)["source"] == "not estimable"


def _duration(d: dict):
    from pydantic import TypeAdapter
    return TypeAdapter(sd.Duration).validate_python(d)


def test_route_mixture_median_by_hand():
    # two exponentials, means 10 and 1000, half each: 0.5 e^{-t/10} + 0.5 e^{-t/1000} = 0.5
    parts = [(0.5, sd.Exponential(mean_days=10.0)), (0.5, sd.Exponential(mean_days=1000.0))]
    t = sv.route_mixture_median(parts)
    assert 0.5 * math.exp(-t / 10) + 0.5 * math.exp(-t / 1000) == pytest.approx(0.5, abs=1e-6)
    # a route that never ends (no duration) and holds half the cases or more: no median
    assert math.isnan(sv.route_mixture_median([(0.5, None), (0.5, sd.Exponential(mean_days=10.0))]))
    # probabilities are renormalised; zero-probability routes are ignored
    one = sv.route_mixture_median([(0.3, sd.Exponential(mean_days=100.0)), (0.0, None)])
    assert one == pytest.approx(100.0 * math.log(2), rel=1e-6)


def test_the_report_draws_the_route_model(fitter):
    from calibration.report import _km_chart
    assert _km_chart(fitter.curves["cp_plan"])
