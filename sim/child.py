"""A child: an individual with a date of birth, a place on the pathway and a history."""
from __future__ import annotations

from typing import Optional

import cython

from .streams import N_CHILD_STREAMS, S, child_hash

DAYS_PER_YEAR = 365.25


class Child:
    """State and the history the rules need (contacts for escalation, last referral, repeat plans).

    `draws` counts each child's uses of each named stream (`sim.streams.S`), so the k-th draw of a
    child from a stream is always the same number whatever happens to other children. `ahead`
    holds first draws computed in advance for a block of new contacts (see `Pathway.u`). The
    compiled build (`sim/core.py`) keeps both as C arrays inside the child (`_draws`, `_ahead`;
    `draws` and `ahead` stay None): one object a child, not three, which the memory caches like.
    """

    __slots__ = (
        "id", "dob", "state", "placement", "carer", "high_cost", "need", "contacts",
        "last_referral", "cin_plans", "cp_plans", "care_periods", "draws", "period_start",
        "state_since", "hash", "closure", "return_referral_p", "inhouse_ok", "ahead", "repeat_kind", "drift_cut",
    )

    def __init__(self, id: int, dob: float, hash: Optional[int] = None):
        self.id = id
        self.hash = child_hash(id) if hash is None else hash
        self.dob = dob  # days relative to the start date (negative: born before it)
        self.state = "out"
        self.placement = ""
        self.carer = None
        self.high_cost = False
        self.need = ""
        self.contacts: list[float] = []
        self.last_referral: Optional[float] = None
        self.cin_plans = 0
        self.cp_plans = 0
        self.care_periods = 0
        self.ahead: Optional[list[float]] = None
        if cython.compiled:  # the C array `_draws` starts at zero
            self.draws = None
        else:
            self.draws: list[int] = [0] * N_CHILD_STREAMS  # draws taken from each named stream
        self.period_start: Optional[float] = None
        self.state_since = 0.0
        self.inhouse_ok = None  # can an in-house carer meet this child's fostering need?
        self.return_referral_p = None  # referral chance for a returning contact, if set
        self.closure = ""  # kind of the last closure (decides whether and how the child may return)
        self.repeat_kind = ""  # "cin" or "cp" while the child is coming back into a repeat plan
        self.drift_cut = 0.0  # days a shorter-plans lever took off the plans of this involvement

    def take_ahead(self, ahead) -> None:
        """Hold a new contact's draws computed ahead (`Pathway._contact_ahead`), of which the two
        `age` draws are used already."""
        if cython.compiled:
            for j in range(len(ahead)):
                self._ahead[j] = ahead[j]
            self.has_ahead = True
            self._draws[S.age] = 2
        else:
            self.ahead = ahead
            self.draws[S.age] = 2

    def age(self, t: float) -> float:
        return (t - self.dob) / DAYS_PER_YEAR

    def time_to_18(self, t: float) -> float:
        return self.dob + 18 * DAYS_PER_YEAR - t


if N_CHILD_STREAMS > 40:  # the compiled build's `_draws` has 40 places (child.pxd)
    raise ImportError(f"{N_CHILD_STREAMS} child streams: more than child.pxd's 40 places")
