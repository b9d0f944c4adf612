"""Recently closed children for the starting caseload: those who may come back.

The model's snapshots hold, besides the open cases, the children whose case closed in the last
`RECENT_DAYS` (state `closed`, `state_start` = the closure date, `closure` = its kind). The model
brings them back conditional on the time already out and on not having come back yet
(`care.reentry` after a return home, `recontact.<kind>` otherwise). Without them, the re-entries
into care and the returning contacts (and what follows them) of a forecast's first two years are
missing.

This module finds them in the data, with the kinds `calibration.fit` uses to fit `recontact`:

* **care leavers** (SSDA903): the period of care ended by a return home (`reunification`), an
  SGO, a CAO or another exit (`care_exit`); adoption and the 18th birthday do not come back;
* **closed CIN episodes** (CIN census): `cp_closed` if the episode had a CP plan, `cin_closed` if
  it had a CIN plan, else `assessment_nfa`; closures RC1 to RC6 (adoption, died, SGO, CAO,
  transfers...) do not come back. An episode open during a period of care is the care's own
  episode: its closure is not a front-door closure (the care exit is);
* **closed contacts** (contacts file): outcome `nfa` or `early_help`, left out if the child had a
  CIN episode open (as in `calibration.fit`) or was in care at the time.

A child is counted once, by the last of these to close, except that a child who went home from
care in the last `RECENT_DAYS` stays a return home (`care.reentry` is fitted on the time from the
return home to the next period of care, whatever happened at the front door between). A child
with anything still open at the extract date (a period of care or a CIN episode) is not closed. Children without a date of
birth, or 18 or over on the forecast's first day, are left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RECENT_DAYS = 730           # children who closed this recently may come back (as the model's snapshots)
DAYS_PER_YEAR = 365.25
LEAVER_CLOSURE = {"reunification": "reunification", "sgo": "care_exit", "cao": "care_exit", "other": "care_exit"}
NOT_RETURNING_RC = ("RC1", "RC2", "RC3", "RC4", "RC5", "RC6")   # adopted, died, SGO, CAO, transferred...
CONTACT_CLOSURES = ("nfa", "early_help")
CIN_CLOSURES = ("assessment_nfa", "cin_closed", "cp_closed")
_PRIORITY = {"care": 0, "cin": 1, "contacts": 2}   # same closure day: the deeper stage counts


def referral_closure_kinds(cin) -> np.ndarray:
    """For each row of `cin.referrals`: the kind of closure the model brings back from
    (`assessment_nfa`, `cin_closed`, `cp_closed`), or "" (still open, or closed RC1 to RC6)."""
    r = cin.referrals
    key = pd.MultiIndex.from_frame(r[["child", "referral_date"]])
    had_cp = key.isin(pd.MultiIndex.from_frame(cin.cp_plans[["child", "referral_date"]]))
    had_cin = key.isin(pd.MultiIndex.from_frame(cin.cin_plans[["child", "referral_date"]]))
    kinds = np.where(had_cp, "cp_closed", np.where(had_cin, "cin_closed", "assessment_nfa")).astype(object)
    returns = r["closure_date"].notna().to_numpy() & ~r["reason_for_closure"].isin(NOT_RETURNING_RC).to_numpy()
    kinds[~returns] = ""
    return kinds


def about_open_case(contacts: pd.DataFrame, referrals: pd.DataFrame) -> np.ndarray:
    """For each contact (child, contact_date): whether the child had a CIN episode open then."""
    m = contacts.reset_index(drop=True).reset_index()[["index", "child", "contact_date"]].merge(
        referrals[["child", "referral_date", "closure_date"]], on="child")
    is_open = (m["referral_date"] < m["contact_date"]) & (m["closure_date"].isna() | (m["closure_date"] > m["contact_date"]))
    return np.isin(np.arange(len(contacts)), m.loc[is_open, "index"].to_numpy())


def _overlaps(items: pd.DataFrame, start: str, end: str, periods: pd.DataFrame, far: pd.Timestamp) -> np.ndarray:
    """For each row of `items` (child, start, end): whether it overlaps a period of care of the child."""
    if len(items) == 0 or len(periods) == 0:
        return np.zeros(len(items), bool)
    m = items.reset_index(drop=True).reset_index()[["index", "child", start, end]].merge(
        periods[["child", "start", "end"]].rename(columns={"start": "_ps", "end": "_pe"}), on="child")
    hit = (m[start] <= m["_pe"].fillna(far)) & (m[end].fillna(far) >= m["_ps"])
    return np.isin(np.arange(len(items)), m.loc[hit, "index"].to_numpy())


def recently_closed(periods_all: pd.DataFrame, extract: pd.Timestamp, cin=None, contacts=None,
                    open_children=()) -> pd.DataFrame:
    """Snapshot rows (state `closed`) for the children whose last closure was in the `RECENT_DAYS`
    before the extract date and of a kind that may come back, with `child` (the data's identifier)
    and `source` (care, cin or contacts). With SSDA903 alone these are the recent care leavers.
    `open_children` (the open snapshot's) are left out, as are children in care or with a CIN
    episode open that is not a period of care's own."""
    extract = pd.Timestamp(extract)
    far = extract + pd.Timedelta(days=36525)
    p = periods_all[periods_all["start"] <= extract]
    parts = [pd.DataFrame({"child": p["child"].to_numpy(), "end": p["end"].to_numpy(),
                           "kind": p["exit_reason"].map(LEAVER_CLOSURE).fillna("").to_numpy(), "source": "care"})]
    open_children = set(open_children) | set(p.loc[p["end"].isna() | (p["end"] > extract), "child"])
    dobs = [p.dropna(subset=["dob"]).drop_duplicates("child").set_index("child")["dob"]]
    last_ref = prev_cp = None
    if cin is not None and len(cin.referrals):
        r = cin.referrals[cin.referrals["referral_date"] <= extract].copy()
        kinds = referral_closure_kinds(cin)[(cin.referrals["referral_date"] <= extract).to_numpy()]
        own = _overlaps(r, "referral_date", "closure_date", p, far)   # the care's own episode
        open_ref = (r["closure_date"].isna() | (r["closure_date"] > extract)).to_numpy()
        open_children |= set(r.loc[open_ref & ~own, "child"])
        parts.append(pd.DataFrame({"child": r["child"].to_numpy()[~own], "end": r["closure_date"].to_numpy()[~own],
                                   "kind": kinds[~own], "source": "cin"}))
        dobs.append(r.dropna(subset=["dob"]).drop_duplicates("child").set_index("child")["dob"])
        last_ref = r.groupby("child")["referral_date"].max()
        prev_cp = cin.cp_plans[cin.cp_plans["start"] <= extract].groupby("child").size()
    if contacts is not None and len(contacts.contacts):
        k = contacts.contacts[(contacts.contacts["contact_date"] <= extract)
                              & contacts.contacts["outcome"].isin(CONTACT_CLOSURES)].reset_index(drop=True)
        if cin is not None:
            k = k[~about_open_case(k, cin.referrals)].reset_index(drop=True)
        k = k[~_overlaps(k.assign(_end=k["contact_date"]), "contact_date", "_end", p, far)]
        parts.append(pd.DataFrame({"child": k["child"].to_numpy(), "end": k["contact_date"].to_numpy(),
                                   "kind": k["outcome"].to_numpy(), "source": "contacts"}))
        dobs.append(k.dropna(subset=["dob"]).drop_duplicates("child").set_index("child")["dob"])
    c = pd.concat(parts, ignore_index=True)
    c = c[c["end"].notna() & (c["end"] <= extract) & ~c["child"].isin(open_children)]
    c = c.assign(_prio=c["source"].map(_PRIORITY))
    # the last closure of each child (on the same day, the deeper stage) ...
    c = c.sort_values(["child", "end", "_prio"], ascending=[True, True, False], kind="stable")
    last = c[~c.duplicated("child", keep="last")]
    # ... except that a return home stays one until the child is back in care: care.reentry is
    # fitted on the time from the return home to the next period of care, whatever came between
    care = c[c["source"] == "care"]
    care = care[~care.duplicated("child", keep="last")]
    home = care[(care["kind"] == "reunification") & (care["end"] > extract - pd.Timedelta(days=RECENT_DAYS))]
    last = pd.concat([last[~last["child"].isin(home["child"])], home], ignore_index=True)
    last = last[(last["end"] > extract - pd.Timedelta(days=RECENT_DAYS)) & (last["kind"] != "")]
    dob = pd.Series(dtype="datetime64[ns]")
    for d in dobs:   # SSDA903 first, then the CIN census, then contacts
        dob = pd.concat([dob, d[~d.index.isin(dob.index)]])
    last = last.assign(dob=last["child"].map(dob))
    start = extract + pd.Timedelta(days=1)
    age = (start - last["dob"]).dt.days / DAYS_PER_YEAR
    last = last[last["dob"].notna() & (last["dob"] <= extract) & (age < 18)]
    last = last.sort_values("child", key=lambda s: s.astype(str), kind="stable").reset_index(drop=True)
    lr = last["child"].map(last_ref) if last_ref is not None else pd.Series(pd.NaT, index=last.index)
    return pd.DataFrame({
        "child": last["child"].to_numpy(),
        "dob": last["dob"].dt.date.astype(str).to_numpy(),
        "state": "closed",
        "state_start": pd.to_datetime(last["end"]).dt.date.astype(str).to_numpy(),
        "care_start": "", "placement": "",
        "previous_cp_plans": (last["child"].map(prev_cp).fillna(0).astype(int).to_numpy()
                              if prev_cp is not None else 0),
        "closure": last["kind"].to_numpy(),
        "last_referral": [d.date().isoformat() if pd.notna(d) else "" for d in pd.to_datetime(lr)],
        "source": last["source"].to_numpy(),
    })


def care_leavers(periods_all: pd.DataFrame, extract: pd.Timestamp) -> pd.DataFrame:
    """Children whose last period of care ended in the `RECENT_DAYS` before the extract date with
    a return home, an SGO, a CAO or another exit the model can bring back, under 18 on the
    forecast's first day: snapshot rows in state `closed` (SSDA903 alone)."""
    return recently_closed(periods_all, extract).drop(columns="source")


def append_recently_closed(f, snap: pd.DataFrame) -> pd.DataFrame:
    """The full-data path: the snapshot of open cases plus the recently closed children from
    SSDA903, the CIN census and contacts, renumbered after it; one fit-log row for each source."""
    out = snap.copy()
    for col in ("closure", "last_referral"):
        if col not in out:
            out[col] = ""
    closed = recently_closed(f.s.periods, f.extract, f.c, f.k, getattr(f, "open_children", ()))
    n0 = int(out["child_id"].max()) if len(out) else 0
    closed["child_id"] = np.arange(n0 + 1, n0 + 1 + len(closed))
    leavers = closed[closed["source"] == "care"]
    kinds = leavers["closure"].value_counts().to_dict()
    f.log.data("initial_caseload (recent care leavers)", len(leavers),
               f"{len(leavers)} children whose last closure was leaving care in the {RECENT_DAYS} days before the extract "
               f"date (SSDA903) start as recently closed cases: {kinds.get('reunification', 0)} after a return home, who may "
               f"re-enter care (care.reentry, conditional on time already out), and {kinds.get('care_exit', 0)} after an "
               "SGO, CAO or other exit, who may come back to the front door (recontact.care_exit); a CIN episode open "
               "during the period of care is the care's own and does not count as a later closure")
    fd = closed[closed["source"] != "care"]
    kinds = fd["closure"].value_counts().to_dict()
    srcs = " and ".join(name for s, name in (("cin", "CIN census"), ("contacts", "contacts"))
                        if (fd["source"] == s).any()) or "none found"
    f.log.data("initial_caseload (recently closed front-door cases)", len(fd),
               f"{len(fd)} children whose last closure was at the front door in the {RECENT_DAYS} days before the extract "
               f"date ({srcs}) start as recently closed cases who may come back (recontact.<kind>, conditional on time already out): "
               + ", ".join(f"{kinds.get(k_, 0)} {k_}" for k_ in CIN_CLOSURES + CONTACT_CLOSURES)
               + "; children with a CIN episode or period of care open at the extract date are not closed")
    cols = list(out.columns)
    return pd.concat([out, closed[cols]], ignore_index=True)
