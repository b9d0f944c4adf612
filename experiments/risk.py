"""The risk-adjusted business case: the business case's measures over parameter draws.

Each draw (experiments.run.run_draws) gives one paired business case: the same arithmetic as the
noise-only case (experiments.business_case.roi_profile) on that draw's baseline and scenarios,
with the draw's parameters (prices) and levers (running costs per unit of intensity). From the
draws:

- `risk`: `scenario, measure, mean, p05, p50, p95` (the 5th, 50th and 95th percentiles);
  measures `year8_gross_saving` (the target year's, the business case's last), `year8_net_saving`,
  `gross_saving_8y`, `net_saving_8y`, `roi_4y`, `roi_8y` (scenarios with an investment),
  `npv_net_saving`, and `cumulative_net_saving_<year>` for each financial year, e.g.
  `cumulative_net_saving_2025/26` (the running total of net saving from the first year to the
  end of that year);
- `probabilities`: `scenario, measure, threshold, probability, mc_error`, the share of draws at
  or above the threshold with its Monte Carlo standard error sqrt(p(1 - p)/N): ROI over 4 years
  at least 3, over 8 years at least 1, the year-8 gross saving at least the council's figure (net
  for the council's net lever figures), the 8-year net saving at least 0, and `payback_year`: the
  share of draws whose cumulative net saving first turns positive in each year (threshold the
  year), or not by the last year (threshold "not by <last year>");
- `drivers`: `scenario, measure, input, share_of_variance, standardised_coefficient`: the share of
  the variance of the year-8 gross saving over the draws each input explains, from a linear
  regression on the drawn inputs (the squared standardised coefficients, scaled to add up to
  the regression's R squared), and what the inputs leave unexplained (simulation noise, and
  effects that are not linear);
- `draws`: `draw, scenario, financial_year, gross_saving, net_saving, cumulative_net_saving`;
- `inputs`: `draw, input, value`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import business_case as bc
from .run import BASELINE

UNEXPLAINED = "not explained by the inputs (simulation noise, effects that are not linear)"


@dataclass
class RiskResult:
    """What the risk analysis gives, as frames (and the CSVs of the same names)."""

    risk: pd.DataFrame            # business_case_risk.csv
    probabilities: pd.DataFrame   # business_case_probabilities.csv
    drivers: pd.DataFrame         # uncertainty_drivers.csv
    draws: pd.DataFrame           # business_case_draws.csv
    inputs: pd.DataFrame          # draw_inputs.csv
    n_draws: int
    replications_per_draw: int = 1

    def draws_for_precision(self, half_width: float = 0.05) -> int:
        """Draws for a 95% interval of ±`half_width` on the reported probability nearest 1/2
        (the worst case, p = 0.5 if none is given): 1.96^2 p(1 - p) / h^2."""
        p = 0.5
        if len(self.probabilities):
            ps = self.probabilities["probability"].astype(float)
            p = float(ps.iloc[int(np.argmin(np.abs(ps - 0.5)))])
        return int(np.ceil(1.96 ** 2 * p * (1 - p) / half_width ** 2))


def draw_profiles(draw_summary: pd.DataFrame, scenario_set, years: list[str], draw_result,
                  names=None) -> pd.DataFrame:
    """roi_profile's gross, investment, running cost, net and cumulative net for every draw (a
    `draw` column), computed for all draws at once: the same arithmetic as
    experiments.business_case.roi_profile and running_costs (`draw_profiles_by_roi_profile` is
    the draw-by-draw reference, and a test holds them equal), a hundred times faster."""
    from sim.calendar import fy_edges
    from sim.costs import price_index
    from sim.levers import Ramp
    from .business_case import LEVER_VOLUME
    scenarios = [sc for sc in scenario_set.scenarios if names is None or sc.name in names]
    summary = bc.with_derived(draw_summary.drop(columns=["draw"]))
    summary = summary[summary["financial_year"].isin(years)]
    w = summary.pivot_table(index=["scenario", "replication", "financial_year"], columns="measure", values="value",
                            observed=True, aggfunc="first")
    base = w.loc[BASELINE]
    per = draw_result.replications_per_draw
    params0 = next(iter(draw_result.params.values()))
    edges = {label: (a, b) for label, a, b in fy_edges(params0.horizon.start_date, params0.horizon.days)}
    draws = sorted(draw_result.params)
    growth = {d: {fy: price_index(draw_result.params[d], fy) for fy in years} for d in draws}
    rows = []
    for sc in scenarios:
        diff = (w.loc[sc.name] - base).dropna(how="all")
        diff["draw"] = diff.index.get_level_values("replication") // per
        mean = diff.groupby(["draw", "financial_year"]).mean()
        inv = scenario_set.investment_of(sc)
        for d in draws:
            levers = draw_result.levers[d].get(sc.name, [])
            running = {fy: 0.0 for fy in years}
            for lv in levers:
                rc = lv.running_cost
                if rc is None:
                    continue
                ramp = Ramp(lv, params0.horizon.start_date)
                intensity = float(lv.mechanism.get(lv.spec.search_key.name, 0.0))
                vol_measure, sign, _ = LEVER_VOLUME.get(lv.lever, (None, 1, ""))
                for fy in years:
                    vol = 0.0
                    if rc.per_volume and vol_measure is not None and (d, fy) in mean.index:
                        vol = float(sign * mean.loc[(d, fy), vol_measure])
                    cost = ((rc.per_year + rc.per_intensity * intensity) * ramp.mean_over(*edges[fy])
                            + rc.per_volume * max(0.0, vol))
                    running[fy] += cost * growth[d][fy]
            cum = 0.0
            for fy in years:
                gross = -float(mean.loc[(d, fy), "cost_total"])
                invest = float(inv.get(fy, 0.0))
                net = gross - invest - running[fy]
                cum += net
                rows.append({"draw": d, "scenario": sc.name, "financial_year": fy, "gross_saving": gross,
                             "investment": invest, "running_cost": running[fy], "net_saving": net,
                             "cumulative_net_saving": cum})
    out = pd.DataFrame(rows, columns=["draw", "scenario", "financial_year", "gross_saving", "investment",
                                      "running_cost", "net_saving", "cumulative_net_saving"])
    return out.sort_values("draw", kind="stable").reset_index(drop=True)   # by draw, scenarios in the set's order


def draw_profiles_by_roi_profile(draw_summary: pd.DataFrame, scenario_set, years: list[str], draw_result,
                                 names=None) -> pd.DataFrame:
    """roi_profile's rows for every draw (with a `draw` column), draw by draw: the reference. A replication number belongs to
    one draw (experiments.run.draw_replications), so the derived measures are keyed as usual."""
    frames = []
    drawn = scenario_set if names is None else scenario_set.model_copy(
        update={"scenarios": [sc for sc in scenario_set.scenarios if sc.name in names]})
    summary = bc.with_derived(draw_summary.drop(columns=["draw"]))
    summary["draw"] = summary["replication"] // draw_result.replications_per_draw
    for d, s in summary.groupby("draw", sort=True):
        prof = bc.roi_profile(s.drop(columns=["draw"]), drawn, years, draw_result.levers[d], draw_result.params[d])
        prof.insert(0, "draw", int(d))
        frames.append(prof)
    return pd.concat(frames, ignore_index=True)


def draw_measures(profiles: pd.DataFrame, scenario_set, years: list[str]) -> pd.DataFrame:
    """One row per draw and scenario: the business case's headline measures."""
    rows = []
    four = set(years[:4])
    rate = scenario_set.discount_rate
    for (d, name), p in profiles.groupby(["draw", "scenario"], sort=False):
        p = p.set_index("financial_year").loc[years]
        g4 = float(p.loc[list(four & set(p.index)), "gross_saving"].sum())
        g8 = float(p["gross_saving"].sum())
        i4 = float(p.loc[list(four & set(p.index)), "investment"].sum())
        i8 = float(p["investment"].sum())
        r8 = float(p["running_cost"].sum())
        row = {"draw": d, "scenario": name, "year8_gross_saving": float(p.loc[years[-1], "gross_saving"]),
               "year8_net_saving": float(p.loc[years[-1], "net_saving"]),
               "gross_saving_8y": g8, "net_saving_8y": g8 - i8 - r8,
               "roi_4y": bc.roi(g4, i4), "roi_8y": bc.roi(g8, i8),
               "npv_net_saving": bc.npv(list(p["net_saving"]), rate)}
        for fy in years:
            row[f"cumulative_net_saving_{fy}"] = float(p.loc[fy, "cumulative_net_saving"])
        positive = [fy for fy in years if p.loc[fy, "cumulative_net_saving"] > 0]
        row["payback_year"] = positive[0] if positive else ""
        rows.append(row)
    return pd.DataFrame(rows)


def risk_table(measures: pd.DataFrame, order: list[str], years: list[str]) -> pd.DataFrame:
    cols = (["year8_gross_saving", "year8_net_saving", "gross_saving_8y", "net_saving_8y", "roi_4y", "roi_8y",
             "npv_net_saving"] + [f"cumulative_net_saving_{fy}" for fy in years])
    rows = []
    for name in order:
        m = measures[measures["scenario"] == name]
        for c in cols:
            x = m[c].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            if not len(x):   # e.g. ROI of a scenario with no investment
                continue
            p05, p50, p95 = np.percentile(x, [5, 50, 95])
            rows.append({"scenario": name, "measure": c, "mean": float(np.mean(x)), "p05": float(p05),
                         "p50": float(p50), "p95": float(p95)})
    return pd.DataFrame(rows, columns=["scenario", "measure", "mean", "p05", "p50", "p95"])


def _prob(x: np.ndarray) -> tuple[float, float]:
    n = len(x)
    p = float(np.mean(x)) if n else float("nan")
    return p, float(np.sqrt(p * (1 - p) / n)) if n else float("nan")


def council_figures(scenario_set, years: list[str]) -> dict[str, tuple[str, float]]:
    """{scenario: (measure, £)}: the council's year-8 figure each scenario is held against: the
    all-levers scenario against the gross benefit profile's last year; a lever against its own
    figure, gross or net as the council states them (`lever_savings_basis`)."""
    c = scenario_set.council
    if c is None:
        return {}
    out = {}
    for cl in c.levers:
        out[cl.scenario] = ("year8_net_saving" if c.lever_savings_basis == "net" else "year8_gross_saving",
                            cl.saving_m * 1e6)
    if c.all_levers_scenario and years[-1] in c.gross_profile_m:
        out[c.all_levers_scenario] = ("year8_gross_saving", c.gross_profile_m[years[-1]] * 1e6)
    return out


def probability_table(measures: pd.DataFrame, scenario_set, order: list[str], years: list[str]) -> pd.DataFrame:
    rows = []
    council = council_figures(scenario_set, years)

    def add(name, measure, threshold, hits):
        p, se = _prob(hits)
        rows.append({"scenario": name, "measure": measure, "threshold": threshold, "probability": p, "mc_error": se})

    for name in order:
        m = measures[measures["scenario"] == name]
        if not len(m):
            continue
        for measure, t in (("roi_4y", 3.0), ("roi_8y", 1.0)):
            x = m[measure].to_numpy(dtype=float)
            if np.isfinite(x).all():
                add(name, measure, t, x >= t)
        if name in council:
            measure, t = council[name]
            add(name, measure, t, m[measure].to_numpy(dtype=float) >= t)
        add(name, "net_saving_8y", 0.0, m["net_saving_8y"].to_numpy(dtype=float) >= 0)
        pay = m["payback_year"].to_numpy()
        for fy in years:
            add(name, "payback_year", fy, pay == fy)
        add(name, "payback_year", f"not by {years[-1]}", pay == "")
    return pd.DataFrame(rows, columns=["scenario", "measure", "threshold", "probability", "mc_error"])


def drivers_table(measures: pd.DataFrame, plan, values: dict, order: list[str],
                  measure: str = "year8_gross_saving") -> pd.DataFrame:
    """Shares of the variance of `measure` over the draws, by input (see the module's docstring).
    Needs more draws than inputs plus one; inputs that did not vary explain nothing."""
    names, X = plan.regressors(values)
    draws = sorted(values)
    rows = []
    for name in order:
        m = measures[measures["scenario"] == name].set_index("draw")
        if not len(m) or not len(names):
            continue
        y = m.loc[draws, measure].to_numpy(dtype=float)
        sx, sy = X.std(axis=0), y.std()
        varies = sx > 0
        k = int(varies.sum())
        if sy == 0 or len(y) <= k + 1:
            for n in names:
                rows.append({"scenario": name, "measure": measure, "input": n, "share_of_variance": np.nan,
                             "standardised_coefficient": np.nan})
            continue
        Z = (X[:, varies] - X[:, varies].mean(axis=0)) / sx[varies]
        zy = (y - y.mean()) / sy
        beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(zy)), Z]), zy, rcond=None)
        beta = beta[1:]
        fitted = Z @ beta
        r2 = float(max(0.0, min(1.0, 1 - np.sum((zy - fitted) ** 2) / np.sum(zy ** 2))))
        sq = beta ** 2
        shares = sq * (r2 / sq.sum()) if sq.sum() > 0 else sq
        full_beta, full_share = np.zeros(len(names)), np.zeros(len(names))
        full_beta[varies], full_share[varies] = beta, shares
        for n, b, s in zip(names, full_beta, full_share):
            rows.append({"scenario": name, "measure": measure, "input": n, "share_of_variance": float(s),
                         "standardised_coefficient": float(b)})
        rows.append({"scenario": name, "measure": measure, "input": UNEXPLAINED, "share_of_variance": 1 - r2,
                     "standardised_coefficient": np.nan})
    return pd.DataFrame(rows, columns=["scenario", "measure", "input", "share_of_variance", "standardised_coefficient"])


def risk_result(draw_result, plan, scenario_set, years: list[str], names=None) -> RiskResult:
    """Every frame of the risk analysis from the draws (of the scenarios `names`, default all)."""
    order = [sc.name for sc in scenario_set.scenarios if names is None or sc.name in names]
    profiles = draw_profiles(draw_result.summary, scenario_set, years, draw_result, names)
    measures = draw_measures(profiles, scenario_set, years)
    draws = profiles[["draw", "scenario", "financial_year", "gross_saving", "net_saving",
                      "cumulative_net_saving"]].reset_index(drop=True)
    inputs = pd.DataFrame([{"draw": d, "input": k, "value": v}
                           for d in sorted(draw_result.values) for k, v in draw_result.values[d].items()],
                          columns=["draw", "input", "value"])
    return RiskResult(
        risk=risk_table(measures, order, years),
        probabilities=probability_table(measures, scenario_set, order, years),
        drivers=drivers_table(measures, plan, draw_result.values, order),
        draws=draws, inputs=inputs, n_draws=draw_result.n_draws,
        replications_per_draw=draw_result.replications_per_draw)


def run_risk(ctx, plan, result, scenario_set, years: list[str], n_draws: int, per_draw: int = 1) -> RiskResult:
    """Run the draws for an experiment already run (its levers as resolved on the central
    parameters) and attach the RiskResult to it (`result.risk`)."""
    from .run import run_draws
    from .uncertainty import drawn_scenarios
    names = drawn_scenarios(plan.section, scenario_set, plan.source)
    draws = run_draws(ctx, plan, result.levers, names, n_draws, per_draw)
    result.risk = risk_result(draws, plan, scenario_set, years, names)
    return result.risk


__all__ = ["RiskResult", "risk_result", "run_risk", "BASELINE"]
