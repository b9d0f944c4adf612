"""Named random streams: uniform, independent between children and between streams, and derived
without state from (seed, replication, name)."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sim.child import Child
from sim.streams import (CHILD_STREAMS, ChildStream, GlobalStream, S, Streams, child_hash, child_hashes,
                         stream_key, uniform_at, uniforms_at)

ALPHA = 0.001


def _child_draws(stream: ChildStream, children, k):
    return np.array([stream.uniform(int(c), k) for c in children])


def test_child_draws_are_uniform():
    s = ChildStream(7, 0, "care_exit_time")
    # across children (first draws) and along one child's sequence
    across = _child_draws(s, range(20000), 0)
    along = np.array([s.uniform(12345, k) for k in range(20000)])
    for x in (across, along):
        assert ((x > 0) & (x < 1)).all()
        assert stats.kstest(x, "uniform").pvalue > ALPHA
        counts = np.histogram(x, bins=20, range=(0, 1))[0]
        assert stats.chisquare(counts).pvalue > ALPHA


def test_child_ids_in_the_model_ranges_are_uniform():
    """New children are numbered in blocks of ten million, contacts even and direct entries odd."""
    s = ChildStream(12345, 3, "placement_need")
    for ids in (range(10_000_000, 10_020_000, 2), range(20_000_001, 20_020_001, 2)):
        x = _child_draws(s, ids, 0)
        assert stats.kstest(x, "uniform").pvalue > ALPHA


def test_draws_are_uncorrelated_between_children_streams_and_draw_numbers():
    """Pearson correlation within 4 standard errors (1/sqrt(n)) of 0."""
    n = 20000
    a, b = ChildStream(1, 0, "cin_route"), ChildStream(1, 0, "cin_duration")
    ids = np.arange(n)
    x = _child_draws(a, ids, 0)
    pairs = {
        "neighbouring children": _child_draws(a, ids + 1, 0),
        "same child, other stream": _child_draws(b, ids, 0),
        "same child, next draw": _child_draws(a, ids, 1),
        "same child, other replication": _child_draws(ChildStream(1, 1, "cin_route"), ids, 0),
        "same child, other seed": _child_draws(ChildStream(2, 0, "cin_route"), ids, 0),
    }
    for what, y in pairs.items():
        r = np.corrcoef(x, y)[0, 1]
        assert abs(r) < 4 / math.sqrt(n), what
    # pairs (x_k, x_{k+1}) cover the unit square evenly (a 2-D chi-square on a 5x5 grid)
    grid = np.histogram2d(x, pairs["same child, next draw"], bins=5, range=[[0, 1], [0, 1]])[0].ravel()
    assert stats.chisquare(grid).pvalue > ALPHA


def test_a_childs_kth_draw_does_not_depend_on_other_children():
    """In the model, each child keeps its own counter per stream: the k-th draw of a child is the
    same whatever other children (or other streams of the same child) drew before."""
    from sim.pathway import Pathway

    def minimal():  # Pathway.u needs only the streams' keys (seed 99, replication 4)
        pw = Pathway.__new__(Pathway)
        pw.streams = Streams(99, 4)
        pw._keys = [pw.streams.child(name).key for name in CHILD_STREAMS]
        return pw.u

    u = minimal()
    alone = Child(500, -1000.0)
    seq_alone = [u(alone, S.screening) for _ in range(5)]

    u2 = minimal()
    others = [Child(i, -1000.0) for i in range(50)]
    crowd = Child(500, -1000.0)
    seq_crowd = []
    for k in range(5):
        for o in others:  # other children draw in between
            u2(o, S.screening)
        u2(crowd, S.assessment_duration)  # and the child itself from another stream
        seq_crowd.append(u2(crowd, S.screening))
    assert seq_alone == seq_crowd
    # and the model's inlined generator is the reference counter-based stream
    ref = ChildStream(99, 4, "screening")
    assert seq_alone == [ref.uniform(500, k) for k in range(5)]


def test_uniform_at_is_open_interval_even_at_extremes():
    for base in (0, 1, (1 << 64) - 1):
        for k in (0, 1, 10**9):
            x = uniform_at(base, k)
            assert 0.0 < x < 1.0


def test_global_streams_are_stateless_derivations():
    def seq(seed, rep, name, n=1000):
        g = GlobalStream(seed, rep, name)
        return np.array([g.uniform() for _ in range(n)])

    a = seq(5, 0, "arrivals_contacts")
    assert np.array_equal(a, seq(5, 0, "arrivals_contacts"))
    assert stream_key(5, 0, "x") == stream_key(5, 0, "x")
    for other in (seq(5, 0, "arrivals_direct_care"), seq(5, 1, "arrivals_contacts"), seq(6, 0, "arrivals_contacts")):
        assert not np.array_equal(a, other)
        assert abs(np.corrcoef(a, other)[0, 1]) < 4 / math.sqrt(len(a))
    assert stats.kstest(seq(5, 0, "carer_joiners", 20000), "uniform").pvalue > ALPHA


def test_global_stream_blocks_continue_the_same_sequence():
    """Block buffering is invisible: the sequence equals the generator's own output, past a block."""
    g = GlobalStream(3, 2, "carer_tenure")
    drawn = np.array([g.uniform() for _ in range(10000)])
    ref = np.random.Generator(np.random.PCG64(stream_key(3, 2, "carer_tenure")))
    expected = np.concatenate([ref.random(4096) for _ in range(3)])[:10000]
    assert np.array_equal(drawn, expected)


def test_streams_do_not_depend_on_the_order_they_are_created_or_used():
    s1, s2 = Streams(11, 2), Streams(11, 2)
    a1 = [s1.glob("a").uniform() for _ in range(3)]
    b1 = [s1.glob("b").uniform() for _ in range(3)]
    b2 = [s2.glob("b").uniform() for _ in range(3)]
    _ = s2.child("zzz").uniform(3, 0)
    a2 = [s2.glob("a").uniform() for _ in range(3)]
    assert a1 == a2 and b1 == b2
    assert s1.child("q").uniform(8, 2) == s2.child("q").uniform(8, 2)
    assert s1.glob("a") is s1.glob("a")  # one stream per name, so draws continue


def test_draws_computed_in_blocks_equal_draws_one_by_one():
    """New contacts' first draws are computed for a block of children at once (numpy); they must
    be the very numbers the one-by-one generator gives, or common random numbers would break."""
    ids = np.array([0, 1, 2, 10_000_000, 10_000_002, 2**40 + 7, 2**62 + 3], dtype=np.int64)
    hashes = child_hashes(ids)
    assert [int(h) for h in hashes] == [child_hash(int(i)) for i in ids]
    key = stream_key(12345, 3, "screening")
    for k in (0, 1, 5):
        block = uniforms_at(hashes ^ np.uint64(key), k).tolist()
        assert block == [uniform_at(key ^ child_hash(int(i)), k) for i in ids]


def test_a_new_contacts_draws_do_not_depend_on_the_block_they_were_drawn_in():
    """The model's own draws for new contacts (drawn ahead in blocks) equal the reference stream."""
    from pathlib import Path

    from sim.params import load_params
    from sim.pathway import AHEAD_BLOCK, AHEAD_SECOND, SECOND_AT, Pathway
    from sim.streams import AHEAD

    params = load_params(Path(__file__).resolve().parents[2] / "experiments" / "baseline.yaml")
    pw = Pathway(params, 7, 2)
    for n in (0, 5, AHEAD_BLOCK - 1, AHEAD_BLOCK, 3 * AHEAD_BLOCK + 17):
        h, ahead, screening = pw._contact_ahead(n)
        cid = pw._id_base + 2 * n
        assert screening == params.front_door.screening.sample(ahead[S.screening], 0.0)
        assert h == child_hash(cid)
        for s in range(AHEAD):
            assert ahead[s] == ChildStream(7, 2, CHILD_STREAMS[s]).uniform(cid, 0)
        age = ChildStream(7, 2, "age")
        assert list(ahead[AHEAD:AHEAD + 2]) == [age.uniform(cid, 0), age.uniform(cid, 1)]
        for s in range(AHEAD_SECOND):
            assert ahead[SECOND_AT + s] == ChildStream(7, 2, CHILD_STREAMS[s]).uniform(cid, 1)
        assert len(ahead) == SECOND_AT + AHEAD_SECOND
