"""Survival analysis: Kaplan-Meier by hand, censored MLE recovery, censoring-aware medians,
Aalen-Johansen shares and the route model."""
from __future__ import annotations

import math

import numpy as np
import pytest

from calibration import survival as sv
from sim import distributions as sd


def test_kaplan_meier_matches_a_hand_computed_example():
    # times 1,2+,3,3,4+,5 (+ censored). At t=1: 6 at risk, 1 event -> 5/6.
    # t=3: 4 at risk (2+ left), 2 events -> 5/6 * 2/4 = 5/12. t=5: 1 at risk, 1 event -> 0.
    t = [1, 2, 3, 3, 4, 5]
    d = [1, 0, 1, 1, 0, 1]
    km = sv.kaplan_meier(t, d)
    assert list(km.times) == [1, 3, 5]
    assert list(km.at_risk) == [6, 4, 1]
    assert np.allclose(km.survival, [5 / 6, 5 / 12, 0.0])
    assert km.at(2.5)[0] == pytest.approx(5 / 6) and km.at(0.5)[0] == 1.0
    assert km.median() == 3
    # Greenwood: var log S(3) = 1/(6*5) + 2/(4*2)
    gw = 1 / 30 + 2 / 8
    s = 5 / 12
    se = math.sqrt(gw) / abs(math.log(s))
    lo = math.exp(-math.exp(math.log(-math.log(s)) + 1.959964 * se))
    assert km.lower[1] == pytest.approx(lo, rel=1e-4)
    assert km.lower[1] < s < km.upper[1]


def test_left_truncation_removes_cases_not_yet_at_risk():
    km = sv.kaplan_meier([2, 5, 6], [1, 1, 1], entry=[0, 3, 0])
    assert list(km.at_risk) == [2, 2, 1]  # the second case enters at 3


def _censored(rng, draw, n, cmax):
    T = draw(n)
    C = rng.uniform(0, cmax, n)
    return np.minimum(T, C), T <= C


@pytest.mark.parametrize("family,truth,draw", [
    ("lognormal", {"median_days": 200.0, "sigma": 0.8},
     lambda rng, n: np.exp(rng.normal(math.log(200), 0.8, n))),
    ("weibull", {"shape": 1.5, "scale_days": 300.0},
     lambda rng, n: 300 * rng.weibull(1.5, n)),
])
def test_censored_mle_recovers_known_parameters_within_3_standard_errors(family, truth, draw):
    rng = np.random.default_rng(20240601)
    t, d = _censored(rng, lambda n: draw(rng, n), 1500, 700)
    assert 0.3 < (~d).mean() < 0.7  # heavy censoring
    fit = sv.fit_parametric(t, d, family)
    for k, v in truth.items():
        assert abs(fit.params[k] - v) < 3 * fit.se[k], (k, fit.params[k], fit.se[k])
    dur = fit.to_duration()
    assert dur.median() == pytest.approx(fit.median(), rel=1e-3)


def test_aic_picks_the_true_family():
    rng = np.random.default_rng(5)
    t, d = _censored(rng, lambda n: np.exp(rng.normal(5, 1.0, n)), 3000, 800)
    assert sv.fit_best(t, d).best.family == "lognormal"


def test_censoring_aware_median_is_unbiased_where_the_closed_case_median_is_not():
    rng = np.random.default_rng(11)
    true_median = 300.0
    t, d = _censored(rng, lambda n: np.exp(rng.normal(math.log(true_median), 0.9, n)), 2000, 900)
    naive = float(np.median(t[d]))          # closed cases only: short ones are over-represented
    fit = sv.fit_best(t, d).best
    lo, hi = fit.median_ci()
    assert lo <= true_median <= hi
    assert naive < 0.8 * true_median        # badly biased
    km = sv.kaplan_meier(t, d)
    assert abs(km.median() - true_median) < 0.1 * true_median


def test_aalen_johansen_shares_sum_to_one_and_match_the_truth():
    rng = np.random.default_rng(3)
    n = 4000
    cause = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    T = np.where(cause == "a", rng.exponential(100, n), np.where(cause == "b", rng.exponential(400, n),
                                                                 rng.exponential(50, n)))
    C = rng.uniform(0, 3000, n)
    t = np.minimum(T, C)
    obs = np.where(T <= C, cause, None)
    shares = sv.exit_shares(t, obs, ["a", "b", "c"], n_boot=100)
    assert sum(v[0] for v in shares.values()) == pytest.approx(1.0)
    for k, p in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        v, lo, hi = shares[k]
        assert lo <= p <= hi, (k, v, lo, hi)
    # naive shares of ended cases under-count the slow cause b
    naive_b = (obs == "b").sum() / (obs != None).sum()  # noqa: E711
    aj = sv.aalen_johansen(t, obs, ["a", "b", "c"])
    assert aj.cif["b"][-1] > naive_b * (1 - aj.survival[-1]) - 1e-9


def test_route_model_recovers_probabilities_and_route_durations_with_a_cure_route():
    rng = np.random.default_rng(1)
    n = 2000
    r = rng.choice(["a", "b", "never"], n, p=[0.5, 0.3, 0.2])
    T = np.where(r == "a", np.exp(rng.normal(math.log(100), 0.5, n)),
                 np.where(r == "b", 400 * rng.weibull(1.5, n), np.inf))
    C = rng.uniform(0, 1500, n)
    t = np.minimum(T, C)
    obs = np.where(T <= C, r, None)
    rf = sv.fit_routes(t, obs, ["a", "b", "never"], cure_routes=["never"])
    for k, p in (("a", 0.5), ("b", 0.3), ("never", 0.2)):
        assert abs(rf.probabilities[k] - p) < 3 * rf.prob_se[k] + 0.005, (k, rf.probabilities[k], rf.prob_se[k])
    a = rf.durations["a"]
    assert abs(a.median() - 100) < 3 * (a.median_ci()[1] - a.median_ci()[0]) / 3.92 + 1
    assert abs(rf.durations["b"].median() - 400 * math.log(2) ** (1 / 1.5)) < 40
    assert sum(rf.probabilities.values()) == pytest.approx(1.0)


def test_route_model_keeps_a_fixed_duration_for_a_thin_route():
    rng = np.random.default_rng(2)
    t = np.concatenate([rng.exponential(100, 300), [50, 80, 120]])
    obs = np.array(["a"] * 300 + ["b"] * 3, dtype=object)
    fixed = sd.Lognormal(median_days=90, sigma=0.5)
    rf = sv.fit_routes(t, obs, ["a", "b"], fixed={"b": fixed})
    assert rf.fixed["b"] == fixed
    assert rf.probabilities["b"] == pytest.approx(3 / 303, abs=1e-3)


def test_exact_intervals():
    lo, hi = sv.binomial_ci(0, 10)
    assert lo == 0 and hi == pytest.approx(0.3085, abs=1e-3)
    lo, hi = sv.poisson_ci(10)
    assert lo == pytest.approx(4.795, abs=1e-3) and hi == pytest.approx(18.39, abs=1e-2)


def test_empirical_route_duration_is_chosen_for_a_bimodal_route_and_not_for_a_smooth_one():
    """A route whose lengths are a mix of short and long plans gets the empirical curve (its
    median then matches the truth, which no single family does); a lognormal route keeps its
    fitted family, because the gap stays under the bound."""
    rng = np.random.default_rng(5)
    n = 3000
    r = rng.choice(["bimodal", "smooth"], n, p=[0.5, 0.5])
    short, long_ = np.exp(rng.normal(math.log(90), 0.25, n)), np.exp(rng.normal(math.log(420), 0.25, n))
    T = np.where(r == "smooth", np.exp(rng.normal(math.log(200), 0.6, n)),
                 np.where(rng.random(n) < 0.45, short, long_))
    C = rng.uniform(200, 2000, n)
    t = np.minimum(T, C)
    obs = np.where(T <= C, r, None)
    rf = sv.fit_routes(t, obs, ["bimodal", "smooth"])
    bi = sv.empirical_route(t, obs, rf, "bimodal")
    sm = sv.empirical_route(t, obs, rf, "smooth")
    assert bi.chosen and bi.gap > bi.critical
    assert not sm.chosen and sm.gap <= sm.critical
    true_median = float(np.median(T[r == "bimodal"]))
    emp_median = bi.duration.median()
    assert abs(emp_median - true_median) < abs(rf.durations["bimodal"].median() - true_median)
    assert abs(emp_median / true_median - 1) < 0.1
    # a valid duration: survival falls from 1 to 0
    s = [bi.duration.sf(x) for x in (1.0, 100.0, 300.0, 1000.0, 5000.0)]
    assert s == sorted(s, reverse=True) and s[0] > 0.99 and s[-1] < 1e-4


def test_empirical_route_with_every_plan_the_same_length_keeps_the_fitted_family():
    """Hand-made data where every ended plan on a route lasts the same time: there is no curve to
    take from the data (it used to raise a pydantic ValidationError). The fitted family is kept,
    the note says why, and that family is a valid duration at the common length."""
    r = np.array(["a"] * 150 + ["b"] * 150, dtype=object)
    t = np.where(r == "a", 180.0, 90.0)
    rf = sv.fit_routes(t, r, ["a", "b"])
    for route, days in (("a", 180), ("b", 90)):
        e = sv.empirical_route(t, r, rf, route)
        assert not e.chosen and e.duration is None
        assert f"lasts {days} days" in e.note() and "fitted family kept" in e.note()
        assert rf.durations[route].to_duration().median() == pytest.approx(days, rel=1e-3)


def test_empirical_route_never_raises_on_a_curve_the_schema_rejects(monkeypatch):
    """Whatever the data, a curve the schema refuses falls back to the fitted family (no traceback)."""
    rng = np.random.default_rng(2)
    t = rng.lognormal(math.log(200), 0.6, 400)
    r = np.array(["a"] * 400, dtype=object)
    rf = sv.fit_routes(t, r, ["a"])

    real = sd.Empirical

    def refuse(**kw):
        return real(times_days=[1.0], survival=[0.0])   # raises pydantic's ValidationError
    monkeypatch.setattr(sv.sd, "Empirical", refuse)
    e = sv.empirical_route(t, r, rf, "a")
    assert not e.chosen and e.duration is None and "not a valid duration" in e.note()
