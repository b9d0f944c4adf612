"""The event log of one replication: one row per thing that happens to a child.

Columns: `time` (days from the start date), `child`, `event`, `from_state`, `to_state` (equal
when the event is not a change of stage), `placement` (placement after the event, for children
in care), `from_placement`, `detail` (outcome, reason or flags). Stocks and flows are pure
functions of these rows.

Rows are stored compactly while the model runs: time, child, and the six text columns together
as one small integer, the row's *kind*: its index in a table of the distinct (event,
from_state, to_state, placement, from_placement, detail) combinations seen so far. A run has a
few hundred kinds. Rows go into numpy arrays of `CHUNK` rows at a time, so a row costs 20
bytes. The compiled build (`sim/core.py`) writes each row straight into the arrays; the Python
build keeps the newest rows in three lists (a list append is the cheapest store Python has) and
moves them into arrays every `CHUNK` rows. The DataFrame with categorical columns is built once,
at the end.
"""
from __future__ import annotations

import cython
import numpy as np
import pandas as pd

from .vocab import PLACEMENT_TYPES, STATES

COLUMNS = ("time", "child", "event", "from_state", "to_state", "placement", "from_placement", "detail")
TEXT_COLUMNS = COLUMNS[2:]
_FIXED = {
    "from_state": ("",) + STATES, "to_state": ("",) + STATES,
    "placement": ("",) + PLACEMENT_TYPES + ("awaiting",), "from_placement": ("",) + PLACEMENT_TYPES + ("awaiting",),
}


CHUNK = 8192  # rows kept in lists before they move into arrays


class EventLog:
    __slots__ = ("kind_table", "_times", "_children", "_kinds", "_chunks", "_chunked",
                 "_tarr", "_carr", "_karr", "_tbuf", "_cbuf", "_kbuf", "_n")

    def __init__(self):
        self.kind_table: dict[tuple[str, ...], int] = {}
        self._times: list[float] = []  # the Python build's newest rows
        self._children: list[int] = []
        self._kinds: list[int] = []
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._chunked = 0  # rows in `_chunks`
        self._n = 0  # the compiled build's rows in its current arrays
        self._new_arrays()

    def _new_arrays(self):
        if cython.compiled:
            self._tarr = np.empty(CHUNK, dtype=np.float64)
            self._carr = np.empty(CHUNK, dtype=np.longlong)
            self._karr = np.empty(CHUNK, dtype=np.intc)
            self._tbuf, self._cbuf, self._kbuf = self._tarr, self._carr, self._karr
            self._n = 0

    def add(self, time, child, event, from_state, to_state, placement="", from_placement="", detail=""):
        key = (event, from_state, to_state, placement, from_placement, detail)
        table = self.kind_table
        x = table.get(key)
        if x is None:
            x = table[key] = len(table)
        if cython.compiled:
            n = self._n
            self._tbuf[n] = time
            self._cbuf[n] = child
            self._kbuf[n] = x
            self._n = n + 1
            if n + 1 >= CHUNK:
                self._flush()
        else:
            times = self._times
            times.append(time)
            self._children.append(child)
            self._kinds.append(x)
            if len(times) >= CHUNK:
                self._flush()

    def _flush(self):
        if cython.compiled:
            if self._n:
                n = self._n
                self._chunks.append((self._tarr[:n], self._carr[:n].astype(np.int64, copy=False),
                                     self._karr[:n].astype(np.int32, copy=False)))
                self._chunked += n
                self._new_arrays()
        elif self._times:
            self._chunks.append((np.array(self._times, dtype=np.float64), np.array(self._children, dtype=np.int64),
                                 np.array(self._kinds, dtype=np.int32)))
            self._chunked += len(self._times)
            self._times, self._children, self._kinds = [], [], []

    def __len__(self):
        return self._chunked + self._n + len(self._times)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every row so far: times (days), children, kinds (indices into `kind_table`)."""
        self._flush()
        if not self._chunks:
            return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        if len(self._chunks) > 1:
            self._chunks = [tuple(np.concatenate(c) for c in zip(*self._chunks))]
        return self._chunks[0]

    def to_frame(self) -> pd.DataFrame:
        """The log as a DataFrame. Its `time` and `child` columns are the log's own arrays, not
        copies: take the frame once and drop the log (as `sim.runner` does)."""
        times, children, kinds = self.arrays()
        n = len(times)
        data = {"time": times, "child": children}
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
            # codes in the type pandas keeps them in (one byte for fewer than 127 categories), so it
            # need not convert a copy
            dtype = np.int8 if len(values) < 127 else np.int16 if len(values) < 32767 else np.int32
            code_of_kind = np.array([index[r[j]] for r in rows], dtype=dtype)
            codes = code_of_kind[kinds] if n else np.zeros(0, dtype=dtype)
            data[name] = pd.Categorical.from_codes(codes, categories=list(values))
        # the log's own arrays become the frame's columns; copying them (as pandas does by
        # default) would cost more than the rest of the frame at 8 times the default size
        return pd.DataFrame(data, columns=list(COLUMNS), copy=False)
