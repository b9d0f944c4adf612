"""Where replications run: a local process pool, or a Dask distributed cluster.

Both backends take a function and a list of argument tuples and yield ``(index, result)`` pairs
as tasks finish (in any order), so callers can update a progress bar and an on-disk cache as
replications complete and key each result by its position (and so by scenario and replication).
A replication depends only on its arguments (parameters, seed, replication number, levers), so
the results do not depend on the backend or on the number of workers.

Local: a process pool. Where processes start by forking (Linux), an argument that is the same
object in every task of the first batch (the starting caseload, 2 MB pickled) is left in the
parent's memory before the workers fork, so they inherit it instead of unpickling it once a task;
later batches that pass the same object benefit too.

Dask (https://distributed.dask.org): ``DaskBackend(address)`` connects to a running scheduler;
with no address it starts a ``LocalCluster`` of single-threaded worker processes. Tasks are
submitted with ``pure=False, retries=2``; if a worker dies the scheduler reruns the tasks it was
running or whose results it held. Arguments shared by every task (the parameters and the starting
caseload) go to the cluster once, as a task of their own that the scheduler can rerun if the
worker holding them is lost, rather than once per replication; an object already sent in an
earlier call (the caseload, for every evaluation of a sensitivity analysis) is not sent again.

The workers of a running cluster are checked before each batch of tasks and, while a batch runs,
every few seconds for workers that have joined since (`_check_workers`): each must import carepath
and hash the model code as this process does, and the scheduler and the other workers must be able
to connect to it. A worker that cannot import `sim` would otherwise die unpickling its first task,
and with every worker gone the run would wait for ever; one with other model code would give other
numbers under this code's cache keys; one nobody can connect to is given tasks whose results can
never be collected. A failed check cancels the batch's tasks and raises BackendError.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Optional, Sequence

BACKENDS = ("local", "dask")
CONNECT_TIMEOUT = "5s"
CHECK_EVERY = 2.0   # seconds between looks, during a batch, for workers that joined since the last check
POLL = 0.05         # seconds between looks for finished tasks


def default_workers() -> int:
    """Worker processes when none are asked for: the cores, at most eight."""
    return max(1, min(os.cpu_count() or 1, 8))


class BackendError(Exception):
    """A backend that cannot be used: dask missing, or no scheduler at the given address."""


class Backend:
    """The interface: map_unordered(fn, args_list) -> (index, result) pairs as they finish."""

    name = "backend"

    def map_unordered(self, fn: Callable, args_list: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return self.name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalBackend(Backend):
    """In this process (workers=1) or a process pool that starts once and is reused across calls."""

    name = "local"

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool: Optional[ProcessPoolExecutor] = None
        self._held: dict[int, Any] = {}  # what this pool's workers inherited (see _inherit)

    def map_unordered(self, fn, args_list):
        args_list = list(args_list)
        if self.workers <= 1 or len(args_list) <= 1:
            for i, args in enumerate(args_list):
                yield i, fn(*args)
            return
        if self._pool is None:
            context = None
            if "fork" in multiprocessing.get_all_start_methods():
                context = multiprocessing.get_context("fork")
                self._held = _inherit(args_list)  # before the workers fork
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        if self._held:
            futures = {self._pool.submit(_call_inherited, fn, _mark_inherited(args, self._held)): i
                       for i, args in enumerate(args_list)}
        else:
            futures = {self._pool.submit(fn, *args): i for i, args in enumerate(args_list)}
        try:
            for f in as_completed(futures):
                yield futures[f], f.result()
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
            for key in self._held:
                _INHERITED.pop(key, None)
            self._held = {}

    def describe(self) -> str:
        return f"local ({self.workers} worker{'s' if self.workers != 1 else ''})"


# Objects workers inherit from the parent at fork: id -> object (holding it keeps the id unique).
# Filled only in the parent, before its pool forks; read in the workers.
_INHERITED: dict[int, Any] = {}


class _Inherited:
    """Stands for an argument the worker already holds (see `_inherit`)."""

    __slots__ = ("key",)

    def __init__(self, key: int):
        self.key = key


def _inherit(args_list: Sequence[tuple]) -> dict[int, Any]:
    """Register the large arguments shared by every task, for workers forked next to inherit;
    returns them (id -> object), which is what that pool's workers will hold."""
    held = {}
    if len(args_list) >= 2:
        for pos, a in enumerate(args_list[0]):
            if not isinstance(a, _SMALL) and all(len(t) > pos and t[pos] is a for t in args_list):
                held[id(a)] = a
    _INHERITED.update(held)
    return held


def _mark_inherited(args: tuple, held: dict[int, Any]) -> tuple:
    # `id(a) in held`, not `held.get(id(a)) is a`: a None argument (a cold start's snapshot) is not held
    return tuple(_Inherited(id(a)) if id(a) in held and held[id(a)] is a else a for a in args)


def _call_inherited(fn, args: tuple):
    return fn(*(_INHERITED[a.key] if isinstance(a, _Inherited) else a for a in args))


def _value(x):
    """A task that returns its argument: how shared inputs are placed on the cluster once."""
    return x


_SMALL = (int, float, str, bool, bytes, type(None))

# Evaluated on each worker of a running cluster (with the built-in `eval`, so that a worker without
# carepath can still answer): import what replications need, return the model code's hash.
_WORKER_CHECK = ("[__import__(m) for m in ('sim.runner', 'sim.replications', 'experiments.run')] "
                 "and __import__('sim.version').version.model_digest()")


class DaskBackend(Backend):
    """A dask.distributed Client: to `scheduler_address`, or to an embedded LocalCluster of
    `workers` single-threaded processes."""

    name = "dask"

    def __init__(self, scheduler_address: Optional[str] = None, workers: Optional[int] = None,
                 retries: int = 2, connect_timeout: Optional[str] = None, tls: Optional[dict] = None):
        """`tls`: {"ca_file", "cert", "key"} (paths) to reach a scheduler over TLS (a tls://
        address); the embedded cluster listens on this machine only (127.0.0.1), dashboard too."""
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BackendError("the dask backend needs dask.distributed: pip install 'carepath[dask]'") from None
        security = _security(tls, scheduler_address)
        self.address, self.retries, self.cluster = scheduler_address, retries, None
        self._checked: set[str] = set()
        self._sent: dict[int, tuple] = {}    # id -> (object, its future on the cluster): see _share
        if scheduler_address:
            _check_address(scheduler_address)
            try:
                with _quiet("distributed"):
                    self.client = Client(scheduler_address, timeout=connect_timeout or CONNECT_TIMEOUT,
                                         set_as_default=False, security=security)
            except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address
                why = " ".join(str(exc).split()) or type(exc).__name__
                raise BackendError(f"cannot reach a Dask scheduler at {scheduler_address!r}: {why}") from None
            try:
                self._check_workers()
            except BaseException:
                self.client.close()
                raise
        else:

            # on this machine only: the scheduler and its dashboard (which has no login) bind to
            # the loopback address, never to every interface
            self.cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                        processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                        worker_dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster, set_as_default=False)

    def _check_workers(self) -> None:
        """Every worker of a running cluster not yet checked can import carepath and has the same
        model code as this process, and can be reached by the scheduler and the other workers;
        otherwise a BackendError naming the workers. The workers of an embedded LocalCluster share
        this process's environment and are not checked. Called before each batch of tasks and,
        while one runs, every CHECK_EVERY seconds (only workers not yet checked cost anything)."""
        if self.cluster is not None:
            return
        new = sorted(w for w in self.client.ncores() if w not in self._checked)
        if not new:
            return
        from .version import model_digest

        answers = self.client.run(eval, _WORKER_CHECK, {}, workers=new, on_error="return")
        # the scheduler could not connect to the worker (it gave up after its own connect timeout,
        # distributed.comm.timeouts.connect, 30 s by default): tasks would still reach the worker
        # over the connection it opened, but its results could never be collected, for ever
        unreachable = sorted(w for w, a in answers.items() if isinstance(a, OSError))
        if unreachable:     # not a worker that has left meanwhile (as one can in the middle of a batch)
            unreachable = sorted(set(unreachable) & set(self.client.ncores()))
        if unreachable:
            exc = answers[unreachable[0]]
            raise BackendError(
                f"the scheduler at {self.address} cannot connect to {_workers(unreachable)} "
                f"({type(exc).__name__}: {' '.join(str(exc).split())}): the worker's port must be open to the "
                "scheduler and the other workers, at an address they can reach (dask worker --host, "
                "--contact-address, --worker-port; see docs/scaling.md)")
        failed = sorted(w for w, a in answers.items() if isinstance(a, ImportError))
        if failed:
            exc = answers[failed[0]]
            raise BackendError(
                f"{_workers(failed)} of the Dask cluster at {self.address} cannot import carepath "
                f"({type(exc).__name__}: {' '.join(str(exc).split())}): install carepath (pip install -e .) "
                "in the environment that runs `dask worker` on each machine (see docs/scaling.md)")
        here = model_digest()
        other = sorted(w for w, a in answers.items() if isinstance(a, str) and a != here)
        if other:
            raise BackendError(
                f"{_workers(other)} of the Dask cluster at {self.address} {'run' if len(other) > 1 else 'runs'} "
                f"other model code (hash of sim/*.py {answers[other[0]]}, here {here}): install the same "
                "commit of carepath on every machine (see docs/scaling.md)")
        ok = sorted(w for w, a in answers.items() if a == here)
        if ok:
            self._check_peers(ok)
        # any other failure (e.g. a worker that left meanwhile): asked again before the next batch
        self._checked.update(ok)

    def _check_peers(self, new: list[str]) -> None:
        """Every worker can open a connection to every other (a replication fetches the shared
        inputs from the worker that holds them; without this a blocked port between two workers
        makes both wait for ever); otherwise a BackendError naming a pair."""
        everyone = sorted(self.client.ncores())
        if len(everyone) < 2:
            return
        targets = {w: [t for t in (everyone if w in new else new) if t != w] for w in everyone}
        answers = self.client.run(_unreachable_peers, targets, on_error="return")
        if any(isinstance(a, dict) and a for a in answers.values()):
            present = set(self.client.ncores())    # leave out workers that have left meanwhile
            answers = {w: {p: why for p, why in a.items() if p in present} if isinstance(a, dict) else a
                       for w, a in answers.items() if w in present}
        for w in sorted(answers):
            a = answers[w]
            if isinstance(a, dict) and a:
                peer = sorted(a)[0]
                more = f" nor to {len(a) - 1} other worker{'s' if len(a) > 2 else ''}" if len(a) > 1 else ""
                raise BackendError(
                    f"the worker at {w} cannot connect to the worker at {peer} ({a[peer]}){more}: every "
                    "worker's port must be open to the other workers and the scheduler (dask worker --worker-port; "
                    "see docs/scaling.md)")

    def _share(self, args_list: list[tuple]) -> list[tuple]:
        """Replace arguments that are the same (large) object in every task by one future each.
        The future is kept for later calls with the same object (the same starting caseload for
        every evaluation of a sensitivity analysis, or every step of a target search), so that
        object goes to the cluster once while this backend lives. Shared objects must not be
        changed after they are sent."""
        if not args_list:
            return args_list
        first = args_list[0]
        shared = {}
        for pos, a in enumerate(first):
            if isinstance(a, _SMALL):
                continue
            if all(len(t) > pos and t[pos] is a for t in args_list):
                shared[pos] = self._future_of(a)
        if not shared:
            return args_list
        return [tuple(shared.get(pos, a) for pos, a in enumerate(t)) for t in args_list]

    def _future_of(self, obj):
        """The future holding `obj` on the cluster, submitted the first time `obj` is seen."""
        hit = self._sent.get(id(obj))
        if hit is not None and hit[0] is obj and hit[1].status not in ("error", "cancelled", "lost"):
            return hit[1]
        future = self.client.submit(_value, obj, pure=False, retries=self.retries)
        self._sent[id(obj)] = (obj, future)    # holding obj keeps its id from being reused
        return future

    def map_unordered(self, fn, args_list):
        from distributed import as_completed as dask_as_completed

        self._check_workers()
        args_list = self._share(list(args_list))
        futures = [self.client.submit(fn, *args, pure=False, retries=self.retries) for args in args_list]
        index = {f.key: i for i, f in enumerate(futures)}
        seen = set()
        try:
            finished = dask_as_completed(futures, loop=self.client.loop)
            next_check = time.monotonic() + CHECK_EVERY
            while not finished.is_empty():
                if time.monotonic() >= next_check:
                    # a worker that joined during this batch can already have been given tasks: one
                    # nobody can connect to would hold the run up for ever (its results can never be
                    # collected); cancelled in `finally` on a BackendError
                    self._check_workers()
                    next_check = time.monotonic() + CHECK_EVERY
                batch = finished.next_batch(block=False)
                if not batch:
                    time.sleep(POLL)
                    continue
                for f in batch:
                    i = index[f.key]
                    if i in seen:      # never hand back a task twice
                        continue
                    seen.add(i)
                    yield i, f.result()
                    f.release()
        finally:
            pending = [f for f in futures if index[f.key] not in seen]
            if pending:
                self.client.cancel(pending)

    def close(self) -> None:
        self._sent.clear()
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None

    def describe(self) -> str:
        return f"dask ({self.address or 'local cluster'})"


PEER_TIMEOUT = 5   # seconds a worker tries to connect to another (`_unreachable_peers`)


async def _unreachable_peers(targets: dict, dask_worker=None) -> dict:
    """Run on each worker (by `client.run`): which of the workers `targets[own address]` it cannot
    open a Dask connection to (within PEER_TIMEOUT seconds), and why."""
    import asyncio

    from distributed.comm import connect

    async def one(address):
        try:
            comm = await connect(address, timeout=PEER_TIMEOUT, **dask_worker.connection_args)
        except Exception as exc:
            return address, f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        await comm.close()
        return address, None

    found = await asyncio.gather(*(one(a) for a in targets.get(dask_worker.address, [])))
    return {a: why for a, why in found if why}


def _security(tls: Optional[dict], address: Optional[str]):
    """Dask's Security for a TLS connection to `address`, or None; a missing certificate file or a
    plain tcp:// address with certificates is a BackendError naming it."""
    if not tls or not any(tls.values()):
        return None
    from pathlib import Path

    from distributed.security import Security

    if not address:
        raise BackendError("TLS certificates (--tls-*) are for a running scheduler: give its tls:// address with --scheduler")
    if not address.startswith("tls://"):
        raise BackendError(f"with TLS certificates the scheduler's address must start with tls:// (got {address!r})")
    missing = [f"--tls-{k.replace('_', '-')} {v}" for k, v in tls.items() if v and not Path(v).is_file()]
    if missing:
        raise BackendError(f"TLS certificate file not found: {', '.join(missing)}")
    if not (tls.get("ca_file") and tls.get("cert") and tls.get("key")):
        raise BackendError("TLS needs all three: --tls-ca-file, --tls-cert and --tls-key")
    return Security(tls_ca_file=tls["ca_file"], tls_client_cert=tls["cert"], tls_client_key=tls["key"],
                    require_encryption=True)


def _workers(addresses: list[str]) -> str:
    return (f"the worker at {addresses[0]}" if len(addresses) == 1
            else f"{len(addresses)} workers ({', '.join(addresses)})")


def _check_address(address: str) -> None:
    """A malformed address is refused before any connection is tried."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise BackendError(f"not a Dask scheduler address: {address!r} ({' '.join(str(exc).split())}); "
                           "expected e.g. tcp://host:8786") from None


class _quiet:
    """Hold a logger's messages back while connecting, so a bad address gives one line."""

    def __init__(self, name: str):
        self.logger = logging.getLogger(name)

    def __enter__(self):
        self.level = self.logger.level
        self.logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)


def make_backend(kind: Optional[str] = None, workers: Optional[int] = None, scheduler: Optional[str] = None,
                 tls: Optional[dict] = None) -> Backend:
    """A backend from command-line choices; with no `kind`, a `scheduler` address implies dask."""

    kind = kind or ("dask" if scheduler else "local")
    if scheduler and kind == "local":
        raise BackendError("--scheduler needs --backend dask")
    if kind == "dask":
        return DaskBackend(scheduler, workers, tls=tls)
    if kind == "local":
        return LocalBackend(workers or default_workers())
    raise BackendError(f"unknown backend {kind!r}; choose from {', '.join(BACKENDS)}")
