"""Many replications, in parallel processes or on a Dask cluster (see backends.py), with a progress
bar; results identical whatever the backend and the number of workers, because each replication
depends only on (parameters, seed, number)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import pandas as pd

from .initial import OpenCase
from .measures import stocks_by_month, summary_by_fy
from .params import Params
from .runner import run_replication
from .backends import LocalBackend, default_workers  # noqa: F401 - default_workers re-exported


@dataclass
class ReplicationOutput:
    replication: int
    summary: pd.DataFrame
    stocks: pd.DataFrame
    events: Optional[pd.DataFrame]
    sim_events: int
    wall_seconds: float


def replication_output(params: Params, seed: int, replication: int,
                       snapshot: Optional[list[OpenCase]], keep_events: bool) -> ReplicationOutput:
    """Run one replication and reduce it to tidy frames (this is what crosses process borders)."""
    r = run_replication(params, seed, replication, snapshot=snapshot)
    events = None
    if keep_events:
        events = r.events.copy()
        events.insert(0, "replication", replication)
    return ReplicationOutput(replication, summary_by_fy(r), stocks_by_month(r), events, r.sim_events, r.wall_seconds)


class Progress:
    """A plain progress bar on stderr: replications done and time left."""

    def __init__(self, total: int, label: str = "replications", stream=None, enabled: bool = True):
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 1
        self.t0 = time.perf_counter()

    def step(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        width = 30
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if self.done == self.total else ""
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {self.label}, {elapsed:5.0f}s elapsed, about {left:4.0f}s left{end}")
        self.stream.flush()


def run_replications(params: Params, seed: int, replications: int, snapshot: Optional[list[OpenCase]] = None,
                     workers: int = 1, keep_events: Callable[[int], bool] = lambda r: r == 0,
                     progress: bool = True, backend=None) -> list[ReplicationOutput]:
    """Replications 0..R-1, sequentially (workers=1), in a process pool, or on `backend` (a
    sim.backends.Backend, which the caller closes); sorted by number, each exactly once."""
    bar = Progress(replications, enabled=progress)
    own = backend is None
    if own:
        backend = LocalBackend(min(workers, replications))
    args = [(params, seed, rep, snapshot, keep_events(rep)) for rep in range(replications)]
    outs: dict[int, ReplicationOutput] = {}
    try:
        for i, out in backend.map_unordered(replication_output, args):
            if i not in outs:
                outs[i] = out
                bar.step()
    finally:
        if own:
            backend.close()
    return [outs[rep] for rep in range(replications)]
