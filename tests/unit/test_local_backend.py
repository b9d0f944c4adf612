"""The local process pool: forked workers inherit the large argument every task shares (the
starting caseload) instead of unpickling it per task; results must not change."""
from __future__ import annotations

import multiprocessing

import pytest

from sim import backends
from sim.backends import LocalBackend


def _task(data: list, k: int) -> tuple[int, int]:
    return k, sum(data[k::7]) + len(data)


def test_pool_results_equal_sequential_whether_shared_arguments_are_inherited_or_sent():
    a, b = list(range(50_000)), list(range(3, 40_000))
    expected = {name: [_task(d, k) for k in range(6)] for name, d in (("a", a), ("b", b))}
    with LocalBackend(2) as pool:
        first = dict(pool.map_unordered(_task, [(a, k) for k in range(6)]))
        if "fork" in multiprocessing.get_all_start_methods():
            assert list(pool._held.values()) == [a] and backends._INHERITED[id(a)] is a
        # an object the workers did not inherit is sent with each task as usual
        second = dict(pool.map_unordered(_task, [(b, k) for k in range(6)]))
        third = dict(pool.map_unordered(_task, [(a, k) for k in range(6)]))
    assert [first[i] for i in range(6)] == expected["a"] == [third[i] for i in range(6)]
    assert [second[i] for i in range(6)] == expected["b"]
    assert id(a) not in backends._INHERITED  # closing the pool lets go of what it shared


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_second_pool_does_not_assume_what_only_the_first_pools_workers_inherited():
    a, b = list(range(20_000)), list(range(7, 30_000))
    with LocalBackend(2) as one:
        list(one.map_unordered(_task, [(a, k) for k in range(4)]))
        with LocalBackend(2) as two:
            got_b = dict(two.map_unordered(_task, [(b, k) for k in range(4)]))
        # b was registered after one's workers forked: one must send it, not point to it
        got = dict(one.map_unordered(_task, [(b, k) for k in range(4)]))
    assert got == got_b == {k: _task(b, k) for k in range(4)}
