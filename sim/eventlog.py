"""The event log of one replication: one row per thing that happens to a child.

Columns: `time` (days from the start date), `child`, `event`, `from_state`, `to_state` (equal
when the event is not a change of stage), `placement` (placement after the event, for children
in care), `from_placement`, `detail` (outcome, reason or flags). Stocks and flows are pure
functions of these rows.

Rows are stored compactly while the model runs: time and child in typed arrays, each text column
as small integer codes into its own table of values (about 30 bytes an event rather than a
Python tuple's 150), and turned into a DataFrame with categorical columns once, at the end.
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
    __slots__ = ("times", "children", "codes", "tables", "add")

    def __init__(self):
        self.times = array("d")
        self.children = array("q")
        self.codes = [array("i") for _ in TEXT_COLUMNS]
        self.tables: list[dict[str, int]] = [{} for _ in TEXT_COLUMNS]
        t_add, c_add = self.times.append, self.children.append
        (e_add, fs_add, ts_add, p_add, fp_add, d_add) = (c.append for c in self.codes)
        (e_tab, fs_tab, ts_tab, p_tab, fp_tab, d_tab) = self.tables

        def add(time, child, event, from_state, to_state, placement="", from_placement="", detail=""):
            t_add(time)
            c_add(child)
            x = e_tab.get(event)
            if x is None:
                x = e_tab[event] = len(e_tab)
            e_add(x)
            x = fs_tab.get(from_state)
            if x is None:
                x = fs_tab[from_state] = len(fs_tab)
            fs_add(x)
            x = ts_tab.get(to_state)
            if x is None:
                x = ts_tab[to_state] = len(ts_tab)
            ts_add(x)
            x = p_tab.get(placement)
            if x is None:
                x = p_tab[placement] = len(p_tab)
            p_add(x)
            x = fp_tab.get(from_placement)
            if x is None:
                x = fp_tab[from_placement] = len(fp_tab)
            fp_add(x)
            x = d_tab.get(detail)
            if x is None:
                x = d_tab[detail] = len(d_tab)
            d_add(x)

        self.add = add

    def __len__(self):
        return len(self.times)

    def to_frame(self) -> pd.DataFrame:
        data = {"time": np.frombuffer(self.times, dtype=np.float64).copy() if len(self.times) else np.zeros(0),
                "child": np.frombuffer(self.children, dtype=np.int64).copy() if len(self.children) else
                np.zeros(0, dtype=np.int64)}
        for name, codes, table in zip(TEXT_COLUMNS, self.codes, self.tables):
            values = list(table)  # insertion order is code order
            cat = pd.Categorical.from_codes(np.frombuffer(codes, dtype=np.int32).copy() if len(codes) else
                                            np.zeros(0, dtype=np.int32), categories=values)
            if name in _FIXED:  # fixed categories, so from/to columns share codes and compare fast
                unknown = set(values) - set(_FIXED[name])
                if unknown:
                    raise ValueError(f"event log column {name!r} holds unknown values: {sorted(unknown)}")
                cat = cat.set_categories(_FIXED[name])
            data[name] = cat
        return pd.DataFrame(data, columns=list(COLUMNS))
