"""Measures: pure functions of one replication's event log (and its capacity and allowance logs).

Stocks are step functions of time built from the log's moves (+1 into a state or placement, -1
out of it); averages over a financial year are their integrals divided by the days; flows are
counts of events. Nothing here changes its inputs or touches files.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calendar import fy_edges, month_ends
from .costs import fy_costs, price_index
from .runner import ReplicationResult
from .vocab import EXIT_REASONS, PLACEMENT_GROUP, PLACEMENT_TYPES

STOCK_STATES = ("contact", "assessment", "s47", "cin", "cp", "care")
CP_LENGTH_BINS = (("cp_ending_under_3m_share", 0, 91.3), ("cp_ending_3_6m_share", 91.3, 182.6),
                  ("cp_ending_6_12m_share", 182.6, 365.25), ("cp_ending_1_2y_share", 365.25, 730.5),
                  ("cp_ending_2y_plus_share", 730.5, np.inf))


class StepSeries:
    """A piecewise-constant count over time from (time, +/-1) changes, starting at 0."""

    def __init__(self, times: np.ndarray, deltas: np.ndarray):
        order = np.argsort(times, kind="stable")
        self.t = np.asarray(times, dtype=float)[order]
        self.v = np.cumsum(np.asarray(deltas, dtype=float)[order])
        seg = np.diff(self.t) * self.v[:-1] if len(self.t) > 1 else np.zeros(0)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)]) if len(self.t) else np.zeros(0)

    def value_at(self, x) -> np.ndarray:
        """The count just after time x (changes at exactly x included)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if not len(self.t):
            return np.zeros_like(x)
        i = np.searchsorted(self.t, x, side="right") - 1
        return np.where(i >= 0, self.v[np.clip(i, 0, None)], 0.0)

    def integral_to(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if not len(self.t):
            return np.zeros_like(x)
        i = np.searchsorted(self.t, x, side="right") - 1
        ic = np.clip(i, 0, None)
        return np.where(i >= 0, self.cum[ic] + self.v[ic] * (x - self.t[ic]), 0.0)

    def integral(self, a, b) -> np.ndarray:
        return self.integral_to(b) - self.integral_to(a)

    def minimum(self) -> float:
        return float(self.v.min()) if len(self.v) else 0.0


def state_series(events: pd.DataFrame) -> dict[str, StepSeries]:
    """Number of children at each stage of the pathway over time."""
    fs, ts = events["from_state"].astype(str).to_numpy(), events["to_state"].astype(str).to_numpy()
    moved = fs != ts
    t = events["time"].to_numpy()
    out = {}
    for s in STOCK_STATES:
        into = moved & (ts == s)
        outof = moved & (fs == s)
        times = np.concatenate([t[into], t[outof]])
        deltas = np.concatenate([np.ones(into.sum()), -np.ones(outof.sum())])
        out[s] = StepSeries(times, deltas)
    return out


def placement_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Placement changes (placed, placement_end), with whether the placement left was over £4,100."""
    pl = events[events["event"].isin(["placed", "placement_end"])][["time", "child", "event", "placement", "from_placement", "detail"]]
    pl = pl.reset_index(drop=True)
    high = (pl["event"] == "placed") & pl["detail"].str.contains("over_4100", regex=False)
    pl["high_cost"] = high.to_numpy()
    # the placement a row ends was high cost if the child's previous placement row started it so
    pl = pl.sort_values(["child", "time"], kind="stable")
    prev_high = pl.groupby("child", sort=False)["high_cost"].shift(1, fill_value=False)
    pl["ends_high_cost"] = prev_high.astype(bool).to_numpy() & (pl["from_placement"].astype(str) == "residential_spot").to_numpy()
    return pl


def placement_series(events: pd.DataFrame) -> dict[str, StepSeries]:
    """Children in each placement type over time, plus spot residential over £4,100 a week."""
    pl = placement_rows(events)
    t = pl["time"].to_numpy()
    to_p, from_p = pl["placement"].astype(str).to_numpy(), pl["from_placement"].astype(str).to_numpy()
    out = {}
    for p in PLACEMENT_TYPES + ("awaiting",):
        into, outof = to_p == p, from_p == p
        out[p] = StepSeries(np.concatenate([t[into], t[outof]]),
                            np.concatenate([np.ones(into.sum()), -np.ones(outof.sum())]))
    hi_in, hi_out = pl["high_cost"].to_numpy(), pl["ends_high_cost"].to_numpy()
    out["over_4100"] = StepSeries(np.concatenate([t[hi_in], t[hi_out]]),
                                  np.concatenate([np.ones(hi_in.sum()), -np.ones(hi_out.sum())]))
    return out


def allowance_series(allowances: pd.DataFrame, kind: str) -> StepSeries:
    a = allowances[allowances["kind"] == kind]
    return StepSeries(np.concatenate([a["start"].to_numpy(), a["end"].to_numpy()]),
                      np.concatenate([np.ones(len(a)), -np.ones(len(a))]))


def waiting_series(team_waits: pd.DataFrame, team: str, horizon: float) -> StepSeries:
    w = team_waits[team_waits["team"] == team]
    end = w["until"].fillna(horizon).to_numpy()
    return StepSeries(np.concatenate([w["since"].to_numpy(), end]),
                      np.concatenate([np.ones(len(w)), -np.ones(len(w))]))


def foster_carer_series(capacity: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Times and number of approved (not resigned) in-house foster carers."""
    c = capacity[capacity["resource"] == "foster_carers"]
    return c["time"].to_numpy(), c["capacity"].to_numpy()


def _value_at_series(times: np.ndarray, values: np.ndarray, x: float) -> float:
    i = np.searchsorted(times, x, side="right") - 1
    return float(values[i]) if i >= 0 else float("nan")


def plan_lengths(events: pd.DataFrame, state: str) -> pd.DataFrame:
    """Each ended spell in a state: child, start, end, length (days). Snapshot spells start
    before day 0 by the elapsed time recorded in the snapshot row."""
    fs, ts = events["from_state"].astype(str), events["to_state"].astype(str)
    ev = events[((ts == state) | (fs == state)) & (fs != ts)][["time", "child", "event", "from_state", "to_state", "detail"]]
    ev = ev.sort_values(["child", "time"], kind="stable")
    starts = ev[ev["to_state"].astype(str) == state].copy()
    snap = starts["event"].astype(str) == "snapshot"
    elapsed = pd.to_numeric(starts.loc[snap, "detail"].str.split(";").str[0], errors="coerce").fillna(0.0)
    starts.loc[snap, "time"] = starts.loc[snap, "time"] - elapsed
    ends = ev[ev["from_state"].astype(str) == state]
    starts = starts.assign(k=starts.groupby("child").cumcount())
    ends = ends.assign(k=ends.groupby("child").cumcount())
    m = starts[["child", "k", "time"]].merge(ends[["child", "k", "time", "to_state", "detail"]], on=["child", "k"],
                                           suffixes=("_start", "_end"))
    m = m.rename(columns={"time_start": "start", "time_end": "end"})
    m["length"] = m["end"] - m["start"]
    return m


def summary_by_fy(result: ReplicationResult) -> pd.DataFrame:
    """The relied-on financial-year measures for one replication: tidy
    `replication, financial_year, measure, value`."""
    p = result.params
    ev = result.events
    start = p.horizon.start_date
    edges = fy_edges(start, p.horizon.days)
    states = state_series(ev)
    places = placement_series(ev)
    event = ev["event"].astype(str).to_numpy()
    detail = ev["detail"].astype(str)
    t = ev["time"].to_numpy()
    ct, cn = foster_carer_series(result.capacity)
    costs = fy_costs(p, edges, places, states, {k: allowance_series(result.allowances, k) for k in ("sgo", "adoption")},
                     result.mechanisms)
    cp_len = plan_lengths(ev, "cp")
    cin_len = plan_lengths(ev, "cin")
    care_len = plan_lengths(ev, "care")
    rows = []

    def add(label, measure, value):
        rows.append((result.replication, label, measure, float(value)))

    for label, a, b in edges:
        days = b - a
        inyr = (t >= a) & (t < b)
        add(label, "days_in_horizon", days)
        for s in STOCK_STATES:
            avg = states[s].integral(a, b)[0] / days
            end = states[s].value_at(b - 1e-9)[0]
            name = {"care": "cic", "contact": "open_contacts"}.get(s, s)
            add(label, f"{name}_average", avg)
            add(label, f"{name}_at_year_end", end)
        counts = {
            "contacts": event == "contact",
            "referrals": event == "referral",
            "assessments": event == "assessment_complete",
            "s47_enquiries": event == "s47_start",
            "cin_plan_starts": event == "cin_plan_start",
            "cp_plan_starts": event == "cp_plan_start",
            "care_entries": event == "care_entry",
            "edge_of_care_diversions": (event == "edge_of_care") & (detail == "diverted").to_numpy(),
            "placement_moves": (event == "placed") & detail.str.startswith(("breakdown", "step_down", "step_to_semi")).to_numpy(),
        }
        for name, mask in counts.items():
            add(label, name, (mask & inyr).sum())
        rerefs = ((event == "referral") & detail.str.contains("rereferral", regex=False).to_numpy() & inyr).sum()
        refs = ((event == "referral") & inyr).sum()
        add(label, "rereferrals", rerefs)
        add(label, "rereferral_rate", rerefs / refs if refs else np.nan)
        add(label, "escalated_referrals", ((event == "referral") & detail.str.contains("escalated", regex=False).to_numpy() & inyr).sum())
        add(label, "cp_plan_starts_repeat", ((event == "cp_plan_start") & (detail == "repeat").to_numpy() & inyr).sum())
        add(label, "cin_plan_starts_repeat", ((event == "cin_plan_start") & (detail == "repeat").to_numpy() & inyr).sum())
        exits = (event == "care_exit") & inyr
        for r in EXIT_REASONS:
            add(label, f"care_exits_{r if r != 'cao' else 'child_arrangements'}", (exits & (detail == r).to_numpy()).sum())
        add(label, "care_exits", exits.sum())
        # plan lengths of plans ending in the year
        ended = cp_len[(cp_len["end"] >= a) & (cp_len["end"] < b)]
        for name, lo, hi in CP_LENGTH_BINS:
            add(label, name, ((ended["length"] >= lo) & (ended["length"] < hi)).mean() if len(ended) else np.nan)
        add(label, "cp_plan_average_weeks", ended["length"].mean() / 7 if len(ended) else np.nan)
        ended_cin = cin_len[(cin_len["end"] >= a) & (cin_len["end"] < b)]
        add(label, "cin_plan_average_weeks", ended_cin["length"].mean() / 7 if len(ended_cin) else np.nan)
        ended_care = care_len[(care_len["end"] >= a) & (care_len["end"] < b)]
        add(label, "care_period_average_weeks", ended_care["length"].mean() / 7 if len(ended_care) else np.nan)
        perm = ended_care[ended_care["detail"].isin(["reunification", "sgo", "adoption", "cao"])]
        add(label, "weeks_to_permanence_average", perm["length"].mean() / 7 if len(perm) else np.nan)
        # placements
        cic_days = states["care"].integral(a, b)[0]
        for pt in PLACEMENT_TYPES:
            add(label, f"cic_{pt}_average", places[pt].integral(a, b)[0] / days)
        for grp in sorted(set(PLACEMENT_GROUP.values())):
            members = [pt for pt, g in PLACEMENT_GROUP.items() if g == grp]
            add(label, f"cic_{grp}_share", sum(places[pt].integral(a, b)[0] for pt in members) / cic_days if cic_days else np.nan)
        family = sum(places[pt].integral(a, b)[0] for pt in ("kinship", "foster_inhouse", "foster_ifa"))
        add(label, "family_based_share", family / cic_days if cic_days else np.nan)
        add(label, "placements_over_4100_average", places["over_4100"].integral(a, b)[0] / days)
        add(label, "children_waiting_for_placement_average", places["awaiting"].integral(a, b)[0] / days)
        add(label, "foster_carers_at_year_end", _value_at_series(ct, cn, b - 1e-9))
        for team in ("front_door", "assessment", "safeguarding", "children_in_care"):
            add(label, f"unallocated_{team}_average", waiting_series(result.team_waits, team, p.horizon.days).integral(a, b)[0] / days)
        c = costs[label]
        add(label, "cost_placements", c["placements"])
        add(label, "cost_social_work", c["social_work"])
        add(label, "cost_allowances", c["allowances"])
        add(label, "cost_total", c["placements"] + c["social_work"] + c["allowances"])
        add(label, "placement_weekly_cost_average", c["placements"] / (cic_days / 7.0) if cic_days else np.nan)
        add(label, "price_index", price_index(p, label, result.mechanisms))
    return pd.DataFrame(rows, columns=["replication", "financial_year", "measure", "value"])


def stocks_by_month(result: ReplicationResult) -> pd.DataFrame:
    """Children at each stage and in each placement type at each month end: tidy
    `replication, month, measure, value`."""
    p = result.params
    ends = month_ends(p.horizon.start_date, p.horizon.days)
    labels = [m for m, _ in ends]
    x = np.array([t for _, t in ends]) - 1e-9
    states = state_series(result.events)
    places = placement_series(result.events)
    frames = []
    for s in STOCK_STATES:
        frames.append(pd.DataFrame({"month": labels, "measure": s, "value": states[s].value_at(x)}))
    for pt in PLACEMENT_TYPES + ("awaiting", "over_4100"):
        frames.append(pd.DataFrame({"month": labels, "measure": f"care_{pt}", "value": places[pt].value_at(x)}))
    ct, cn = foster_carer_series(result.capacity)
    frames.append(pd.DataFrame({"month": labels, "measure": "foster_carers",
                                "value": [_value_at_series(ct, cn, v) for v in x]}))
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "replication", result.replication)
    return out
