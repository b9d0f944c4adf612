"""Durations as data: the inverse-CDF samplers, conditioning on elapsed time, and validation.

Each sampler is driven by uniforms from a fixed-seed numpy generator; goodness of fit uses the
Kolmogorov-Smirnov test against the analytic (conditional) CDF at significance 0.001, with enough
samples that a 5% error in a scale parameter would be detected (checked in
`test_ks_detects_a_wrong_scale`)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from sim.distributions import (AgeBand, Duration, Empirical, Exponential, Fixed, Gamma, Lognormal, Weibull,
                               check_bands_cover, choose, cumulative, find_band)

N = 4000
ALPHA = 0.001

DISTS = {
    "exponential": Exponential(mean_days=120),
    "lognormal": Lognormal(median_days=300, sigma=1.1),
    "gamma": Gamma(shape=2.5, mean_days=200),
    "weibull": Weibull(shape=0.8, scale_days=250),
    "empirical": Empirical(times_days=[30, 100, 365, 730, 1500], survival=[0.9, 0.6, 0.3, 0.1, 0.0]),
}

SCIPY = {  # the same distributions in scipy, an independent reference
    "exponential": stats.expon(scale=120),
    "lognormal": stats.lognorm(s=1.1, scale=300),
    "gamma": stats.gamma(a=2.5, scale=200 / 2.5),
    "weibull": stats.weibull_min(c=0.8, scale=250),
}


def _uniforms(n=N, seed=1):
    return np.random.default_rng(seed).random(n)


def _conditional_cdf(d, e, scale=1.0):
    """CDF of the remaining time R = sT - e given sT > e."""
    f0 = d.cdf(e / scale)
    return lambda r: np.array([(d.cdf((e + x) / scale) - f0) / (1 - f0) if x > 0 else 0.0
                               for x in np.atleast_1d(r)])


@pytest.mark.parametrize("name", list(SCIPY))
def test_cdf_ppf_mean_median_agree_with_scipy(name):
    d, ref = DISTS[name], SCIPY[name]
    for t in (1.0, 50.0, 200.0, 800.0, 3000.0):
        assert d.cdf(t) == pytest.approx(ref.cdf(t), rel=1e-9, abs=1e-12)
        assert d.sf(t) == pytest.approx(ref.sf(t), rel=1e-9, abs=1e-12)
    for p in (0.01, 0.25, 0.5, 0.9, 0.999):
        assert d.ppf(p) == pytest.approx(ref.ppf(p), rel=1e-8)
    assert d.mean() == pytest.approx(ref.mean(), rel=1e-9)
    assert d.median() == pytest.approx(ref.median(), rel=1e-8)


def test_named_medians():
    assert Lognormal(median_days=180, sigma=0.8).median() == pytest.approx(180)
    assert Exponential(mean_days=100).median() == pytest.approx(100 * math.log(2))
    assert Weibull(shape=2, scale_days=100).median() == pytest.approx(100 * math.log(2) ** 0.5)
    assert Fixed(days=42).median() == 42
    assert Empirical(times_days=[10, 20], survival=[0.5, 0.0]).median() == pytest.approx(10)


@pytest.mark.parametrize("name", list(DISTS))
def test_ppf_cdf_round_trip(name):
    d = DISTS[name]
    for p in np.linspace(0.02, 0.98, 25):
        assert d.cdf(d.ppf(p)) == pytest.approx(p, abs=1e-9)


@pytest.mark.parametrize("name", list(DISTS))
def test_unconditional_samples_follow_the_cdf(name):
    d = DISTS[name]
    x = np.array([d.sample(u) for u in _uniforms()])
    assert (x >= 0).all()
    assert stats.kstest(x, lambda r: np.array([d.cdf(v) for v in np.atleast_1d(r)])).pvalue > ALPHA


@pytest.mark.parametrize("name", list(DISTS))
@pytest.mark.parametrize("elapsed", [20.0, 250.0, 700.0])
def test_remaining_time_given_elapsed_is_conditional_distribution(name, elapsed):
    """sample(u, e) has the distribution of T - e given T > e."""
    d = DISTS[name]
    r = np.array([d.sample(u, elapsed) for u in _uniforms(seed=2)])
    assert (r >= 0).all()
    assert stats.kstest(r, _conditional_cdf(d, elapsed)).pvalue > ALPHA


@pytest.mark.parametrize("name", ["lognormal", "gamma", "empirical"])
def test_scaled_remaining_time(name):
    """With scale s the duration is sT, and the remaining time is sT - e given sT > e."""
    d, e, s = DISTS[name], 150.0, 0.7
    r = np.array([d.sample(u, e, s) for u in _uniforms(seed=3)])
    assert stats.kstest(r, _conditional_cdf(d, e, s)).pvalue > ALPHA
    x = np.array([d.sample(u, 0.0, s) for u in _uniforms(seed=3)])
    assert stats.kstest(x / s, lambda v: np.array([d.cdf(t) for t in np.atleast_1d(v)])).pvalue > ALPHA


def test_ks_detects_a_wrong_scale():
    """Power check: the sample size used above rejects a 5% error in the mean."""
    d = DISTS["gamma"]
    wrong = Gamma(shape=2.5, mean_days=210)
    x = np.array([wrong.sample(u, 250.0) for u in _uniforms(seed=2)])
    assert stats.kstest(x, _conditional_cdf(d, 250.0)).pvalue < ALPHA


def test_exponential_is_memoryless():
    d = Exponential(mean_days=90)
    for u in (0.1, 0.5, 0.93):
        assert d.sample(u, 400.0) == pytest.approx(d.sample(u), rel=1e-9)


def test_conditional_sample_is_monotone_in_u():
    d = DISTS["lognormal"]
    us = np.linspace(0.001, 0.999, 200)
    r = [d.sample(u, 365.0) for u in us]
    assert all(b >= a for a, b in zip(r, r[1:]))


def test_beyond_support_ends_now():
    assert Fixed(days=30).sample(0.4, elapsed=45.0) == 0.0
    assert Fixed(days=30).sample(0.4, elapsed=10.0) == pytest.approx(20.0)
    emp = DISTS["empirical"]
    assert emp.sample(0.5, elapsed=2000.0) == 0.0


def test_empirical_survival_curve_is_reproduced():
    """The share of samples exceeding each listed time matches the survival curve (binomial 3.3 sd)."""
    d = DISTS["empirical"]
    x = np.array([d.sample(u) for u in _uniforms(n=20000, seed=4)])
    for t, s in zip(d.times_days, d.survival):
        sd = math.sqrt(max(s * (1 - s), 1e-12) / len(x))
        assert abs((x > t).mean() - s) <= 3.3 * sd + 1e-12, (t, s)


def test_empirical_with_time_zero_point_mass():
    d = Empirical(times_days=[0, 10, 20], survival=[0.8, 0.4, 0.0])  # 20% end at once
    assert d.cdf(0) == pytest.approx(0.2)
    x = np.array([d.sample(u) for u in _uniforms(n=20000, seed=5)])
    assert (x == 0).mean() == pytest.approx(0.2, abs=3.3 * math.sqrt(0.16 / 20000))
    assert d.mean() == pytest.approx(0.5 * 10 * (0.8 + 0.4) + 0.5 * 10 * 0.4)


def test_empirical_mean_matches_samples():
    d = DISTS["empirical"]
    x = np.array([d.sample(u) for u in _uniforms(n=20000, seed=6)])
    assert abs(x.mean() - d.mean()) <= 3.3 * x.std(ddof=1) / math.sqrt(len(x))


ADAPTER = TypeAdapter(Duration)


@pytest.mark.parametrize("bad", [
    {"dist": "exponential", "mean_days": 0},
    {"dist": "exponential", "mean_days": -5},
    {"dist": "lognormal", "median_days": -1, "sigma": 1},
    {"dist": "lognormal", "median_days": 10, "sigma": 0},
    {"dist": "gamma", "shape": -1, "mean_days": 10},
    {"dist": "weibull", "shape": 1, "scale_days": 0},
    {"dist": "fixed", "days": -2},
    {"dist": "lognormal", "median_days": 10, "sigma": 1, "mean_days": 3},  # unknown key
    {"dist": "pareto", "alpha": 2},  # unknown family
    {"dist": "empirical", "times_days": [10, 5], "survival": [0.5, 0.0]},
    {"dist": "empirical", "times_days": [10, 20], "survival": [0.5, 0.6]},
    {"dist": "empirical", "times_days": [10, 20], "survival": [0.5, 0.1]},
    {"dist": "empirical", "times_days": [10, 20, 30], "survival": [0.5, 0.0]},
    {"dist": "empirical", "times_days": [-1, 20], "survival": [0.5, 0.0]},
])
def test_bad_durations_are_rejected(bad):
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(bad)


def test_age_bands():
    bands = [AgeBand(from_age=0, to_age=5), AgeBand(from_age=5, to_age=18)]
    check_bands_cover(bands, "x")
    assert find_band(bands, 4.99) is bands[0]
    assert find_band(bands, 5.0) is bands[1]
    assert find_band(bands, 18.2) is bands[1]
    with pytest.raises(ValueError, match="gaps"):
        check_bands_cover([AgeBand(from_age=0, to_age=5), AgeBand(from_age=6, to_age=18)], "x")
    with pytest.raises(ValueError, match="0 to 18"):
        check_bands_cover([AgeBand(from_age=0, to_age=17)], "x")
    with pytest.raises(ValidationError):
        AgeBand(from_age=5, to_age=5)


def test_choose_with_cumulative_probabilities_has_the_right_frequencies():
    probs = {"a": 0.2, "b": 0.0, "c": 0.5, "d": 0.3}
    names, cum = cumulative(probs)
    u = _uniforms(n=20000, seed=7)
    picks = [choose(names, cum, x) for x in u]
    counts = np.array([picks.count(k) for k in probs])
    assert counts[1] == 0
    expected = np.array(list(probs.values())) * len(u)
    nz = expected > 0
    assert stats.chisquare(counts[nz], expected[nz]).pvalue > ALPHA
    assert choose(names, cum, 1.0 - 1e-16) == "d"


@pytest.mark.parametrize("name", list(DISTS))
def test_ppf_many_gives_the_same_numbers_as_ppf(name):
    """Screening times of new contacts are computed a block at a time (`ppf_many`); they must be
    the numbers `ppf` gives one by one, to the last digit, or common random numbers would break."""
    d = DISTS[name]
    us = np.concatenate([np.random.default_rng(5).random(5000), [1e-300, 1e-17, 0.5, 1.0 - 1e-17]])
    assert d.ppf_many(us) == [d.ppf(float(u)) for u in us]
    assert d.ppf_many(us[:0]) == []
