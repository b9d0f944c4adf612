"""Real capacities: the in-house foster carer pool, bed pools and social work teams.

Plain Python objects driven by the pathway's SimPy processes. Each records its occupancy every
time it changes, so tests can check that capacity is never exceeded and measures can report use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Callable, Optional


NO_PLACE, IN_AREA, OUT_OF_AREA = 0, 1, 2  # what `BedPool.take` found


class CapacityLog:
    """(time, resource, capacity, in_use) rows, appended whenever either changes."""

    def __init__(self):
        self.time: list[float] = []
        self.resource: list[str] = []
        self.capacity: list[float] = []
        self.in_use: list[int] = []

    def record(self, t: float, resource: str, capacity: float, in_use: int) -> None:
        self.time.append(t)
        self.resource.append(resource)
        self.capacity.append(capacity)
        self.in_use.append(in_use)


@dataclass(eq=False)
class FosterCarer:
    id: int
    places: int
    children: int = 0
    resigned: bool = False  # takes no new children; leaves when the last one moves on
    listed: bool = False    # in the pool's heap of carers who may have a free place
    placed: list = field(default_factory=list)  # the children placed (the pathway keeps it)


class FosterCarerPool:
    """In-house foster carers, each approved for a number of places.

    Carers join and resign over time. A carer who resigns takes no new children and leaves when
    the last one placed moves on (the pathway moves them on within a stated time, if given).

    A child goes to the longest-serving carer with a free place. Carers with a free place are
    kept in a heap by joining order and counts are kept as they change, so placing a child does
    not scan every carer (which made an eight-times-larger council sixty times slower here).
    """

    name = "foster_inhouse"

    def __init__(self, log: CapacityLog, clock: Callable[[], float]):
        self.log, self.clock = log, clock
        self.carers: list[FosterCarer] = []  # approved carers, resigned ones included until empty
        self._next_id = 0
        self.in_use = 0
        self.open_places = 0  # places of carers who have not resigned
        self.active = 0       # carers who have not resigned
        self._free: list[tuple[int, FosterCarer]] = []  # (id, carer): may have a place; stale entries skipped
        self._record()

    # -- carers ------------------------------------------------------------------------------
    def add_carer(self, places: int) -> FosterCarer:
        c = FosterCarer(self._next_id, places)
        self._next_id += 1
        self.carers.append(c)
        self.open_places += places
        self.active += 1
        self._list(c)
        self._record()
        return c

    def _list(self, c: FosterCarer) -> None:
        if not c.listed and not c.resigned and c.children < c.places:
            c.listed = True
            heappush(self._free, (c.id, c))

    def resign(self, carer: FosterCarer) -> None:
        if carer.resigned:
            return
        carer.resigned = True
        self.active -= 1
        self.open_places -= carer.places
        self.in_use -= carer.children  # children staying on no longer use an open place
        if carer.children == 0:
            self.carers.remove(carer)
        self._record()

    def active_carers(self) -> list[FosterCarer]:
        return [c for c in self.carers if not c.resigned]

    @property
    def approved_carers(self) -> int:
        return len(self.carers)

    # -- placements -------------------------------------------------------------------------
    def free_places(self) -> int:
        return self.open_places - self.in_use

    def take(self, exclude: Optional[FosterCarer] = None) -> Optional[FosterCarer]:
        """A place with the first carer who has one (never `exclude`), or None."""
        if self.in_use >= self.open_places:
            return None
        heap, skipped, found = self._free, None, None
        while heap:
            c = heap[0][1]
            if c.resigned or c.children >= c.places:  # stale: full or gone
                heappop(heap)
                c.listed = False
            elif c is exclude:
                skipped = heappop(heap)
            else:
                found = c
                break
        if skipped is not None:
            heappush(heap, skipped)
        if found is None:
            return None
        found.children += 1
        self.in_use += 1
        self._record()
        return found

    def give_back(self, carer: FosterCarer) -> None:
        carer.children -= 1
        if carer.resigned:
            if carer.children == 0:
                self.carers.remove(carer)
        else:
            self.in_use -= 1
            self._list(carer)
        self._record()

    def _record(self) -> None:
        t = self.clock()
        self.log.record(t, self.name, self.open_places, self.in_use)
        self.log.record(t, "foster_carers", self.active, len(self.carers))


class BedPool:
    """A number of places of one kind (in-house homes, block beds, an external market).

    An external market may lie partly out of the council's area (`in_area_share` below 1): the
    first `in_area_places()` places in use are in area, and a child placed when those are all
    taken gets an out-of-area place. `take` says which (IN_AREA or OUT_OF_AREA; NO_PLACE is
    false), and `give_back` is told which the leaving child had. Out-of-area use is logged as its
    own resource (`<name>_out_of_area`, capacity = the out-of-area places) so tests can check
    that neither part is exceeded. An unlimited pool (capacity None) is all in area."""

    def __init__(self, name: str, capacity: Optional[int], log: CapacityLog, clock: Callable[[], float],
                 in_area_share: float = 1.0):
        self.name, self.capacity, self.log, self.clock = name, capacity, log, clock
        self.in_area_share = in_area_share
        self.in_use = 0
        self.out_of_area = 0  # of `in_use`, children in the pool's out-of-area places
        if capacity is not None:
            self._record()

    @property
    def unlimited(self) -> bool:
        return self.capacity is None

    @property
    def split(self) -> bool:
        """True if the pool has out-of-area places (bounded, with an in-area share below 1)."""
        return self.capacity is not None and self.in_area_share < 1.0

    def in_area_places(self) -> Optional[int]:
        if self.capacity is None:
            return None
        return int(self.capacity * self.in_area_share + 1e-9)

    def free(self) -> bool:
        return self.capacity is None or self.in_use < self.capacity

    def take(self) -> int:
        """NO_PLACE (0) if none is free; else IN_AREA or OUT_OF_AREA, the kind of place taken."""
        if not self.free():
            return NO_PLACE
        where = IN_AREA
        if self.split and self.in_use - self.out_of_area >= self.in_area_places():
            where = OUT_OF_AREA
            self.out_of_area += 1
        self.in_use += 1
        self._record()
        return where

    def give_back(self, out_of_area: bool = False) -> None:
        self.in_use -= 1
        if out_of_area:
            self.out_of_area -= 1
        self._record()

    def set_capacity(self, capacity: Optional[int]) -> None:
        self.capacity = capacity
        self._record()

    def _record(self) -> None:
        self.log.record(self.clock(), self.name, float("inf") if self.capacity is None else self.capacity, self.in_use)
        if self.split:
            self.log.record(self.clock(), self.name + "_out_of_area", self.capacity - self.in_area_places(),
                            self.out_of_area)


class Team:
    """Social workers with a caseload limit. Cases beyond the limit wait for allocation, first come
    first served; the wait is recorded. `on_allocate` callbacks let a process resume its work.

    The team counts its allocated cases (`n_allocated`). It also keeps their numbers (`allocated`)
    when `keep_cases` is set, for checking; the model sets it only when it traces, because at
    eight times the default size looking up a case number in a large set read a cold integer
    object each time. A case released must have been requested."""

    def __init__(self, name: str, workers: float, caseload_limit: float, log: Optional[CapacityLog],
                 clock: Callable[[], float], keep_cases: bool = True):
        self.name, self.caseload_limit, self.log, self.clock = name, caseload_limit, log, clock
        self.workers = workers        # the establishment, as the parameters date it
        self.extra_workers = 0.0      # added by levers
        self.capacity = int(workers * caseload_limit + 1e-9)
        self.n_allocated = 0
        self.keep_cases = keep_cases
        self.allocated: set[int] = set()  # the allocated cases' numbers, if `keep_cases`
        self.waiting: dict[int, tuple[float, Optional[Callable[[], None]]]] = {}  # insertion ordered
        # (case, waited from, until, allocated): until is the allocation, or the closure of a case
        # that was never allocated
        self.waits: list[tuple[int, float, float, bool]] = []
        self.worker_changes: list[tuple[float, float]] = [(clock(), workers)]
        self._record()

    def request(self, case: int) -> bool:
        """True if allocated now; otherwise the case joins the queue for allocation."""
        if self.n_allocated < self.capacity and not self.waiting:
            self.n_allocated += 1
            if self.keep_cases:
                self.allocated.add(case)
            if self.log is not None:
                self._record()
            return True
        self.waiting[case] = (self.clock(), None)
        if self.log is not None:
            self._record()
        return False

    def on_allocate(self, case: int, callback: Callable[[], None]) -> None:
        """Run `callback` when the waiting `case` is allocated (a process resumes its work)."""
        self.waiting[case] = (self.waiting[case][0], callback)

    def release(self, case: int) -> None:
        """The case closes (allocated or still waiting)."""
        if case in self.waiting:
            since, _ = self.waiting.pop(case)
            self.waits.append((case, since, self.clock(), False))
        elif not self.keep_cases or case in self.allocated:
            self.n_allocated -= 1
            if self.keep_cases:
                self.allocated.discard(case)
            self._allocate_waiting()
        if self.log is not None:
            self._record()

    def set_workers(self, workers: float) -> None:
        self.workers = workers
        self._resize()

    def add_workers(self, extra: float) -> None:
        self.extra_workers += extra
        self._resize()

    def _resize(self) -> None:
        total = max(0.0, self.workers + self.extra_workers)
        self.capacity = int(total * self.caseload_limit + 1e-9)
        self.worker_changes.append((self.clock(), total))
        self._allocate_waiting()
        if self.log is not None:
            self._record()

    def _allocate_waiting(self) -> None:
        while self.waiting and self.n_allocated < self.capacity:
            case = next(iter(self.waiting))
            since, callback = self.waiting.pop(case)
            self.n_allocated += 1
            if self.keep_cases:
                self.allocated.add(case)
            self.waits.append((case, since, self.clock(), True))
            if callback is not None:
                callback()

    def _record(self) -> None:
        if self.log is None:
            return
        self.log.record(self.clock(), self.name, self.capacity, self.n_allocated)
        self.log.record(self.clock(), self.name + "_waiting", float("inf"), len(self.waiting))
