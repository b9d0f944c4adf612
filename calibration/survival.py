"""Survival analysis for calibration, written with numpy and scipy only.

Durations in activity data are long-tailed and right-censored: a plan or period of care still
open at the extract date tells us only that it lasted at least so long. Everything here uses the
censored cases properly:

- `kaplan_meier`: the product-limit estimate of survival with Greenwood confidence intervals
  (on the log(-log) scale, which keeps them inside [0, 1]); optional left truncation (delayed
  entry) and case weights.
- `fit_parametric` / `fit_best`: censored maximum likelihood for exponential, lognormal, gamma and
  Weibull durations (density for ended cases, survival for censored ones), standard errors from
  the observed information, model choice by AIC. `ParametricFit.to_duration()` gives the
  `sim.distributions` object the parameter schema stores.
- `aalen_johansen`: cumulative incidence of each way of ending (competing risks) with censoring;
  `exit_shares` turns it into the share of cases that end each way, with a bootstrap interval.
- `fit_routes`: the model's route structure, "a case ends by route r with probability p_r after
  a duration T_r ~ F_r", fitted by maximum likelihood with the EM algorithm (a parametric mixture
  model for competing risks, Larson & Dinse 1985). A case that ended by route r contributes
  p_r f_r(t); a case censored at c contributes sum_r p_r S_r(c), so its weight is shared among the
  routes in proportion to p_r S_r(c): long routes get most of the long-open cases. A route
  without a duration (a "cure" route such as "stays until 18" or "never comes back") has
  S(c) = 1. Each route's duration is a weighted censored MLE in the M step.

All durations are in days. Durations of 0 days (same-day closures) are moved to half a day so
that every family has a finite density there.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from scipy import optimize, special, stats

from sim import distributions as sd

FAMILIES = ("exponential", "lognormal", "gamma", "weibull")
MIN_DAYS = 0.5


# ------------------------------------------------------------------------------ Kaplan-Meier
@dataclass
class KaplanMeier:
    """Survival just after each distinct event time: S(t) for t in [times[i], times[i+1])."""

    times: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    n: float
    n_events: float

    def at(self, t) -> np.ndarray:
        """S(t) (right-continuous step function; 1 before the first event)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        i = np.searchsorted(self.times, t, side="right") - 1
        return np.where(i >= 0, self.survival[np.clip(i, 0, None)], 1.0)

    def ci_at(self, t) -> tuple[np.ndarray, np.ndarray]:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        i = np.searchsorted(self.times, t, side="right") - 1
        ic = np.clip(i, 0, None)
        return np.where(i >= 0, self.lower[ic], 1.0), np.where(i >= 0, self.upper[ic], 1.0)

    def quantile_time(self, p: float = 0.5, curve: Optional[np.ndarray] = None) -> float:
        """First time the curve falls to 1 - p or below (NaN if it never does)."""
        s = self.survival if curve is None else curve
        hit = np.nonzero(s <= 1.0 - p + 1e-12)[0]
        return float(self.times[hit[0]]) if len(hit) else float("nan")

    def median(self) -> float:
        return self.quantile_time(0.5)


def kaplan_meier(durations, observed, entry=None, weights=None, alpha: float = 0.05) -> KaplanMeier:
    """Product-limit estimate with Greenwood intervals (log(-log) transform).

    `entry` (optional) gives left-truncation times: a case is at risk only after its entry time.
    `weights` (optional) weights cases (Greenwood then uses the weighted counts).
    """
    t = np.asarray(durations, dtype=float)
    d = np.asarray(observed, dtype=bool)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    e = np.zeros_like(t) if entry is None else np.asarray(entry, dtype=float)
    if len(t) != len(d) or len(t) != len(w):
        raise ValueError("durations, observed and weights must have the same length")
    ok = np.isfinite(t) & (w > 0)
    t, d, w, e = t[ok], d[ok], w[ok], e[ok]
    times = np.unique(t[d])
    if len(times) == 0:
        z = np.zeros(0)
        return KaplanMeier(z, z, z, z, z, z, float(w.sum()), 0.0)
    # events at each time; at risk = entered before t and still there at t
    ev = np.bincount(np.searchsorted(times, t[d]), weights=w[d], minlength=len(times))
    ts, tsw = np.sort(t), w[np.argsort(t)]
    cum_exit = np.concatenate([[0.0], np.cumsum(tsw)])
    left_before = cum_exit[np.searchsorted(ts, times, side="left")]  # duration < time
    if entry is None:
        at_risk = w.sum() - left_before
    else:
        es, esw = np.sort(e), w[np.argsort(e)]
        cum_entry = np.concatenate([[0.0], np.cumsum(esw)])
        entered = cum_entry[np.searchsorted(es, times, side="left")]  # entry < time
        at_risk = entered - left_before
    at_risk = np.maximum(at_risk, 1e-12)
    frac = np.clip(1.0 - ev / at_risk, 0.0, 1.0)
    surv = np.cumprod(frac)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(np.where(at_risk > ev, ev / (at_risk * (at_risk - ev)), 0.0))
        z = stats.norm.ppf(1 - alpha / 2)
        logs = np.log(surv)
        se = np.sqrt(gw) / np.abs(logs)
        lo = np.exp(-np.exp(np.log(-logs) + z * se))
        hi = np.exp(-np.exp(np.log(-logs) - z * se))
    lo = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, lo))
    hi = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, hi))
    return KaplanMeier(times, surv, np.nan_to_num(lo), np.nan_to_num(hi, nan=1.0), at_risk, ev,
                       float(w.sum()), float(w[d].sum()))


# ------------------------------------------------------------------- parametric censored MLE
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _logpdf(family: str, theta, t: np.ndarray) -> np.ndarray:
    if family == "exponential":
        rate = math.exp(-theta[0])
        return math.log(rate) - rate * t
    if family == "lognormal":
        mu, s = theta[0], math.exp(theta[1])
        lt = np.log(t)
        z = (lt - mu) / s
        return -0.5 * z * z - _LOG_SQRT_2PI - math.log(s) - lt
    if family == "gamma":
        k, scale = math.exp(theta[0]), math.exp(theta[1])
        return (k - 1) * np.log(t) - t / scale - special.gammaln(k) - k * math.log(scale)
    if family == "weibull":
        k, lam = math.exp(theta[0]), math.exp(theta[1])
        x = t / lam
        return math.log(k / lam) + (k - 1) * np.log(x) - x**k
    raise ValueError(f"unknown family {family!r}")


def _logsf(family: str, theta, t: np.ndarray) -> np.ndarray:
    if family == "exponential":
        return -math.exp(-theta[0]) * t
    if family == "lognormal":
        return special.log_ndtr(-(np.log(t) - theta[0]) / math.exp(theta[1]))
    if family == "gamma":
        k, scale = math.exp(theta[0]), math.exp(theta[1])
        with np.errstate(divide="ignore"):
            return np.log(special.gammaincc(k, t / scale))
    if family == "weibull":
        return -((t / math.exp(theta[1])) ** math.exp(theta[0]))
    raise ValueError(f"unknown family {family!r}")


def _logpdf_logsf(family: str, theta, t: np.ndarray):
    """log f(t) and log S(t) for a family at transformed parameters theta."""
    return _logpdf(family, theta, t), _logsf(family, theta, t)


def _start(family: str, t: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Starting values from the weighted log-durations (all cases, a deliberate underestimate)."""
    lt = np.log(t)
    m = float(np.average(lt, weights=w))
    s = float(np.sqrt(max(np.average((lt - m) ** 2, weights=w), 0.01)))
    total_time = float((w * t).sum())
    events = float((w * d).sum())
    if family == "exponential":
        return np.array([math.log(total_time / max(events, 0.5))])
    if family == "lognormal":
        return np.array([m + 0.5 * s, math.log(s)])
    if family == "gamma":
        k = max(1.0 / (s * s), 0.05)
        return np.array([math.log(k), m + 0.3 * s - math.log(k)])
    k = max(1.2 / s, 0.1)
    return np.array([math.log(k), m + 0.6 * s])


def _negll(theta, family, t, d, w):
    if np.any(np.abs(theta) > 50):
        return 1e300
    with np.errstate(all="ignore"):
        v = float(np.dot(w[d], _logpdf(family, theta, t[d])))
        if (~d).any():
            v += float(np.dot(w[~d], _logsf(family, theta, t[~d])))
    return -v if np.isfinite(v) else 1e300


def _hessian(f, x, h=1e-4):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h, h
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
            H[i, j] = H[j, i] = v
    return H


@dataclass
class ParametricFit:
    """A censored maximum-likelihood fit of one family (durations in days)."""

    family: str
    theta: np.ndarray                # transformed parameters (logs), where the covariance lives
    cov: Optional[np.ndarray]        # covariance of theta (None if the information was singular)
    loglik: float
    n: float                         # cases (sum of weights)
    n_events: float
    converged: bool = True

    @property
    def k(self) -> int:
        return len(self.theta)

    @property
    def aic(self) -> float:
        return 2 * self.k - 2 * self.loglik

    @property
    def params(self) -> dict[str, float]:
        th = self.theta
        if self.family == "exponential":
            return {"mean_days": float(math.exp(th[0]))}
        if self.family == "lognormal":
            return {"median_days": float(math.exp(th[0])), "sigma": float(math.exp(th[1]))}
        if self.family == "gamma":
            k, scale = math.exp(th[0]), math.exp(th[1])
            return {"shape": float(k), "mean_days": float(k * scale)}
        return {"shape": float(math.exp(th[0])), "scale_days": float(math.exp(th[1]))}

    @property
    def se(self) -> dict[str, float]:
        """Standard errors of the natural parameters (delta method)."""
        out = {}
        for name in self.params:
            g = self._grad(lambda th, n=name: self._params_at(th)[n])
            out[name] = float(math.sqrt(max(g @ self.cov @ g, 0.0))) if self.cov is not None else float("nan")
        return out

    def _params_at(self, theta) -> dict[str, float]:
        return ParametricFit(self.family, np.asarray(theta, float), None, 0, 0, 0).params

    def to_duration(self):
        """The `sim.distributions` object for the parameter schema (rounded sensibly)."""
        p = {k: float(f"{v:.4g}") for k, v in self.params.items()}
        cls = {"exponential": sd.Exponential, "lognormal": sd.Lognormal, "gamma": sd.Gamma,
               "weibull": sd.Weibull}[self.family]
        return cls(**p)

    def sf(self, t) -> np.ndarray:
        t = np.maximum(np.asarray(t, dtype=float), 1e-9)
        return np.exp(_logsf(self.family, self.theta, t))

    def cdf(self, t) -> np.ndarray:
        return 1.0 - self.sf(t)

    def _quantile_at(self, theta, p: float) -> float:
        th = np.asarray(theta, float)
        if self.family == "exponential":
            return math.exp(th[0]) * -math.log1p(-p)
        if self.family == "lognormal":
            return math.exp(th[0] + math.exp(th[1]) * float(special.ndtri(p)))
        if self.family == "gamma":
            return float(special.gammaincinv(math.exp(th[0]), p)) * math.exp(th[1])
        return math.exp(th[1]) * (-math.log1p(-p)) ** (1.0 / math.exp(th[0]))

    def quantile(self, p: float) -> float:
        return self._quantile_at(self.theta, p)

    def median(self) -> float:
        return self.quantile(0.5)

    def _grad(self, f, h=1e-5):
        g = np.zeros(self.k)
        for i in range(self.k):
            e = np.zeros(self.k)
            e[i] = h
            g[i] = (f(self.theta + e) - f(self.theta - e)) / (2 * h)
        return g

    def median_ci(self, alpha: float = 0.05) -> tuple[float, float]:
        """Delta-method interval for the median, on the log scale."""
        if self.cov is None:
            return float("nan"), float("nan")
        g = self._grad(lambda th: math.log(self._quantile_at(th, 0.5)))
        se = math.sqrt(max(g @ self.cov @ g, 0.0))
        z = stats.norm.ppf(1 - alpha / 2)
        m = self.median()
        return m * math.exp(-z * se), m * math.exp(z * se)

    def describe(self) -> str:
        ps = ", ".join(f"{k}={v:.3g}" for k, v in self.params.items())
        return f"{self.family}({ps}), median {self.median():.0f} days, AIC {self.aic:.1f}"


def _clean(durations, observed, weights):
    t = np.asarray(durations, dtype=float)
    d = np.asarray(observed, dtype=bool)
    w = np.ones_like(t) if weights is None else np.asarray(weights, dtype=float)
    ok = np.isfinite(t) & (t >= 0) & (w > 0)
    return np.maximum(t[ok], MIN_DAYS), d[ok], w[ok]


def fit_parametric(durations, observed, family: str, weights=None, start=None, se: bool = True) -> ParametricFit:
    """Censored (weighted) maximum likelihood for one family.

    With `start` (e.g. the previous EM step) only a quasi-Newton polish is run; `se=False` skips
    the observed information (no covariance, no intervals).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r} (expected one of {', '.join(FAMILIES)})")
    t, d, w = _clean(durations, observed, weights)
    if (w * d).sum() <= 0:
        raise ValueError("no ended cases: a duration cannot be fitted")
    f = lambda th: _negll(th, family, t, d, w)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if start is None:
            res = optimize.minimize(f, _start(family, t, d, w), method="Nelder-Mead",
                                    options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000, "maxfev": 8000})
            x0, ok = res.x, res.success
        else:
            x0, ok = np.asarray(start, float), True
        res2 = optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-6})
        x = res2.x if res2.fun <= f(x0) else x0
        cov = None
        if se:
            try:
                H = _hessian(f, x)
                if np.all(np.isfinite(H)):
                    c = np.linalg.inv(H)
                    if np.all(np.diag(c) > 0):
                        cov = c
            except np.linalg.LinAlgError:
                cov = None
    return ParametricFit(family, np.asarray(x, float), cov, -float(f(x)), float(w.sum()),
                         float((w * d).sum()), bool(ok or res2.success))


@dataclass
class BestFit:
    best: ParametricFit
    fits: dict[str, ParametricFit]

    def table(self) -> list[dict]:
        return [{"family": f.family, "aic": f.aic, "loglik": f.loglik, "median_days": f.median(),
                 **{k: v for k, v in f.params.items()}} for f in sorted(self.fits.values(), key=lambda f: f.aic)]


def fit_best(durations, observed, weights=None, families: Sequence[str] = FAMILIES) -> BestFit:
    """Fit each family and keep the one with the lowest AIC."""
    fits = {}
    for fam in families:
        try:
            fits[fam] = fit_parametric(durations, observed, fam, weights)
        except (ValueError, FloatingPointError, OverflowError):
            continue
    fits = {k: v for k, v in fits.items() if np.isfinite(v.loglik)}
    if not fits:
        raise ValueError("no family could be fitted")
    return BestFit(min(fits.values(), key=lambda f: f.aic), fits)


# ------------------------------------------------------------------ competing risks (AJ)
def _labels(values) -> np.ndarray:
    """Cause labels as strings, "" for censored (None, NaN, pd.NA or "")."""
    import pandas as pd

    return np.array(["" if (x is None or (not isinstance(x, str) and pd.isna(x))) else str(x) for x in values],
                    dtype=object)


@dataclass
class CumulativeIncidence:
    times: np.ndarray
    causes: tuple[str, ...]
    cif: dict[str, np.ndarray]       # cumulative incidence of each cause just after each time
    survival: np.ndarray             # overall KM survival just after each time

    def at(self, cause: str, t) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        i = np.searchsorted(self.times, t, side="right") - 1
        return np.where(i >= 0, self.cif[cause][np.clip(i, 0, None)], 0.0)

    def final(self) -> dict[str, float]:
        return {c: float(v[-1]) if len(v) else 0.0 for c, v in self.cif.items()}


def aalen_johansen(durations, causes, causes_order: Optional[Sequence[str]] = None) -> CumulativeIncidence:
    """Cumulative incidence of each cause: CIF_k(t) = sum over event times s <= t of
    S(s-) d_k(s) / n(s). `causes` holds the way each case ended, None/NaN/"" for censored."""
    t = np.asarray(durations, dtype=float)
    c = _labels(causes)
    names = tuple(causes_order) if causes_order is not None else tuple(sorted(set(c) - {""}))
    observed = c != ""
    times = np.unique(t[observed])
    n_at = len(t) - np.searchsorted(np.sort(t), times, side="left")
    idx = np.searchsorted(times, t[observed])
    d_all = np.bincount(idx, minlength=len(times)).astype(float)
    surv = np.cumprod(1.0 - d_all / np.maximum(n_at, 1))
    s_before = np.concatenate([[1.0], surv[:-1]])
    cif = {}
    for k in names:
        dk = np.bincount(idx[c[observed] == k], minlength=len(times)).astype(float)
        cif[k] = np.cumsum(s_before * dk / np.maximum(n_at, 1))
    return CumulativeIncidence(times, names, cif, surv)


def exit_shares(durations, causes, causes_order: Sequence[str], horizon: Optional[float] = None,
                n_boot: int = 200, seed: int = 1, alpha: float = 0.05) -> dict[str, tuple[float, float, float]]:
    """Share of cases ending each way: CIF_k at the horizon (default: the last event time) over
    the sum of all CIFs there, so the shares of ended cases sum to 1. Percentile bootstrap
    interval (cases resampled). Returns {cause: (share, low, high)}."""
    t = np.asarray(durations, dtype=float)
    c = np.asarray(list(causes), dtype=object)

    def shares(tt, cc):
        aj = aalen_johansen(tt, cc, causes_order)
        if horizon is None:
            f = aj.final()
        else:
            f = {k: float(aj.at(k, horizon)[0]) for k in causes_order}
        tot = sum(f.values())
        return np.array([f[k] / tot if tot > 0 else np.nan for k in causes_order])

    point = shares(t, c)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot if len(t) > 1 else 0):
        i = rng.integers(0, len(t), len(t))
        boots.append(shares(t[i], c[i]))
    boots = np.array(boots) if boots else np.full((1, len(causes_order)), np.nan)
    # a share no resample could give (no case ended in any of them: tiny data) has no interval
    lo, hi = np.full(len(causes_order), np.nan), np.full(len(causes_order), np.nan)
    some = ~np.isnan(boots).all(axis=0)
    if some.any():
        lo[some] = np.nanpercentile(boots[:, some], 100 * alpha / 2, axis=0)
        hi[some] = np.nanpercentile(boots[:, some], 100 * (1 - alpha / 2), axis=0)
    return {k: (float(point[i]), float(lo[i]), float(hi[i])) for i, k in enumerate(causes_order)}


# ----------------------------------------------------------------------------- route model
@dataclass
class RouteFit:
    """The fitted route model: probabilities, and a duration fit per route (None = cure route,
    or a duration kept fixed from outside, in `fixed`)."""

    probabilities: dict[str, float]
    durations: dict[str, Optional[ParametricFit]]
    fixed: dict[str, object] = field(default_factory=dict)   # route -> sim.distributions object
    n: int = 0
    n_events: dict[str, int] = field(default_factory=dict)
    iterations: int = 0
    loglik: float = float("nan")
    prob_se: dict[str, float] = field(default_factory=dict)

    def route_sf(self, route: str, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if route in self.fixed:
            dist = self.fixed[route]
            return np.array([dist.sf(float(x)) for x in np.atleast_1d(t)])
        f = self.durations.get(route)
        if f is None:
            return np.ones_like(np.atleast_1d(t), dtype=float)
        return f.sf(t)

    def sf(self, t) -> np.ndarray:
        """Survival of the whole case: sum_r p_r S_r(t)."""
        return sum(p * self.route_sf(r, t) for r, p in self.probabilities.items())

    def cif(self, route: str, t) -> np.ndarray:
        return self.probabilities[route] * (1.0 - self.route_sf(route, t))

    def median(self) -> float:
        """Median of the overall duration (NaN if cure routes keep it above one half)."""
        if self.sf(1e7) > 0.5:
            return float("nan")
        return float(optimize.brentq(lambda x: float(self.sf(x)) - 0.5, 1e-6, 1e7))


def fit_routes(durations, routes, route_names: Sequence[str], cure_routes: Sequence[str] = (),
               fixed: Optional[dict] = None, family: Optional[str] = None, min_events: int = 10,
               max_iter: int = 8, tol: float = 1e-6, start_probs: Optional[dict] = None) -> RouteFit:
    """EM fit of the route model.

    `routes`: the route each case ended by (None / "" for censored). A case whose end is
    "censored-like" (e.g. turned 18) should be passed as censored at that time. Routes in
    `cure_routes` have no duration (S = 1). Routes with fewer than `min_events` observed endings
    and a distribution in `fixed` keep that distribution; otherwise their duration family is
    chosen by AIC on the first pass (or `family` if given) and refitted in each M step.
    """
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    r = _labels(routes)
    names = list(route_names)
    unknown = set(r) - set(names) - {""}
    if unknown:
        raise ValueError(f"cases ended by routes not in the model: {sorted(unknown)}")
    n = len(t)
    fixed = dict(fixed or {})
    n_events = {k: int((r == k).sum()) for k in names}
    fixed_here = {k: fixed[k] for k in names if k in fixed and n_events[k] < min_events and k not in cure_routes}
    free = [k for k in names if k not in cure_routes and k not in fixed_here]
    for k in free:
        if n_events[k] == 0:
            raise ValueError(f"route {k!r} has no ended cases and no fixed duration")
    censored = r == ""
    # start: Aalen-Johansen shares (for cure routes, the censored share at the end)
    if start_probs:
        p = {k: max(start_probs.get(k, 0.0), 1e-3) for k in names}
    else:
        aj = aalen_johansen(t, r, names).final()
        p = {k: max(aj[k], 1e-3) for k in names}
        if cure_routes:
            left = max(1.0 - sum(aj.values()), 0.05)
            for k in cure_routes:
                p[k] = max(p[k], left / len(cure_routes))
    tot = sum(p.values())
    p = {k: v / tot for k, v in p.items()}
    families = {k: family for k in free}
    fits: dict[str, Optional[ParametricFit]] = {k: None for k in names}
    # first pass: each free route's family and start from its ended cases alone (too short, since
    # long cases are still open; the EM steps below correct that)
    for k in free:
        obs = r == k
        if family is None:
            bf = fit_best(t[obs], np.ones(obs.sum(), bool))
            fits[k], families[k] = bf.best, bf.best.family
        else:
            fits[k] = fit_parametric(t[obs], np.ones(obs.sum(), bool), family)

    def route_sf(k, tt):
        if k in cure_routes:
            return np.ones_like(tt)
        if k in fixed_here:
            return np.array([fixed_here[k].sf(float(x)) for x in tt])
        return fits[k].sf(tt)

    def route_logpdf(k, tt):
        if k in fixed_here:
            dist = fixed_here[k]
            h = 1e-3
            return np.log(np.maximum([(dist.cdf(float(x) + h) - dist.cdf(max(float(x) - h, 0))) / (2 * h)
                                      for x in tt], 1e-300))
        return _logpdf(fits[k].family, fits[k].theta, tt)

    tc = t[censored]
    prev = -np.inf
    it = 0
    ll = float("nan")
    for it in range(1, max_iter + 1):
        # E step: weights of censored cases among routes
        S = np.column_stack([p[k] * route_sf(k, tc) for k in names]) if len(tc) else np.zeros((0, len(names)))
        tot_c = S.sum(axis=1) if len(tc) else np.zeros(0)
        W = S / np.maximum(tot_c, 1e-300)[:, None] if len(tc) else S
        # log-likelihood at the current parameters
        ll = float(np.log(np.maximum(tot_c, 1e-300)).sum())
        for k in names:
            obs = r == k
            if obs.any() and k not in cure_routes:
                ll += float(n_events[k] * math.log(p[k]) + route_logpdf(k, t[obs]).sum())
            elif obs.any():
                ll += n_events[k] * math.log(p[k])
        # M step
        newp = {}
        for j, k in enumerate(names):
            newp[k] = (n_events[k] + (W[:, j].sum() if len(tc) else 0.0)) / n
        p = newp
        for j, k in enumerate(names):
            if k not in free:
                continue
            obs = r == k
            tt = np.concatenate([t[obs], tc])
            dd = np.concatenate([np.ones(obs.sum(), bool), np.zeros(len(tc), bool)])
            ww = np.concatenate([np.ones(obs.sum()), W[:, j] if len(tc) else np.zeros(0)])
            fits[k] = fit_parametric(tt, dd, families[k], ww, start=fits[k].theta, se=False)
        if abs(ll - prev) < tol * max(1.0, abs(ll)):
            break
        prev = ll
    # family choice by AIC on each route's weighted data (the last E step), then joint ML
    if family is None and len(tc):
        for j, k in enumerate(names):
            if k in free:
                obs = r == k
                tt = np.concatenate([t[obs], tc])
                dd = np.concatenate([np.ones(obs.sum(), bool), np.zeros(len(tc), bool)])
                ww = np.concatenate([np.ones(obs.sum()), W[:, j]])
                try:
                    bf = fit_best(tt, dd, ww)
                except ValueError:
                    continue
                fits[k] = bf.best
    # joint maximum likelihood from the EM estimates: all probabilities (softmax) and the free
    # routes' parameters together; its information matrix gives standard errors of p_r
    fam_of = {k: fits[k].family for k in free}
    obs_t = {k: t[r == k] for k in names}
    const_lf = {k: float(route_logpdf(k, obs_t[k]).sum()) for k in fixed_here}
    const_sc = {k: route_sf(k, tc) for k in fixed_here}
    sizes = [len(fits[k].theta) for k in free]
    m = len(names)

    def unpack(x):
        logits = np.concatenate([[0.0], x[: m - 1]])
        pp = np.exp(logits - logits.max())
        pp = pp / pp.sum()
        ths, pos = {}, m - 1
        for k, sz in zip(free, sizes):
            ths[k] = x[pos: pos + sz]
            pos += sz
        return dict(zip(names, pp)), ths

    def negll(x):
        pp, ths = unpack(x)
        total, sc = 0.0, np.zeros(len(tc))
        for k in names:
            pk = max(pp[k], 1e-300)
            total += n_events[k] * math.log(pk)
            if k in free:
                if n_events[k]:
                    total += float(_logpdf(fam_of[k], ths[k], obs_t[k]).sum())
                if len(tc):
                    sc += pk * np.exp(_logsf(fam_of[k], ths[k], tc))
            elif k in fixed_here:
                total += const_lf[k]
                sc += pk * const_sc[k]
            else:
                sc += pk
        total += float(np.log(np.maximum(sc, 1e-300)).sum()) if len(tc) else 0.0
        return -total if np.isfinite(total) else 1e300

    p0 = np.array([max(p[k], 1e-6) for k in names])
    x0 = np.concatenate([np.log(p0[1:] / p0[0])] + [fits[k].theta for k in free])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = optimize.minimize(negll, x0, method="BFGS", options={"gtol": 1e-5})
    x = res.x if res.fun <= negll(x0) else x0
    pp, ths = unpack(x)
    p = {k: float(v) for k, v in pp.items()}
    ll = -float(negll(x))
    se = {k: float("nan") for k in names}
    cov = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            H = _hessian(negll, x)
        cov = np.linalg.inv(H) if np.all(np.isfinite(H)) else None
    except np.linalg.LinAlgError:
        cov = None
    if cov is not None and np.all(np.diag(cov) > 0):
        for j, k in enumerate(names):
            g = np.zeros(len(x))
            for i in range(m - 1):
                e = np.zeros(len(x))
                e[i] = 1e-5
                g[i] = (unpack(x + e)[0][k] - unpack(x - e)[0][k]) / 2e-5
            se[k] = float(math.sqrt(max(g @ cov @ g, 0.0)))
        pos = m - 1
        for k, sz in zip(free, sizes):
            c = cov[pos: pos + sz, pos: pos + sz]
            fits[k] = ParametricFit(fam_of[k], np.asarray(ths[k], float), c if np.all(np.diag(c) > 0) else None,
                                    fits[k].loglik, float(n), float(n_events[k]))
            pos += sz
    else:
        for k in free:
            fits[k] = ParametricFit(fam_of[k], np.asarray(ths[k], float), None, fits[k].loglik, float(n),
                                    float(n_events[k]))
    return RouteFit(probabilities=p,
                    durations={k: fits[k] for k in names}, fixed=fixed_here, n=n, n_events=n_events,
                    iterations=it, loglik=ll, prob_se=se)


# ------------------------------------------------------- empirical route durations (AJ + tail)
EMPIRICAL_MIN_EVENTS = 100   # ended cases of a route (up to the cut-off) before its curve is used
EMPIRICAL_MIN_AT_RISK = 30   # the curve is trusted up to the last event time with this many at risk
EMPIRICAL_MIN_GAP = 0.05     # smallest gap (in probability) between the curve and the fit that counts


@dataclass
class EmpiricalChoice:
    """Whether a route's duration is better taken from the data than from its parametric fit.

    The route's duration curve is F_r(t) = CIF_r(t) / p_r (Aalen-Johansen cumulative incidence
    over the route model's probability), used up to `cutoff` (the last event time with at least
    EMPIRICAL_MIN_AT_RISK cases at risk) and continued beyond it by the fitted family's
    conditional tail. It is chosen when the largest gap between F_r and the fitted CDF up to the
    cut-off exceeds `critical` = max(EMPIRICAL_MIN_GAP, 1.36 / sqrt(n_events)), a
    Kolmogorov-Smirnov-like 5% bound with a floor."""

    route: str
    chosen: bool
    gap: float
    critical: float
    cutoff: float
    n_events: int
    duration: object = None   # sim.distributions.Empirical (when the curve is well supported)
    reason: str = ""          # why there is no curve, when it is not too few ended cases

    def note(self) -> str:
        if self.duration is None:
            if self.reason:
                return f"{self.n_events} ended; no empirical curve: {self.reason}"
            return f"{self.n_events} ended; too few for an empirical curve (need {EMPIRICAL_MIN_EVENTS})"
        what = "empirical (Aalen-Johansen to the cut-off, fitted tail beyond)" if self.chosen else "parametric"
        return (f"{what}: largest gap between the data's curve and the fitted CDF up to "
                f"{self.cutoff:.0f} days is {self.gap:.3f} (empirical if above {self.critical:.3f}); "
                f"{self.n_events} ended cases")


def empirical_route(durations, routes, rf: "RouteFit", route: str, points: int = 40) -> Optional[EmpiricalChoice]:
    """The empirical option for one free route of a fitted route model (None if the route has no
    parametric fit). See `EmpiricalChoice` for the rule."""
    fit = rf.durations.get(route)
    if fit is None or route in rf.fixed:
        return None
    t = np.maximum(np.asarray(durations, dtype=float), MIN_DAYS)
    r = _labels(routes)
    names = list(rf.probabilities)
    aj = aalen_johansen(t, r, names)
    n_at = len(t) - np.searchsorted(np.sort(t), aj.times, side="left")
    ok = aj.times[n_at >= EMPIRICAL_MIN_AT_RISK]
    if len(ok) == 0:
        return EmpiricalChoice(route, False, float("nan"), float("nan"), float("nan"), 0)
    cutoff = float(ok[-1])
    tr = np.sort(t[(r == route) & (t <= cutoff)])
    n_ev = int(len(tr))
    if n_ev < EMPIRICAL_MIN_EVENTS:
        return EmpiricalChoice(route, False, float("nan"), float("nan"), cutoff, n_ev)
    p = rf.probabilities[route]
    times = np.unique(tr)
    if len(times) < 2:   # every ended case the same length: a point mass, no curve to draw
        return EmpiricalChoice(route, False, float("nan"), float("nan"), cutoff, n_ev,
                               reason=f"every ended case up to the cut-off lasts {times[0]:g} days; the fitted family kept")
    f_emp = np.minimum(aj.at(route, times) / p, 1.0)
    f_par = np.atleast_1d(fit.cdf(times))
    f_emp_before = np.minimum(aj.at(route, times - 1e-9) / p, 1.0)   # left limits of the step curve
    gap = float(max(np.max(np.abs(f_emp - f_par)), np.max(np.abs(f_emp_before - f_par))))
    critical = max(EMPIRICAL_MIN_GAP, 1.36 / math.sqrt(n_ev))
    # the curve: quantiles of the route's ended cases up to the cut-off, then the fitted tail
    grid = np.unique(np.concatenate([np.quantile(tr, np.linspace(0, 1, points)), [cutoff]]))
    grid = grid[grid > 0]
    s = np.minimum.accumulate(np.clip(1.0 - aj.at(route, grid) / p, 0.0, 1.0))
    s_cut, s_par_cut = float(s[-1]), float(np.atleast_1d(fit.sf(cutoff))[0])
    tail_t, tail_s = [], []
    if s_cut > 1e-4 and s_par_cut > 1e-12:
        for q in (0.8, 0.6, 0.4, 0.25, 0.15, 0.08, 0.04, 0.02, 0.01, 0.003, 0.001):
            x = fit.quantile(1.0 - s_par_cut * q)
            if np.isfinite(x) and x > (tail_t[-1] if tail_t else cutoff):
                tail_t.append(float(x))
                tail_s.append(s_cut * q)
    times_days = [float(round(x, 2)) for x in np.concatenate([grid, tail_t])]
    surv = [float(round(x, 5)) for x in np.concatenate([s, tail_s])]
    keep = [0] + [i for i in range(1, len(times_days)) if times_days[i] > times_days[i - 1]]
    times_days, surv = [times_days[i] for i in keep], [surv[i] for i in keep]
    surv[-1] = 0.0
    try:
        dur = sd.Empirical(times_days=times_days, survival=surv)
    except ValueError as exc:   # pydantic's ValidationError is a ValueError: never crash on odd data
        return EmpiricalChoice(route, False, gap, critical, cutoff, n_ev,
                               reason=f"the curve is not a valid duration ({str(exc).splitlines()[-1].strip()}); the fitted family kept")
    return EmpiricalChoice(route, gap > critical, gap, critical, cutoff, n_ev, dur)


# ------------------------------------------------------------- the route model as it is drawn
def route_mixture_median(routes) -> float:
    """Median of a route model's overall duration as the model draws it: a route r with
    probability p_r, then a duration from its distribution, so S(t) = sum_r p_r S_r(t).

    `routes` is a sequence of (probability, duration) pairs; a duration is anything with an
    `sf(t)` method (a `sim.distributions` object as written to the parameters, empirical curves
    included, or a `ParametricFit`), or None for a route with no duration (it never ends). NaN
    if the routes that never end hold half the cases or more."""
    parts = [(float(p), d) for p, d in routes if p > 0]
    total = sum(p for p, _ in parts)
    if total <= 0 or sum(p for p, d in parts if d is None) >= 0.5 * total:
        return float("nan")

    def sf(x: float) -> float:
        return sum(p * (1.0 if d is None else float(np.atleast_1d(d.sf(x))[0])) for p, d in parts) / total

    hi = 1.0
    while sf(hi) > 0.5:
        hi *= 2.0
        if hi > 1e8:
            return float("nan")
    return float(optimize.brentq(lambda x: sf(x) - 0.5, 0.0, hi, xtol=1e-6))


def km_median_ci(km: KaplanMeier) -> tuple[float, float]:
    """Interval for the median from the Kaplan-Meier curve's Greenwood band: (the first time the
    lower band reaches one half, the first time the upper band does), Brookmeyer-Crowley style;
    NaN where a band never does."""
    if not len(km.times):
        return float("nan"), float("nan")
    return km.quantile_time(0.5, km.lower), km.quantile_time(0.5, km.upper)


# ---------------------------------------------------------------------------- intervals
def binomial_ci(k: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval for a proportion."""
    if n <= 0:
        return float("nan"), float("nan")
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def poisson_ci(k: float, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson count."""
    lo = 0.0 if k <= 0 else float(stats.chi2.ppf(alpha / 2, 2 * k) / 2)
    hi = float(stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2)
    return lo, hi
