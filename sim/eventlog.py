"""The event log of one replication: one row per thing that happens to a child.

Columns: `time` (days from the start date), `child`, `event`, `from_state`, `to_state` (equal
when the event is not a change of stage), `placement` (placement after the event, for children
in care), `from_placement`, `detail` (outcome, reason or flags). Stocks and flows are pure
functions of these rows.

Rows are stored compactly while the model runs: time and child in typed arrays, and the six text
columns together as one small integer, the row's *kind*: its index in a table of the distinct
(event, from_state, to_state, placement, from_placement, detail) combinations seen so far. A run
has a few hundred kinds, so a row costs 20 bytes and one dictionary look-up; the DataFrame with
categorical columns is built once, at the end.
"""
from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from .vocab import PLACEMENT_TYPES, STATES

COLUMNS = ("time", "child", "event", "from_state", "to_state", "placement", "from_placement", "detail")
TEXT_COLUMNS = COLUMNS[2:]
_FIXED = {
    "from_state": ("",) + STATES, "to_state": ("",) + STATES,
    "placement": ("",) + PLACEMENT_TYPES + ("awaiting",), "from_placement": ("",) + PLACEMENT_TYPES + ("awaiting",),
}


class EventLog:
    __slots__ = ("times", "children", "kinds", "kind_table")

    def __init__(self):
        self.times = array("d")
        self.children = array("q")
        self.kinds = array("i")
        self.kind_table: dict[tuple[str, ...], int] = {}

    def add(self, time, child, event, from_state, to_state, placement="", from_placement="", detail=""):
        key = (event, from_state, to_state, placement, from_placement, detail)
        table = self.kind_table
        x = table.get(key)
        if x is None:
            x = table[key] = len(table)
        self.times.append(time)
        self.children.append(child)
        self.kinds.append(x)

    def __len__(self):
        return len(self.times)

    def to_frame(self) -> pd.DataFrame:
        n = len(self.times)
        data = {"time": np.frombuffer(self.times, dtype=np.float64).copy() if n else np.zeros(0),
                "child": np.frombuffer(self.children, dtype=np.int64).copy() if n else np.zeros(0, dtype=np.int64)}
        kinds = np.frombuffer(self.kinds, dtype=np.int32) if n else np.zeros(0, dtype=np.int32)
        rows = list(self.kind_table)  # insertion order is kind order
        for j, name in enumerate(TEXT_COLUMNS):
            values = _FIXED.get(name)
            if values is None:  # categories in order of first appearance
                values = tuple(dict.fromkeys(r[j] for r in rows))
            else:  # fixed categories, so from/to columns share codes and compare fast
                unknown = {r[j] for r in rows} - set(values)
                if unknown:
                    raise ValueError(f"event log column {name!r} holds unknown values: {sorted(unknown)}")
            index = {v: i for i, v in enumerate(values)}
            code_of_kind = np.array([index[r[j]] for r in rows], dtype=np.int32)
            codes = code_of_kind[kinds] if n else np.zeros(0, dtype=np.int32)
            data[name] = pd.Categorical.from_codes(codes, categories=list(values))
        return pd.DataFrame(data, columns=list(COLUMNS))
