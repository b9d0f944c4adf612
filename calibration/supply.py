"""Entries into care when there is no CIN census: fitted from SSDA903 itself.

In the model children come into care three ways: through the front door (contact, referral,
assessment, S47, CIN and CP plans, then care), as direct entries (`arrivals.direct_care_entries`),
and back into care after a return home (`care.reentry`). With a CIN census the calibration fits
each link (`calibration.fit`). Without one the front door is the template's, and two things go
wrong if nothing else is done:

1. the template's front door makes as many entries into care as it makes, whatever the council's
   SSDA903 shows; the direct entries, also the template's, do not make up the difference;
2. the starting caseload holds only the children in care (SSDA903 has nobody on a CIN or CP
   plan), so the front door's routes into care are empty on the first day and take years to
   fill (plans last months, and closed cases come back to the front door for years).

So, when there is no CIN census:

* **observed**: the monthly count of *first* entries (periods of care that do not follow a
  return home, which the fitted `care.reentry` makes), fitted with `fit_rate` (trend,
  seasonality) at the extract date, and their ages;
* **front door**: the model itself, on the fitted parameters with no direct entries, run from
  empty for `WARMUP_YEARS` (`sim.warmup.warmup_params`: demand wound back by its trend, so it
  reaches the start date's level at the end); its entries into care in the last
  `MEASURE_YEARS`, over `WARMUP_REPLICATIONS` runs, put at the start date's level by the
  contacts' trend, are its steady rate, by age;
* **direct entries** = observed - front door, never below zero, shared out over the age bands
  where the front door makes fewer than observed; with the observed trend and seasonality;
* if the front door alone makes more than observed, by more than its own sampling error, the
  council is taken to be smaller than the template: its contacts a month and the social workers
  of its front door, assessment and safeguarding teams are scaled down by observed / front door,
  and it is run again (at most `MAX_SCALINGS` times). Councils differ in size far more than in
  how often a contact ends in care, and SSDA903 alone cannot tell the two apart, so volume is the
  better guess; it keeps CIN and CP caseloads (and their social work cost) in proportion to the
  council's children in care;
* **starting caseload**: the open front-door cases and recently closed front-door cases at the
  end of one warm-up run (synthetic: the template's front door has no data behind it either),
  and the children who left care in the last two years, from SSDA903 (real), as recently closed
  cases who may come back (`care.reentry`, `recontact.care_exit`; `calibration.closed`, which the
  full-data path uses too).

Everything done is written to the fit log. The numbers are in `FitResult.supply`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from calibration.closed import RECENT_DAYS, care_leavers  # noqa: F401 - shared with the full-data path

WARMUP_YEARS = 8            # the front door's flows settle in about four (plans, then returns)
MEASURE_YEARS = 3           # the last years of the warm-up, whose entries give the steady rate
WARMUP_REPLICATIONS = 2
WARMUP_SEED = 903
SUPPLY_BANDS = (0, 1, 5, 10, 16, 18)   # the direct-entry bands and the care exit-route bands together
MAX_SCALINGS = 3
FRONT_DOOR_STATES = ("contact", "assessment", "s47", "cin", "cp")
FRONT_DOOR_CLOSURES = ("nfa", "early_help", "assessment_nfa", "cin_closed", "cp_closed")
DAYS_PER_YEAR = 365.25


def _band_of(ages: np.ndarray) -> np.ndarray:
    edges = np.asarray(SUPPLY_BANDS[1:-1], float)
    # ages outside 0-18 (a data error) fall in the first or last band
    return np.searchsorted(edges, np.asarray(ages, float), side="right").clip(0, len(SUPPLY_BANDS) - 2)


def _labels():
    return [f"{a:g}-{b:g}" for a, b in zip(SUPPLY_BANDS[:-1], SUPPLY_BANDS[1:])]


def first_entries(periods_all: pd.DataFrame, periods: pd.DataFrame) -> pd.Series:
    """For each period in `periods` (starting in the window), whether it is a first entry: it
    does not follow a return home (the previous period of the same child ended in reunification)."""
    p = periods_all.sort_values(["child", "start"], kind="stable")
    prev = p.groupby("child", sort=False)["exit_reason"].shift(1)
    reentry = pd.Series((prev == "reunification").fillna(False).to_numpy(bool),
                        index=pd.MultiIndex.from_frame(p[["child", "period"]]))
    key = pd.MultiIndex.from_frame(periods[["child", "period"]])
    return pd.Series(~reentry.reindex(key, fill_value=False).to_numpy(bool), index=periods.index)


FRONT_DOOR_TEAMS = ("front_door", "assessment", "safeguarding")


def _scale_front_door(p: dict, k: float) -> None:
    """Make the front door k times as busy: k times the new contacts a month, and k times the
    social workers of the teams that serve contacts, referrals and plans (so they are as busy as
    in the template). Its conversion rates (referral, assessment, plan outcomes) stay the
    template's."""
    c = p["arrivals"]["new_contacts"]
    c["per_month"] = round(c["per_month"] * k, 3)
    for name in FRONT_DOOR_TEAMS:
        team = p["capacity"]["teams"].get(name)
        if team is None:
            continue
        team["workers"] = round(team["workers"] * k, 3)
        for ch in team.get("changes") or []:
            ch["value"] = round(ch["value"] * k, 3)


def simulate_front_door(p: dict, replications: int = WARMUP_REPLICATIONS, years: int = WARMUP_YEARS,
                        measure_years: int = MEASURE_YEARS, seed: int = WARMUP_SEED) -> dict:
    """Run the parameters (as a dict, horizon = the forecast's) with no direct entries from empty
    for `years`; return the front door's entries into care a month at the start date's level, by
    age band, and the open and recently closed cases at the end of the first run."""
    import copy

    from sim.params import params_from_dict
    from sim.runner import run_replication
    from sim.warmup import warmup_params

    d = copy.deepcopy(p)
    d["initial_caseload"] = None
    d["arrivals"]["direct_care_entries"] = {"per_month": 0.0}
    params = params_from_dict(d, "parameters for the front door's warm-up")
    w = warmup_params(params, years)
    end = float((w.horizon.end_date - w.horizon.start_date).days + 1)
    lo = end - measure_years * DAYS_PER_YEAR
    g = params.arrivals.new_contacts.trend_per_year
    by_band = np.zeros(len(SUPPLY_BANDS) - 1)
    w2_band = np.zeros(len(SUPPLY_BANDS) - 1)
    n_entries, n_reentries, cases, w2 = 0, 0, [], 0.0
    for rep in range(replications):
        res = run_replication(w, seed, rep, keep_open_cases=(rep == 0))
        e = res.events
        ce = e[(e["event"] == "care_entry").to_numpy() & (e["time"] >= lo).to_numpy()]
        detail = ce["detail"].astype(str).to_numpy()
        fd = ce[~np.isin(detail, ("direct", "reentry"))]
        n_reentries += int((detail == "reentry").sum())
        dob = res.children.set_index("child")["dob"].reindex(fd["child"].to_numpy()).to_numpy()
        t = fd["time"].to_numpy(float)
        age = (t - dob) / DAYS_PER_YEAR
        weight = (1.0 + g) ** ((end - t) / DAYS_PER_YEAR)   # at the start date's level
        np.add.at(by_band, _band_of(age), weight)
        np.add.at(w2_band, _band_of(age), weight ** 2)
        w2 += float((weight ** 2).sum())
        n_entries += len(fd)
        if rep == 0:
            cases = res.open_cases
    months = replications * measure_years * 12.0
    return {"per_month_by_band": by_band / months, "per_month": float(by_band.sum() / months),
            "se": math.sqrt(w2) / months,   # Poisson standard error of the estimate
            "se_by_band": np.sqrt(w2_band) / months,
            "entries": n_entries, "reentries": n_reentries, "months": months, "cases": cases,
            "trend": g, "replications": replications, "years": years, "measure_years": measure_years}


def front_door_caseload(cases, start_date) -> pd.DataFrame:
    """The warm-up's open front-door cases and recently closed front-door cases, as snapshot rows
    (children in care and care leavers of the warm-up are left out: those come from SSDA903)."""
    from sim.initial import cases_to_frame

    keep = [c for c in cases if c.state in FRONT_DOOR_STATES
            or (c.state == "closed" and c.closure in FRONT_DOOR_CLOSURES)]
    return cases_to_frame(keep, start_date)


def fit_care_supply(f) -> None:
    """Set `arrivals.direct_care_entries` and `age_at_direct_entry` (and, if needed, scale the
    front door's routes into care) for a `calibration.fit._Fitter` with no CIN census; logs every
    choice and leaves the numbers in `f.supply` and the warm-up's last caseload in `f.warmup_cases`."""
    from calibration.rates import MIN_CASES, fit_rate, monthly_counts

    full = f.periods
    first = first_entries(f.s.periods, full)
    ent = full[first]
    n_re = int((~first).sum())
    tab = monthly_counts(ent["start"], f.window, f.extract)
    rf = fit_rate(tab, f.extract)
    tab["fitted"] = rf.fitted
    f.monthly["first_care_entries"] = tab
    f.supply = {"observed_per_month": rf.per_month, "observed_entries": len(ent), "reentries": n_re}
    if len(ent) < MIN_CASES:
        f.log.template("arrivals.direct_care_entries", f"no CIN census, and only {len(ent)} first entries into care "
                       "to fit the supply of entries from")
        f.log.template("arrivals.age_at_direct_entry", "no CIN census given")
        return
    observed = rf.per_month
    trend_obs = min(max(rf.trend_per_year, -0.3), 0.3)
    ages = ((ent["start"] - ent["dob"]).dt.days / DAYS_PER_YEAR).to_numpy()
    obs_share = np.bincount(_band_of(ages), minlength=len(SUPPLY_BANDS) - 1) / len(ages)
    obs_band = observed * obs_share
    if f.k is None or not len(f.k.contacts):
        # no contacts file: the template's demand trend is another council's. The front door's
        # entries grow with its contacts, so the council's entries would carry the template's trend
        # whatever SSDA903 shows; its contacts take the first entries' trend instead
        c = f.p["arrivals"]["new_contacts"]
        before = c.get("trend_per_year", 0.0)
        c["trend_per_year"] = round(trend_obs, 4)
        f.log.data("arrivals.new_contacts.trend_per_year", len(ent),
                   f"no CIN census or contacts file: the front door's demand grows as the first entries into care in "
                   f"SSDA903 grow, {trend_obs:+.1%} a year (95% interval {rf.trend_ci[0]:+.1%} to {rf.trend_ci[1]:+.1%}; "
                   f"the template's {before:+.1%} describes another council), so the entries it makes carry the data's trend")
        f.supply["contacts_trend_from_entries"] = trend_obs
    f.supply["observed_trend_ci"] = tuple(rf.trend_ci)

    sim = simulate_front_door(f.p)
    fd0 = sim["per_month"]
    scalings = []
    k_total = 1.0
    # scale while the front door makes more than observed by more than its own sampling error, in
    # all or in any age band: the front door's age mix is the template's, and a band it over-supplies
    # cannot be brought down by direct entries, so the entries' age profile would be lost (with the
    # template's front door, infants run at a fraction of the data's and children aged 1-16 high)
    while len(scalings) < MAX_SCALINGS:
        over_band = (sim["per_month_by_band"] - sim["se_by_band"] > obs_band) & (sim["per_month_by_band"] > 0)
        k_all = observed / sim["per_month"] if sim["per_month"] - sim["se"] > observed else 1.0
        k_band = float(np.min(obs_band[over_band] / sim["per_month_by_band"][over_band])) if over_band.any() else 1.0
        k = min(k_all, k_band)
        if k >= 1.0:
            break
        _scale_front_door(f.p, k)
        k_total *= k
        scalings.append((sim["per_month"], k, [lab for lab, o in zip(_labels(), over_band) if o] if k_band < k_all else []))
        sim = simulate_front_door(f.p)
    fd = sim["per_month"]
    fd_band = sim["per_month_by_band"]
    direct = max(0.0, observed - fd)
    gap = np.clip(obs_band - fd_band, 0.0, None)
    over = [lab for lab, o, d in zip(_labels(), obs_band, fd_band) if d > o]
    sim_note = (f"the model's front door (the fitted parameters without direct entries, run from empty for "
                f"{sim['years']} years, {sim['replications']} runs; {sim['entries']} entries into care in the last "
                f"{sim['measure_years']} years, put at the start date's level by the contacts' trend of "
                f"{sim['trend']:+.1%} a year) makes {fd:.2f} a month (Poisson standard error {sim['se']:.2f})")
    if scalings:
        steps = "; ".join(f"{a:.2f} a month -> x{k:.3f}" + (f" (over at ages {', '.join(b)})" if b else "")
                          for a, k, b in scalings)
        f.log.data("front_door.volume", sim["entries"],
                   f"no CIN census: the template's front door alone made {fd0:.2f} entries into care a month, more "
                   f"than the {observed:.2f} first entries a month in SSDA903 in all or at some ages (by more than its "
                   f"standard error), so "
                   f"the council is taken to be smaller: new contacts a month and the social workers of the "
                   f"{', '.join(FRONT_DOOR_TEAMS)} teams were multiplied by {k_total:.3f} in all ({steps}; again "
                   f"while still over by more than the standard error, at most {MAX_SCALINGS} times), keeping the "
                   f"template's conversion rates; run again, it makes {fd:.2f} a month")
    a = f.p["arrivals"]["direct_care_entries"]
    a["per_month"] = round(direct, 3)
    # trend and seasonality: the observed first entries' own. Giving direct entries whatever growth
    # makes the total grow exactly as observed would multiply the noise of the fitted trend by
    # observed / direct (often ten or more), so the total grows between the front door's trend
    # (its contacts') and the observed one, and says so.
    if direct > 0:
        a["trend_per_year"] = round(trend_obs, 4)
        trend_note = (f"trend {trend_obs:+.1%} a year, the observed first entries' (the front door's entries grow "
                      f"with its contacts, {sim['trend']:+.1%}, so the total grows at between the two)")
        if rf.seasonality:
            a["seasonality"] = rf.seasonality
            trend_note += "; seasonality: the observed first entries' multipliers"
        else:
            a.pop("seasonality", None)
            trend_note += "; no seasonality (none fitted to the observed first entries)"
    else:
        a["trend_per_year"] = 0.0
        a.pop("seasonality", None)
        trend_note = "no trend or seasonality (no direct entries)"
    f.log.data("arrivals.direct_care_entries", len(ent),
               f"no CIN census: first entries into care in SSDA903 ({len(ent)} since {f.window:%d/%m/%Y}; {n_re} "
               f"re-entries after a return home left out, which care.reentry makes) are {observed:.2f} a month at "
               f"the extract date ({rf.note}); {sim_note}; direct entries = {observed:.2f} - {fd:.2f} = {direct:.2f} "
               f"a month{' (never below zero: the front door alone makes more)' if observed < fd else ''}; {trend_note}")
    bands_note = ("first entries a month by age band, observed - front door: "
                  + ", ".join(f"{lab}: {o:.2f} - {d:.2f}" for lab, o, d in zip(_labels(), obs_band, fd_band)))
    if direct > 0 and gap.sum() > 0:
        weights = gap / gap.sum()
        f.p["arrivals"]["age_at_direct_entry"] = [
            {"from_age": float(lo_), "to_age": float(hi_), "weight": round(float(w_), 4)}
            for lo_, hi_, w_ in zip(SUPPLY_BANDS[:-1], SUPPLY_BANDS[1:], weights)]
        f.log.data("arrivals.age_at_direct_entry", len(ent),
                   f"direct entries shared over the bands in proportion to what the front door does not make ({bands_note})"
                   + (f"; the front door alone makes more than observed at {', '.join(over)}, so these bands get no "
                      "direct entries and run high" if over else ""))
    else:
        f.log.template("arrivals.age_at_direct_entry", f"no direct entries, so their ages do not matter ({bands_note})"
                       + (f"; the front door alone makes more than observed at {', '.join(over)}, and these bands run "
                          "high" if over else ""))
    f.supply.update({"front_door_per_month": fd, "front_door_se": sim["se"], "front_door_before_scaling": fd0, "direct_per_month": direct,
                     "scaled_front_door": k_total, "observed_by_band": obs_band.tolist(),
                     "front_door_by_band": fd_band.tolist(), "bands": list(SUPPLY_BANDS),
                     "observed_trend": trend_obs, "front_door_entries": sim["entries"],
                     "front_door_months": sim["months"]})
    f.warmup_cases = sim["cases"]


def extra_snapshot(f, snap: pd.DataFrame, start_date) -> pd.DataFrame:
    """The snapshot of children in care, plus recent care leavers (SSDA903) and the warm-up's
    front-door caseload (synthetic), renumbered after it; logged."""
    cols = list(snap.columns) + ["closure", "last_referral"]
    out = snap.copy()
    out["closure"] = ""
    out["last_referral"] = ""
    n0 = int(out["child_id"].max()) if len(out) else 0
    leavers = care_leavers(f.s.periods, f.extract)
    leavers = leavers.sort_values("child", key=lambda c: c.astype(str)).reset_index(drop=True)
    leavers["child_id"] = np.arange(n0 + 1, n0 + 1 + len(leavers))
    n1 = n0 + len(leavers)
    kinds = leavers["closure"].value_counts().to_dict()
    f.log.data("initial_caseload (recent care leavers)", len(leavers),
               f"no CIN census: {len(leavers)} children who left care in the {RECENT_DAYS} days before the extract date and "
               f"have not come back (SSDA903) start as recently closed cases (child_id {n0 + 1} to {n1}): "
               f"{kinds.get('reunification', 0)} after a return home, who may re-enter care (care.reentry, conditional on "
               f"time already out), and {kinds.get('care_exit', 0)} after an SGO, CAO or other exit, who may come back "
               "to the front door (recontact.care_exit)")
    fdc = front_door_caseload(getattr(f, "warmup_cases", []), start_date)
    if len(fdc):
        fdc = fdc.copy()
        fdc["child_id"] = np.arange(n1 + 1, n1 + 1 + len(fdc))
        open_ = fdc[fdc["state"] != "closed"]["state"].value_counts().to_dict()
        f.log.template("initial_caseload (front-door cases, synthetic)",
                       f"no CIN census: SSDA903 holds no open contacts, assessments, S47 enquiries, CIN or CP plans, so "
                       f"the caseload at the end of the front door's warm-up run is used instead (child_id {n1 + 1} to "
                       f"{n1 + len(fdc)}; SYNTHETIC, from the template's front door): "
                       + ", ".join(f"{v} {k}" for k, v in open_.items())
                       + f", and {int((fdc['state'] == 'closed').sum())} closed in the last {RECENT_DAYS} days who may come "
                       "back; so the front door's routes into care run at their steady rate from the first day",
                       n=len(fdc))
    f.supply["snapshot_leavers"] = len(leavers)
    f.supply["snapshot_synthetic"] = len(fdc)
    f.supply["synthetic_child_ids"] = (n1 + 1, n1 + len(fdc)) if len(fdc) else None
    parts = [out[cols], leavers[cols]] + ([fdc[cols]] if len(fdc) else [])
    return pd.concat(parts, ignore_index=True)
