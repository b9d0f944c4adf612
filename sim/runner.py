"""One replication: parameters in, tidy frames out. No file I/O, so it runs in any worker.

`run_replication` is the unit of work for local process pools (and, later, a cluster): it takes
plain data (parameters, seed, replication number, snapshot) and returns plain data.
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from .initial import OpenCase
from .params import Params
from .levers import Mechanisms
from .pathway import Pathway


@dataclass
class ReplicationResult:
    """Everything measures need from one replication."""

    params: Params
    seed: int
    replication: int
    events: pd.DataFrame          # the event log (see sim.eventlog)
    children: pd.DataFrame        # child, dob (days from start)
    allowances: pd.DataFrame      # child, start, end, kind (SGO / adoption allowances until 18)
    capacity: pd.DataFrame        # time, resource, capacity, in_use
    team_waits: pd.DataFrame      # team, case, since, until, allocated (until NaN: still waiting at the end)
    team_workers: pd.DataFrame    # team, time, workers
    sim_events: int               # SimPy events processed
    wall_seconds: float
    open_cases: list = field(default_factory=list)  # caseload at the end (for snapshots)
    mechanisms: Optional[Mechanisms] = None          # levers acting (None: the baseline)


def run_replication(params: Params, seed: int, replication: int,
                    snapshot: Optional[list[OpenCase]] = None,
                    mechanisms: Optional[Mechanisms] = None, trace: bool = False,
                    keep_open_cases: bool = False) -> ReplicationResult:
    # The cyclic garbage collector stays paused over the whole replication, not only the run: a
    # run makes millions of objects, and a collection while the frames are built would visit them
    # all. The model breaks its own cycles at the end (`Pathway.close`), so it is freed as it
    # goes, by reference counting, and nothing is left for the collector.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _replication(params, seed, replication, snapshot, mechanisms, trace, keep_open_cases)
    finally:
        if was_enabled:
            gc.enable()


def _replication(params, seed, replication, snapshot, mechanisms, trace, keep_open_cases) -> ReplicationResult:
    t0 = time.perf_counter()
    model = Pathway(params, seed, replication, snapshot=snapshot, mechanisms=mechanisms, trace=trace,
                    keep_closed=keep_open_cases)
    try:  # closed even if the run fails, so nothing waits for the collector
        model.run()
        events = model.log.to_frame()
        model.log = None  # the frame holds the rows now; free the arrays before building the rest
        children = pd.DataFrame({
            "child": np.concatenate([np.frombuffer(model.retired_ids, dtype=np.int64),
                                     np.fromiter(model.children.keys(), dtype=np.int64, count=len(model.children))]),
            "dob": np.concatenate([np.frombuffer(model.retired_dobs, dtype=np.float64),
                                   np.fromiter((c.dob for c in model.children.values()), dtype=np.float64,
                                               count=len(model.children))]),
        }).sort_values("child", kind="stable").reset_index(drop=True)
        allowances = pd.DataFrame(model.allowances, columns=["child", "start", "end", "kind"])
        cl = model.caplog
        capacity = pd.DataFrame({"time": cl.time, "resource": cl.resource, "capacity": cl.capacity, "in_use": cl.in_use})
        waits, workers = [], []
        for name, team in model.teams.items():
            waits.extend((name, c, s, u, a) for c, s, u, a in team.waits)
            # cases still waiting at the end
            waits.extend((name, c, s, float("nan"), False) for c, (s, _) in team.waiting.items())
            workers.extend((name, t, w) for t, w in team.worker_changes)
        team_waits = pd.DataFrame(waits, columns=["team", "case", "since", "until", "allocated"])
        team_workers = pd.DataFrame(workers, columns=["team", "time", "workers"])
        sim_events = _events_scheduled(model.env)
        open_cases = model.open_cases() if keep_open_cases else []
    finally:
        model.close()
    del model  # freed here, and counted in the wall time
    return ReplicationResult(
        params=params, seed=seed, replication=replication, events=events, children=children,
        allowances=allowances, capacity=capacity, team_waits=team_waits, team_workers=team_workers,
        sim_events=sim_events, wall_seconds=time.perf_counter() - t0, open_cases=open_cases,
        mechanisms=mechanisms,
    )


def _events_scheduled(env) -> int:
    """SimPy numbers every event it schedules; the next number is the count so far."""
    counter = getattr(env, "_eid", None)
    return int(next(counter)) if counter is not None else 0
