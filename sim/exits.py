"""Exits from care as competing risks: piecewise-constant hazards a year, one for each exit reason,
by the child's current placement need, current age band and time in care (`care.exit_hazards`).

Pure functions of the table, the child's state and two uniforms from the child's named streams: no
clock, no SimPy. Because each hazard is constant within a cell (need x age band x time band), the
time to the next exit is exponential there; the pathway draws it afresh on every placement change
and at every cell boundary (the next age band or time band), which gives the exact distribution of
the competing-risks model (memorylessness). Turning 18 is not a hazard: it ends care with certainty
at the 18th birthday (the pathway's own boundary).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from typing import Optional

DAYS_PER_YEAR = 365.25
INF = float("inf")
EPS_DAYS = 1e-6   # a tenth of a second: the clock reaches a cell's edge only to rounding
EPS_YEARS = EPS_DAYS / DAYS_PER_YEAR
PERMANENCE = ("reunification", "sgo", "adoption", "cao")


class HazardTable:
    """`care.exit_hazards` arranged for look-up: for each need, its age bands (sorted) and, for each
    band and time band, the hazards a day by reason."""

    def __init__(self, spec):
        self.edges = tuple(float(x) for x in spec.time_in_care_days)
        reasons = []
        for cell in spec.cells:
            for r in cell.per_year:
                if r not in reasons:
                    reasons.append(r)
        self.reasons = tuple(reasons)
        by_need: dict[str, list] = {}
        for cell in spec.cells:
            per_day = [tuple(cell.per_year.get(r, [0.0] * len(self.edges))[j] / DAYS_PER_YEAR
                             for r in self.reasons) for j in range(len(self.edges))]
            by_need.setdefault(cell.placement, []).append((cell.from_age, cell.to_age, per_day))
        self.cells = {need: sorted(rows) for need, rows in by_need.items()}
        self._perm_mean: dict[tuple[str, int], float] = {}

    def cell(self, need: str, age: float, days_in_care: float):
        """(hazards a day by reason, days to the cell's end at this age and time in care)."""
        rows = self.cells[need]
        row = rows[-1]
        age += EPS_YEARS  # at a band's edge (to rounding), the next band: a re-draw there always moves on
        days_in_care += EPS_DAYS
        for r in rows:
            if age < r[1]:
                row = r
                break
        j = max(0, bisect_right(self.edges, days_in_care) - 1)
        to_time = self.edges[j + 1] - days_in_care if j + 1 < len(self.edges) else INF
        to_age = (row[1] - age) * DAYS_PER_YEAR if row[1] < 18 else INF  # the 18th birthday is the pathway's
        return row[2][j], max(min(to_time, to_age), EPS_DAYS)

    def permanence_mean_days(self, need: str, entry_age: float) -> float:
        """Mean days in care of the children entering this need at this age (whole years) who leave
        to permanence, if they stayed in it: the scale faster permanence works against."""
        key = (need, int(entry_age))
        m = self._perm_mean.get(key)
        if m is None:
            m = self._perm_mean[key] = _permanence_mean(self, need, float(int(entry_age)) + 0.5)
        return m


def _permanence_mean(table: HazardTable, need: str, age: float) -> float:
    """E[T | the exit is to permanence] for a child who starts care at `age` and stays in `need`,
    from the piecewise-constant hazards (exact within each cell), stopping at the 18th birthday."""
    perm = [i for i, r in enumerate(table.reasons) if r in PERMANENCE]
    t, surv, mass, moment = 0.0, 1.0, 0.0, 0.0
    to18 = (18.0 - age) * DAYS_PER_YEAR
    while t < to18 and surv > 1e-12:
        h, span = table.cell(need, age + t / DAYS_PER_YEAR, t)
        span = min(span, to18 - t)
        if span <= 0:
            break
        total = sum(h)
        hp = sum(h[i] for i in perm)
        if total > 0:
            e = math.exp(-total * span)
            mass += surv * hp / total * (1.0 - e)
            # integral over the cell of (t + x) hp S e^{-total x} dx
            moment += surv * hp * (t * (1.0 - e) / total + (1.0 - e * (1.0 + total * span)) / total ** 2)
            surv *= e
        t += span
    return moment / mass if mass > 0 else INF


def next_exit(hazards, span: float, u_time: float, u_reason: float,
              multipliers: Optional[dict[int, float]] = None) -> tuple[Optional[int], float]:
    """The next exit in a cell: (reason index, or None if the cell ends first, and days from now).

    `hazards` are a day by reason, `span` the days to the cell's end; `multipliers` scale some
    reasons' hazards (levers). The time is exponential at the total hazard, the reason in proportion
    to each hazard."""
    if multipliers:
        hazards = [h * multipliers.get(i, 1.0) for i, h in enumerate(hazards)]
    total = sum(hazards)
    if total <= 0.0:
        return None, span
    d = -math.log(1.0 - u_time) / total
    if d >= span:
        return None, span
    x, acc = u_reason * total, 0.0
    for i, h in enumerate(hazards):
        acc += h
        if x < acc:
            return i, d
    return len(hazards) - 1, d
