"""Start from today's caseload: the children open at each stage at the start date.

A snapshot row gives a child's date of birth (exact, yyyy-mm-dd, or only the month, yyyy-mm), stage, days already spent in that stage (and in
the current period of care) and placement. The model draws what remains conditional on the time
already spent. Rows in state "closed" are children whose case closed recently (`state_start` is
the closure date, `closure` its kind): they may come back, conditional on not having done so yet.
Optional columns: `closure`, `last_referral` (date of the latest referral, for re-referrals). Reading files happens in `sim.inputs`; this module works on plain rows.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Optional

import pandas as pd

from .child import DAYS_PER_YEAR
from .vocab import PLACEMENT_TYPES

OPEN_STATES = ("contact", "assessment", "s47", "cin", "cp", "care")
SNAPSHOT_STATES = OPEN_STATES + ("closed",)
CLOSURES = ("nfa", "early_help", "assessment_nfa", "cin_closed", "cp_closed", "care_exit", "reunification")
SNAPSHOT_COLUMNS = ("child_id", "dob", "state", "state_start", "care_start", "placement", "previous_cp_plans")
OPTIONAL_COLUMNS = ("closure", "last_referral")


class SnapshotError(ValueError):
    """A snapshot that cannot be used; the message names the row and field."""


@dataclass(frozen=True)
class OpenCase:
    child_id: int
    dob: float             # days relative to the start date (negative)
    state: str
    state_elapsed: float   # days already spent in this stage
    care_elapsed: float    # days since the period of care began (children in care)
    placement: str         # placement type (children in care), else ""
    previous_cp_plans: int = 0
    closure: str = ""      # state "closed": the kind of closure (see CLOSURES)
    last_referral: Optional[float] = None  # days relative to the start date (negative)


def _date(value, row: int, field: str, source: str) -> dt.date:
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise SnapshotError(f"{source}: row {row}: field '{field}' is not a date ({value!r})") from None


_BIRTH_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
# the latest day before the start date on which a child is still under 18 in the model
# (ages in 365.25-day years): born no more than this many days before it
_UNDER_18_DAYS = math.ceil(18 * DAYS_PER_YEAR) - 1


def _dob_days(value, start_date: dt.date, row: int, cid: int, source: str) -> float:
    """A `dob` as days relative to the start date: an exact date (yyyy-mm-dd), or a month of
    birth (yyyy-mm), read as the middle of the days of that month on which a child in the
    snapshot can have been born (on or before the start date, under 18 on it). A month of birth
    puts ages within about half a month of the true age."""
    m = _BIRTH_MONTH.match(value) if isinstance(value, str) else None
    if m is None:
        dob = _date(value, row, "dob", source)
        if dob > start_date:
            raise SnapshotError(f"{source}: row {row}: dob {dob} is after the start date {start_date}")
        age = (start_date - dob).days / DAYS_PER_YEAR
        if age >= 18:
            raise SnapshotError(f"{source}: row {row}: child {cid} is {age:.1f} years old at the start date (18 or over)")
        return float((dob - start_date).days)
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or year < 1:
        raise SnapshotError(f"{source}: row {row}: field 'dob' is not a date or a month of birth "
                            f"({value!r}; expected yyyy-mm-dd or yyyy-mm)")
    first = dt.date(year, month, 1)
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    earliest = max((first - start_date).days, -_UNDER_18_DAYS)
    latest = min((last - start_date).days, 0)
    if first > start_date:
        raise SnapshotError(f"{source}: row {row}: month of birth {value.strip()} is after the start date {start_date}")
    if earliest > latest:
        raise SnapshotError(f"{source}: row {row}: child {cid}, born in {value.strip()}, is 18 or over at the "
                            f"start date {start_date}")
    return (earliest + latest) / 2


def cases_from_frame(df: pd.DataFrame, start_date: dt.date, source: str = "snapshot") -> list[OpenCase]:
    """Validate snapshot rows (dates as ISO strings or dates) and express them relative to start."""
    missing = [c for c in SNAPSHOT_COLUMNS if c not in df.columns]
    if missing:
        raise SnapshotError(f"{source}: missing column '{missing[0]}' (expected: {', '.join(SNAPSHOT_COLUMNS)})")
    cases, seen = [], set()
    has_closure, has_last_referral = "closure" in df.columns, "last_referral" in df.columns
    for i, r in enumerate(df.itertuples(index=False), start=2):
        cid = int(r.child_id)
        if cid in seen:
            raise SnapshotError(f"{source}: row {i}: child {cid} appears twice")
        seen.add(cid)
        if r.state not in SNAPSHOT_STATES:
            raise SnapshotError(f"{source}: row {i}: state {r.state!r} is not one of {', '.join(SNAPSHOT_STATES)}")
        closure = getattr(r, "closure", "") if has_closure else ""
        closure = "" if (closure is None or (isinstance(closure, float) and pd.isna(closure))) else str(closure)
        if r.state == "closed" and closure not in CLOSURES:
            raise SnapshotError(f"{source}: row {i}: closure {closure!r} is not one of {', '.join(CLOSURES)}")
        last_ref = None
        lr = getattr(r, "last_referral", "") if has_last_referral else ""
        if isinstance(lr, str) and lr.strip() or (not isinstance(lr, str) and lr is not None and not pd.isna(lr)):
            last_ref = float((_date(lr, i, "last_referral", source) - start_date).days)
        dob = _dob_days(r.dob, start_date, i, cid, source)
        state_start = _date(r.state_start, i, "state_start", source)
        if state_start > start_date:
            raise SnapshotError(f"{source}: row {i}: state_start {state_start} is after the start date {start_date}")
        care_elapsed, placement = 0.0, ""
        if r.state == "care":
            if r.placement not in PLACEMENT_TYPES:
                raise SnapshotError(f"{source}: row {i}: placement {r.placement!r} is not a placement type")
            care_start = _date(r.care_start, i, "care_start", source)
            if care_start > start_date:
                raise SnapshotError(f"{source}: row {i}: care_start {care_start} is after the start date")
            placement = r.placement
            care_elapsed = max((start_date - care_start).days, 0) + 0.5
        prev = r.previous_cp_plans
        prev = 0 if pd.isna(prev) else int(prev)
        cases.append(OpenCase(
            child_id=cid, dob=dob, state=r.state,
            state_elapsed=max((start_date - state_start).days, 0) + 0.5,
            care_elapsed=care_elapsed, placement=placement, previous_cp_plans=prev,
            closure=closure, last_referral=last_ref,
        ))
    return cases


def cases_to_frame(cases: list[OpenCase], start_date: dt.date) -> pd.DataFrame:
    """The inverse of `cases_from_frame`, to save a caseload as a snapshot file."""
    def d(days: float) -> str:
        return (start_date + dt.timedelta(days=int(round(days)))).isoformat()

    rows = []
    for c in sorted(cases, key=lambda c: (SNAPSHOT_STATES.index(c.state), c.child_id)):
        rows.append({
            "child_id": c.child_id, "dob": d(c.dob), "state": c.state,
            "state_start": d(-c.state_elapsed),
            "care_start": d(-c.care_elapsed) if c.state == "care" else "",
            "placement": c.placement, "previous_cp_plans": c.previous_cp_plans,
            "closure": c.closure,
            "last_referral": d(c.last_referral) if c.last_referral is not None else "",
        })
    return pd.DataFrame(rows, columns=list(SNAPSHOT_COLUMNS + OPTIONAL_COLUMNS))


def with_month_of_birth(frame: pd.DataFrame) -> pd.DataFrame:
    """A snapshot frame whose `dob` is the month of birth (yyyy-mm) instead of the exact date:
    what carepath writes unless asked for exact dates, as a date of birth with the rest of a
    child's record can identify the child. `cases_from_frame` reads both forms."""
    out = frame.copy()
    if len(out):
        out["dob"] = pd.to_datetime(out["dob"].astype(str).str.strip(), format="%Y-%m-%d").dt.strftime("%Y-%m")
    return out

