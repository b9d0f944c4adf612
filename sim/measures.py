"""Measures: pure functions of one replication's event log (and its capacity and allowance logs).

Stocks are step functions of time built from the log's moves (+1 into a state or placement, -1
out of it); averages over a financial year are their integrals divided by the days; flows are
counts of events. Nothing here changes its inputs or touches files.
"""
from __future__ import annotations


import numpy as np
import pandas as pd

from .calendar import fy_edges, month_ends
from .costs import empty_series, fixed_cost_resources, fy_costs, price_index
from .runner import ReplicationResult
from .params import MARKETS
from .placements import AWAITING, FAMILY_BASED
from .vocab import EXIT_REASONS, PLACEMENT_GROUP, PLACEMENT_TYPES

STOCK_STATES = ("contact", "assessment", "s47", "cin", "cp", "care")
# ages on entering care, as England's "children starting to be looked after" bands (years)
ENTRY_AGE_BANDS = (("care_entries_age_under_1", 0.0, 1.0), ("care_entries_age_1_4", 1.0, 5.0),
                   ("care_entries_age_5_9", 5.0, 10.0), ("care_entries_age_10_15", 10.0, 16.0),
                   ("care_entries_age_16_17", 16.0, np.inf))
OUT_OF_AREA = "out_of_area"  # placement_series' series of children in a market's out-of-area place
PERMANENCE_EXITS = ("reunification", "sgo", "adoption", "cao")
FAMILY_ORDERS = ("sgo", "cao", "adoption")  # exits to a family home of the child's own (special guardians,
                                            # a child arrangements order, adopters)
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


def codes(column: pd.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Integer codes of a categorical column and the code of each category."""
    c = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    return c.cat.codes.to_numpy(), {str(v): i for i, v in enumerate(c.cat.categories)}


def _shared_codes(a: pd.Series, b: pd.Series):
    """Codes of two categorical columns in one code space (the event log fixes them so)."""
    if isinstance(a.dtype, pd.CategoricalDtype) and a.dtype == b.dtype:
        ca, names = codes(a)
        return ca, b.cat.codes.to_numpy(), names
    cats = sorted(set(map(str, a.unique())) | set(map(str, b.unique())))
    dtype = pd.CategoricalDtype(cats)
    ca, names = codes(a.astype(str).astype(dtype))
    return ca, b.astype(str).astype(dtype).cat.codes.to_numpy(), names


def state_series(events: pd.DataFrame) -> dict[str, StepSeries]:
    """Number of children at each stage of the pathway over time."""
    fs, ts, names = _shared_codes(events["from_state"], events["to_state"])
    moved = fs != ts
    t = events["time"].to_numpy()
    out = {}
    for s in STOCK_STATES:
        k = names.get(s, -2)
        into = moved & (ts == k)
        outof = moved & (fs == k)
        times = np.concatenate([t[into], t[outof]])
        deltas = np.concatenate([np.ones(into.sum()), -np.ones(outof.sum())])
        out[s] = StepSeries(times, deltas)
    return out


def placement_rows(events: pd.DataFrame) -> pd.DataFrame:
    """Placement changes (placed, placement_end), with whether the placement started and the one
    left were over £4,100 (`high_cost`, `ends_high_cost`) and out of the council's area
    (`out_of_area`, `ends_out_of_area`)."""
    ev_codes, ev_names = codes(events["event"])
    keep = np.isin(ev_codes, [ev_names.get("placed", -2), ev_names.get("placement_end", -2)])
    pl = events.loc[keep, ["time", "child", "event", "placement", "from_placement", "detail"]].reset_index(drop=True)
    det_codes, det_names = codes(pl["detail"])
    high_codes = [i for name, i in det_names.items() if "over_4100" in name]
    placed = codes(pl["event"])
    is_placed = placed[0] == placed[1].get("placed", -2)
    pl["high_cost"] = is_placed & np.isin(det_codes, high_codes)
    pl["out_of_area"] = is_placed & np.isin(det_codes, [i for name, i in det_names.items() if "out_of_area" in name])
    # the placement a row ends was high cost (out of area) if the child's previous placement row started it so
    pl = pl.sort_values(["child", "time"], kind="stable")
    by_child = pl.groupby("child", sort=False)
    prev_high = by_child["high_cost"].shift(1, fill_value=False).astype(bool).to_numpy()
    prev_out = by_child["out_of_area"].shift(1, fill_value=False).astype(bool).to_numpy()
    fp_codes, fp_names = codes(pl["from_placement"])
    pl["ends_high_cost"] = prev_high & (fp_codes == fp_names.get("residential_spot", -2))
    pl["ends_out_of_area"] = prev_out & np.isin(fp_codes, [fp_names.get(m, -2) for m in MARKETS])
    return pl


def placement_series(events: pd.DataFrame) -> dict[str, StepSeries]:
    """Children in each placement type over time, plus spot residential over £4,100 a week."""
    pl = placement_rows(events)
    t = pl["time"].to_numpy()
    to_p, from_p, names = _shared_codes(pl["placement"], pl["from_placement"])
    out = {}
    for p in PLACEMENT_TYPES + ("awaiting",):
        k = names.get(p, -2)
        into, outof = to_p == k, from_p == k
        out[p] = StepSeries(np.concatenate([t[into], t[outof]]),
                            np.concatenate([np.ones(into.sum()), -np.ones(outof.sum())]))
    hi_in, hi_out = pl["high_cost"].to_numpy(), pl["ends_high_cost"].to_numpy()
    out["over_4100"] = StepSeries(np.concatenate([t[hi_in], t[hi_out]]),
                                  np.concatenate([np.ones(hi_in.sum()), -np.ones(hi_out.sum())]))
    oa_in, oa_out = pl["out_of_area"].to_numpy(), pl["ends_out_of_area"].to_numpy()
    out[OUT_OF_AREA] = StepSeries(np.concatenate([t[oa_in], t[oa_out]]),
                                  np.concatenate([np.ones(oa_in.sum()), -np.ones(oa_out.sum())]))
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


def placement_spells(pl: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each placement as (child code, start, end), from its `placed` row to the child's next
    placement row (a move or the end of care; infinity if none), and the children's ids by code.
    Rows as `placement_rows` sorts them."""
    placed = (pl["event"].astype(str) == "placed").to_numpy()
    t = pl["time"].to_numpy()
    child, ids = pd.factorize(pl["child"].to_numpy())
    nxt = np.append(t[1:], np.inf)
    same = np.append(child[1:] == child[:-1], False)
    end = np.where(same, nxt, np.inf)
    return child[placed], t[placed], end[placed], np.asarray(ids)


def placements_in_year(pl: pd.DataFrame, a: float, b: float, spells=None) -> tuple[np.ndarray, np.ndarray]:
    """For children in care just before `b` (a placement open then): the number of placements each
    held at some time in [a, b) (one open at `a`, and every one started in the year; an emergency
    placement counts, as in SSDA903). Returns (counts, the children's ids); `spells` from
    `placement_spells` if already computed."""
    child, start, end, ids = spells if spells is not None else placement_spells(pl)
    n = len(ids)
    held = (start < b) & (end >= a)
    held |= (start >= a) & (start < b)  # a placement started and ended at one instant still counts
    counts = np.bincount(child[held], minlength=n)
    at_end = np.zeros(n, dtype=bool)
    at_end[child[(start < b) & (end >= b)]] = True
    return counts[at_end], ids[at_end]


def order_home_series(events: pd.DataFrame, dob: pd.Series, horizon: float) -> StepSeries:
    """Children at home with special guardians, under a child arrangements order or adopted after
    leaving care in the run: from the exit to the 18th birthday, a return to care or the horizon."""
    ev = Coded(events["event"])
    det = Coded(events["detail"])
    t, child = events["time"].to_numpy(), events["child"].to_numpy()
    is_exit = ev.eq("care_exit") & np.isin(det.codes, [i for i, v in enumerate(det.categories) if v in FAMILY_ORDERS])
    exits = pd.DataFrame({"t": t[is_exit], "child": child[is_exit]}).sort_values("t", kind="stable")
    if not len(exits):
        return StepSeries(np.zeros(0), np.zeros(0))
    is_entry = ev.eq("care_entry")
    entries = pd.DataFrame({"t_back": t[is_entry], "child": child[is_entry]}).sort_values("t_back", kind="stable")
    entries["t"] = entries["t_back"]
    back = pd.merge_asof(exits, entries, on="t", by="child", direction="forward", allow_exact_matches=False)
    adult = dob.reindex(back["child"].to_numpy()).to_numpy() + 18 * 365.25
    end = np.fmin(np.fmin(back["t_back"].to_numpy(), adult), horizon)
    start = back["t"].to_numpy()
    keep = end > start
    return StepSeries(np.concatenate([start[keep], end[keep]]),
                      np.concatenate([np.ones(keep.sum()), -np.ones(keep.sum())]))


def entrant_outcomes(events: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Each entry into care in the run: `entry` (day), `days` to its exit or to the horizon's last
    end (`horizon`, days) if still in care, and `outcome`: 1 permanence (home, SGO, adoption, CAO), 2 another exit
    (18, other), 0 still in care (censored)."""
    ev = Coded(events["event"])
    t, child = events["time"].to_numpy(), events["child"].to_numpy()
    is_entry, is_exit = ev.eq("care_entry"), ev.eq("care_exit")
    entries = pd.DataFrame({"t": t[is_entry], "child": child[is_entry]}).sort_values("t", kind="stable")
    exits = pd.DataFrame({"t": t[is_exit], "child": child[is_exit],
                          "reason": events["detail"].to_numpy()[is_exit].astype(str)}).sort_values("t", kind="stable")
    exits["t_exit"] = exits["t"]
    m = pd.merge_asof(entries, exits, on="t", by="child", direction="forward")
    out = m["t_exit"].isna().to_numpy()
    days = np.where(out, horizon - m["t"].to_numpy(), m["t_exit"].to_numpy() - m["t"].to_numpy())
    outcome = np.where(out, 0, np.where(m["reason"].isin(PERMANENCE_EXITS).to_numpy(), 1, 2))
    return pd.DataFrame({"entry": m["t"].to_numpy(), "days": days, "outcome": outcome})


def cumulative_incidence(days: np.ndarray, outcome: np.ndarray, at: float, event: int = 1) -> float:
    """Aalen-Johansen cumulative incidence of `event` by `at` days, with other outcomes competing
    and outcome 0 censored; NaN if no one was followed that long."""
    if not len(days) or days.max() < at:
        return float("nan")
    ended = (outcome > 0) & (days <= at)
    times = np.unique(days[ended])           # the event times up to `at`
    at_risk = len(days) - np.searchsorted(np.sort(days), times, side="left")
    d_all = np.bincount(np.searchsorted(times, days[ended]), minlength=len(times))
    d_ev = np.bincount(np.searchsorted(times, days[ended & (outcome == event)]), minlength=len(times))
    surv_before = np.cumprod(np.r_[1.0, 1.0 - d_all / at_risk])[:-1]  # still in care just before each
    return float(np.sum(surv_before * d_ev / at_risk))


def _value_at_series(times: np.ndarray, values: np.ndarray, x: float) -> float:
    i = np.searchsorted(times, x, side="right") - 1
    return float(values[i]) if i >= 0 else float("nan")


def _first_number(text) -> float:
    """Days already spent, from a snapshot row's detail "state_elapsed;care_elapsed"."""
    try:
        return float(str(text).split(";")[0])
    except ValueError:
        return 0.0


def plan_lengths(events: pd.DataFrame, state: str) -> pd.DataFrame:
    """Each ended spell in a state: child, start, end, length (days), to_state, detail. Snapshot
    spells start before day 0 by the elapsed time recorded in the snapshot row."""
    fs, ts, names = _shared_codes(events["from_state"], events["to_state"])
    k = names.get(state, -2)
    is_start = (ts == k) & (fs != k)
    is_end = (fs == k) & (ts != k)
    ev = events.loc[is_start | is_end, ["time", "child", "event", "to_state", "detail"]].copy()
    ev["start"] = is_start[is_start | is_end]
    ev = ev.sort_values(["child", "time"], kind="stable")
    starts = ev[ev["start"].to_numpy()].copy()
    ec, en = codes(starts["event"])
    snap = ec == en.get("snapshot", -2)
    if snap.any():
        elapsed = [_first_number(x) for x in starts.loc[snap, "detail"].tolist()]
        starts.loc[snap, "time"] = starts.loc[snap, "time"].to_numpy() - np.asarray(elapsed, dtype=float)
    ends = ev[~ev["start"].to_numpy()]
    starts = starts.assign(k=starts.groupby("child").cumcount())
    ends = ends.assign(k=ends.groupby("child").cumcount())
    m = starts[["child", "k", "time"]].merge(ends[["child", "k", "time", "to_state", "detail"]], on=["child", "k"],
                                           suffixes=("_start", "_end"))
    m = m.rename(columns={"time_start": "start", "time_end": "end"})
    m["length"] = m["end"] - m["start"]
    m["detail"] = m["detail"].astype(str)
    return m


class Coded:
    """A categorical column as integer codes: fast equality, prefix and substring masks."""

    def __init__(self, column: pd.Series):
        c = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
        self.codes = c.cat.codes.to_numpy()
        self.categories = [str(x) for x in c.cat.categories]

    def _mask(self, keep) -> np.ndarray:
        wanted = [i for i, v in enumerate(self.categories) if keep(v)]
        return np.isin(self.codes, wanted)

    def eq(self, value: str) -> np.ndarray:
        return self._mask(lambda v: v == value)

    def startswith(self, prefixes) -> np.ndarray:
        return self._mask(lambda v: v.startswith(prefixes))

    def contains(self, part: str) -> np.ndarray:
        return self._mask(lambda v: part in v)


def summary_by_fy(result: ReplicationResult) -> pd.DataFrame:
    """The relied-on financial-year measures for one replication: tidy
    `replication, financial_year, measure, value`."""
    p = result.params
    ev = result.events
    start = p.horizon.start_date
    edges = fy_edges(start, p.horizon.days)
    states = state_series(ev)
    places = placement_series(ev)
    t = ev["time"].to_numpy()
    if len(t) > 1 and np.any(np.diff(t) < 0):
        raise ValueError("event log is not in time order")
    event, detail = Coded(ev["event"]), Coded(ev["detail"])
    ct, cn = foster_carer_series(result.capacity)
    costs = fy_costs(p, edges, places, states, {k: allowance_series(result.allowances, k) for k in ("sgo", "adoption")},
                     result.mechanisms, empty_series(result.capacity, fixed_cost_resources(p)))
    cp_len = plan_lengths(ev, "cp")
    cin_len = plan_lengths(ev, "cin")
    care_len = plan_lengths(ev, "care")
    assessment_len = plan_lengths(ev, "assessment")  # referral to the assessment's end, waiting for a worker included
    referral, exits = event.eq("referral"), event.eq("care_exit")
    counts = {
        "contacts": event.eq("contact"),
        "referrals": referral,
        "assessments": event.eq("assessment_complete"),
        "s47_enquiries": event.eq("s47_start"),
        "cin_plan_starts": event.eq("cin_plan_start"),
        "cp_plan_starts": event.eq("cp_plan_start"),
        "care_entries": event.eq("care_entry"),
        "edge_of_care_diversions": event.eq("edge_of_care") & detail.eq("diverted"),
        "placement_moves": event.eq("placed") & detail.startswith(("breakdown", "step_down", "step_to_semi")),
        "rereferrals": referral & detail.contains("rereferral"),
        "escalated_referrals": referral & detail.contains("escalated"),
        "cp_plan_starts_repeat": event.eq("cp_plan_start") & detail.eq("repeat"),
        "cin_plan_starts_repeat": event.eq("cin_plan_start") & detail.eq("repeat"),
        "care_exits": exits,
        "repeat_plans_avoided": detail.eq("repeat_plan_avoided"),
        "step_downs_to_inhouse_foster": event.eq("placed") & detail.eq("step_down_inhouse"),
        "moves_after_carer_resigned": event.eq("placed") & detail.eq("carer_left"),
        "emergency_placements": event.eq("placed") & Coded(ev["placement"]).eq(AWAITING),
        "out_of_area_placements": event.eq("placed") & detail.contains("out_of_area"),
        "placement_changes": event.eq("placed") & ~Coded(ev["from_placement"]).eq(""),
    }
    for r in EXIT_REASONS:
        counts[f"care_exits_{r if r != 'cao' else 'child_arrangements'}"] = exits & detail.eq(r)
    # rows where each counted event happens; a year's count is the number of them in its rows
    # (row positions, not cumulative sums: a cumulative sum per measure took 0.5 GB at 8x)
    where = {name: np.flatnonzero(mask) for name, mask in counts.items()}
    # care entries by age on entering (the child's date of birth from the children table)
    entry_rows = where["care_entries"]
    dob = pd.Series(result.children["dob"].to_numpy(), index=result.children["child"].to_numpy())
    dob = dob[~dob.index.duplicated()]
    entry_age = (t[entry_rows] - dob.reindex(ev["child"].to_numpy()[entry_rows]).to_numpy()) / 365.25
    for name, lo, hi in ENTRY_AGE_BANDS:
        where[name] = entry_rows[(entry_age >= lo) & (entry_age < hi)]
    del counts
    spells = placement_spells(placement_rows(ev))
    order_home = order_home_series(ev, dob, p.horizon.days)
    entrants = entrant_outcomes(ev, p.horizon.days)
    # where exits come from (validation): SGOs of children placed in kinship care at the exit, and
    # adoptions of children whose period of care began before their 5th birthday
    exit_times = _exit_origin_times(ev, care_len, dob)
    rows = []

    def add(label, measure, value):
        rows.append((result.replication, label, measure, float(value)))

    for label, a, b in edges:
        days = b - a
        i, j = np.searchsorted(t, a, side="left"), np.searchsorted(t, b, side="left")
        add(label, "days_in_horizon", days)
        for s in STOCK_STATES:
            avg = states[s].integral(a, b)[0] / days
            end = states[s].value_at(b - 1e-9)[0]
            name = {"care": "cic", "contact": "open_contacts"}.get(s, s)
            add(label, f"{name}_average", avg)
            add(label, f"{name}_at_year_end", end)
        n = {name: int(np.searchsorted(w, j) - np.searchsorted(w, i)) for name, w in where.items()}
        for name in where:
            add(label, name, n[name])
        for name, times in exit_times.items():
            add(label, name, int(np.searchsorted(times, b, side="left") - np.searchsorted(times, a, side="left")))
        add(label, "rereferral_rate", n["rereferrals"] / n["referrals"] if n["referrals"] else np.nan)
        add(label, "cp_plan_starts_repeat_share",
            n["cp_plan_starts_repeat"] / n["cp_plan_starts"] if n["cp_plan_starts"] else np.nan)
        add(label, "care_entries_under_1_share",
            n["care_entries_age_under_1"] / n["care_entries"] if n["care_entries"] else np.nan)
        # plan lengths of plans ending in the year
        ended = cp_len[(cp_len["end"] >= a) & (cp_len["end"] < b)]
        for name, lo, hi in CP_LENGTH_BINS:
            add(label, name, ((ended["length"] >= lo) & (ended["length"] < hi)).mean() if len(ended) else np.nan)
        add(label, "cp_plan_average_weeks", ended["length"].mean() / 7 if len(ended) else np.nan)
        ended_cin = cin_len[(cin_len["end"] >= a) & (cin_len["end"] < b)]
        add(label, "cin_plan_average_weeks", ended_cin["length"].mean() / 7 if len(ended_cin) else np.nan)
        ended_care = care_len[(care_len["end"] >= a) & (care_len["end"] < b)]
        add(label, "care_period_average_weeks", ended_care["length"].mean() / 7 if len(ended_care) else np.nan)
        ended_assessment = assessment_len[(assessment_len["end"] >= a) & (assessment_len["end"] < b)]
        add(label, "assessment_average_days",
            ended_assessment["length"].mean() if len(ended_assessment) else np.nan)
        perm = ended_care[ended_care["detail"].isin(["reunification", "sgo", "adoption", "cao"])]
        add(label, "weeks_to_permanence_average", perm["length"].mean() / 7 if len(perm) else np.nan)
        # placements
        cic_days = states["care"].integral(a, b)[0]
        for pt in PLACEMENT_TYPES:
            add(label, f"cic_{pt}_average", places[pt].integral(a, b)[0] / days)
        for grp in sorted(set(PLACEMENT_GROUP.values())):
            members = [pt for pt, g in PLACEMENT_GROUP.items() if g == grp]
            add(label, f"cic_{grp}_share", sum(places[pt].integral(a, b)[0] for pt in members) / cic_days if cic_days else np.nan)
        family = sum(places[pt].integral(a, b)[0] for pt in FAMILY_BASED)
        add(label, "family_based_share", family / cic_days if cic_days else np.nan)
        add(label, "placements_over_4100_average", places["over_4100"].integral(a, b)[0] / days)
        add(label, "children_waiting_for_placement_average", places["awaiting"].integral(a, b)[0] / days)
        # bounded markets: emergency or unregistered placements (the wait) and out-of-area places
        emergency_days = places[AWAITING].integral(a, b)[0]
        add(label, "children_in_emergency_placements_average", emergency_days / days)
        add(label, "emergency_placement_days", emergency_days)
        out_days = places[OUT_OF_AREA].integral(a, b)[0]
        add(label, "out_of_area_placements_average", out_days / days)
        add(label, "out_of_area_share", out_days / cic_days if cic_days else np.nan)
        # stability: placement changes per child-year in care; children in care at the year end
        # with 3 or more placements in the year (DfE's indicator)
        add(label, "placement_changes_per_child_year", n["placement_changes"] / (cic_days / 365.25)
            if cic_days else np.nan)
        held, _ = placements_in_year(None, a, b, spells)
        add(label, "children_3plus_placements_share", float((held >= 3).mean()) if len(held) else np.nan)
        # family homes, counting children who left care for special guardians, a child arrangements
        # order or adopters during the run (until 18 or a return to care)
        home_days = order_home.integral(a, b)[0]
        add(label, "children_in_family_homes_share",
            (family + home_days) / (cic_days + home_days) if cic_days + home_days else np.nan)
        add(label, "children_left_care_to_family_orders_average", home_days / days)
        # time to permanence over one cohort: the year's entrants, still in care censored
        cohort = entrants[(entrants["entry"] >= a) & (entrants["entry"] < b)]
        d, o = cohort["days"].to_numpy(), cohort["outcome"].to_numpy()
        add(label, "entrants_permanence_within_1y_share", cumulative_incidence(d, o, 365.25))
        add(label, "entrants_permanence_within_2y_share", cumulative_incidence(d, o, 730.5))
        add(label, "foster_carers_at_year_end", _value_at_series(ct, cn, b - 1e-9))
        for team in ("front_door", "assessment", "safeguarding", "children_in_care"):
            add(label, f"unallocated_{team}_average", waiting_series(result.team_waits, team, p.horizon.days).integral(a, b)[0] / days)
        c = costs[label]
        add(label, "cost_placements", c["placements"])
        add(label, "cost_social_work", c["social_work"])
        add(label, "cost_allowances", c["allowances"])
        add(label, "cost_fixed", c["fixed"])
        add(label, "cost_empty_beds", c["empty_beds"])
        add(label, "cost_foster_retainer", c["foster_retainer"])
        add(label, "cost_total", c["placements"] + c["social_work"] + c["allowances"] + c["fixed"])
        add(label, "placement_weekly_cost_average", c["placements"] / (cic_days / 7.0) if cic_days else np.nan)
        add(label, "price_index", price_index(p, label, result.mechanisms))
    return pd.DataFrame(rows, columns=["replication", "financial_year", "measure", "value"])


def _exit_origin_times(ev: pd.DataFrame, care_len: pd.DataFrame, dob: pd.Series) -> dict[str, np.ndarray]:
    """Sorted times of SGOs from kinship care (the placement ended at the exit was kinship) and of
    adoptions of children who entered care under 5 (the period's start, snapshot periods included)."""
    event = ev["event"].astype(str).to_numpy()
    ended = ev[event == "placement_end"]
    exits = ev[(event == "care_exit") & (ev["detail"].astype(str).to_numpy() == "sgo")]
    last = ended[["time", "child", "from_placement"]].drop_duplicates(["time", "child"], keep="last")
    sgo = exits[["time", "child"]].merge(last, on=["time", "child"], how="left")
    kin = np.sort(sgo.loc[sgo["from_placement"].astype(str).to_numpy() == "kinship", "time"].to_numpy(dtype=float))
    adopted = care_len[care_len["detail"].to_numpy() == "adoption"]
    age = (adopted["start"].to_numpy(dtype=float) - dob.reindex(adopted["child"].to_numpy()).to_numpy()) / 365.25
    young = np.sort(adopted["end"].to_numpy(dtype=float)[age < 5.0])
    return {"care_exits_sgo_from_kinship": kin, "care_exits_adoption_entered_under_5": young}


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
