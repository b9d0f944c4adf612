"""The business case from an experiment: savings by financial year with intervals, investment,
return on investment, net present value, lever effects, outcomes for children, and the council's
own figures beside the model's. Pure functions of the experiment's tidy results."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calendar import FinancialYear
from sim.levers import CATALOGUE
from sim.vocab import PLACEMENT_TYPES

from .run import BASELINE, _mean_ci, paired_differences, replications_needed

LEVER_MEASURES = (
    "care_entries", "care_exits", "care_exits_sgo", "care_exits_reunification", "care_exits_adoption",
    "care_period_average_weeks", "weeks_to_permanence_average",
    "cin_plan_starts", "cp_plan_starts", "cin_plan_starts_repeat", "cp_plan_starts_repeat",
    "cin_plan_average_weeks", "cp_plan_average_weeks", "cin_at_year_end", "cp_at_year_end",
    "foster_carers_at_year_end", "cic_average", "edge_of_care_diversions",
) + tuple(f"cic_{p}_average" for p in PLACEMENT_TYPES) + (
    "cost_placements", "cost_social_work", "cost_allowances", "cost_total",
)

# The operational volume each lever's comparison row shows (measure, sign: +1 more is the aim,
# words), from the lever catalogue (sim/levers.py).
LEVER_VOLUME = {name: (spec.volume.measure, spec.volume.sign, spec.volume.words)
                for name, spec in CATALOGUE.items() if spec.volume is not None}


def years_between(first: str, last: str) -> list[str]:
    a, b = FinancialYear.parse(first).start_year, FinancialYear.parse(last).start_year
    return [FinancialYear(y).label for y in range(a, b + 1)]


def with_derived(summary: pd.DataFrame) -> pd.DataFrame:
    """Adds per-replication measures built from others: repeat plans, moves per child-year."""
    idx = ["scenario", "replication", "financial_year"]
    w = summary.pivot_table(index=idx, columns="measure", values="value", observed=True)
    extra = pd.DataFrame({
        "repeat_plans": w["cin_plan_starts_repeat"] + w["cp_plan_starts_repeat"],
        "placement_moves_per_child_year": w["placement_moves"] / w["cic_average"].where(w["cic_average"] > 0),
        "children_kept_out_of_care": -w["care_entries"],
    })
    extra.columns.name = "measure"
    long = extra.stack().rename("value").reset_index()
    return pd.concat([summary, long[summary.columns]], ignore_index=True)


def deflator_rate(scenario_set, params=None) -> float:
    """General inflation for real terms: the set's `assumptions.deflator_per_year`, else the
    baseline's general `price_growth_per_year` (the medium-term plan's index), else 0."""
    a = getattr(scenario_set, "assumptions", None)
    if a is not None and a.deflator_per_year is not None:
        return a.deflator_per_year
    return params.costs.price_growth_per_year if params is not None else 0.0


def real_factor(years: list[str], fy: str, rate: float) -> float:
    """£ of year `fy` at the first year's prices: divided by (1 + rate)^t, t years after the first."""
    return 1.0 / (1.0 + rate) ** (years.index(fy))


def volume_by_year(summary: pd.DataFrame, scenario: str, lever_name: str, years: list[str]) -> dict[str, float]:
    """The lever's volume (the catalogue's `volume`: measure and sign) in each year, scenario
    against baseline, mean paired difference signed so that the aim is positive."""
    spec = CATALOGUE.get(lever_name)
    if spec is None or spec.volume is None:
        return {}
    d = paired_differences(summary, scenario, [spec.volume.measure])
    if not len(d):
        return {}
    d = d.set_index("financial_year")
    return {fy: float(spec.volume.sign * d.loc[fy, "difference"]) for fy in years if fy in d.index}


def running_costs(summary: pd.DataFrame, scenario: str, levers, years: list[str], params) -> dict[str, dict[str, float]]:
    """£ by financial year and lever of the levers' declared running costs (`Lever.running_cost`):
    per year and per unit of intensity, ramped over each year; per unit of the volume achieved
    in the year; at start-date prices grown by the general `price_growth_per_year`."""
    from sim.calendar import fy_edges
    from sim.costs import price_index
    from sim.levers import Ramp
    out: dict[str, dict[str, float]] = {fy: {} for fy in years}
    if params is None or not levers:
        return out
    edges = {label: (a, b) for label, a, b in fy_edges(params.horizon.start_date, params.horizon.days)}
    for lv in levers:
        rc = lv.running_cost
        if rc is None:
            continue
        ramp = Ramp(lv, params.horizon.start_date)
        vol = volume_by_year(summary, scenario, lv.lever, years) if rc.per_volume else {}
        intensity = float(lv.mechanism.get(lv.spec.search_key.name, 0.0))
        for fy in years:
            a, b = edges[fy]
            share = ramp.mean_over(a, b)
            cost = (rc.per_year + rc.per_intensity * intensity) * share + rc.per_volume * max(0.0, vol.get(fy, 0.0))
            out[fy][lv.lever] = out[fy].get(lv.lever, 0.0) + cost * price_index(params, fy)
    return out


def roi_profile(summary: pd.DataFrame, scenario_set, years: list[str], levers: dict | None = None,
                params=None) -> pd.DataFrame:
    """One row per scenario and year: gross saving (baseline cost minus scenario cost, with its
    interval), investment, the levers' running cost, net saving (gross minus investment minus
    running cost), cumulative net, and gross and net at the first year's prices (real terms).
    `levers`: each scenario's levers as run (for running costs); `params`: the baseline's."""
    rows = []
    rate = deflator_rate(scenario_set, params)
    for sc in scenario_set.scenarios:
        d = paired_differences(summary, sc.name, ["cost_total"]).set_index("financial_year")
        inv = scenario_set.investment_of(sc)
        run = running_costs(summary, sc.name, (levers or {}).get(sc.name, []), years, params)
        cum = 0.0
        for fy in years:
            r = d.loc[fy]
            gross = -r["difference"]
            invest = float(inv.get(fy, 0.0))
            running = float(sum(run[fy].values()))
            net = gross - invest - running
            cum += net
            f = real_factor(years, fy, rate)
            rows.append({"scenario": sc.name, "financial_year": fy, "baseline_cost": r["baseline"],
                         "scenario_cost": r["scenario"], "gross_saving": gross, "gross_saving_low": -r["high"],
                         "gross_saving_high": -r["low"], "investment": invest, "net_saving": net,
                         "cumulative_net_saving": cum, "running_cost": running,
                         "gross_saving_real": gross * f, "net_saving_real": net * f,
                         "real_terms_factor": f})
    return pd.DataFrame(rows)


def npv(amounts: list[float], rate: float) -> float:
    """Present value at the start of the first year: year t (0-based) discounted by (1+r)^t."""
    return float(sum(a / (1.0 + rate) ** t for t, a in enumerate(amounts)))


def roi(gross: float, investment: float) -> float:
    """Return on investment as the council states it: gross savings per £1 invested."""
    return gross / investment if investment > 0 else float("nan")


def business_case_summary(summary: pd.DataFrame, profile: pd.DataFrame, scenario_set, years: list[str]) -> pd.DataFrame:
    rows = []
    last = years[-1]
    n = int(summary[summary["scenario"] == BASELINE]["replication"].nunique())
    for sc in scenario_set.scenarios:
        p = profile[profile["scenario"] == sc.name].set_index("financial_year").loc[years]
        d = paired_differences(summary, sc.name, ["cost_total"]).set_index("financial_year")
        y8 = d.loc[last]
        four = years[:4]
        g4, g8 = p.loc[four, "gross_saving"].sum(), p["gross_saving"].sum()
        i4, i8 = p.loc[four, "investment"].sum(), p["investment"].sum()
        # the interval of the 8-year total from the replications' own totals
        base = summary[(summary["scenario"] == BASELINE) & (summary["measure"] == "cost_total") & summary["financial_year"].isin(years)]
        scen = summary[(summary["scenario"] == sc.name) & (summary["measure"] == "cost_total") & summary["financial_year"].isin(years)]
        tot = base.groupby("replication")["value"].sum() - scen.groupby("replication")["value"].sum()
        _, tlo, thi = _mean_ci(tot.to_numpy())
        rows.append({
            "scenario": sc.name, "first_year": years[0], "last_year": last,
            "gross_saving_4y": g4, "gross_saving_8y": g8, "gross_saving_8y_low": tlo, "gross_saving_8y_high": thi,
            "investment_4y": i4, "investment_8y": i8, "net_saving_8y": g8 - i8,
            "roi_4y": roi(g4, i4), "roi_8y": roi(g8, i8),
            "npv_net_saving": npv(list(p["net_saving"]), scenario_set.discount_rate),
            "discount_rate": scenario_set.discount_rate,
            "year8_gross_saving": -y8["difference"], "year8_gross_saving_low": -y8["high"],
            "year8_gross_saving_high": -y8["low"], "replications": n,
            "replications_for_10pct_precision": replications_needed(y8["sd"], y8["difference"], n),
            "running_cost_8y": p["running_cost"].sum() if "running_cost" in p else 0.0,
            "gross_saving_8y_real": p["gross_saving_real"].sum() if "gross_saving_real" in p else np.nan,
            "year8_net_saving": float(p.loc[last, "net_saving"]),
            "year8_gross_saving_real": float(p.loc[last, "gross_saving_real"]) if "gross_saving_real" in p else np.nan,
        })
        r = rows[-1]
        r["net_saving_8y"] = g8 - i8 - r["running_cost_8y"]
        r["roi_net_8y"] = roi(g8 - r["running_cost_8y"], i8)
    return pd.DataFrame(rows)


def headline_flags(bsum: pd.DataFrame, intensities: pd.DataFrame) -> pd.DataFrame:
    """`scenario, lever, flag, reason`: per lever, a target not reached, not sustainable or at its
    bound (from the target search, `lever_intensities.csv`), and per scenario a last-year saving
    whose 95% interval is wider than ±10% for the replications run (precision too low)."""
    from .run import FLAG_PRECISION
    rows = []
    if intensities is not None and len(intensities) and "flags" in intensities:
        seen = set()
        for _, r in intensities.iterrows():
            flags = [f for f in str(r.get("flags") or "").split("; ") if f and f != "nan"]
            if not flags or (r["scenario"], r["lever"]) in seen:   # a lever with two keys: one row
                continue
            seen.add((r["scenario"], r["lever"]))
            rows.append({"scenario": r["scenario"], "lever": r["lever"], "flag": "; ".join(flags),
                         "reason": str(r.get("note") or "")})
    for _, r in bsum.iterrows():
        need, n = r["replications_for_10pct_precision"], r["replications"]
        if need > n:
            rows.append({"scenario": r["scenario"], "lever": "", "flag": FLAG_PRECISION,
                         "reason": f"precision too low: the year-8 saving's 95% interval is wider than ±10% of it; "
                                   f"it needs {int(need)} replications, {int(n)} were run"})
    return pd.DataFrame(rows, columns=["scenario", "lever", "flag", "reason"])


def with_flags(bsum: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """The summary with a `flags` column: each scenario's flags, 'lever: flag' joined by '; '."""
    out = bsum.copy()
    text = {}
    for _, f in flags.iterrows():
        item = f"{f['lever']}: {f['flag']}" if f["lever"] else f["flag"]
        text.setdefault(f["scenario"], []).append(item)
    out["flags"] = [("; ".join(dict.fromkeys(text.get(s, [])))) for s in out["scenario"]]
    return out


def lever_volumes_by_year(summary: pd.DataFrame, scenario_set, years: list[str], levers: dict) -> pd.DataFrame:
    """`scenario, lever, financial_year, target, achieved, low, high`: every lever stated as a
    target, its target's volume in each year (scenario against baseline over the scenario's
    replications, as the target search judges it) with a 95% interval."""
    from .run import target_effect
    rows = []
    base = summary[summary["scenario"] == BASELINE]
    for sc in scenario_set.scenarios:
        if sc.based_on is not None:
            continue
        scen = summary[summary["scenario"] == sc.name]
        reps = sorted(set(base["replication"]) & set(scen["replication"]))
        for lv in sc.levers:
            if not lv.target:
                continue
            (tname, tval), = lv.target.items()
            for fy in years:
                if FinancialYear.parse(fy).end < lv.start:
                    continue
                eff = np.array([target_effect(tname, base[base["replication"] == r], scen[scen["replication"] == r], fy, lv)
                                for r in reps])
                m, lo, hi = _mean_ci(eff)
                rows.append({"scenario": sc.name, "lever": lv.lever, "financial_year": fy, "target_name": tname,
                             "target": tval, "achieved": m, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=["scenario", "lever", "financial_year", "target_name", "target", "achieved",
                                       "low", "high"])


def effects_table(summary: pd.DataFrame, scenario_set, years: list[str], measures) -> pd.DataFrame:
    """`scenario, financial_year, measure, baseline, scenario_value, difference, low, high`:
    means over replications and the paired difference with its 95% interval."""
    frames = []
    for sc in scenario_set.scenarios:
        d = paired_differences(summary, sc.name, measures)
        d = d[d["financial_year"].isin(years)].rename(columns={"scenario": "scenario_value"})
        d.insert(0, "scenario", sc.name)
        frames.append(d[["scenario", "financial_year", "measure", "baseline", "scenario_value", "difference", "low", "high"]])
    return pd.concat(frames, ignore_index=True)


def lever_effects(summary: pd.DataFrame, scenario_set, years) -> pd.DataFrame:
    return effects_table(summary, scenario_set, years, LEVER_MEASURES + ("repeat_plans",))


OUTCOME_MEASURES = ("children_kept_out_of_care", "weeks_to_permanence_average", "family_based_share",
                    "placement_moves_per_child_year", "children_waiting_for_placement_average", "repeat_plans",
                    "cic_average",
                    # measures that mean what they say (docs/model.md, "Outcome measures"): waiting in an
                    # emergency or unregistered placement, out of area, a family home counting children who
                    # left care on an order, DfE's stability indicator, permanence for one cohort of entrants
                    "children_in_emergency_placements_average", "emergency_placement_days", "out_of_area_share",
                    "children_in_family_homes_share", "children_3plus_placements_share",
                    "placement_changes_per_child_year", "entrants_permanence_within_1y_share",
                    "entrants_permanence_within_2y_share")


# What each outcome measure counts, in one sentence, and where its level moves with who is counted
# rather than with how children fare (the report prints these under its outcomes table).
OUTCOME_DEFINITIONS = {
    "family_based_share": "Share of care days spent with kinship or foster carers; a child who leaves care for "
                          "special guardians, a child arrangements order or adopters leaves the count, so a lever "
                          "that moves children from kinship care to an SGO lowers it.",
    "children_in_family_homes_share": "The same, counting also the days of children who left care on an SGO, a "
                                      "child arrangements order or adoption since the forecast began (until 18 or a "
                                      "return to care), so moving a child to an SGO does not read as harm; its level "
                                      "rises over the years as more such children are counted, so compare scenarios "
                                      "in the same year.",
    "weeks_to_permanence_average": "Average weeks in care of the children who left that year for home, an SGO, a "
                                   "child arrangements order or adoption; it moves with who leaves (a lever sending "
                                   "home children who would have stayed long raises it).",
    "entrants_permanence_within_1y_share": "Of the children who entered care that year, the share who left for "
                                           "permanence within a year (children still in care are followed as far as "
                                           "the forecast goes; other exits compete): one cohort, the same in every "
                                           "scenario, so it does not move with who leaves; blank for the last year.",
    "entrants_permanence_within_2y_share": "As above, within two years; blank for the last two years.",
    "children_3plus_placements_share": "Of the children in care at the year end, the share who had three or more "
                                       "placements during the year (DfE's stability indicator); an emergency "
                                       "placement counts.",
    "placement_changes_per_child_year": "Changes of placement of children already in care (breakdowns, planned "
                                        "moves, moves from an emergency placement) per child-year in care.",
    "children_in_emergency_placements_average": "Children waiting, on an average day, in an emergency or "
                                                "unregistered placement because no registered place of the kind "
                                                "they need was free (the same as 'waiting for a placement').",
    "children_waiting_for_placement_average": "Children waiting, on an average day, in an emergency or unregistered "
                                              "placement because no registered place of the kind they need was free.",
    "emergency_placement_days": "Days children spent in such placements in the year.",
    "out_of_area_share": "Share of care days in an agency or spot placement outside the council's area (kinship, "
                         "in-house and block placements are counted as in area).",
}


def outcomes(summary: pd.DataFrame, scenario_set, years) -> pd.DataFrame:
    return effects_table(summary, scenario_set, years, OUTCOME_MEASURES)


MODEL_NET_DEDUCTS = "the scenario's investment and its levers' running costs"


def comparison(summary: pd.DataFrame, profile: pd.DataFrame, scenario_set, years, intensities: pd.DataFrame) -> pd.DataFrame:
    """The council's figures beside the model's: each lever at year 8, and the benefit profile."""
    council = scenario_set.council
    if council is None:
        return pd.DataFrame()
    last = years[-1]
    rows = []
    by_name = {s.name: s for s in scenario_set.scenarios}
    for cl in council.levers:
        sc = by_name.get(cl.scenario)
        if sc is None:
            continue
        p = profile[(profile["scenario"] == sc.name) & (profile["financial_year"] == last)].iloc[0]
        lever = sc.levers[0].lever if sc.levers else ""
        measure, sign, words = LEVER_VOLUME.get(lever, ("", 1, ""))
        vol = vlo = vhi = np.nan
        if measure:
            d = paired_differences(summary, sc.name, [measure])
            d = d[d["financial_year"] == last]
            if len(d):
                r = d.iloc[0]
                vol, vlo, vhi = sign * r["difference"], min(sign * r["low"], sign * r["high"]), max(sign * r["low"], sign * r["high"])
        basis = council.lever_savings_basis
        rows.append({
            "kind": "lever", "scenario": sc.name, "financial_year": last, "council_target_volume": cl.target_volume,
            "council_saving_m": cl.saving_m, "model_volume": vol, "model_volume_low": vlo, "model_volume_high": vhi,
            "model_volume_means": words, "model_saving_m": p["gross_saving"] / 1e6,
            "model_saving_low_m": p["gross_saving_low"] / 1e6, "model_saving_high_m": p["gross_saving_high"] / 1e6,
            "council_net_m": cl.saving_m if basis == "net" else np.nan,
            "model_net_m": p["net_saving"] / 1e6,
            "council_gross_m": np.nan if basis == "net" else cl.saving_m,   # net figures: the add-back is not split by lever
            "council_basis": basis, "council_prices": council.prices,
            "council_net_deducts": council.lever_net_deducts if basis == "net" else "",
            "model_net_deducts": MODEL_NET_DEDUCTS,
            "model_saving_real_m": p.get("gross_saving_real", np.nan) / 1e6,
            "model_net_real_m": p.get("net_saving_real", np.nan) / 1e6,
        })
    if council.all_levers_scenario:
        pr = profile[profile["scenario"] == council.all_levers_scenario].set_index("financial_year")
        for fy in years:
            if fy not in pr.index:
                continue
            r = pr.loc[fy]
            rows.append({
                "kind": "profile", "scenario": council.all_levers_scenario, "financial_year": fy,
                "council_target_volume": "", "council_saving_m": council.gross_profile_m.get(fy, np.nan),
                "model_volume": np.nan, "model_volume_low": np.nan, "model_volume_high": np.nan, "model_volume_means": "",
                "model_saving_m": r["gross_saving"] / 1e6, "model_saving_low_m": r["gross_saving_low"] / 1e6,
                "model_saving_high_m": r["gross_saving_high"] / 1e6,
                "council_net_m": council.net_profile_m.get(fy, np.nan), "model_net_m": r["net_saving"] / 1e6,
                "council_gross_m": council.gross_profile_m.get(fy, np.nan),
                "council_basis": "gross and net", "council_prices": council.prices,
                "council_net_deducts": council.profile_net_deducts, "model_net_deducts": MODEL_NET_DEDUCTS,
                "model_saving_real_m": r.get("gross_saving_real", np.nan) / 1e6,
                "model_net_real_m": r.get("net_saving_real", np.nan) / 1e6,
            })
    return pd.DataFrame(rows)


def interaction(profile: pd.DataFrame, scenario_set, years, all_name: str) -> pd.DataFrame:
    """Year-by-year: all levers together against the sum of each lever alone."""
    singles = [s.name for s in scenario_set.scenarios if len(s.levers) == 1]
    if all_name not in set(profile["scenario"]):
        return pd.DataFrame()
    rows = []
    for fy in years:
        p = profile[profile["financial_year"] == fy].set_index("scenario")
        total = float(p.loc[singles, "gross_saving"].sum())
        together = float(p.loc[all_name, "gross_saving"])
        rows.append({"financial_year": fy, "sum_of_levers_alone": total, "all_levers_together": together,
                     "interaction": together - total})
    return pd.DataFrame(rows)
