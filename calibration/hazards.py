"""Exit hazards from SSDA903: competing risks by current placement need, current age band and time
in care, piecewise constant (`care.exit_hazards`).

In each cell (placement need x current age band x time-in-care band) the hazard of each exit
reason is its occurrence/exposure rate: exits by that reason from the cell over the child-years
spent in it, the Poisson maximum likelihood estimate of a constant hazard, with an exact Poisson
interval. Exposure runs from the later of the period's start and the window start (periods that
began before the window count from it, if their start is seen: left truncation needs no more than
that for occurrence/exposure) to the exit, the extract date or the 18th birthday. Turning 18 is not
a hazard: it ends care for certain, so a period reaching the birthday is censored there, and an
exit recorded on or the day before it counts as one at 18.

A placement for adoption (PLACE A3-A6) counts as the placement before it, as the model has no
such stage: its adoptions leave from the child's placement.

Sparse cells are pooled, in this order, and the table says which: a time-in-care band with under
`MIN_BAND_YEARS` child-years takes the rate of its placement and age over all times in care; a
placement and age with under `MIN_CELL_YEARS` takes the rate of all placements at that age and time
in care (or, if that is thin too, at that age over all times). A placement with no exposure at an
age (semi-independence under 16) gets the all-placements rate, which the model never uses.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from calibration import episodes as ep
from calibration import survival as sv
from sim.vocab import EXIT_REASONS, PLACEMENT_GROUP, PLACEMENT_NEEDS

TIME_IN_CARE_DAYS = (0, 182, 365, 730, 1461)   # left edges; the last band is open
_TIC_EDGES = TIME_IN_CARE_DAYS + (float("inf"),)
REASONS = tuple(r for r in EXIT_REASONS if r != "age18")
MIN_BAND_YEARS = 5.0      # child-years in a time-in-care band for its own rate
MIN_CELL_YEARS = 10.0     # child-years of a placement at an age for rates of its own
ADOPTION_PLACE = ("A3", "A4", "A5", "A6")   # placed for adoption
MIN_ADOPTIONS_FROM_5 = 10  # adoptions at 5 or over before they get a hazard of their own (else: other)
AT18_DAYS = 1
DAYS_PER_YEAR = 365.25


def _band(x: float, edges) -> int:
    """The band of `x` among bands with these edges (the last edge closes the last band; a value at
    or over it, as an age in days over 365.25 can be on the eve of a calendar birthday, is in it)."""
    return min(int(np.searchsorted(np.asarray(edges[1:], float), x, side="right")), len(edges) - 2)


def exposure_and_events(ssda903, window, extract, age_edges) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Child-days by (need, age band, time-in-care band, entered under 5) and exits by the same and
    reason. Returns (exposure, events, counts)."""
    window, extract = pd.Timestamp(window), pd.Timestamp(extract)
    per = ssda903.periods
    per = per[per["dob"].notna() & (per["start_known"] | (per["start"] >= window))]
    # placed for adoption (PLACE A3-A6) counts as the placement before it: the model has no stage of
    # placement for adoption, its adoptions leave from the child's placement (mostly foster care)
    eps = ssda903.episodes.sort_values(["child", "start"], kind="stable").copy()
    adopt = eps["place"].isin(ADOPTION_PLACE).to_numpy() if "place" in eps else np.zeros(len(eps), bool)
    if adopt.any():
        pt = eps["placement_type"].where(~adopt)
        eps["placement_type"] = pt.groupby([eps["child"], eps["period"]]).ffill().fillna(eps["placement_type"])
    pl = ep.placement_episodes(eps, extract)
    pl = pl.merge(per[["child", "period", "dob", "start", "end", "exit_reason"]]
                  .rename(columns={"start": "p_start", "end": "p_end"}), on=["child", "period"])
    pl["need"] = pl["placement_type"].map(PLACEMENT_GROUP)
    pl = pl[pl["need"].notna()]
    b18 = pl["dob"] + pd.DateOffset(years=18)
    a = pl["start"].clip(lower=window)
    b = pl["end"].fillna(extract).clip(upper=extract)
    b = b.where(b < b18, b18)
    cols = {"a": a, "b": b, "dob": pl["dob"], "p0": pl["p_start"], "need": pl["need"]}
    sp = pd.DataFrame(cols)[b > a]
    ages = np.asarray(age_edges, float)
    age_cuts = {e: (sp["dob"] + pd.DateOffset(years=int(e))).to_numpy("datetime64[D]").astype(np.int64)
                for e in ages[1:-1]}
    exp = {}
    av = sp["a"].to_numpy("datetime64[D]").astype(np.int64)
    bv = sp["b"].to_numpy("datetime64[D]").astype(np.int64)
    dv = sp["dob"].to_numpy("datetime64[D]").astype(np.int64)
    pv = sp["p0"].to_numpy("datetime64[D]").astype(np.int64)
    needs = sp["need"].to_numpy(object)
    for i in range(len(sp)):
        cuts = [c[i] for c in age_cuts.values()] + [pv[i] + d for d in TIME_IN_CARE_DAYS[1:]]
        pts = sorted({av[i], bv[i], *[c for c in cuts if av[i] < c < bv[i]]})
        u5 = (pv[i] - dv[i]) / DAYS_PER_YEAR < 5
        for x, y in zip(pts, pts[1:]):
            mid = (x + y) / 2
            key = (needs[i], _band((mid - dv[i]) / DAYS_PER_YEAR, ages), _band(mid - pv[i], _TIC_EDGES), u5)
            exp[key] = exp.get(key, 0.0) + (y - x)
    exposure = pd.DataFrame([(*k, v) for k, v in exp.items()],
                            columns=["need", "age", "tic", "under5", "days"])
    # exits: the period's last placement, by a reason other than 18, before the birthday
    last = pl.sort_values("placement").drop_duplicates(["child", "period"], keep="last")
    last = last[last["p_end"].notna() & (last["p_end"] <= extract) & (last["p_end"] >= window)]
    n_18 = int((last["exit_reason"] == "age18").sum())
    last = last[last["exit_reason"].isin(REASONS)]
    lb18 = last["dob"] + pd.DateOffset(years=18)
    at18 = last["p_end"] >= lb18 - pd.Timedelta(days=AT18_DAYS)
    n_age18 = int(at18.sum())
    last = last[~at18]
    age_end = (last["p_end"] - last["dob"]).dt.days / DAYS_PER_YEAR
    ev = pd.DataFrame({
        "need": last["need"].to_numpy(object),
        "age": [_band(x, ages) for x in age_end],
        "tic": [_band(x, _TIC_EDGES) for x in (last["p_end"] - last["p_start"]).dt.days],
        "under5": ((last["p_start"] - last["dob"]).dt.days / DAYS_PER_YEAR < 5).to_numpy(),
        "reason": last["exit_reason"].to_numpy(object),
    })
    counts = {"exits_at_18": n_18, "exits_at_18_censored": n_age18, "periods": len(per), "placements": len(sp)}
    return exposure, ev, counts


def fit_exit_hazards(ssda903, window, extract, age_bands) -> dict:
    """Fit the hazards; returns {"params": the `care.exit_hazards` mapping, "table": one row per
    cell and reason (events, child-years, hazard a year, interval, how it was pooled), "shares":
    data and fitted shares of SGOs from kinship and adoptions of children who entered under 5,
    "note": a line for the fit log}."""
    edges = [float(b[0]) for b in age_bands] + [float(age_bands[-1][1])]
    exposure, ev, counts = exposure_and_events(ssda903, window, extract, edges)
    adoption_5 = (ev["reason"] == "adoption") & (ev["age"] >= _band(5.0, edges))
    allow5 = int(adoption_5.sum()) >= MIN_ADOPTIONS_FROM_5
    if not allow5:
        ev.loc[adoption_5, "reason"] = "other"
    na, nt = len(age_bands), len(TIME_IN_CARE_DAYS)
    E = np.zeros((len(PLACEMENT_NEEDS), na, nt))
    K = np.zeros((len(PLACEMENT_NEEDS), na, nt, len(REASONS)))
    ni = {n: i for i, n in enumerate(PLACEMENT_NEEDS)}
    ri = {r: i for i, r in enumerate(REASONS)}
    for r in exposure.itertuples():
        E[ni[r.need], r.age, r.tic] += r.days / DAYS_PER_YEAR
    for r in ev.itertuples():
        K[ni[r.need], r.age, r.tic, ri[r.reason]] += 1
    rate = np.zeros_like(K)
    used_e = np.zeros_like(E)
    used_k = np.zeros_like(K)
    how = np.empty(E.shape, dtype=object)
    for n in range(E.shape[0]):
        for a in range(na):
            for t in range(nt):
                if E[n, a, t] >= MIN_BAND_YEARS:
                    e, k, h = E[n, a, t], K[n, a, t], "own"
                elif E[n, a].sum() >= MIN_CELL_YEARS:
                    e, k, h = E[n, a].sum(), K[n, a].sum(axis=0), "pooled over time in care"
                elif E[:, a, t].sum() >= MIN_BAND_YEARS:
                    e, k, h = E[:, a, t].sum(), K[:, a, t].sum(axis=0), "pooled over placements"
                elif E[:, a].sum() > 0:
                    e, k, h = E[:, a].sum(), K[:, a].sum(axis=(0, 1)), "pooled over placements and time in care"
                else:
                    e, k, h = E.sum(), K.sum(axis=(0, 1, 2)), "pooled over everything (no exposure at this age)"
                used_e[n, a, t], used_k[n, a, t], how[n, a, t] = e, k, h
                rate[n, a, t] = k / e if e > 0 else 0.0
    young = np.array([b[1] <= 5 for b in age_bands])
    if not allow5:
        rate[:, ~young, :, ri["adoption"]] = 0.0
    rows, cells = [], []
    for n, need in enumerate(PLACEMENT_NEEDS):
        for a, (lo_age, hi_age) in enumerate(age_bands):
            per_year = {}
            for r, reason in enumerate(REASONS):
                vals = [float(f"{rate[n, a, t, r]:.5g}") for t in range(nt)]
                if reason == "adoption" and not allow5 and not young[a]:
                    vals = [0.0] * nt
                per_year[reason] = vals
                for t in range(nt):
                    k, e = used_k[n, a, t, r], used_e[n, a, t]
                    lo, hi = sv.poisson_ci(k)
                    rows.append({"placement": need, "from_age": lo_age, "to_age": hi_age,
                                 "time_in_care_from_days": TIME_IN_CARE_DAYS[t], "reason": reason,
                                 "events_in_cell": int(K[n, a, t, r]), "child_years_in_cell": round(E[n, a, t], 2),
                                 "events_used": int(k), "child_years_used": round(e, 2),
                                 "per_year": vals[t], "low": lo / e if e > 0 else np.nan,
                                 "high": hi / e if e > 0 else np.nan, "pooling": how[n, a, t]})
            cells.append({"placement": need, "from_age": float(lo_age), "to_age": float(hi_age), "per_year": per_year})
    params = {"source": f"fitted from SSDA903 episodes {pd.Timestamp(window):%d/%m/%Y} to {pd.Timestamp(extract):%d/%m/%Y}, "
                        "occurrence/exposure by cell",
              "time_in_care_days": [float(x) for x in TIME_IN_CARE_DAYS], "cells": cells}
    if allow5:
        params["allow_adoption_from_5"] = True
    table = pd.DataFrame(rows)
    # shares: the data's, and what the fitted hazards give over the same exposure
    exp_u5 = np.zeros((len(PLACEMENT_NEEDS), na, nt, 2))
    for r in exposure.itertuples():
        exp_u5[ni[r.need], r.age, r.tic, int(bool(r.under5))] += r.days / DAYS_PER_YEAR
    expected = rate[..., None, :] * exp_u5[..., None]          # need, age, tic, under5, reason
    sgo, ado = ri["sgo"], ri["adoption"]
    shares = {}
    n_sgo = int((ev["reason"] == "sgo").sum())
    k_sgo = int(((ev["reason"] == "sgo") & (ev["need"] == "kinship")).sum())
    fit_sgo = expected[..., sgo].sum()
    shares["sgo_from_kinship_share"] = (k_sgo, n_sgo, expected[ni["kinship"], ..., sgo].sum() / fit_sgo if fit_sgo else np.nan)
    is_ado = ev["reason"] == "adoption"
    n_ado, k_ado = int(is_ado.sum()), int((is_ado & ev["under5"]).sum())
    fit_ado = expected[..., ado].sum()
    shares["adoption_entered_under_5_share"] = (k_ado, n_ado, expected[..., 1, ado].sum() / fit_ado if fit_ado else np.nan)
    pooled = table.drop_duplicates(["placement", "from_age", "time_in_care_from_days"])["pooling"].value_counts().to_dict()
    note = (f"{int(K.sum())} exits before 18 over {E.sum():.0f} child-years in care since {pd.Timestamp(window):%d/%m/%Y} "
            f"({counts['exits_at_18']} exits at 18, and {counts['exits_at_18_censored']} by another reason on or the day "
            "before the 18th birthday, censored there: turning 18 is a certain end, not a hazard); "
            f"{len(PLACEMENT_NEEDS)} placement needs x {na} current age bands x {nt} "
            "time-in-care bands, occurrence/exposure (Poisson MLE) per cell; cells: "
            + ", ".join(f"{v} {k}" for k, v in pooled.items())
            + ("" if allow5 else f"; {int(adoption_5.sum())} adoptions at 5 or over counted as other")
            + "; every cell's events, child-years and interval in exit_hazards.csv")
    return {"params": params, "table": table, "shares": shares, "note": note, "events": int(K.sum()),
            "child_years": float(E.sum())}


def long_run_exit_shares(hazards: dict, moves: dict, ages, needs, draws: int = 20, seed: int = 18,
                         rates: np.ndarray | None = None) -> dict:
    """How the periods of care of these entrants (age at entry in years, first placement need) end
    in the long run under the fitted hazards, with placement moves at the fitted breakdown rates
    (`care.moves`): the share by each reason, and at 18, which is a certain end, so P(leave at 18) is
    P(still in care at the 18th birthday). Unlike the Aalen-Johansen share at the longest follow-up,
    this sees the children who entered young and are still in care at the extract. Monte Carlo,
    `draws` per entrant, from a fixed seed. `rates` replaces the hazards' table (need x age band x
    time-in-care band x reason), for intervals."""
    tic_edges = np.asarray(hazards["time_in_care_days"], float) / DAYS_PER_YEAR
    cells = hazards["cells"]
    bands = sorted({(c["from_age"], c["to_age"]) for c in cells})
    age_edges = np.array([b[0] for b in bands] + [bands[-1][1]], float)
    R = np.zeros((len(PLACEMENT_NEEDS), len(bands), len(tic_edges), len(REASONS)))
    if rates is None:
        for c in cells:
            n, a = PLACEMENT_NEEDS.index(c["placement"]), bands.index((c["from_age"], c["to_age"]))
            for r, reason in enumerate(REASONS):
                R[n, a, :, r] = c["per_year"].get(reason, [0.0] * len(tic_edges))
    else:
        R = np.asarray(rates, float)
    brk = np.array([moves["breakdown_per_year"].get(n, 0.0) for n in PLACEMENT_NEEDS])
    nxt = np.zeros((len(PLACEMENT_NEEDS), len(PLACEMENT_NEEDS)))
    for i, n in enumerate(PLACEMENT_NEEDS):
        probs = moves["next_need"].get(n) or {n: 1.0}
        for k, v in probs.items():
            nxt[i, PLACEMENT_NEEDS.index(k)] += v
        nxt[i] /= nxt[i].sum()
    cum_next = np.cumsum(nxt, axis=1)
    semi, resid = PLACEMENT_NEEDS.index("semi_independent"), PLACEMENT_NEEDS.index("residential")
    rng = np.random.default_rng(seed)
    age = np.repeat(np.asarray(ages, float), draws)
    need = np.repeat(np.array([PLACEMENT_NEEDS.index(n) for n in needs]), draws)
    tic = np.zeros_like(age)
    end = np.full(len(age), -1)          # reason index, len(REASONS) for 18
    alive = age < 18
    end[~alive] = len(REASONS)
    for _ in range(10_000):
        i = np.flatnonzero(alive)
        if not len(i):
            break
        a_i = np.clip(np.searchsorted(age_edges[1:-1], age[i], side="right"), 0, len(bands) - 1)
        t_i = np.searchsorted(tic_edges[1:], tic[i], side="right")
        lam = R[need[i], a_i, t_i]                                   # (m, reasons)
        tot_exit = lam.sum(axis=1)
        tot = tot_exit + brk[need[i]]
        seg = np.minimum.reduce([age_edges[a_i + 1] - age[i], 18.0 - age[i],
                                 np.where(t_i + 1 < len(tic_edges), tic_edges[np.minimum(t_i + 1, len(tic_edges) - 1)] - tic[i], np.inf)])
        seg = np.maximum(seg, 1e-9)
        with np.errstate(divide="ignore"):
            dt = np.where(tot > 0, rng.exponential(1.0, len(i)) / np.where(tot > 0, tot, 1.0), np.inf)
        hit = dt < seg
        step = np.where(hit, dt, seg)
        age[i] += step
        tic[i] += step
        u = rng.random(len(i)) * tot
        is_exit = hit & (u < tot_exit)
        if is_exit.any():
            cum = np.cumsum(lam[is_exit], axis=1)
            end[i[is_exit]] = (cum < u[is_exit, None]).sum(axis=1).clip(max=len(REASONS) - 1)
            alive[i[is_exit]] = False
        is_move = hit & ~is_exit
        if is_move.any():
            j = i[is_move]
            new = (cum_next[need[j]] < rng.random(len(j))[:, None]).sum(axis=1).clip(max=len(PLACEMENT_NEEDS) - 1)
            new = np.where((new == semi) & (age[j] < 16), resid, new)
            need[j] = new
        at18 = ~hit & (age[i] >= 18.0 - 1e-9)
        end[i[at18]] = len(REASONS)
        alive[i[at18]] = False
    counts = np.bincount(end[end >= 0], minlength=len(REASONS) + 1) / max(1, len(end))
    return {**{r: float(counts[k]) for k, r in enumerate(REASONS)}, "age18": float(counts[-1])}


def long_run_exit_share_intervals(fh: dict, moves: dict, ages, needs, n_boot: int = 40, seed: int = 18) -> dict:
    """Percentile intervals of `long_run_exit_shares` from the hazards' Poisson uncertainty: each rate
    redrawn from Gamma(events, child-years) (its likelihood; a rate with no events stays 0), the
    cells pooled together sharing one draw."""
    t = fh["table"]
    p = fh["params"]
    bands = sorted({(c["from_age"], c["to_age"]) for c in p["cells"]})
    nt = len(p["time_in_care_days"])
    k = np.zeros((len(PLACEMENT_NEEDS), len(bands), nt, len(REASONS)))
    e = np.zeros_like(k)
    zero = np.zeros_like(k, bool)
    for r in t.itertuples():
        idx = (PLACEMENT_NEEDS.index(r.placement), bands.index((float(r.from_age), float(r.to_age))),
               list(p["time_in_care_days"]).index(float(r.time_in_care_from_days)), REASONS.index(r.reason))
        k[idx], e[idx], zero[idx] = r.events_used, r.child_years_used, r.per_year == 0 and r.events_used > 0
    rng = np.random.default_rng(seed + 1)
    out = {r: [] for r in (*REASONS, "age18")}
    # cells pooled together share one rate, so one draw: a draw per distinct (reason, events, child-years)
    reason_ix = np.broadcast_to(np.arange(len(REASONS)), k.shape)
    keys, inverse = np.unique(np.stack([reason_ix.ravel(), k.ravel(), e.ravel()]), axis=1, return_inverse=True)
    kk, ee = keys[1], keys[2]
    for b in range(n_boot):
        # the rate's likelihood k / e spread as Gamma(k, e); a rate with no events stays 0
        g = np.where((kk > 0) & (ee > 0), rng.gamma(np.maximum(kk, 1e-9), 1.0 / np.where(ee > 0, ee, 1.0)), 0.0)
        rates = g[inverse.ravel()].reshape(k.shape)
        rates[zero] = 0.0    # a structural zero (adoption from 5) stays zero
        sh = long_run_exit_shares(p, moves, ages, needs, draws=2, seed=seed + 2 + b, rates=rates)
        for r, v in sh.items():
            out[r].append(v)
    return {r: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for r, v in out.items()}
