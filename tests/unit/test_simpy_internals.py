"""SimPy's private workings that sim/eventqueue.py (and sim/pathway.py, sim/runner.py) rely on.

The model runs SimPy's event queue itself (`sim.eventqueue.run`) and books onto it directly, so it
depends on things SimPy does not promise: the environment's `_now`, `_queue` (a heap of
`(time, priority, event id, event)` tuples) and `_eid` (a counter), `Environment.schedule(event,
priority, delay)` being how every SimPy event is queued, an event's `callbacks`, `_ok`,
`_value` and `_defused`, and the priorities `NORMAL` and `URGENT` in `simpy.core`. pyproject.toml
pins SimPy to 4.1.x for this reason. Each test here fails with a plain message naming what
changed, so that a newer SimPy is caught before it changes a number or crashes a run.
"""
from __future__ import annotations

import heapq
import inspect
import itertools
from functools import partial

import pytest
import simpy

from sim import eventqueue

VERSION = getattr(simpy, "__version__", "unknown")


def _fail(what: str) -> str:
    return (f"SimPy {VERSION}: {what}. sim/eventqueue.py relies on SimPy 4.1's internals "
            "(pyproject.toml pins simpy>=4.1,<4.2); adapt it before moving the pin.")


def test_priorities_are_where_eventqueue_imports_them():
    core = pytest.importorskip("simpy.core")
    assert hasattr(core, "NORMAL") and hasattr(core, "URGENT"), _fail("simpy.core has no NORMAL or URGENT")
    assert (int(core.URGENT), int(core.NORMAL)) == (0, 1), _fail(
        f"URGENT and NORMAL are {core.URGENT!r} and {core.NORMAL!r}, not 0 and 1 (the compiled heap keeps priorities as C ints)")


def test_environment_keeps_its_clock_queue_and_counter_in_private_attributes():
    env = simpy.Environment(2.5)
    for name in ("_now", "_queue", "_eid"):
        assert hasattr(env, name), _fail(f"Environment has no attribute {name!r}")
    assert env._now == 2.5 and env.now == 2.5, _fail("Environment(initial_time) does not set `_now`, or `now` does not read it")
    env._now = 4.0
    assert env.now == 4.0, _fail("`now` does not read `_now` (the model moves the clock by setting `_now`)")
    assert type(env._queue) is list and env._queue == [], _fail(
        f"the event queue `_queue` is a {type(env._queue).__name__}, not a list (the Python build pushes onto it with heapq)")
    assert isinstance(env._eid, itertools.count), _fail(
        f"the event id counter `_eid` is a {type(env._eid).__name__}, not itertools.count")
    first, second = next(env._eid), next(env._eid)
    assert (first, second) == (0, 1), _fail("`_eid` does not count from 0 in steps of 1 (sim.runner counts events by it)")


def test_schedule_takes_event_priority_delay_and_pushes_a_heap_tuple():
    params = list(inspect.signature(simpy.Environment.schedule).parameters)
    assert params == ["self", "event", "priority", "delay"], _fail(
        f"Environment.schedule takes {params[1:]}, not (event, priority, delay)")
    from simpy.core import NORMAL, URGENT

    env = simpy.Environment(1.0)
    a, b = env.event(), env.event()
    env.schedule(a, NORMAL, 3.0)
    env.schedule(b, URGENT, 3.0)
    assert sorted(env._queue, key=lambda e: e[:3]) == [(4.0, URGENT, 1, b), (4.0, NORMAL, 0, a)], _fail(
        f"schedule pushes {env._queue!r}, not (now + delay, priority, event id, event) tuples")
    assert env.peek() == 4.0 and heapq.heappop(env._queue)[3] is b, _fail("the queue is not a heap by (time, priority, id)")


def test_simpy_events_are_queued_through_schedule():
    """Timeouts, a process's start and a triggered event must go through `env.schedule` (which
    the model's environment overrides to put them on its own queue), with these priorities."""
    from simpy.core import NORMAL, URGENT

    calls = []

    class Recording(simpy.Environment):
        def schedule(self, event, priority=NORMAL, delay=0):
            calls.append((type(event).__name__, priority, delay))
            super().schedule(event, priority, delay)

    env = Recording()
    env.timeout(5)
    calls_timeout = list(calls)

    def proc():
        yield env.timeout(1)

    env.process(proc())
    e = env.event()
    e.succeed("x")
    assert calls_timeout == [("Timeout", NORMAL, 5)], _fail(f"a Timeout is queued as {calls_timeout}, not schedule(event, NORMAL, delay)")
    assert calls[1][:2] == ("Initialize", URGENT), _fail(f"a process starts with {calls[1]}, not an URGENT Initialize through schedule")
    assert calls[2][0] == "Event" and calls[2][1:] in ((NORMAL, 0),), _fail(f"succeed() queues {calls[2]}, not schedule(event)")


def test_event_state_lives_in_callbacks_ok_value_and_defused():
    env = simpy.Environment()
    e = env.event()
    assert e.callbacks == [] and isinstance(e.callbacks, list), _fail("a new event's `callbacks` is not an empty list")
    assert not hasattr(e, "_defused"), _fail("a new event already has `_defused` (eventqueue.run tests its presence)")
    e.succeed(7)
    assert (e._ok, e._value) == (True, 7), _fail("succeed(value) does not set `_ok` and `_value`")
    f = env.event()
    exc = KeyError("k")
    f.fail(exc)
    assert f._ok is False and f._value is exc, _fail("fail(exception) does not set `_ok` False and `_value` to the exception")
    f.defused = True
    assert hasattr(f, "_defused"), _fail("setting `defused` does not set `_defused`")
    p = env.process(iter_once(env))
    assert any(getattr(cb, "__name__", "") == "_resume" for cb in _initialize_callbacks(env, p)), _fail(
        "a process is not resumed by its `_resume` callback on its events")


def iter_once(env):
    yield env.timeout(1)


def _initialize_callbacks(env, process):
    for entry in env._queue:
        if type(entry[3]).__name__ == "Initialize":
            return entry[3].callbacks
    return []


def _script(env, log):
    """SimPy processes, timeouts, triggered events and a failing defused event, for both loops."""
    def worker(name, delays):
        for d in delays:
            yield env.timeout(d)
            log.append((env.now, name))

    def waiter():
        e = env.event()
        env.process(trigger(e))
        v = yield e
        log.append((env.now, f"waited {v}"))

    def trigger(e):
        yield env.timeout(2.5)
        e.succeed("ok")

    def catcher():
        e = env.event()
        e.fail(RuntimeError("boom"))
        e.defused = True
        try:
            yield e
        except RuntimeError as exc:
            log.append((env.now, f"caught {exc}"))

    env.process(worker("a", [1, 1, 0.5, 3]))
    env.process(worker("b", [1, 0, 2, 0.5]))
    env.process(waiter())
    env.process(catcher())


def test_eventqueue_run_gives_simpys_order():
    """The model's loop runs SimPy's own events in the order SimPy's `run` does, stops at the
    same place, and raises a process's undefused failure as SimPy does."""
    plain, ours = [], []
    env = simpy.Environment()
    _script(env, plain)
    env.run(until=4.5)
    env2 = eventqueue.Environment()
    _script(env2, ours)
    eventqueue.run(env2, 4.5)
    assert plain and ours == plain, _fail(f"sim.eventqueue.run gave {ours}, SimPy's run {plain}")
    assert env2._now == env.now == 4.5, _fail("the clock does not stop at `until`")

    def crash():
        yield env3.timeout(1)
        raise ValueError("inside a process")

    env3 = eventqueue.Environment()
    env3.process(crash())
    try:
        eventqueue.run(env3, 10.0)
    except ValueError as exc:
        assert "inside a process" in str(exc), _fail(f"a failed process raised {exc!r}")
    else:
        pytest.fail(_fail("a process's undefused failure was not raised by sim.eventqueue.run"))


def test_eventqueue_books_functions_between_simpy_events_in_booking_order():
    env = eventqueue.Environment()
    log = []

    def proc():
        yield env.timeout(1.0)
        log.append("timeout")

    env.process(proc())
    # a partial, as the model books (a plain Python function is called only by the Python build:
    # the compiled build's check is for its own compiled functions)
    eventqueue.book(env, 1.0, partial(log.append, "function"))
    eventqueue.run(env, 2.0)
    # the process's timeout is booked when it starts (after the function), so it comes second
    assert log == ["function", "timeout"], _fail(f"order {log}")
    # Initialize, the function, the timeout, the process's own end, the stop: five numbers used
    assert next(env._eid) == 5, _fail("events are not numbered by `_eid` as they are booked")
