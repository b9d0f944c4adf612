"""Capacity objects: bed pools, the in-house foster carer pool (places, resignations) and social
work teams (caseload limits, first-come-first-served allocation, recorded waits)."""
from __future__ import annotations

import math


from sim.capacity import BedPool, CapacityLog, FosterCarerPool, Team


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _rows(log, resource):
    return [(t, c, u) for t, r, c, u in zip(log.time, log.resource, log.capacity, log.in_use) if r == resource]


def test_bed_pool_never_exceeds_capacity_and_logs_every_change():
    log, clock = CapacityLog(), Clock()
    pool = BedPool("residential_inhouse", 2, log, clock)
    assert pool.take() and pool.take()
    assert not pool.take() and not pool.free()
    clock.t = 5.0
    pool.give_back()
    assert pool.free() and pool.take()
    rows = _rows(log, "residential_inhouse")
    assert [u for _, _, u in rows] == [0, 1, 2, 1, 2]
    assert all(u <= c for _, c, u in rows)
    assert rows[3][0] == 5.0


def test_unlimited_pool_always_has_room():
    log = CapacityLog()
    pool = BedPool("foster_ifa", None, log, Clock())
    assert pool.unlimited
    assert all(pool.take() for _ in range(1000))
    assert pool.in_use == 1000 and log.capacity[-1] == math.inf


def test_zero_capacity_pool():
    pool = BedPool("residential_block", 0, CapacityLog(), Clock())
    assert not pool.take() and pool.in_use == 0


def test_foster_pool_places_and_exclusion():
    log, clock = CapacityLog(), Clock()
    pool = FosterCarerPool(log, clock)
    a = pool.add_carer(2)
    b = pool.add_carer(1)
    assert pool.free_places() == 3
    assert pool.take() is a and pool.take() is a
    assert pool.take(exclude=b) is None  # only b has room, and b is excluded
    assert pool.take() is b
    assert pool.take() is None and pool.free_places() == 0
    pool.give_back(a)
    assert pool.take(exclude=a) is None and pool.take() is a
    assert a.children <= a.places and b.children <= b.places


def test_resigned_carer_keeps_children_then_leaves():
    log, clock = CapacityLog(), Clock()
    pool = FosterCarerPool(log, clock)
    a = pool.add_carer(2)
    pool.add_carer(1)
    pool.take()
    pool.resign(a)  # a keeps the one child placed, takes no more
    assert pool.open_places == 1 and pool.in_use == 0 and pool.approved_carers == 2
    assert len(pool.active_carers()) == 1
    assert pool.take() is not a
    pool.give_back(a)
    assert pool.approved_carers == 1 and a not in pool.carers
    fi = _rows(log, "foster_inhouse")
    assert all(0 <= u <= c for _, c, u in fi)
    pool.resign(a)  # resigning twice is harmless
    assert pool.open_places == 1


def test_team_allocates_up_to_the_limit_and_queues_in_order():
    log, clock = CapacityLog(), Clock()
    team = Team("assessment", workers=1, caseload_limit=2, log=log, clock=clock)
    assert team.capacity == 2
    assert team.request(1) and team.request(2)
    woken = []
    assert not team.request(3)
    team.on_allocate(3, lambda: woken.append(3))
    clock.t = 1.0
    assert not team.request(4)
    team.on_allocate(4, lambda: woken.append(4))
    clock.t = 2.0
    team.release(1)
    assert woken == [3] and team.allocated == {2, 3}
    clock.t = 3.0
    team.release(4)  # closes while waiting: wait recorded as never allocated
    team.release(2)
    assert woken == [3] and team.allocated == {3} and not team.waiting
    assert team.waits[0] == (3, 0.0, 2.0, True)  # allocated at 2
    assert team.waits[1] == (4, 1.0, 3.0, False)  # closed at 3 without allocation
    assert all(u <= c for _, c, u in _rows(log, "assessment"))
    # nobody jumps the queue: with a case waiting, a new request waits even if a slot is free
    team2 = Team("x", 1, 1, None, clock)
    assert team2.request(1)
    assert not team2.request(2)
    team2.set_workers(2)
    assert team2.allocated == {1, 2}


def test_a_team_that_only_counts_its_cases_behaves_as_one_that_keeps_them():
    """The model's teams count their allocated cases and keep the numbers only when tracing: over
    any sequence of requests, releases (allocated or still waiting) and changes of staff, the
    answers, wake-ups, waits and capacity records must be the same either way."""
    import random

    def play(keep: bool):
        rnd = random.Random(11)
        log, clock = CapacityLog(), Clock()
        team = Team("assessment", workers=2, caseload_limit=3, log=log, clock=clock, keep_cases=keep)
        woken, answers, open_cases, nxt = [], [], [], 0
        for step in range(3000):
            clock.t = float(step)
            r = rnd.random()
            if r < 0.5 or not open_cases:
                nxt += 1
                ok = team.request(nxt)
                answers.append(ok)
                if ok:
                    assert team.n_allocated <= team.capacity
                else:
                    team.on_allocate(nxt, lambda c=nxt: woken.append((c, clock.t)))
                open_cases.append(nxt)
            elif r < 0.97:
                team.release(open_cases.pop(rnd.randrange(len(open_cases))))
            else:
                team.set_workers(rnd.choice([0, 1, 2, 3, 4]))
            if keep:  # the count is the number of cases kept
                assert team.n_allocated == len(team.allocated)
                assert not team.allocated & set(team.waiting)
            else:
                assert not team.allocated
        return dict(answers=answers, woken=woken, waits=team.waits, waiting=list(team.waiting),
                    n=team.n_allocated, log=(log.time, log.resource, log.capacity, log.in_use))

    kept, counted = play(True), play(False)
    assert kept == counted
    assert len(kept["woken"]) > 100 and not all(kept["answers"])
    assert any(not allocated for _, _, _, allocated in kept["waits"])  # some closed while waiting


def test_team_capacity_is_workers_times_limit_rounded_down():
    t = Team("safeguarding", workers=2.5, caseload_limit=3, log=None, clock=Clock())
    assert t.capacity == 7
    t.set_workers(0)
    assert t.capacity == 0 and not t.request(9)


def test_foster_pool_places_with_the_longest_serving_carer_who_has_room():
    """The pool keeps carers with room in a heap; whatever the sequence of joins, resignations,
    placements (with a carer to avoid) and moves, it must choose exactly as a scan of every
    carer in joining order would, and its counts must match a recount."""
    import random

    rnd = random.Random(3)
    log, clock = CapacityLog(), Clock()
    pool = FosterCarerPool(log, clock)
    placed = []  # carers of children placed, one entry a child
    for step in range(4000):
        clock.t = float(step)
        r = rnd.random()
        if r < 0.08:
            pool.add_carer(rnd.choice([0, 1, 1, 2, 3]))
        elif r < 0.12 and pool.carers:
            pool.resign(rnd.choice(pool.carers))
        elif r < 0.6:
            exclude = rnd.choice(placed) if placed and rnd.random() < 0.3 else None
            expected = next((c for c in pool.carers if not c.resigned and c.children < c.places and c is not exclude), None)
            if pool.in_use >= pool.open_places:
                expected = None
            got = pool.take(exclude=exclude)
            assert got is expected, step
            if got is not None:
                placed.append(got)
        elif placed:
            pool.give_back(placed.pop(rnd.randrange(len(placed))))
        active = [c for c in pool.carers if not c.resigned]
        assert pool.active == len(active)
        assert pool.in_use == sum(c.children for c in active) <= pool.open_places == sum(c.places for c in active)
    assert len(placed) > 50  # the pool was busy, not empty
