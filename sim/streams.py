"""Named random streams, derived without state from (seed, replication, stream name).

Two kinds, both stateless to derive, so parallel runs equal sequential ones:

* `GlobalStream`: a numpy Generator for one process-wide sequence (arrivals, carer joiners),
  seeded from SeedSequence([seed, replication, crc32(name)]) and drawn in blocks for speed.
* `ChildStream`: counter-based uniforms keyed by (stream, child, k-th draw of that child from
  that stream): the k-th output of a SplitMix64 sequence started at key(stream) XOR hash(child). A child's draws therefore do not depend on what
  happened to any other child: a lever that changes one child's path leaves every other child's
  random numbers untouched, which makes common random numbers between scenarios sharp.
"""
from __future__ import annotations

import zlib

import numpy as np

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_INV53 = 1.0 / (1 << 53)
_BLOCK = 4096


class S:
    """The per-child streams, by number (an index into a child's draw counters).

    The first `AHEAD` are what a new contact needs at the front door, on referral, and in a first
    S47 enquiry, CIN plan or CP plan (`age` among them is drawn for all new contacts anyway); the
    model draws their first uniforms for blocks of new contacts at once
    (`Pathway._contact_ahead`), which gives the same numbers as drawing them one by one, at a
    fraction of the cost.
    """

    screening = 0
    front_door_outcome = 1
    recontact = 2
    recontact_delay = 3
    referral_nfa = 4
    assessment_duration = 5
    assessment_outcome = 6
    age = 7
    s47_duration = 8
    s47_outcome = 9
    cin_route = 10
    cin_duration = 11
    cp_route = 12
    cp_duration = 13
    edge_of_care_offer = 14
    edge_of_care_success = 15
    edge_of_care_lever = 16
    placement_need = 17
    care_exit_route = 18
    care_exit_time = 19
    placement_move_time = 20
    placement_move_kind = 21
    placement_next_need = 22
    lever_exit_time = 23
    lever_exit_accept = 24
    breakdown_prevented = 25
    inhouse_suitable = 26
    spot_cost = 27
    allowance = 28
    reentry = 29
    reentry_delay = 30
    repeat_plan = 31           # does a child whose plan ended come back into a repeat plan?
    repeat_plan_delay = 32
    lever_repeat_plan = 33     # the fewer-repeat-plans lever: is this repeat plan avoided?
    lever_sgo = 34             # the kinship-to-SGO lever: does this kinship entry end in an SGO?
    lever_sgo_time = 35
    carer_left_move = 36       # when a child moves on after their foster carer resigns
    foster_match = 37          # could a child in residential care be fostered; the matching time


AHEAD = 14  # streams 0-13: front door to the first plans
CHILD_STREAMS: tuple[str, ...] = tuple(sorted((k for k in vars(S) if not k.startswith("_")), key=lambda k: getattr(S, k)))
N_CHILD_STREAMS = len(CHILD_STREAMS)
assert [getattr(S, k) for k in CHILD_STREAMS] == list(range(N_CHILD_STREAMS))


def _mix(x: int) -> int:
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def stream_key(seed: int, replication: int, name: str) -> int:
    """A 64-bit key for a named stream; the same inputs always give the same key."""
    ss = np.random.SeedSequence([int(seed), int(replication), zlib.crc32(name.encode())])
    return int(ss.generate_state(1, dtype=np.uint64)[0])


class GlobalStream:
    """A named numpy Generator with block-buffered uniforms and exponentials."""

    __slots__ = ("name", "rng", "_u", "_i")

    def __init__(self, seed: int, replication: int, name: str):
        self.name = name
        self.rng = np.random.Generator(np.random.PCG64(stream_key(seed, replication, name)))
        self._u: list[float] = []
        self._i = 0

    def uniform(self) -> float:
        if self._i >= len(self._u):
            self._u = self.rng.random(_BLOCK).tolist()
            self._i = 0
        u = self._u[self._i]
        self._i += 1
        return u


class ChildStream:
    """Uniforms for one named mechanism, indexed by child and by draw number.

    Each (stream, child) pair is a SplitMix64 sequence whose starting point is a hash of the
    stream key and the child id; the k-th draw is the k-th output of that sequence.
    """

    __slots__ = ("name", "key")

    def __init__(self, seed: int, replication: int, name: str):
        self.name = name
        self.key = stream_key(seed, replication, name)

    def base(self, child_id: int) -> int:
        """Starting point of this child's sequence in this stream."""
        return self.key ^ child_hash(child_id)

    def uniform(self, child_id: int, k: int) -> float:
        """The k-th uniform in (0, 1) of this child from this stream."""
        return uniform_at(self.base(child_id), k)


def child_hash(child_id: int) -> int:
    """A well-mixed 64-bit identity of a child, combined with each stream's key."""
    return _mix(_mix(child_id + _GOLDEN))


def _mix_array(x: np.ndarray) -> np.ndarray:
    """`_mix` on an array of uint64 (numpy wraps at 2**64 as `& _M64` does)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def child_hashes(child_ids: np.ndarray) -> np.ndarray:
    """`child_hash` of many children at once (uint64)."""
    return _mix_array(_mix_array(child_ids.astype(np.int64).view(np.uint64) + np.uint64(_GOLDEN)))


def uniforms_at(bases: np.ndarray, k: int) -> np.ndarray:
    """`uniform_at(base, k)` for an array of bases: the same numbers, computed together."""
    x = _mix_array(bases + np.uint64(((k + 1) * _GOLDEN) & _M64))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * _INV53


def uniform_at(base: int, k: int) -> float:
    """The k-th output of the SplitMix64 sequence starting at `base`, as a uniform in (0, 1)."""
    x = (base + (k + 1) * _GOLDEN) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    x ^= x >> 31
    return ((x >> 11) + 0.5) * _INV53


class Streams:
    """All the named streams of one replication; each child keeps its own draw counters."""

    def __init__(self, seed: int, replication: int):
        self.seed, self.replication = seed, replication
        self._global: dict[str, GlobalStream] = {}
        self._child: dict[str, ChildStream] = {}

    def glob(self, name: str) -> GlobalStream:
        s = self._global.get(name)
        if s is None:
            s = self._global[name] = GlobalStream(self.seed, self.replication, name)
        return s

    def child(self, name: str) -> ChildStream:
        s = self._child.get(name)
        if s is None:
            s = self._child[name] = ChildStream(self.seed, self.replication, name)
        return s
