"""The event log of one replication: one row per thing that happens to a child.

Columns: `time` (days from the start date), `child`, `event`, `from_state`, `to_state` (equal
when the event is not a change of stage), `placement` (placement after the event, for children
in care), `from_placement`, `detail` (outcome, reason or flags). Stocks and flows are pure
functions of these rows; rows are kept in columnar lists so logging costs little per event.
"""
from __future__ import annotations

import pandas as pd

from .vocab import PLACEMENT_TYPES, STATES

COLUMNS = ("time", "child", "event", "from_state", "to_state", "placement", "from_placement", "detail")


class EventLog:
    """Rows are kept as tuples (one append per event) and turned into columns once, at the end."""

    __slots__ = ("rows", "add")

    def __init__(self):
        self.rows: list[tuple] = []
        append = self.rows.append

        def add(time, child, event, from_state, to_state, placement="", from_placement="", detail=""):
            append((time, child, event, from_state, to_state, placement, from_placement, detail))

        self.add = add

    def __len__(self):
        return len(self.rows)

    def column(self, name: str) -> list:
        i = COLUMNS.index(name)
        return [r[i] for r in self.rows]

    def to_frame(self) -> pd.DataFrame:
        cols = list(zip(*self.rows)) if self.rows else [[] for _ in COLUMNS]
        df = pd.DataFrame({c: list(v) for c, v in zip(COLUMNS, cols)})
        # fixed categories, so from/to columns share codes and compare fast
        states = pd.CategoricalDtype(("",) + STATES)
        places = pd.CategoricalDtype(("",) + PLACEMENT_TYPES + ("awaiting",))
        for c, dtype in (("from_state", states), ("to_state", states), ("placement", places),
                         ("from_placement", places), ("event", "category"), ("detail", "category")):
            df[c] = df[c].astype(dtype)
        df["child"] = df["child"].astype("int64")
        df["time"] = df["time"].astype("float64")
        return df
