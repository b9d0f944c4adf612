"""The one replications API: jobs in, tidy frames out, on any backend.

A job is (scenario name, levers, replication). `run_jobs` runs every job exactly once, however
many names share it, in this process or on a `sim.backends.Backend` (a local process pool or a
Dask cluster), taking finished ones from a cache when one is handed in. Behind `carepath run`,
`experiment`, `validate` and `sensitivity` alike.

Jobs whose levers differ only in what things cost (unit costs, price growth) share one
simulation: the events are run once and each job's measures are taken from them with its own
levers, since costs are a function of the event log (`sim.measures`, `sim.costs`) and those
levers never touch the model's random numbers.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import pandas as pd

from .backends import Backend, LocalBackend
from .initial import OpenCase
from .levers import CATALOGUE, Lever, build_mechanisms
from .measures import stocks_by_month, summary_by_fy
from .params import Params
from .runner import run_replication

# the ways a mechanism key acts (sim.levers.ACTS) that change only what things cost
COST_ACTS = frozenset({"unit_cost", "price_growth"})


@dataclass(frozen=True)
class Job:
    """One replication of one scenario: what it is called, its levers, which outputs to keep."""

    name: str
    replication: int
    levers: tuple[Lever, ...] = ()
    stocks: bool = True     # monthly stocks as well as the financial-year summary
    events: bool = False    # the event log (large: keep it for few replications)


def acts_on_costs_only(lever: Lever) -> bool:
    """A lever that changes only what things cost, never what happens to children."""
    return all(k.act in COST_ACTS for k in CATALOGUE[lever.lever].keys)


def simulation_levers(levers: Sequence[Lever]) -> tuple[Lever, ...]:
    """The levers that change what happens (the ones a simulation must run with)."""
    return tuple(lv for lv in levers if not acts_on_costs_only(lv))


def levers_digest(levers: Sequence[Lever]) -> str:
    blob = json.dumps([lv.model_dump(mode="json") for lv in levers], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _measured(r, job: Job, params: Params) -> dict:
    out = {"summary": summary_by_fy(r), "sim_events": r.sim_events, "wall_seconds": r.wall_seconds}
    if job.stocks:
        out["stocks"] = stocks_by_month(r)
    if job.events:
        ev = r.events.copy()
        ev.insert(0, "replication", job.replication)
        out["events"] = ev
    return out


def run_group(params: Params, seed: int, snapshot: Optional[list[OpenCase]], jobs: Sequence[Job]) -> list[dict]:
    """Jobs of one replication that share their simulation levers: one simulation, each job's
    measures with its own levers (this is what crosses process borders)."""
    first = jobs[0]
    sim_levers = simulation_levers(first.levers)
    mech = build_mechanisms(list(first.levers), params) if first.levers else None
    r = run_replication(params, seed, first.replication, snapshot=snapshot, mechanisms=mech)
    outs = [_measured(r, first, params)]
    for job in jobs[1:]:
        assert simulation_levers(job.levers) == sim_levers and job.replication == first.replication
        m = build_mechanisms(list(job.levers), params) if job.levers else None
        outs.append(_measured(dataclasses.replace(r, mechanisms=m), job, params))
    return outs


def run_job(params: Params, seed: int, snapshot: Optional[list[OpenCase]], job: Job) -> dict:
    """One job on its own: {'summary', 'stocks' (if asked), 'events' (if asked), 'sim_events',
    'wall_seconds'}."""
    return run_group(params, seed, snapshot, [job])[0]


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


def run_jobs(params: Params, seed: int, snapshot: Optional[list[OpenCase]], jobs: Sequence[Job], *,
             backend: Optional[Backend] = None, workers: int = 1, cache=None,
             key: Optional[Callable[[Job], str]] = None, progress: bool = True,
             label: str = "replications") -> dict[tuple[str, int], dict]:
    """Run `jobs`; results by (name, replication).

    - Jobs with the same levers and replication (under other names) run once.
    - With a `cache` (get(key) -> value or None, put(key, value)) and `key` (a job's cache key),
      finished jobs are read from it and new ones stored as soon as they finish.
    - Jobs that differ only in cost levers share one simulation.
    - `backend` (which the caller closes) or, by default, `workers` local processes.
    The same seed gives the same results whatever the backend or the number of workers."""
    def own_key(job: Job) -> str:
        return key(job) if key is not None else f"{levers_digest(job.levers)}-{job.replication}-{job.stocks}-{job.events}"

    names_of: dict[str, list[tuple[str, int]]] = {}
    todo: dict[str, Job] = {}
    results: dict[str, dict] = {}
    for job in jobs:
        k = own_key(job)
        if k in names_of:
            names_of[k].append((job.name, job.replication))
            continue
        names_of[k] = [(job.name, job.replication)]
        hit = cache.get(k) if cache is not None else None
        if hit is None:
            todo[k] = job
        else:
            results[k] = hit
    # one simulation for jobs that differ only in costs
    groups: dict[tuple, list[str]] = {}
    for k, job in todo.items():
        groups.setdefault((job.replication, levers_digest(simulation_levers(job.levers))), []).append(k)
    tasks = list(groups.values())
    bar = Progress(len(names_of), label=label, enabled=progress)
    bar.done = len(names_of) - len(todo)

    def finished(keys: list[str], values: list[dict]) -> None:
        for k, v in zip(keys, values):
            results[k] = v
            if cache is not None:
                cache.put(k, v)
            bar.step()

    if tasks:
        own = backend is None
        pool = backend if backend is not None else LocalBackend(min(workers, len(tasks)))
        try:
            args = [(params, seed, snapshot, [todo[k] for k in keys]) for keys in tasks]
            for i, values in pool.map_unordered(run_group, args):
                if tasks[i][0] in results:   # a task handed back twice (a lost worker's rerun) counts once
                    continue
                finished(tasks[i], values)
        finally:
            if own:
                pool.close()
    return {nr: results[k] for k, nrs in names_of.items() for nr in nrs}


def frames(results: dict[tuple[str, int], dict], part: str) -> pd.DataFrame:
    """One tidy frame of `part` ('summary', 'stocks' or 'events') over results, with a
    `scenario` column first when the results hold more than one name."""
    names = {n for n, _ in results}
    parts = []
    for (name, rep), v in sorted(results.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        f = v.get(part)
        if f is None:
            continue
        if len(names) > 1:
            f = f.copy()
            f.insert(0, "scenario", name)
        parts.append(f)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dataclass
class ReplicationOutput:
    """One baseline replication reduced to tidy frames (what `run_replications` returns)."""

    replication: int
    summary: pd.DataFrame
    stocks: pd.DataFrame
    events: Optional[pd.DataFrame]
    sim_events: int
    wall_seconds: float


def run_replications(params: Params, seed: int, replications: int, snapshot: Optional[list[OpenCase]] = None,
                     workers: int = 1, keep_events: Callable[[int], bool] = lambda r: r == 0,
                     progress: bool = True, backend: Optional[Backend] = None,
                     levers: Sequence[Lever] = ()) -> list[ReplicationOutput]:
    """Replications 0..R-1 of one scenario (the baseline unless `levers` are given), sorted by
    number: the short form of `run_jobs` for a forecast."""
    jobs = [Job("baseline", rep, tuple(levers), stocks=True, events=keep_events(rep)) for rep in range(replications)]
    res = run_jobs(params, seed, snapshot, jobs, backend=backend, workers=workers, progress=progress)
    return [ReplicationOutput(rep, v["summary"], v["stocks"], v.get("events"), v["sim_events"], v["wall_seconds"])
            for rep, v in ((j.replication, res[(j.name, j.replication)]) for j in jobs)]
