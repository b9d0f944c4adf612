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
    __slots__ = ("time", "child", "event", "from_state", "to_state", "placement", "from_placement", "detail")

    def __init__(self):
        for c in COLUMNS:
            setattr(self, c, [])

    def add(self, time, child, event, from_state, to_state, placement="", from_placement="", detail=""):
        self.time.append(time)
        self.child.append(child)
        self.event.append(event)
        self.from_state.append(from_state)
        self.to_state.append(to_state)
        self.placement.append(placement)
        self.from_placement.append(from_placement)
        self.detail.append(detail)

    def __len__(self):
        return len(self.time)

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame({c: getattr(self, c) for c in COLUMNS})
        # fixed categories, so from/to columns share codes and compare fast
        states = pd.CategoricalDtype(("",) + STATES)
        places = pd.CategoricalDtype(("",) + PLACEMENT_TYPES + ("awaiting",))
        for c, dtype in (("from_state", states), ("to_state", states), ("placement", places),
                         ("from_placement", places), ("event", "category"), ("detail", "category")):
            df[c] = df[c].astype(dtype)
        df["child"] = df["child"].astype("int64")
        df["time"] = df["time"].astype("float64")
        return df
