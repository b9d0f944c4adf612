"""Fit the model's parameters to a council's activity data.

`fit_parameters` starts from a copy of a template parameter set (normally the shipped baseline)
and replaces what the data support; where the data are too thin, the template value is kept and
the fit log says so. It also builds the caseload snapshot at the extract date. Methods are in
`calibration.survival` and docs/calibration.md.

Inputs are the loaded data (`calibration.ssda903.SSDA903`, `calibration.cin_census.CINCensus`,
`calibration.contacts.Contacts`) and an optional costs table (`load_costs`). Children are linked
across the files by their identifier (SSDA903 CHILD = CIN census LAchildID = contacts child_id).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from calibration import episodes as ep
from calibration import survival as sv
from calibration.records import DataError, DataQuality, as_timestamp, read_csv_table
from calibration.rates import MIN_CASES, RateFit, fit_rate, monthly_counts  # noqa: F401 - re-exported
from sim.params import Params, params_from_dict
from sim.placements import SPLIT_COST, groups_of
from sim.vocab import EXIT_REASONS, PLACEMENT_GROUP, PLACEMENT_NEEDS, PLACEMENT_TYPES

DAYS_PER_YEAR = 365.25
NEED_OF_PLACEMENT = PLACEMENT_GROUP  # a placement's group is the need it meets (sim/placements.py)
LINK_DAYS = 14          # a plan ending this close to the next step counts as leading to it
MIN_EVENTS = 10         # fewer ended cases of a route than this: its duration is not fitted alone
LOOKBACK_DAYS = 730     # a contact within this many days of an earlier one is a returning contact
LATE_RETURN_DAYS = 182  # returns after six months are referred far less often: their share is fitted apart
AT18_DAYS = 1           # an assessment, enquiry or plan ending this close before the 18th birthday (or on or
                        # after it) ended because the child turned 18: censored there, as the model closes it then


# ------------------------------------------------------------------------------- results
@dataclass
class FitResult:
    params: Params
    snapshot: pd.DataFrame
    summary: pd.DataFrame               # measure, value, low, high, source, note
    log: pd.DataFrame                   # parameter, source (data/template), n, note
    curves: dict = field(default_factory=dict)    # name -> {"km": KaplanMeier, "fit": ParametricFit}
    monthly: dict = field(default_factory=dict)   # name -> DataFrame(month, count, days, fitted)
    quality: DataQuality = field(default_factory=DataQuality)
    extract_date: pd.Timestamp = None
    data_start: pd.Timestamp = None
    supply: dict = field(default_factory=dict)    # no CIN census: entries into care (calibration.supply)
    exit_hazards: Optional[pd.DataFrame] = None   # every cell's exits, child-years, hazard and interval

    def kept_from_template(self) -> list[str]:
        return list(self.log.loc[self.log["source"] == "template", "parameter"])


class _Log:
    def __init__(self):
        self.rows = []

    def data(self, parameter, n, note=""):
        self.rows.append({"parameter": parameter, "source": "data", "n": n, "note": note})

    def template(self, parameter, note, n=0):
        self.rows.append({"parameter": parameter, "source": "template", "n": n, "note": note})

    def frame(self):
        return pd.DataFrame(self.rows, columns=["parameter", "source", "n", "note"])


# ------------------------------------------------------------------------------- costs
def load_costs(path) -> pd.DataFrame:
    """A costs CSV: `placement_type, weekly_cost` (£ a week at the extract date's prices)."""
    q = DataQuality()
    df = read_csv_table(Path(path), Path(path).name, ("placement_type", "weekly_cost"), q)
    bad_type = ~df["placement_type"].isin(PLACEMENT_TYPES)
    if bad_type.any():
        r = df[bad_type].iloc[0]
        raise DataError(f"{Path(path).name}: row {r['_row']}: placement_type '{r['placement_type']}' is not one of "
                        f"{', '.join(PLACEMENT_TYPES)}")
    cost = pd.to_numeric(df["weekly_cost"], errors="coerce")
    if (cost.isna() | (cost < 0)).any():
        r = df[cost.isna() | (cost < 0)].iloc[0]
        raise DataError(f"{Path(path).name}: row {r['_row']}: weekly_cost '{r['weekly_cost']}' is not a "
                        "non-negative number")
    if df["placement_type"].duplicated().any():
        r = df[df["placement_type"].duplicated()].iloc[0]
        raise DataError(f"{Path(path).name}: row {r['_row']}: placement_type '{r['placement_type']}' appears twice")
    return pd.DataFrame({"placement_type": df["placement_type"], "weekly_cost": cost})


# ---------------------------------------------------------------------- data as at a date
def as_of(ssda903, cin, contacts, date):
    """The data as they would have been extracted on `date` (for back-casts): later records
    dropped, later end dates blanked. Returns new (ssda903, cin, contacts) objects."""
    import copy

    d = pd.Timestamp(date)
    s = None
    if ssda903 is not None:
        e = ssda903.episodes
        e = e[e["start"] <= d].copy()
        late = e["end"] > d
        e.loc[late, "end"] = pd.NaT
        e.loc[late, "rec"] = pd.NA
        e.loc[late, "exit_reason"] = pd.NA
        e = e.drop(columns=["period"], errors="ignore")
        eps, periods = ep.build_periods(e, ssda903.header)
        s = copy.copy(ssda903)
        s.episodes, s.periods, s.extract_date = eps, periods, d
    c = None
    if cin is not None:
        c = copy.copy(cin)
        r = cin.referrals[cin.referrals["referral_date"] <= d].copy()
        r.loc[r["closure_date"] > d, ["closure_date", "reason_for_closure"]] = [pd.NaT, pd.NA]
        c.referrals = r
        for name, end in (("assessments", "authorised"), ("cin_plans", "end"), ("s47", "icpc_date"),
                          ("cp_plans", "end")):
            t = getattr(cin, name)
            t = t[t["start"] <= d].copy()
            t.loc[t[end] > d, end] = pd.NaT
            setattr(c, name, t)
        c.extract_date = d
    k = None
    if contacts is not None:
        k = copy.copy(contacts)
        k.contacts = contacts.contacts[contacts.contacts["contact_date"] <= d].copy()
        k.extract_date = d
    return s, c, k


# ------------------------------------------------------------------------- monthly rates
# -------------------------------------------------------------------------- helpers
def _years(a: pd.Series, b: pd.Series) -> pd.Series:
    return (b - a).dt.days / DAYS_PER_YEAR


def _band_label(b) -> str:
    return f"{b.from_age:g}-{b.to_age:g}"


def _next_after(events: pd.DataFrame, keys: pd.DataFrame, key_date: str, lo: int, hi: int,
                ev_date: str = "date") -> pd.Series:
    """For each row of `keys` (child, key_date), whether `events` (child, date) has an event
    within [key_date + lo, key_date + hi] days."""
    if len(keys) == 0 or len(events) == 0:
        return pd.Series(False, index=keys.index)
    k = keys[["child", key_date]].reset_index()
    m = k.merge(events[["child", ev_date]], on="child", how="inner")
    delta = (m[ev_date] - m[key_date]).dt.days
    hit = m[(delta >= lo) & (delta <= hi)]["index"].unique()
    return pd.Series(keys.index.isin(hit), index=keys.index)


def _prob_dict(counts: dict, keys) -> dict:
    tot = sum(counts.get(k, 0) for k in keys)
    out = {k: round(counts.get(k, 0) / tot, 4) for k in keys}
    # make them sum to 1 exactly after rounding
    big = max(out, key=out.get)
    out[big] = round(1.0 - sum(v for k, v in out.items() if k != big), 6)
    return out


def _round_probs(p: dict) -> dict:
    out = {k: round(max(v, 0.0), 4) for k, v in p.items()}
    big = max(out, key=out.get)
    out[big] = round(1.0 - sum(v for k, v in out.items() if k != big), 6)
    return out


def return_within(t, ev, window: float, points: int = 25):
    """Chance of coming back within `window` days (1 - KM S(window)) and the delay given a
    return within the window, as an empirical curve from the Kaplan-Meier estimate. None if the
    follow-up does not reach the window. Consistent with counting contacts as "returning" when
    they come within the same window of an earlier one."""
    from sim.distributions import Empirical

    if len(t) == 0 or np.max(t) < window:
        return None
    km = sv.kaplan_meier(t, ev)
    s_w = float(km.at(window)[0])
    p = 1.0 - s_w
    if p <= 0:
        return None
    grid = np.unique(np.concatenate([np.quantile(km.times[km.times <= window], np.linspace(0, 1, points)), [window]]))
    grid = grid[grid > 0]
    cond = np.clip((km.at(grid) - s_w) / p, 0.0, 1.0)
    cond = np.minimum.accumulate(cond)
    cond[-1] = 0.0
    return p, Empirical(times_days=[float(round(x, 2)) for x in grid], survival=[float(round(x, 5)) for x in cond])


# ============================================================================= the fit
class _Fitter:
    def __init__(self, ssda903, cin, contacts, costs, extract, template: Params):
        self.s, self.c, self.k = ssda903, cin, contacts
        self.costs = costs
        self.extract = extract
        self.t = template
        self.p = template.model_dump(mode="json")
        self.log = _Log()
        self.summary = []
        self.curves, self.monthly = {}, {}
        self.last12 = extract - pd.Timedelta(days=364)

    def add(self, measure, value, low=np.nan, high=np.nan, source="data", note=""):
        self.summary.append({"measure": measure, "value": value, "low": low, "high": high,
                             "source": source, "note": note})

    # ---------------------------------------------------------------------- care (SSDA903)
    def care(self):
        s = self.s
        eps = s.episodes
        if not len(eps) or not s.periods["dob"].notna().any():  # nothing usable left (the loader set it aside)
            files = [f for f in s.quality.files if f.lower().endswith("episodes.csv")]
            raise DataError(f"SSDA903: no usable care episodes left to fit: {s.quality.summary_of(files)}")
        ends = eps["end"].dropna()
        window = ends.min() if len(ends) else eps["start"].min()
        self.window = window
        self.data_start = window
        per = ep.periods_at(s.periods, self.extract)
        per = per[per["dob"].notna()]
        per["age_entry"] = _years(per["dob"], per["start"])
        self.all_periods = per
        full = per[(per["start"] >= window)].copy()  # periods seen from their start
        self.periods = full
        n_trunc = int((per["start"] < window).sum())
        self.note_window = (f"periods of care starting on or after {window:%d/%m/%Y} (the earliest end date in the "
                            f"data, taken as the start of the window); {n_trunc} periods already open then are used "
                            "for stocks only")
        # entries
        tab = monthly_counts(full["start"], window, self.extract)
        rf = fit_rate(tab, self.extract)
        tab["fitted"] = rf.fitted
        self.monthly["care_entries"] = tab
        n12 = int(((full["start"] >= self.last12) & (full["start"] <= self.extract)).sum())
        lo, hi = sv.poisson_ci(n12)
        self.add("care_entries_per_year", n12, lo, hi, note="entries (periods of care starting) in the last 12 months; exact Poisson interval")
        # need on entry by age band
        full["need"] = full["first_placement"].map(NEED_OF_PLACEMENT)
        for i, band in enumerate(self.t.care.need_on_entry):
            cell = full[(full["age_entry"] >= band.from_age) & (full["age_entry"] < band.to_age) & full["need"].notna()]
            name = f"care.need_on_entry[{_band_label(band)}]"
            if len(cell) < MIN_CASES:
                self.log.template(name, f"only {len(cell)} entries at this age", len(cell))
                continue
            need = cell["need"].copy()
            if band.from_age < 16:
                moved = int((need == "semi_independent").sum())
                need[need == "semi_independent"] = "other"
            counts = need.value_counts().to_dict()
            self.p["care"]["need_on_entry"][i]["probabilities"] = {
                k: v for k, v in _prob_dict(counts, [k for k in PLACEMENT_NEEDS if counts.get(k, 0) > 0]).items()}
            note = f"first placement of {len(cell)} entries"
            if band.from_age < 16 and moved:
                note += f"; {moved} semi-independent first placements under 16 counted as other"
            self.log.data(name, len(cell), note)
        # placement shares (summary)
        fp = full["first_placement"].dropna()
        for g, types in groups_of("share_group").items():  # sim/placements.py's `share_group`
            k = int(fp.isin(list(types)).sum())
            lo, hi = sv.binomial_ci(k, len(fp))
            self.add(f"placement_share_{g}", k / len(fp) if len(fp) else np.nan, lo, hi,
                     note=f"share of {len(fp)} entries since {window:%d/%m/%Y} whose first placement is of this type; exact binomial interval")
        self._care_durations(full)
        self._exit_routes(full)
        self._exit_hazards()
        self._moves()
        self._long_run_exits()
        self._reentry(per)

    def _care_durations(self, full):
        t = full["duration_days"].to_numpy(float)
        d = full["event_observed"].to_numpy(bool)
        if d.sum() >= MIN_EVENTS:
            bf = sv.fit_best(t, d)
            km = sv.kaplan_meier(t, d)
            self.curves["care_period"] = {"km": km, "fit": bf.best, "label": "Periods of care"}
            lo, hi = bf.best.median_ci()
            self.add("care_period_median_days", bf.best.median(), lo, hi,
                     note=f"median of the fitted {bf.best.family} (censored MLE, chosen by AIC) over {len(t)} periods, "
                          f"{int(d.sum())} ended; delta-method interval")
        else:
            self.add("care_period_median_days", np.nan, source="not estimable", note="too few ended periods")
        # exit shares, Aalen-Johansen; the six reasons sum to 1
        causes = full["exit_reason"].where(full["event_observed"])
        shares = sv.exit_shares(t, causes.to_numpy(object), EXIT_REASONS, n_boot=200)
        self.aj_exit_shares = shares
        for r in EXIT_REASONS:
            v, lo, hi = shares[r]
            self.add(f"exit_share_{r}_aalen_johansen", v, lo, hi,
                     note="Aalen-Johansen cumulative incidence at the longest follow-up over the sum for all reasons; "
                          "percentile bootstrap interval (200 resamples). It cannot see the children who entered young "
                          "and are still in care at the extract: exits at 18 come out low (exit_share_* are the "
                          "long-run shares)")

    def _long_run_exits(self):
        """`exit_share_*`: how the window's entrants' periods of care end in the long run. With fitted
        exit hazards, from them (and the fitted placement moves): turning 18 is a certain end, so
        P(leave at 18) = P(still in care at 18 - age at entry); otherwise the Aalen-Johansen shares."""
        from calibration.hazards import long_run_exit_share_intervals, long_run_exit_shares

        eh = self.p["care"].get("exit_hazards") if getattr(self, "exit_hazards_fit", None) else None
        full = self.periods
        need = full["first_placement"].map(NEED_OF_PLACEMENT)
        ok = need.notna() & full["age_entry"].between(0, 18, inclusive="left")
        if eh is not None and ok.sum() >= MIN_CASES:
            ages, needs = full.loc[ok, "age_entry"].to_numpy(float), need[ok].to_numpy(object)
            moves = self.p["care"]["moves"]
            point = long_run_exit_shares(eh, moves, ages, needs)
            ci = long_run_exit_share_intervals(self.exit_hazards_fit, moves, ages, needs)
            for r in EXIT_REASONS:
                self.add(f"exit_share_{r}", point[r], ci[r][0], ci[r][1],
                         note=f"long-run share of the {int(ok.sum())} periods of care starting since "
                              f"{self.window:%d/%m/%Y} that end this way, from the fitted exit hazards and placement "
                              "moves (Monte Carlo, 20 draws a period); turning 18 is a certain end: P(leave at 18) = "
                              "P(still in care at 18 - age at entry). Interval: the hazards redrawn from their Poisson "
                              f"uncertainty (40 times). The share at the data's longest follow-up is "
                              f"exit_share_{r}_aalen_johansen ({self.aj_exit_shares[r][0]:.3f})")
            return
        for r in EXIT_REASONS:
            v, lo, hi = self.aj_exit_shares[r]
            self.add(f"exit_share_{r}", v, lo, hi, note="Aalen-Johansen cumulative incidence at the longest follow-up "
                                                         "over the sum for all reasons (no exit hazards fitted); "
                                                         "percentile bootstrap interval (200 resamples)")

    def _exit_routes(self, full):
        """Routes by age band at entry x kinship, with the 18th birthday as censoring."""
        per = full.copy()
        h = (per["dob"] + pd.DateOffset(years=18) - per["start"]).dt.days.astype(float)
        t = per["duration_days"].astype(float)
        reason = per["exit_reason"].where(per["event_observed"]).astype(object)
        at18 = (reason == "age18") | (t >= h)
        reason[at18] = None
        t = np.minimum(t, h)
        per["t"], per["route"] = t, reason
        per["young"] = per["age_entry"] < 5
        per.loc[(~per["young"]) & (per["route"] == "adoption"), "route"] = "other"
        per["kin"] = per["first_placement"] == "kinship"
        per = per[per["t"] > 0]
        # route durations pooled over all ages and placements (the fallback for thin cells)
        pooled = {}
        seen_all = [r for r in ("reunification", "sgo", "cao", "adoption", "other")
                    if (per["route"] == r).sum() >= MIN_EVENTS]
        if seen_all:
            pr = per.copy()
            pr.loc[pr["route"].notna() & ~pr["route"].isin(seen_all), "route"] = "other" if "other" in seen_all else None
            try:
                prf = sv.fit_routes(pr["t"].to_numpy(), pr["route"].to_numpy(object), seen_all + ["age18"],
                                    cure_routes=["age18"])
                pooled = {r: prf.durations[r].to_duration() for r in seen_all}
            except ValueError:
                pooled = {}
        self.route_fits = {}
        for i, band in enumerate(self.t.care.exit_routes):
            for kin_label, is_kin in (("kinship", True), ("non_kinship", False)):
                name = f"care.exit_routes[{_band_label(band)}].{kin_label}"
                cell = per[(per["age_entry"] >= band.from_age) & (per["age_entry"] < band.to_age) & (per["kin"] == is_kin)]
                n_ev = int(cell["route"].notna().sum())
                if len(cell) < MIN_CASES or n_ev < MIN_EVENTS:
                    self.log.template(name, f"{len(cell)} periods, {n_ev} exits other than at 18", len(cell))
                    continue
                tmpl = getattr(self.t.care.exit_routes[i], kin_label)
                allowed = [r for r in EXIT_REASONS if r != "age18" and not (r == "adoption" and band.from_age >= 5)]
                seen = [r for r in allowed if (cell["route"] == r).any()]
                fixed = {}
                for r in seen:
                    if (cell["route"] == r).sum() < MIN_EVENTS:
                        if r in pooled:
                            fixed[r] = pooled[r]
                        elif r in tmpl and tmpl[r].duration is not None:
                            fixed[r] = tmpl[r].duration
                # a thin route with no duration anywhere is folded into "other"
                cell = cell.copy()
                for r in seen:
                    if (cell["route"] == r).sum() < MIN_EVENTS and r not in fixed:
                        cell.loc[cell["route"] == r, "route"] = "other"
                seen = [r for r in allowed if (cell["route"] == r).any()]
                try:
                    rf = sv.fit_routes(cell["t"].to_numpy(), cell["route"].to_numpy(object), seen + ["age18"],
                                       cure_routes=["age18"], fixed=fixed, min_events=MIN_EVENTS)
                except ValueError as exc:
                    self.log.template(name, f"route model could not be fitted ({exc})", len(cell))
                    continue
                self.route_fits[name] = rf
                routes = {}
                probs = _round_probs({r: rf.probabilities[r] for r in seen + ["age18"]})
                for r in seen:
                    dur = rf.fixed.get(r) or rf.durations[r].to_duration()
                    routes[r] = {"probability": probs[r], "duration": dur.model_dump(mode="json")}
                routes["age18"] = {"probability": probs["age18"]}
                self.p["care"]["exit_routes"][i][kin_label] = routes
                thin = [r for r in seen if r in rf.fixed]
                self.log.data(name, len(cell), f"{len(cell)} periods, {n_ev} exits before 18; route model (EM + joint MLE)"
                              + (f"; durations of {', '.join(thin)} from all ages pooled (under {MIN_EVENTS} exits here)" if thin else ""))

    def _exit_hazards(self):
        """`care.exit_hazards`: exits as competing hazards by current placement need, current age band
        (the exit routes' bands) and time in care, occurrence/exposure per cell (calibration.hazards)."""
        from calibration.hazards import fit_exit_hazards
        from sim.params import Care

        self.exit_hazards_table = self.exit_hazards_fit = None
        bands = [(b.from_age, b.to_age) for b in self.t.care.exit_routes]
        fh = fit_exit_hazards(self.s, self.window, self.extract, bands)
        if fh["events"] < MIN_CASES:
            self.log.template("care.exit_hazards", f"only {fh['events']} exits before 18 to fit hazards from")
            return
        self.exit_hazards_table = fh["table"]
        self.exit_hazards_fit = fh
        for name, (k, n, fitted) in fh["shares"].items():
            what = ("SGOs whose last placement was kinship care" if name.startswith("sgo")
                    else "adoptions of children who entered care under 5")
            lo, hi = sv.binomial_ci(k, n) if n else (np.nan, np.nan)
            self.add(name, k / n if n else np.nan, lo, hi,
                     note=f"share of {what}: {k} of {n} in the data since {self.window:%d/%m/%Y}; exact binomial")
            self.add(name + "_fitted", fitted, source="fitted",
                     note=f"the same share as the fitted exit hazards give it over the data's child-years in care "
                          f"(the data's: {k / n if n else float('nan'):.3f})")
        if "exit_hazards" not in Care.model_fields:
            self.log.template("care.exit_hazards", "the parameter schema has no exit hazards: " + fh["note"], fh["events"])
            return
        self.p["care"]["exit_hazards"] = fh["params"]
        self.log.data("care.exit_hazards", fh["events"], fh["note"])

    def _moves(self):
        s = self.s
        pl = ep.placement_episodes(s.episodes, self.extract)
        dob = s.header.drop_duplicates("child").set_index("child")["dob"]
        pl["dob"] = pl["child"].map(dob)
        pl = pl[pl["dob"].notna() & pl["placement_type"].notna()].copy()
        pl = pl.sort_values(["child", "period", "placement"])
        pl["need"] = pl["placement_type"].map(NEED_OF_PLACEMENT)
        pl["next_need"] = pl.groupby(["child", "period"])["need"].shift(-1)
        w0 = self.window
        a = pl["start"].clip(lower=w0)
        b = pl["end"].fillna(self.extract).clip(upper=self.extract)
        pl = pl[b > a].copy()
        a, b = a[pl.index], b[pl.index]
        b16 = pl["dob"] + pd.DateOffset(years=16)
        under = ((np.minimum(b, b16) - a).dt.days.clip(lower=0)) / DAYS_PER_YEAR
        over = ((b - np.maximum(a, b16)).dt.days.clip(lower=0)) / DAYS_PER_YEAR
        pl["under16_y"], pl["over16_y"] = under, over
        moved = (pl["ended_by"] == "move") & pl["next_need"].notna() & (pl["end"] >= w0)
        age_end = _years(pl["dob"], pl["end"])
        step = moved & (pl["need"] == "residential") & (pl["next_need"] == "foster") & (age_end < 16)
        to_semi = moved & pl["need"].isin(["foster", "residential"]) & (pl["next_need"] == "semi_independent") & (age_end >= 16)
        brk = moved & ~step & ~to_semi
        mv = self.p["care"]["moves"]
        for need in PLACEMENT_NEEDS:
            rows = pl["need"] == need
            years = float((pl.loc[rows, "under16_y"] + pl.loc[rows, "over16_y"]).sum())
            n = int((brk & rows).sum())
            name = f"care.moves.breakdown_per_year.{need}"
            if years < 20 or n < 5:
                self.log.template(name, f"{n} moves in {years:.1f} child-years", n)
                continue
            mv["breakdown_per_year"][need] = round(n / years, 4)
            self.log.data(name, n, f"{n} moves in {years:.1f} child-years in placement")
            nxt = pl.loc[brk & rows, "next_need"].value_counts().to_dict()
            nname = f"care.moves.next_need.{need}"
            if n >= 20:
                mv["next_need"][need] = _prob_dict(nxt, [k for k in PLACEMENT_NEEDS if nxt.get(k, 0) > 0])
                self.log.data(nname, n, "placement need after a move")
            else:
                self.log.template(nname, f"only {n} moves", n)
        res_y = float(pl.loc[pl["need"] == "residential", "under16_y"].sum())
        if res_y >= 20:
            mv["step_down_residential_per_year"] = round(int(step.sum()) / res_y, 4)
            self.log.data("care.moves.step_down_residential_per_year", int(step.sum()),
                          f"moves residential -> foster under 16 in {res_y:.1f} child-years")
        else:
            self.log.template("care.moves.step_down_residential_per_year", "under 20 child-years in residential under 16")
        fr_y = float(pl.loc[pl["need"].isin(["foster", "residential"]), "over16_y"].sum())
        if "semi_independent_from_16_per_year" in mv and fr_y >= 20:
            mv["semi_independent_from_16_per_year"] = round(int(to_semi.sum()) / fr_y, 4)
            self.log.data("care.moves.semi_independent_from_16_per_year", int(to_semi.sum()),
                          f"moves to semi-independence at 16-17 in {fr_y:.1f} child-years in foster or residential care")
        elif "semi_independent_from_16_per_year" in mv:
            self.log.template("care.moves.semi_independent_from_16_per_year", "under 20 child-years at 16-17 in foster/residential care")

    def _reentry(self, per):
        rh = ep.returns_home(self.s.periods, self.extract)
        dob = per.drop_duplicates("child").set_index("child")["dob"]
        rh["dob"] = rh["child"].map(dob)
        rh = rh[rh["dob"].notna() & (rh["left_care"] >= self.window)]
        h18 = (rh["dob"] + pd.DateOffset(years=18) - rh["left_care"]).dt.days
        t = np.minimum(rh["days_observed"].astype(float), h18.astype(float))
        ev = rh["reentered"] & (rh["days_observed"] <= h18)
        keep = t > 0
        t, ev = t[keep].to_numpy(), ev[keep].to_numpy(bool)
        if len(t) == 0 or not ev.any():
            what = "no returns home" if len(t) == 0 else f"no re-entries after {len(t)} returns home"
            self.add("reentry_within_12_months", np.nan, source="not estimable", note=f"{what} in the data")
            self.log.template("care.reentry", what, len(t))
            return
        km = sv.kaplan_meier(t, ev)
        s365 = float(km.at(365)[0])
        lo, hi = km.ci_at(365)
        self.add("reentry_within_12_months", 1 - s365, 1 - float(hi[0]), 1 - float(lo[0]),
                 note=f"Kaplan-Meier: 1 - S(365 days) over {len(t)} returns home (censored at the extract date "
                      "and the 18th birthday); Greenwood interval")
        self.curves["reentry"] = {"km": km, "fit": None, "label": "Time to re-entry after a return home"}
        if ev.sum() < MIN_EVENTS or len(t) < MIN_CASES:
            self.log.template("care.reentry", f"{int(ev.sum())} re-entries after {len(t)} returns home", len(t))
            return
        rf = sv.fit_routes(t, np.where(ev, "reenter", None), ["reenter", "never"], cure_routes=["never"])
        self.p["care"]["reentry"]["probability"] = round(rf.probabilities["reenter"], 4)
        self.p["care"]["reentry"]["delay"] = rf.durations["reenter"].to_duration().model_dump(mode="json")
        self.log.data("care.reentry", len(t), f"{int(ev.sum())} re-entries after {len(t)} returns home; cure model "
                      "(a share never returns, the rest after a fitted delay)")

    # ----------------------------------------------------------------------- CIN census
    def cin_census(self):
        c = self.c
        ref = c.referrals
        # The census holds every CIN episode open at any time in its window, so the window starts
        # at about its earliest closure (as SSDA903's starts at its earliest end date). Episodes
        # referred before it are there only because they were still open then: a length-biased
        # sample (long episodes, those with CP plans, those of children who went into care). Their
        # assessments, enquiries and plans count for stocks and the snapshot, not for fitting.
        closures = ref["closure_date"].dropna()
        first = closures.min() if len(closures) else ref["referral_date"].min()
        self.cin_start = first
        tab = monthly_counts(ref["referral_date"], first, self.extract)
        rf = fit_rate(tab, self.extract)
        tab["fitted"] = rf.fitted
        self.monthly["referrals"] = tab
        n12 = int(((ref["referral_date"] >= self.last12)).sum())
        lo, hi = sv.poisson_ci(n12)
        self.add("referrals_per_year", n12, lo, hi, note="CIN census referrals in the last 12 months; exact Poisson interval")
        # re-referrals (DfE): referrals in the year within 12 months of a previous referral
        r = ref.sort_values(["child", "referral_date"])
        prev = r.groupby("child")["referral_date"].shift(1)
        in12 = r["referral_date"] >= self.last12
        rere = ((r["referral_date"] - prev).dt.days <= 365) & in12
        k, n = int(rere.sum()), int(in12.sum())
        lo, hi = sv.binomial_ci(k, n)
        short = (self.last12 - first).days < 365
        self.add("rereferral_within_12_months", k / n if n else np.nan, lo, hi,
                 note="share of referrals in the last 12 months within 12 months of a previous referral (DfE); exact binomial"
                      + ("; the CIN data start less than a year before that window, so this is an underestimate" if short else ""))
        # second or subsequent CP plans (DfE's indicator): CP plans started in the window with
        # NumberOfPreviousCPP of 1 or more. The model's repeat_plans is not fitted to it yet (kept from
        # the template); the forecast's cp_plan_starts_repeat_share is set beside it
        cpp_all = c.cp_plans
        if "number_of_previous_cpp" in cpp_all.columns:
            w = cpp_all[(cpp_all["start"] >= first) & cpp_all["number_of_previous_cpp"].notna()]
            k, n = int((w["number_of_previous_cpp"] > 0).sum()), len(w)
            lo, hi = sv.binomial_ci(k, n) if n else (np.nan, np.nan)
            self.add("cp_plans_repeat_share", k / n if n else np.nan, lo, hi,
                     note="CP plans started in the CIN census window that were a second or subsequent plan "
                          "(NumberOfPreviousCPP 1 or more; DfE's indicator); exact binomial. Compare the forecast's "
                          "cp_plan_starts_repeat_share with this")
        self._repeat_plans(first)
        # NFA before assessment
        nfa = ref["nfa"].dropna()
        if len(nfa) >= MIN_CASES:
            self.p["assessment"]["nfa_before_assessment"] = round(float(nfa.mean()), 4)
            self.log.data("assessment.nfa_before_assessment", len(nfa), "ReferralNFA share")
        else:
            self.log.template("assessment.nfa_before_assessment", "too few referrals with ReferralNFA")
        care_starts = pd.DataFrame(columns=["child", "date"])
        if self.s is not None:
            care_starts = self.s.periods[["child", "start"]].rename(columns={"start": "date"})
        self.care_starts = care_starts
        s47 = c.s47.rename(columns={"start": "date"})
        cinp = c.cin_plans.rename(columns={"start": "date"})
        cpp = c.cp_plans.rename(columns={"start": "date"})
        self._assessments(s47, cinp, care_starts)
        self._s47(cpp, cinp, care_starts)
        self._plans(s47, cinp, cpp, care_starts)
        self._direct_entries()

    def _repeat_plans(self, first):
        """`repeat_plans.cp` / `.cin`: after a CIN episode with a plan closes (the model's cin_closed and
        cp_closed closures), the chance that the child's next referral leads to a plan of the same
        kind (a CP plan for a child who has had one, else a CIN plan), and the days to that referral.

        A cure model, as the model draws it (a repeat first; the ordinary return only if not): a
        closure whose next referral leads to such a plan is a repeat at that time; one whose next
        referral does not is known not to be (the model's ordinary return); one with no referral
        since is censored at the extract date or the 18th birthday. Only closures in the census
        window count. The closures that led to a repeat are left out of the ordinary returns'
        fit (`recontact.cin_closed` / `cp_closed`), which the model draws only when no repeat is."""
        from calibration.closed import referral_closure_kinds

        self.repeat_closures = set()
        c = self.c
        r = c.referrals.reset_index(drop=True)
        kinds = referral_closure_kinds(c)
        plan_keys = {"cp": set(zip(c.cp_plans["child"], c.cp_plans["referral_date"])),
                     "cin": set(zip(c.cin_plans["child"], c.cin_plans["referral_date"]))}
        cp_start = c.cp_plans.groupby("child")["start"].min()
        keep = np.isin(kinds, ("cin_closed", "cp_closed")) & (r["closure_date"] >= first).to_numpy()
        closed = r[keep].copy()
        if not len(closed):
            self.log.template("repeat_plans", "no CIN episodes with a plan closed in the CIN census window")
            return
        first_cp = closed["child"].map(cp_start)
        closed["kind"] = np.where(first_cp.notna() & (first_cp <= closed["closure_date"]), "cp", "cin")
        refs = r[["child", "referral_date"]]
        m = closed[["child", "closure_date"]].reset_index().merge(refs, on="child")
        m = m[m["referral_date"] > m["closure_date"]].sort_values("referral_date").drop_duplicates("index")
        nxt = m.set_index("index")["referral_date"].reindex(closed.index)
        b18 = closed["child"].map(self._dob()) + pd.DateOffset(years=18)
        until = b18.where(b18.notna() & (b18 < self.extract), self.extract)
        got = (nxt.notna() & (nxt <= until)).to_numpy()
        t_next = (nxt - closed["closure_date"]).dt.days.to_numpy(float)
        t_cens = (until - closed["closure_date"]).dt.days.to_numpy(float)
        kind_of = closed["kind"].to_numpy()
        for kind in ("cp", "cin"):
            name = f"repeat_plans.{kind}"
            keys = plan_keys[kind]
            is_plan = np.array([(ch, d) in keys for ch, d in zip(closed["child"], nxt)], bool)
            rows = kind_of == kind
            rep = got & is_plan & rows
            other = got & ~is_plan & rows
            sel = rows & (t_cens > 0)
            t = np.where(got, t_next, t_cens)[sel]
            route = np.where(rep, "repeat", np.where(other, "never", None))[sel]
            n, n_rep, n_other = int(sel.sum()), int(rep[sel].sum()), int(other[sel].sum())
            if kind not in self.p["repeat_plans"] and (self.k is None or not len(self.k.contacts)):
                # without contacts the template's ordinary returns stay, set without this kind of repeat
                self.log.template(name, f"not in the template, and no contacts file to refit the ordinary returns "
                                        f"after a closure without it ({n_rep} repeat plans after {n} closures)", n)
                continue
            if n < MIN_CASES or n_rep < MIN_EVENTS:
                self.log.template(name, f"{n_rep} repeat plans after {n} closures", n)
                continue
            try:
                rf = sv.fit_routes(np.maximum(t, 0.5), route, ["repeat", "never"], cure_routes=["never"])
            except ValueError as exc:
                self.log.template(name, f"the cure model could not be fitted ({exc})", n)
                continue
            pr, se = rf.probabilities["repeat"], rf.prob_se.get("repeat", np.nan)
            self.p["repeat_plans"][kind] = {"probability": round(pr, 4),
                                           "delay": rf.durations["repeat"].to_duration().model_dump(mode="json")}
            self.repeat_closures |= set(zip(closed["child"][rep], closed["closure_date"][rep]))
            lo, hi = (max(pr - 1.96 * se, 0.0), min(pr + 1.96 * se, 1.0)) if np.isfinite(se) else (np.nan, np.nan)
            what = "CP plan for a child who has had one" if kind == "cp" else "CIN plan for a child who has had only CIN plans"
            self.add(f"repeat_plan_probability_{kind}", pr, lo, hi,
                     note=f"chance that a CIN episode with a plan, once closed, is followed by a referral leading to a "
                          f"repeat {what}: {n_rep} of {n} closures since {first:%d/%m/%Y} ({n_other} referred again "
                          "without one; the rest censored at the extract date or the 18th birthday); cure model, "
                          "interval from its information matrix")
            self.log.data(name, n, f"{n_rep} repeat plans after {n} closures of CIN episodes with a plan "
                          f"({n_other} referred again without one); cure model: probability {pr:.3f}, delay to the "
                          f"referral {rf.durations['repeat'].describe()}")

    def _duration(self, name, label, items, start, end, open_until, min_events=MIN_EVENTS):
        """Fit a duration with censoring at the closure or extract date and at the 18th birthday;
        returns the BestFit (or None), the durations and whether each ended."""
        t, d, _ = self._cut_at_18(items, start, end, open_until)
        ok = t >= 0
        t, d = t[ok], d[ok]
        if d.sum() < min_events:
            return None, t, d
        bf = sv.fit_best(t, d)
        self.curves[name] = {"km": sv.kaplan_meier(t, d), "fit": bf.best, "label": label}
        return bf, t, d

    def _dob(self) -> pd.Series:
        """Each child's date of birth: the CIN census's, else SSDA903's."""
        if getattr(self, "_dobs", None) is None:
            r = self.c.referrals.dropna(subset=["dob"]).drop_duplicates("child").set_index("child")["dob"]
            if self.s is not None:
                h = self.s.header.dropna(subset=["dob"]).drop_duplicates("child").set_index("child")["dob"]
                r = pd.concat([r, h[~h.index.isin(r.index)]])
            self._dobs = r
        return self._dobs

    def _cut_at_18(self, items, start, end, open_until):
        """Durations of assessments, enquiries or plans (`items`, with a `child` column) cut at the
        18th birthday, as the model cuts them (it closes them on the birthday with no outcome).
        An item that ended on or after the day before the birthday, or was still open then, is
        censored there: its ending says the child turned 18, not how or when it would have ended.
        Returns (days, ended, at18) as arrays; `at18` marks the items censored at the birthday."""
        b18 = items["child"].map(self._dob()) + pd.DateOffset(years=18)
        stop = end.fillna(open_until)
        at18 = b18.notna() & (stop >= b18 - pd.Timedelta(days=AT18_DAYS))
        stop = stop.where(~(b18 < stop), b18)
        t = (stop - start).dt.days.astype(float).to_numpy()
        return t, (end.notna() & ~at18).to_numpy(bool), at18.to_numpy(bool)

    @staticmethod
    def _at18_note(n: int, what: str) -> str:
        return (f"; {n} {what} that ended on or within {AT18_DAYS} day of the 18th birthday censored there (the model "
                "closes them at the birthday), not counted as endings or outcomes" if n else "")

    def _from_window(self, items: pd.DataFrame, what: str) -> tuple[pd.DataFrame, str]:
        """The items (assessments, enquiries, plans) that started in the CIN census window, and a
        note for the fit log saying how many that started before it were left out."""
        before = items["start"] < self.cin_start
        n = int(before.sum())
        note = (f"; {n} {what} that started before the CIN census window ({self.cin_start:%d/%m/%Y}, its earliest "
                "closure) left out: only the long ones are still there to be seen" if n else "")
        return items[~before], note

    def _assessments(self, s47, cinp, care):
        a = self.c.assessments.sort_values(["child", "referral_date", "start"])
        a = a.drop_duplicates(["child", "referral_date"], keep="first")
        a, before = self._from_window(a, "assessments")
        refs = self.c.referrals.set_index(["child", "referral_date"])["closure_date"]
        closure = pd.Series(refs.reindex(pd.MultiIndex.from_frame(a[["child", "referral_date"]])).to_numpy(), index=a.index)
        open_until = closure.fillna(self.extract).clip(upper=self.extract)
        _, _, at18 = self._cut_at_18(a, a["start"], a["authorised"], open_until)
        n18 = int((at18 & a["authorised"].notna().to_numpy()).sum())
        before += self._at18_note(n18, "assessments")
        bf, t, d = self._duration("assessment", "Assessments", a, a["start"], a["authorised"], open_until)
        if bf is not None:
            self.p["assessment"]["duration"] = bf.best.to_duration().model_dump(mode="json")
            self.log.data("assessment.duration", len(t), bf.best.describe() + before)
        else:
            self.log.template("assessment.duration", "too few authorised assessments")
        done = a[a["authorised"].notna().to_numpy() & ~at18].copy()
        if len(done) < MIN_CASES:
            self.log.template("assessment.outcomes", f"only {len(done)} authorised assessments", len(done))
            return
        done["key_end"] = done["authorised"]
        to_s47 = self._between(s47, done, "start", "authorised")
        to_cin = self._between(cinp, done, "start", "authorised")
        to_care = self._between(care, done, "start", "authorised")
        out = np.where(to_s47, "s47", np.where(to_cin, "cin", np.where(to_care, "care", "nfa")))
        counts = pd.Series(out).value_counts().to_dict()
        self.p["assessment"]["outcomes"] = _prob_dict(counts, ["nfa", "cin", "s47", "care"])
        self.log.data("assessment.outcomes", len(done), "next step within 14 days of authorisation (S47 first, then CIN plan, "
                                                        "then care)" + before)

    def _between(self, events, keys, start_col, end_col):
        """Whether the child has an event dated in [start, end + LINK_DAYS]."""
        if len(events) == 0 or len(keys) == 0:
            return np.zeros(len(keys), bool)
        k = keys[["child", start_col, end_col]].reset_index(drop=True).reset_index()
        m = k.merge(events[["child", "date"]], on="child", how="inner")
        hit = (m["date"] >= m[start_col]) & (m["date"] <= m[end_col] + pd.Timedelta(days=LINK_DAYS))
        return k["index"].isin(m.loc[hit, "index"]).to_numpy()

    def _s47(self, cpp, cinp, care):
        s, before = self._from_window(self.c.s47.copy(), "enquiries")
        ended = s["icpc_date"].notna() | s["icpc_not_required"].fillna(False).astype(bool)
        # duration: start to ICPC; enquiries closed without one end at the next step or are left out
        open_ = s["icpc_date"].isna() & ~s["icpc_not_required"].fillna(False).astype(bool)
        use = s[s["icpc_date"].notna() | open_]
        bf, t, d = self._duration("s47", "Section 47 enquiries (to the ICPC)", use, use["start"], use["icpc_date"],
                                  pd.Series(self.extract, index=use.index))
        n18_icpc = int((self._cut_at_18(use, use["start"], use["icpc_date"], pd.Series(self.extract, index=use.index))[2]
                        & use["icpc_date"].notna().to_numpy()).sum())
        if bf is not None:
            self.p["s47"]["duration"] = bf.best.to_duration().model_dump(mode="json")
            self.log.data("s47.duration", len(t), bf.best.describe() + "; enquiries with no ICPC needed are left out"
                          + self._at18_note(n18_icpc, "ICPCs") + before)
        else:
            self.log.template("s47.duration", "too few ICPCs")
        done = s[ended].copy()
        done["until"] = done["icpc_date"].fillna(done["start"] + pd.Timedelta(days=30))
        # an enquiry whose ICPC (or, with none needed, its 30 days) reached the 18th birthday tells
        # nothing of what follows: the model closes it at the birthday with no outcome
        at18 = self._cut_at_18(done, done["start"], done["until"], done["until"])[2]
        done = done[~at18]
        before = self._at18_note(int(at18.sum()), "enquiries") + before
        if len(done) < MIN_CASES:
            self.log.template("s47.outcomes", f"only {len(done)} completed enquiries", len(done))
            return
        to_cp = self._between(cpp, done, "start", "until")
        to_cin = self._between(cinp, done, "start", "until")
        to_care = self._between(care, done, "start", "until")
        out = np.where(to_cp, "cp", np.where(to_care, "care", np.where(to_cin, "cin", "nfa")))
        counts = pd.Series(out).value_counts().to_dict()
        self.p["s47"]["outcomes"] = _prob_dict(counts, ["cp", "cin", "nfa", "care"])
        self.log.data("s47.outcomes", len(done), "CP plan, care, or CIN plan within 14 days of the ICPC "
                                                 "(or of 30 days after the start where no ICPC was needed)" + before)

    def _plans(self, s47, cinp, cpp, care):
        refs = self.c.referrals[["child", "referral_date", "closure_date", "reason_for_closure"]]
        # CIN plans
        for kind, plans, routes_allowed, label in (
            ("cin_plan", self.c.cin_plans, ("closed", "step_down_early_help", "s47", "care"), "CIN plans"),
            ("cp_plan", self.c.cp_plans, ("step_down_cin", "closed", "care"), "CP plans"),
        ):
            pl = plans.merge(refs, on=["child", "referral_date"], how="left")
            pl, before = self._from_window(pl[pl["start"].notna()].copy(), "plans")
            # censored at the extract date and at the 18th birthday (a plan ending then is not an ending)
            t, d, at18 = self._cut_at_18(pl, pl["start"], pl["end"], pd.Series(self.extract, index=pl.index))
            ok = t >= 0
            pl, t, d, at18 = pl[ok], t[ok], d[ok], at18[ok]
            before = self._at18_note(int((at18 & pl["end"].notna().to_numpy()).sum()), "plans") + before
            if d.sum() < MIN_EVENTS:
                self.add(f"{kind}_median_days", np.nan, source="not estimable", note="too few ended plans")
                self.add(f"{kind}_median_days_single_family", np.nan, source="not estimable", note="too few ended plans")
                self.log.template(f"{kind}.routes", f"only {int(d.sum())} ended plans", len(pl))
                continue
            bf = sv.fit_best(t, d)
            km = sv.kaplan_meier(t, d)
            self.curves[kind] = {"km": km, "fit": bf.best, "label": label}
            lo, hi = bf.best.median_ci()
            single = (bf.best.median(), lo, hi,
                      f"median of one {bf.best.family} fitted to all {len(t)} plans ({int(d.sum())} ended; censored "
                      "MLE, AIC); delta-method interval. Not what the model draws: it draws a route, then that route's "
                      f"duration ({kind}_median_days); one family cannot match a mix of short and long plans" + before)
            self.add(f"{kind}_median_days_single_family", single[0], single[1], single[2], note=single[3])
            ended = pl[d].copy()
            ended["e0"] = ended["end"] - pd.Timedelta(days=LINK_DAYS)
            ended["e1"] = ended["end"]
            to_care = self._between(care, ended, "e0", "e1")
            if kind == "cin_plan":
                ended["s0"] = ended["start"] + pd.Timedelta(days=1)
                to_s47 = self._between(s47, ended, "s0", "e1") | self._between(cpp, ended, "s0", "e1")
                eh = (ended["reason_for_closure"] == "RC9") & (
                    (ended["closure_date"] - ended["end"]).dt.days.between(0, 2 * LINK_DAYS)).to_numpy()
                route = np.where(to_care, "care", np.where(to_s47, "s47", np.where(eh, "step_down_early_help", "closed")))
            else:
                ended["s0"] = ended["end"] - pd.Timedelta(days=1)
                to_cin = self._between(cinp, ended, "s0", "e1")
                route = np.where(to_care, "care", np.where(to_cin, "step_down_cin", "closed"))
            r_all = np.full(len(pl), None, dtype=object)
            r_all[d] = route
            tmpl_routes = getattr(self.t, kind).routes
            present = [r for r in routes_allowed if (r_all == r).sum() > 0]
            fixed = {r: tmpl_routes[r].duration for r in present
                     if (r_all == r).sum() < MIN_EVENTS and r in tmpl_routes}
            try:
                rf = sv.fit_routes(t, r_all, present, fixed=fixed, min_events=MIN_EVENTS)
            except ValueError as exc:
                self.log.template(f"{kind}.routes", f"route model could not be fitted ({exc})", len(pl))
                self.add(f"{kind}_median_days", single[0], single[1], single[2],
                         note="the route model could not be fitted (the template's routes are kept): " + single[3])
                continue
            self.route_fits[kind] = rf
            probs = _round_probs({r: rf.probabilities.get(r, 0.0) for r in present})
            routes = {}
            for r in routes_allowed:
                if r in present:
                    dur = rf.fixed.get(r) or rf.durations[r].to_duration()
                    emp = sv.empirical_route(t, r_all, rf, r)
                    if emp is not None:
                        if emp.chosen:
                            dur = emp.duration
                        self.log.data(f"{kind}.routes.{r}.duration", emp.n_events,
                                      emp.note() + ("" if emp.duration is None else
                                                    f"; the fitted {rf.durations[r].family} otherwise"))
                    routes[r] = {"probability": probs[r], "duration": dur.model_dump(mode="json")}
                else:  # not seen: probability 0, the template's duration kept for the schema
                    routes[r] = {"probability": 0.0, "duration": tmpl_routes[r].duration.model_dump(mode="json")
                                 if r in tmpl_routes else {"dist": "exponential", "mean_days": 180.0}}
            self.p[kind]["routes"] = routes
            self._route_model_median(kind, routes, km, len(t), int(d.sum()), before)
            missing = [r for r in routes_allowed if r not in present]
            self.log.data(f"{kind}.routes", len(pl), f"{len(pl)} plans, {int(d.sum())} ended; route model"
                          + (f"; never seen: {', '.join(missing)} (probability 0)" if missing else "")
                          + (f"; durations kept from the template for thin routes {', '.join(fixed)}" if fixed else "")
                          + before)

    def _route_model_median(self, kind, routes, km, n, n_ended, before):
        """`<kind>_median_days`: the median of the route model as the model draws it (a route with
        its fitted probability, then that route's written duration, empirical curves included),
        with the Kaplan-Meier median's Greenwood interval. The route model's curve is kept for the
        report's chart."""
        from pydantic import TypeAdapter
        from sim.distributions import Duration

        adapter = TypeAdapter(Duration)
        parts = [(r["probability"], adapter.validate_python(r["duration"])) for r in routes.values()
                 if r["probability"] > 0]
        med = sv.route_mixture_median(parts)
        lo, hi = sv.km_median_ci(km)
        self.curves[kind]["routes"] = parts
        self.add(f"{kind}_median_days", med, lo, hi,
                 note=f"median of the route model as the model draws it (each route's probability times its "
                      f"duration, empirical curves included) over {n} plans, {n_ended} ended; interval: the "
                      f"Kaplan-Meier median's (Greenwood band; KM median {km.median():.0f} days). The median of one "
                      f"family fitted to all plans is {kind}_median_days_single_family" + before)

    def _direct_entries(self):
        if self.s is None:
            return
        from calibration.supply import first_entries

        full = self.periods
        start = max(self.cin_start + pd.Timedelta(days=365), self.window)
        ent = full[full["start"] >= start].copy()
        # a period that follows a return home is made by care.reentry (fitted on the time from the
        # return home to the next period of care): counted here too, the model would make it twice
        first = first_entries(self.s.periods, ent)
        n_re = int((~first).sum())
        ent = ent[first]
        if len(ent) < MIN_CASES:
            self.log.template("arrivals.direct_care_entries", f"only {len(ent)} care entries inside the CIN census window")
            return
        ref = self.c.referrals
        m = ent[["child", "start"]].reset_index().merge(ref[["child", "referral_date", "closure_date"]], on="child")
        open_ = (m["referral_date"] <= m["start"] - pd.Timedelta(days=LINK_DAYS)) & (
            m["closure_date"].isna() | (m["closure_date"] >= m["start"] - pd.Timedelta(days=LINK_DAYS)))
        known = ent.index.isin(m.loc[open_, "index"]) | self._in_front_door_window(ent)
        direct = ent[~known]
        tab = monthly_counts(direct["start"], start, self.extract)
        rf = fit_rate(tab, self.extract)
        tab["fitted"] = rf.fitted
        self.monthly["direct_care_entries"] = tab
        a = self.p["arrivals"]["direct_care_entries"]
        a["per_month"] = round(rf.per_month, 3)
        a["trend_per_year"] = round(min(max(rf.trend_per_year, -0.3), 0.3), 4)
        if rf.seasonality:
            a["seasonality"] = rf.seasonality
        self.log.data("arrivals.direct_care_entries", len(direct),
                      f"first entries with no CIN episode open {LINK_DAYS} days before and not the outcome of an assessment "
                      f"or S47 enquiry ({len(direct)} of {len(ent)}; {n_re} re-entries after a return home left out, "
                      f"which care.reentry makes); {rf.note}")
        ages = _years(direct["dob"], direct["start"])
        self._age_weights("arrivals.age_at_direct_entry", ages)

    def _in_front_door_window(self, ent):
        """Whether each entry falls where the assessment or S47 outcome fit already counts it as
        a step into care: [start, authorised + LINK_DAYS] of an authorised assessment, or
        [start, ICPC (or start + 30 days where none was needed) + LINK_DAYS] of a completed S47
        enquiry. Such an entry must not also be a direct entry, or the model makes it twice."""
        keys = ent[["child", "start"]].rename(columns={"start": "date"})
        a = self.c.assessments
        a = a[a["authorised"].notna()]
        s = self.c.s47
        s = s[s["icpc_date"].notna() | s["icpc_not_required"].fillna(False).astype(bool)].copy()
        s["until"] = s["icpc_date"].fillna(s["start"] + pd.Timedelta(days=30))
        hit = np.zeros(len(ent), bool)
        for w, end_col in ((a, "authorised"), (s, "until")):
            if not len(w):
                continue
            m = keys.reset_index(drop=True).reset_index().merge(w[["child", "start", end_col]], on="child")
            inside = (m["date"] >= m["start"]) & (m["date"] <= m[end_col] + pd.Timedelta(days=LINK_DAYS))
            hit |= pd.Index(range(len(ent))).isin(m.loc[inside, "index"])
        return hit

    def _age_weights(self, path, ages):
        ages = ages.dropna()
        sect, key = path.split(".")
        bands = self.p[sect][key]
        if len(ages) < MIN_CASES:
            self.log.template(path, f"only {len(ages)} ages")
            return
        for b in bands:
            b["weight"] = round(float(((ages >= b["from_age"]) & (ages < b["to_age"])).mean()), 4)
        if sum(b["weight"] for b in bands) <= 0:
            self.log.template(path, "no ages inside the bands")
            return
        self.log.data(path, len(ages), "share of ages in each band")

    # ------------------------------------------------------------------------- contacts
    def contacts(self):
        k = self.k.contacts.sort_values(["child", "contact_date"]).copy()
        first = k["contact_date"].min()
        prev = k.groupby("child")["contact_date"].shift(1)
        gap = (k["contact_date"] - prev).dt.days
        k["returning"] = gap.notna() & (gap <= LOOKBACK_DAYS)
        # contacts about children open to social care at the time are not front-door arrivals
        k["open_case"] = False
        if self.c is not None:
            from calibration.closed import about_open_case
            k["open_case"] = about_open_case(k, self.c.referrals)
        lookback = min(LOOKBACK_DAYS, max((self.extract - first).days - 365, 0))
        from_ = first + pd.Timedelta(days=lookback)
        new = k[~k["returning"] & ~k["open_case"]]
        tab = monthly_counts(k["contact_date"], first, self.extract)
        tab_new = monthly_counts(new["contact_date"], from_, self.extract)
        rf = fit_rate(tab_new, self.extract)
        tab_new["fitted"] = rf.fitted
        self.monthly["contacts"] = tab
        self.monthly["new_contacts"] = tab_new
        n12 = int((k["contact_date"] >= self.last12).sum())
        lo, hi = sv.poisson_ci(n12)
        self.add("contacts_per_year", n12, lo, hi, note="all contacts in the last 12 months; exact Poisson interval")
        a = self.p["arrivals"]["new_contacts"]
        a["per_month"] = round(rf.per_month, 2)
        a["trend_per_year"] = round(min(max(rf.trend_per_year, -0.3), 0.3), 4)
        if rf.seasonality:
            a["seasonality"] = rf.seasonality
        share_new = len(new[new["contact_date"] >= from_]) / max(1, int((k["contact_date"] >= from_).sum()))
        note = (f"contacts about children with no contact in the previous {LOOKBACK_DAYS} days and no open CIN episode "
                f"(counted from {from_:%d/%m/%Y}, {share_new:.0%} of contacts); {rf.note}")
        if lookback < LOOKBACK_DAYS:
            note += f"; only {lookback} days of history to look back on, so some returning contacts count as new"
        self.log.data("arrivals.new_contacts", len(new), note)
        self.add("new_contacts_per_month", rf.per_month, source="data", note=note)
        # front door outcomes of new contacts
        recent = new[new["contact_date"] >= from_]
        counts = recent["outcome"].value_counts().to_dict()
        if len(recent) >= MIN_CASES:
            self.p["front_door"]["outcomes"] = _prob_dict(counts, ["nfa", "early_help", "referral"])
            self.log.data("front_door.outcomes", len(recent), "outcomes of new contacts (escalated referrals included)")
        else:
            self.log.template("front_door.outcomes", f"only {len(recent)} new contacts")
        ages = _years(new["dob"], new["contact_date"])
        self._age_weights("arrivals.age_at_contact", ages)
        self._recontacts(k)

    def _recontacts(self, k):
        """Chance and delay of coming back to the front door after each kind of closure."""
        events = k[["child", "contact_date", "outcome"]].rename(columns={"contact_date": "date"})
        closures = []
        for kind in ("nfa", "early_help"):
            c = k[(k["outcome"] == kind) & ~k["open_case"]][["child", "contact_date"]].rename(columns={"contact_date": "closed"})
            closures.append((kind, c))
        if self.c is not None:
            from calibration.closed import referral_closure_kinds
            kinds = referral_closure_kinds(self.c)   # "" if open or closed RC1 to RC6
            r = self.c.referrals
            for kind in ("assessment_nfa", "cin_closed", "cp_closed"):
                c = r[kinds == kind][["child", "closure_date"]].rename(columns={"closure_date": "closed"})
                closures.append((kind, c))
        if self.s is not None:
            p = self.periods
            c = p[p["event_observed"] & p["exit_reason"].isin(["sgo", "cao", "other"])][["child", "end"]]
            closures.append(("care_exit", c.rename(columns={"end": "closed"})))
        repeats = getattr(self, "repeat_closures", set())
        for kind, c in closures:
            name = f"recontact.{kind}"
            if kind not in self.p["recontact"]:
                continue
            n_repeat = 0
            if kind in ("cin_closed", "cp_closed") and repeats:
                # the model draws an ordinary return only when no repeat plan is drawn
                rep = np.array([(ch, d) in repeats for ch, d in zip(c["child"], c["closed"])], bool)
                n_repeat = int(rep.sum())
                c = c[~rep]
            c = c[c["closed"] >= k["contact_date"].min()].reset_index(drop=True)
            if len(c) < MIN_CASES:
                self.log.template(name, f"only {len(c)} closures", len(c))
                continue
            m = c.reset_index().merge(events, on="child")
            m = m[m["date"] > m["closed"]].sort_values("date").drop_duplicates("index")
            nxt = m.set_index("index")
            t = (nxt["date"].reindex(c.index).fillna(self.extract) - c["closed"]).dt.days.astype(float).to_numpy()
            ev = nxt["date"].reindex(c.index).notna().to_numpy()
            if ev.sum() < MIN_EVENTS:
                self.log.template(name, f"{int(ev.sum())} returns after {len(c)} closures", len(c))
                continue
            model = return_within(t, ev, LOOKBACK_DAYS)
            if model is None:
                self.log.template(name, f"follow-up too short ({len(c)} closures)", len(c))
                continue
            rc = self.p["recontact"][kind]
            rc["probability"] = round(model[0], 4)
            rc["delay"] = model[1].model_dump(mode="json")
            note = (f"{int(ev.sum())} returns after {len(c)} closures; chance of a contact within {LOOKBACK_DAYS} days "
                    "(Kaplan-Meier) and its timing (empirical, conditional on returning within that time)")
            note += self._return_referrals(rc, nxt["outcome"].reindex(c.index), ev & (t <= LOOKBACK_DAYS), t)
            if n_repeat:
                note += f"; {n_repeat} closures followed by a repeat plan left out (repeat_plans makes those returns)"
            self.log.data(name, len(c), note)

    @staticmethod
    def _return_referrals(rc: dict, outcome: pd.Series, returned: np.ndarray, t: np.ndarray) -> str:
        """Share of returning contacts referred, early (within LATE_RETURN_DAYS of the closure) and
        late apart where both have enough returns: a child back within weeks is referred far more
        often than one back after a year. Returns the note for the fit log."""
        known = np.asarray(returned, bool) & outcome.notna().to_numpy()
        if known.sum() < MIN_CASES:
            return "; too few returning contacts with an outcome to fit their referral share (template kept)"
        ref = (outcome[known] == "referral").to_numpy()
        early = t[known] <= LATE_RETURN_DAYS
        if early.sum() >= MIN_CASES and (~early).sum() >= MIN_CASES:
            rc["referral_probability"] = round(float(ref[early].mean()), 4)
            rc["late_after_days"] = float(LATE_RETURN_DAYS)
            rc["late_referral_probability"] = round(float(ref[~early].mean()), 4)
            return (f"; referral_probability = share of returns within {LATE_RETURN_DAYS} days referred "
                    f"({int(ref[early].sum())} of {int(early.sum())}), late_referral_probability = share of later "
                    f"returns referred ({int(ref[~early].sum())} of {int((~early).sum())})")
        rc["referral_probability"] = round(float(ref.mean()), 4)
        rc.pop("late_after_days", None)
        rc.pop("late_referral_probability", None)
        return (f"; referral_probability = share of returning contacts referred ({int(ref.sum())} of {len(ref)}; "
                f"too few early or late returns to fit them apart)")

    # ------------------------------------------------------------------------- costs
    def apply_costs(self):
        if self.costs is None:
            self.log.template("costs", "no costs file given")
            return
        for r in self.costs.itertuples():
            self.p["costs"]["placement_weekly"][r.placement_type] = float(r.weekly_cost)
        given = set(self.costs["placement_type"])
        self.log.data("costs.placement_weekly", len(self.costs), "from the costs file: " + ", ".join(sorted(given)))
        rest = [p for p in PLACEMENT_TYPES if p not in given and p not in SPLIT_COST]
        if rest:
            self.log.template("costs.placement_weekly (others)", "not in the costs file: " + ", ".join(rest))

    # ----------------------------------------------------------------------- snapshot
    def snapshot(self) -> pd.DataFrame:
        snap = build_snapshot(self.s, self.c, self.extract, with_child=True)
        self.open_children = set(snap.pop("child"))
        return snap


def build_snapshot(ssda903, cin, date, with_child: bool = False) -> pd.DataFrame:
    """Children open at each stage on `date` (the columns of sim.initial.SNAPSHOT_COLUMNS).

    A child open at several stages is counted once, at the deepest: care, then CP plan, S47
    enquiry (started in the last 90 days, ICPC not yet held), CIN plan, assessment (started in
    the last 180 days, not yet authorised). Children are renumbered 1, 2... (the model needs
    whole numbers); children without a date of birth or aged 18 or over on the next day are left out.
    `with_child` adds a last column `child`, the data's identifier.
    """
    d = pd.Timestamp(date)
    rows = {}
    dobs = {}
    if ssda903 is not None:
        dobs.update(ssda903.header.drop_duplicates("child").set_index("child")["dob"].to_dict())
    if cin is not None:
        dobs.update({k: v for k, v in cin.referrals.dropna(subset=["dob"]).drop_duplicates("child")
                    .set_index("child")["dob"].items() if k not in dobs})
    prev_cp = {}
    if cin is not None:
        cp = cin.cp_plans.sort_values("start")
        for child, g in cp.groupby("child"):
            prev_cp[child] = list(g["start"])

    def put(child, state, start, care_start=None, placement=""):
        if child in rows:
            return
        rows[child] = {"child": child, "state": state, "state_start": start, "care_start": care_start,
                       "placement": placement}
    if ssda903 is not None:
        e = ssda903.episodes
        cur = e[(e["start"] <= d) & (e["end"].isna() | (e["end"] > d))].sort_values("start").drop_duplicates("child", keep="last")
        per = ssda903.periods.set_index(["child", "period"])["start"]
        for r in cur.itertuples():
            pt = r.placement_type if isinstance(r.placement_type, str) else "other"
            put(r.child, "care", per.get((r.child, r.period), r.start), per.get((r.child, r.period), r.start), pt)
    if cin is not None:
        c = cin
        ref_open = c.referrals[(c.referrals["closure_date"].isna()) | (c.referrals["closure_date"] > d)]
        open_keys = set(zip(ref_open["child"], ref_open["referral_date"]))

        def still(df, end_col):
            x = df[(df["start"] <= d) & (df[end_col].isna() | (df[end_col] > d))]
            return x[[k in open_keys for k in zip(x["child"], x["referral_date"])]] if len(x) else x
        for r in still(c.cp_plans, "end").itertuples():
            put(r.child, "cp", r.start)
        s47 = c.s47[~c.s47["icpc_not_required"].fillna(False).astype(bool)]
        s47 = s47[s47["start"] >= d - pd.Timedelta(days=90)]
        for r in still(s47, "icpc_date").itertuples():
            put(r.child, "s47", r.start)
        for r in still(c.cin_plans, "end").itertuples():
            put(r.child, "cin", r.start)
        a = c.assessments[c.assessments["start"] >= d - pd.Timedelta(days=180)]
        for r in still(a, "authorised").itertuples():
            put(r.child, "assessment", r.start)
    out = []
    for i, (child, r) in enumerate(sorted(rows.items(), key=lambda kv: str(kv[0])), start=1):
        dob = dobs.get(child)
        # ages on the forecast's first day (the day after the extract), as the model checks them
        if dob is None or pd.isna(dob) or dob > d or ((d - dob).days + 1) / DAYS_PER_YEAR >= 18:
            continue
        n_prev = sum(1 for s in prev_cp.get(child, []) if s < (r["state_start"] if r["state"] == "cp" else d + pd.Timedelta(days=1)))
        out.append({"child_id": i, "dob": dob.date().isoformat(), "state": r["state"],
                    "state_start": pd.Timestamp(r["state_start"]).date().isoformat(),
                    "care_start": pd.Timestamp(r["care_start"]).date().isoformat() if r["care_start"] is not None else "",
                    "placement": r["placement"], "previous_cp_plans": int(n_prev), "child": child})
    from sim.initial import SNAPSHOT_COLUMNS
    return pd.DataFrame(out, columns=list(SNAPSHOT_COLUMNS) + (["child"] if with_child else []))


def children_only(contacts):
    """The contacts about children: those about someone aged 18 or over on the contact date (by
    the contacts file's own dob) are left out. The front door is for children, and the model's
    ages stop at 18: counted, they would add to the rate of new contacts, to the NFA and early help
    shares of their outcomes and to the returns after a closure. Returns (contacts, how many were
    left out); the same object if none were."""
    import copy

    k = contacts.contacts
    adult = k["dob"].notna() & (k["contact_date"] >= k["dob"] + pd.DateOffset(years=18))
    n = int(adult.sum())
    if not n:
        return contacts, 0
    out = copy.copy(contacts)
    out.contacts = k[~adult].reset_index(drop=True)
    return out, n


def fit_parameters(ssda903, cin=None, contacts=None, costs=None, *, extract_date=None,
                   template: Params, name: Optional[str] = None) -> FitResult:
    """Fit parameters from the loaded data; see the module docstring and docs/calibration.md."""
    if ssda903 is None:
        raise DataError("SSDA903 data are needed to calibrate")
    extract = as_timestamp(extract_date) if extract_date is not None else ssda903.extract_date
    if isinstance(costs, (str, Path)):
        costs = load_costs(costs)
    n_adult = 0
    if contacts is not None and len(contacts.contacts):
        contacts_given = contacts
        contacts, n_adult = children_only(contacts)
    f = _Fitter(ssda903, cin, contacts, costs, extract, template)
    f.route_fits = {}
    f.care()
    if cin is not None and len(cin.referrals):
        f.cin_census()
    else:
        for m in ("referrals_per_year", "rereferral_within_12_months", "cin_plan_median_days", "cp_plan_median_days"):
            f.add(m, np.nan, source="not estimable", note="no CIN census given")
        for p_ in ("assessment", "s47", "cin_plan.routes", "cp_plan.routes"):
            f.log.template(p_, "no CIN census given")
    if contacts is not None and len(contacts.contacts):
        f.contacts()
        if n_adult:
            f.log.data("contacts (aged 18 or over)", n_adult,
                       f"{n_adult} contacts about people aged 18 or over on the day (by the contacts file's dob) left "
                       "out of every fit: the front door is for children")
    else:
        f.log.template("arrivals.new_contacts", "no contacts file given: the template's rate of new contacts is kept")
        f.log.template("front_door.outcomes", "no contacts file given")
        f.log.template("recontact", "no contacts file given")
    f.apply_costs()
    for p_ in ("front_door.screening", "front_door.escalation", "edge_of_care", "capacity",
               "care.inhouse_foster_suitable_share", "care.spot_residential_over_4100_share",
               "care.sgo_allowance_share", "care.adoption_allowance_share", "costs (other than placements)"):
        f.log.template(p_, "not in the activity data")
    # horizon: start the day after the extract date (the snapshot is the caseload at the end of
    # that day; an extract on 31 March starts a forecast on 1 April), as long as the template's
    length = template.horizon.end_date - template.horizon.start_date
    start = extract.date() + dt.timedelta(days=1)
    f.p["horizon"] = {"start_date": start.isoformat(), "end_date": (start + length).isoformat()}
    f.p["initial_caseload"] = "snapshot.csv"
    no_cin = cin is None or not len(cin.referrals)
    if no_cin:
        # entries into care from SSDA903 itself: direct entries = observed - the template's front door
        from calibration.supply import fit_care_supply
        fit_care_supply(f)
    f.p["name"] = name or f"calibrated to data extracted {extract.date().isoformat()}"
    f.p["description"] = (f"Fitted by carepath calibrate from activity data extracted on {extract.date().isoformat()}, "
                          f"starting from the template '{template.name}'. See calibration_summary.csv.")
    params = params_from_dict(f.p, "fitted parameters")
    snap = f.snapshot()
    if no_cin:
        # recent care leavers (SSDA903) and the front door's caseload from its warm-up (synthetic)
        from calibration.supply import extra_snapshot
        snap = extra_snapshot(f, snap, params.horizon.start_date)
    else:
        # recently closed children who may come back: care leavers (SSDA903), closed CIN episodes
        # (CIN census) and closed contacts (contacts file)
        from calibration.closed import append_recently_closed
        snap = append_recently_closed(f, snap)
    quality = DataQuality()
    for src in (ssda903, cin, contacts):
        if src is not None:
            quality.merge(src.quality)
    if n_adult:
        files = list(contacts_given.quality.data_quality["file"])
        for file in files:
            quality.note(file, f"{n_adult} contacts about people aged 18 or over on the contact date "
                               + ("in these files " if len(files) > 1 else "")
                               + "kept by the loader but left out of the fit (see the fit log)")
    log = f.log.frame()
    summary = pd.DataFrame(f.summary, columns=["measure", "value", "low", "high", "source", "note"])
    res = FitResult(params=params, snapshot=snap, summary=summary, log=log, curves=f.curves, monthly=f.monthly,
                    quality=quality, extract_date=extract, data_start=getattr(f, "data_start", None),
                    supply=getattr(f, "supply", {}))
    res.route_fits = f.route_fits
    res.exit_hazards = getattr(f, "exit_hazards_table", None)
    return res
