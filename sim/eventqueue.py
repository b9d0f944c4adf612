# cython: boundscheck=False, wraparound=False
# (compiled build: the heap's indices are always in range)
"""The pathway's event queue: SimPy's queue and order, in C numbers when compiled.

SimPy keeps pending events in a heap of `(time, priority, event id, event)` tuples. A replication
pushes and pops some 330,000 of them through a heap thousands deep, and comparing two tuples is
several generic comparisons of Python objects: a fifth of the compiled model's work. In the
compiled build (`sim/core.py`) the queue is a `Heap`: the same keys as C numbers in arrays,
compared in C, in the same order (time, then priority, then event id, which is unique, so any
correct heap gives the same order). The Python build keeps SimPy's list of tuples, whose
comparison is already C code there. `Environment` puts SimPy's own events (care processes,
timeouts) on the same queue, and `run` runs it.
"""
from __future__ import annotations

from functools import partial
from heapq import heappop, heappush

import cython
import numpy as np
import simpy
from simpy.core import NORMAL, URGENT

# what `Pathway._after` books: a `Booked` entry (below), a function, or a method with its arguments
# (`partial`, which the compiled build calls without a closure)
FUNCTION = type(lambda: None)
PARTIAL = partial


class Booked:
    """One of the model's methods booked on the queue with its arguments, in one small object.

    A `partial` would take three objects a booking (itself, a bound method and a tuple of
    arguments), all tracked by the garbage collector; when the booking comes due, months later,
    they are cold in memory, and untracking them touches their neighbours too. That cost grew
    faster than the model did. `what` names the method; the model's `dispatch` calls it. It
    refers to a child, numbers and text only, never to the model."""

    __slots__ = ("what", "child", "i", "x", "s", "flag", "o")


def booking(what, child=None, i=0, x=0.0, s="", flag=False, o=None):
    """A `Booked` entry: method number `what`, a child, an id, a number, a text, a flag, a value."""
    b = Booked.__new__(Booked)
    b.what, b.child, b.i, b.x, b.s, b.flag, b.o = what, child, i, x, s, flag, o
    return b


class Dispatcher:
    """What the queue's `Booked` entries are for (the model): `dispatch` calls the method named."""

    def dispatch(self, booked):
        raise NotImplementedError


class Heap:
    """A binary heap of (time, priority, event id) keys in arrays, each with its event: the
    compiled build's queue (in the Python build SimPy's list of tuples serves)."""

    __slots__ = ("_t", "_p", "_e", "_f", "_n", "_cap", "_ta", "_pa", "_ea", "now")

    def __init__(self):
        self._n = 0
        self._cap = 0
        self._f = []
        self.now = 0.0  # the time of the last entry popped
        self._grow(4096)

    def _grow(self, cap):
        n = self._n
        ta, pa, ea = np.empty(cap), np.empty(cap, dtype=np.intc), np.empty(cap, dtype=np.longlong)
        if n:
            ta[:n], pa[:n], ea[:n] = self._ta[:n], self._pa[:n], self._ea[:n]
        self._ta, self._pa, self._ea = ta, pa, ea
        self._t, self._p, self._e = ta, pa, ea
        self._f.extend([None] * (cap - self._cap))
        self._cap = cap

    def __len__(self):
        return self._n

    def push(self, time, priority, eid, event):
        if self._n == self._cap:
            self._grow(2 * self._cap)
        i = self._n
        self._n = i + 1
        t, p, e, f = self._t, self._p, self._e, self._f
        while i > 0:  # move parents down while the new key comes before them
            j = (i - 1) >> 1
            if time > t[j] or (time == t[j] and (priority > p[j] or (priority == p[j] and eid > e[j]))):
                break
            t[i], p[i], e[i], f[i] = t[j], p[j], e[j], f[j]
            i = j
        t[i], p[i], e[i], f[i] = time, priority, eid, event

    def pop(self):
        """The first event; its time goes in `now`."""
        if self._n == 0:
            raise IndexError("pop from an empty event queue")
        t, p, e, f = self._t, self._p, self._e, self._f
        event = f[0]
        self.now = t[0]
        n = self._n - 1
        self._n = n
        if n > 0:  # the last entry sifts down from the root
            time, priority, eid, last = t[n], p[n], e[n], f[n]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= n:
                    break
                d = c + 1  # the earlier of the two children
                if d < n and (t[d] < t[c] or (t[d] == t[c] and (p[d] < p[c] or (p[d] == p[c] and e[d] < e[c])))):
                    c = d
                if time < t[c] or (time == t[c] and (priority < p[c] or (priority == p[c] and eid < e[c]))):
                    break
                t[i], p[i], e[i], f[i] = t[c], p[c], e[c], f[c]
                i = c
            t[i], p[i], e[i], f[i] = time, priority, eid, last
        f[n] = None
        return event

    def clear(self):
        """Empty the heap; returns its events (in heap order, not time order)."""
        events = self._f[:self._n]
        self._f = [None] * self._cap
        self._n = 0
        return events

    def __getitem__(self, i):  # SimPy's `peek` reads queue[0][0]
        if i != 0 or self._n == 0:
            raise IndexError(i)
        return (self._t[0], self._p[0], self._e[0], self._f[0])


class Environment(simpy.Environment):
    """SimPy's environment with the compiled build's `Heap` as its queue (same times, same order).
    Time is a float from the start in both builds (SimPy's would stay an int until a fractional
    delay). Run it with `run` below; SimPy's own `step` does not know the `Heap`."""

    def __init__(self, initial_time=0.0):
        super().__init__(float(initial_time))
        if cython.compiled:
            self._queue = Heap()

    def schedule(self, event, priority=NORMAL, delay=0):
        book(self, delay, event, priority)

    def step(self):
        raise NotImplementedError("carepath's environment is run by sim.eventqueue.run")

    def run(self, until=None):
        if until is None:
            raise NotImplementedError("carepath's environment runs until a given time (sim.eventqueue.run)")
        run(self, float(until))


def book(env, delay, event, priority=NORMAL):
    """Put `event` (a SimPy event, or a function to call) on the queue `delay` days from now, in
    SimPy's order: by time, then priority, then the order of booking."""
    if cython.compiled:
        heap = env._queue
        heap.push(env._now + delay, priority, next(env._eid), event)
    else:
        heappush(env._queue, (env._now + delay, priority, next(env._eid), event))


def discard(env):
    """Drop every pending event. A SimPy process waiting on an event and that event refer to each
    other, and so do the model and the functions it booked; dropping them lets a finished model be
    freed at once by reference counting rather than by a pass of the garbage collector over
    everything it made (which grew faster than the model did)."""
    if cython.compiled:
        heap = env._queue
        events = heap.clear()
    else:
        events = [entry[3] for entry in env._queue]
        env._queue.clear()
    for event in events:
        if isinstance(event, simpy.Event):
            event.callbacks = None


def run(env, until, dispatcher=None):
    """SimPy's `Environment.run(until)`, step for step, except that what the model booked on the
    queue is called straight from it: no event object, callback list or `step` call for each of
    the 300,000 of them. `Booked` entries go to `dispatcher.dispatch`, functions are called. SimPy's
    own events are processed as `Environment.step` does, and the stop event takes the same place
    in the queue."""
    if until <= env._now:
        raise ValueError(f"until ({until}) must be greater than the current simulation time")
    stop = simpy.Event(env)
    stop._ok = True
    stop._value = None
    env.schedule(stop, URGENT, until - env._now)
    queue, function, method, booked = env._queue, FUNCTION, PARTIAL, Booked
    if cython.compiled:
        heap = queue
    while len(queue):
        if cython.compiled:
            event = heap.pop()
            env._now = heap.now
        else:
            env._now, _, _, event = heappop(queue)
        if type(event) is booked:
            if dispatcher is None:
                raise TypeError("the queue holds a Booked entry but nothing was given to dispatch it "
                                "(run(env, until, dispatcher))")
            dispatcher.dispatch(event)
            continue
        if type(event) is method or type(event) is function:
            event()
            continue
        if event is stop:
            return
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc
