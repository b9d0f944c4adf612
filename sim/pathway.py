"""The SimPy processes of the pathway: front door, assessment, S47, CIN and CP plans, edge of
care, care with placements and moves, exits, and the returns that make involvement repeat.

`Pathway` holds one replication's environment, parameters, streams, capacities and logs. It does
no file I/O. For speed it reads the clock as `env._now`, books its methods straight onto SimPy's
event queue (`_after`), in the order SimPy's own `Environment.schedule` would give them, and runs
the queue with `sim.eventqueue.run`. The frequent bookings are `Booked` entries (one small
object: which method, the child, the arguments) that `dispatch` calls; the rare ones are
`partial`s. Levers act
through the `Mechanisms` it reads (see `sim.levers`), so a scenario changes only what it names
and every other random draw stays the same.

This module is also compiled (`sim/core.py`): `pathway.pxd` gives C types to its attributes and
to the methods of the inner loop, which is why callbacks are `Booked` entries or `partial`s
rather than closures and the few `cython.compiled` branches keep a view where the Python build
keeps a list.
"""
from __future__ import annotations

import datetime as dt
import gc
import math
from array import array
from bisect import bisect_left
from collections import OrderedDict
from functools import partial
from typing import Optional


from .capacity import OUT_OF_AREA, BedPool, CapacityLog, FosterCarerPool, Team
from .child import DAYS_PER_YEAR, Child
from .distributions import choose, cumulative
from .exits import EPS_DAYS, HazardTable, next_exit
from . import eventqueue
from .eventlog import EventLog
from .eventqueue import Booked, Dispatcher, Environment, book, booking
from .initial import OpenCase
from .levers import (BREAKDOWN_REDUCTION, CARE_ENTRY_DIVERT, CARER_JOINERS_EXTRA, CARER_LEAVING_REDUCTION,
                     CIN_WEEKS_SHORTER, CP_WEEKS_SHORTER, KINSHIP_SGO_SHARE, PERMANENCE_WEEKS_SHORTER,
                     PLANS_INTO_CARE_SHORTER, REPEAT_PLAN_REDUCTION, REUNIFICATION_RATE, Mechanisms)
from .params import MARKETS, ArrivalRate, Params, Route
from .sampling import sampler
import cython
import numpy as np

from .streams import _GOLDEN, _INV53, _M64, AHEAD, CHILD_STREAMS, S, Streams, child_hashes, uniforms_at
from .placements import ALWAYS_AVAILABLE, BED_POOLS, LAST_RESORT, SEARCH_ORDER
from .vocab import PLACEMENT_GROUP

INF = float("inf")
PERMANENCE = ("reunification", "sgo", "adoption", "cao")
# plan routes that end the involvement (closure or step-down), as against those heading into S47 or care
CLOSING_ROUTES = ("closed", "step_down_early_help", "step_down_cin")
# routes of care a kinship-to-SGO lever may turn into an SGO: the child would otherwise stay in care
KINSHIP_SGO_FROM = ("age18", "other")
ID_BLOCK = 10_000_000  # new children are numbered above the snapshot's, in a fresh block
AHEAD_BLOCK = 1024  # new contacts whose first draws are computed together
AHEAD_SECOND = 7    # streams 0-6 (front door and referral) also have their second draw computed ahead,
SECOND_AT = AHEAD + 2  # for a child's return to the front door; they sit after the two `age` draws

# SplitMix64's constants and the streams drawn ahead, as names the compiled build types in C
# (`pathway.pxd`): the same numbers either way
GOLDEN, M64, INV53 = _GOLDEN, _M64, _INV53
N_AHEAD, N_SECOND, AT_SECOND = AHEAD, AHEAD_SECOND, SECOND_AT
if SECOND_AT + AHEAD_SECOND > 24:  # the compiled build's `Child._ahead` has 24 places (child.pxd)
    raise ImportError(f"{SECOND_AT + AHEAD_SECOND} numbers drawn ahead: more than child.pxd's 24 places")
MIX1, MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB

# a child's placement need is the group its placement belongs to
NEED_OF_PLACEMENT = PLACEMENT_GROUP




def _mixture_mean(routes: dict[str, Route]) -> float:
    """Mean duration (days) of a plan whose routes each have a probability and a duration."""
    return sum(r.probability * r.duration.mean() for r in routes.values() if r.duration is not None)


def _route_table(routes: dict[str, Route]):
    """(names, cumulative probabilities, durations, their samplers) of a plan's or exit's routes."""
    names, cum = cumulative({k: r.probability for k, r in routes.items()})
    return names, cum, {k: r.duration for k, r in routes.items()}, {k: sampler(r.duration) for k, r in routes.items()}


def _choose(table, u: float):
    """`choose(*table, u)` for a table of (names, cumulative probabilities, ...)."""
    return table[0][bisect_left(table[1], u)]


# what a `Booked` entry on the queue calls (see `Pathway.dispatch`), the most frequent first
LEAF_CLOSED, SCREENED, ASSESSMENT_END, RETURN, CIN_PLAN_END, CP_PLAN_END, S47_END, AGE_OUT_WAITING = range(8)
FRONT_DOOR_TEAM, ASSESSMENT_TEAM = 1, 2  # `Booked.i` of AGE_OUT_WAITING (0, the default, is refused)
# the same numbers by name, for tests and tools (the compiled build keeps the names above as C numbers)
BOOKING_KINDS = {"leaf_closed": LEAF_CLOSED, "screened": SCREENED, "assessment_end": ASSESSMENT_END,
                 "return": RETURN, "cin_plan_end": CIN_PLAN_END, "cp_plan_end": CP_PLAN_END,
                 "s47_end": S47_END, "age_out_waiting": AGE_OUT_WAITING}
WAITING_TEAMS = {"front_door": FRONT_DOOR_TEAM, "assessment": ASSESSMENT_TEAM}


class Pathway(Dispatcher):
    def __init__(self, params: Params, seed: int, replication: int,
                 snapshot: Optional[list[OpenCase]] = None, mechanisms: Optional[Mechanisms] = None,
                 trace: bool = False, keep_closed: bool = False):
        """`trace` also logs every change of team allocations (for tests; costs speed);
        `keep_closed` keeps closed children whole, for `open_cases` (the warm-up snapshot)."""
        self.p = params
        self.trace = trace
        self.keep_closed = keep_closed
        self.retired_ids = array("q")     # children closed for good: id and date of birth only
        self.retired_dobs = array("d")
        self.env = Environment()
        self.streams = Streams(seed, replication)
        self.mech = mechanisms or Mechanisms()
        self._lever_terms()
        self.log = EventLog()
        self.caplog = CapacityLog()
        self.allowances: list[tuple[int, float, float, str]] = []  # (child, start, end, kind)
        self.children: dict[int, Child] = {}
        self.horizon = params.horizon.days
        self.start = params.horizon.start_date
        self._n_contact_children = 0
        self._n_direct_children = 0
        self._keys = [self.streams.child(name).key for name in CHILD_STREAMS]  # by stream number
        self._ahead_rows = None  # the current block's draws: lists (Python build) or an array (compiled)
        self._ahead_hashes: list[int] = []
        self._ahead_screening: list[float] = []
        self._ahead_block = -1
        # new contacts may take the short path (`_leaf_contact`; a first contact never escalates,
        # as escalation takes 2 contacts or more) unless closed children must be kept whole
        self._leaves = not keep_closed
        self._prepare_tables()
        self._build_capacity()
        self._snapshot = snapshot or []
        # New children's ids depend only on the snapshot, never on levers (common random numbers):
        # contacts take even numbers and direct entries odd ones, above every snapshot id.
        top = max((c.child_id for c in self._snapshot), default=0)
        self._id_base = (top // ID_BLOCK + 1) * ID_BLOCK

    # ------------------------------------------------------------------------------- set-up
    def _lever_terms(self):
        """The model terms levers set (`sim.levers`), looked up once: the pathway reads them here."""
        m = self.mech
        self._t_divert = m.term(CARE_ENTRY_DIVERT)
        self._t_kinship_sgo = m.term(KINSHIP_SGO_SHARE)
        self._t_reunification = m.term(REUNIFICATION_RATE)
        self._t_permanence = m.term(PERMANENCE_WEEKS_SHORTER)
        self._t_repeat = m.term(REPEAT_PLAN_REDUCTION)
        self._t_cin_shorter = m.term(CIN_WEEKS_SHORTER)
        self._t_cp_shorter = m.term(CP_WEEKS_SHORTER)
        self._t_into_care_shorter = m.term(PLANS_INTO_CARE_SHORTER)
        self._t_joiners = m.term(CARER_JOINERS_EXTRA)
        self._t_breakdown = m.term(BREAKDOWN_REDUCTION)
        self._t_leaving = m.term(CARER_LEAVING_REDUCTION)

    def _prepare_tables(self):
        p = self.p
        self.fd_outcomes = cumulative(p.front_door.outcomes)
        self.assess_outcomes = cumulative(p.assessment.outcomes)
        self.s47_outcomes = cumulative(p.s47.outcomes)
        self.cin_routes = _route_table(p.cin_plan.routes)
        self.cp_routes = _route_table(p.cp_plan.routes)
        self.cin_mean = _mixture_mean(p.cin_plan.routes)
        self.cp_mean = _mixture_mean(p.cp_plan.routes)
        self.need_tables = [(b, cumulative(b.probabilities)) for b in p.care.need_on_entry]
        self.exit_tables = [(b, _route_table(b.kinship), _route_table(b.non_kinship)) for b in p.care.exit_routes]
        self.route_means = {}  # mean duration (days) of each route of each exit table
        for _, kt, ot in self.exit_tables:
            for t in (kt, ot):
                self.route_means[id(t)] = {k: (d.mean() if d is not None else INF) for k, d in t[2].items()}
        self.next_need = {k: cumulative(v) for k, v in p.care.moves.next_need.items()}
        # exits as competing hazards (care.exit_hazards), if given: they replace the route drawn at entry
        self._hazards = HazardTable(p.care.exit_hazards) if p.care.exit_hazards is not None else None
        self._haz_sgo, self._haz_permanence = -1, ()
        if self._hazards is not None:
            reasons = self._hazards.reasons
            self._haz_sgo = reasons.index("sgo") if "sgo" in reasons else -1
            self._haz_permanence = tuple(i for i, r in enumerate(reasons) if r in PERMANENCE)
        self.contact_ages = self._age_table(p.arrivals.age_at_contact)
        self.direct_ages = self._age_table(p.arrivals.age_at_direct_entry)
        self.screening = p.front_door.screening
        # parameters read for every case, as plain attributes (a pydantic attribute costs more)
        fd = p.front_door
        self._escalation_contacts = fd.escalation_contacts if fd.escalation_enabled else None
        self._escalation_window = fd.escalation_window_days
        self._recontact = p.recontact
        self._recontact_delay = {k: sampler(rc.delay) for k, rc in p.recontact.items()}
        self._repeat_plans = p.repeat_plans
        self._repeat_delay = {k: sampler(rp.delay) for k, rp in p.repeat_plans.items()}
        fc = p.capacity.foster_carers
        self._resign_move = fc.move_after_resignation_weeks
        self._could_foster = p.care.residential_could_foster_share
        self._foster_matching = sampler(p.care.foster_matching) if p.care.foster_matching is not None else None
        self._screening = sampler(self.screening)
        self._nfa_before_assessment = p.assessment.nfa_before_assessment
        self._assessment_duration = sampler(p.assessment.duration)
        self._s47_duration = sampler(p.s47.duration)
        # seasonality by day of the horizon (April = 0)
        self.month_index = []
        d0 = self.start
        for i in range(int(self.horizon) + 2):
            m = (d0 + dt.timedelta(days=i)).month
            self.month_index.append((m - 4) % 12)

    def _build_capacity(self):
        env = self.env  # the clock refers to the environment, not the model: no reference cycle
        cap, clock = self.p.capacity, lambda: env._now
        self.foster = FosterCarerPool(self.caplog, clock)
        # a bed pool for each placement type that takes beds (sim/placements.py), sized by its parameter
        # an external market is sized as on the start date and may lie partly out of area (`Capacity.markets`)
        self.beds = {}
        for name, size in BED_POOLS:
            market = cap.markets.get(name) if name in MARKETS and not cap.unlimited_markets else None
            places = cap.market_places(name, self.start) if name in MARKETS else getattr(cap, size)
            self.beds[name] = BedPool(name, places, self.caplog, clock,
                                      in_area_share=market.in_area_share if market is not None else 1.0)
        self._out_of_area: set[int] = set()  # children now in a market's out-of-area place
        self.teams = {}
        for name, t in cap.teams:
            workers = t.workers_on(self.start)  # posts less the vacant posts no agency worker covers
            self.teams[name] = Team(name, workers, t.caseload_limit, self.caplog if self.trace else None, clock,
                                    keep_cases=self.trace)
        self._front_door = self.teams["front_door"]
        self._assessment_team = self.teams["assessment"]
        self._safeguarding = self.teams["safeguarding"]
        self.waiting_for_placement: dict[int, Child] = {}  # insertion ordered
        self._step_down_queue: OrderedDict[int, Child] = OrderedDict()  # in residential care, could be fostered
        self._matches_pending = 0
        self._spare: list[Booked] = []  # `Booked` entries dispatched, for reuse (`_booking`)

    def _after(self, delay: float, fn) -> None:
        """Call `fn` `delay` days from now, in SimPy's event order (as a Timeout would): `fn` itself
        (a `Booked` entry for `dispatch`, or a function) goes on SimPy's queue, and `run_events`
        calls it."""
        if not delay >= 0.0:  # negative, or not a number
            raise ValueError(f"negative delay {delay}")
        book(self.env, delay, fn)

    # ---------------------------------------------------------------------------- randomness
    def u(self, child: Child, stream: int) -> float:
        """The child's next uniform from a numbered stream (`sim.streams.S`): the k-th output of a
        SplitMix64 sequence keyed by stream and child (see `sim.streams.ChildStream`), inlined
        because the model draws close to a million of them a replication."""
        if cython.compiled:  # the same, on the child's C arrays (see `Child`)
            k = child._draws[stream] + 1
            child._draws[stream] = k
            if k <= 2 and stream < N_AHEAD and child.has_ahead:
                if k == 1:
                    return child._ahead[stream]
                if stream < N_SECOND:
                    return child._ahead[AT_SECOND + stream]
        else:
            draws = child.draws
            k = draws[stream] + 1
            draws[stream] = k
            if k <= 2 and stream < N_AHEAD:
                ahead = child.ahead
                if ahead is not None:  # drawn in advance for a new contact: the same number
                    if k == 1:
                        return ahead[stream]
                    if stream < N_SECOND:  # a returning contact's second screening, outcome...
                        return ahead[AT_SECOND + stream]
        key = self._keys[stream]
        x = ((key ^ child.hash) + k * GOLDEN) & M64
        x = ((x ^ (x >> 30)) * MIX1) & M64
        x = ((x ^ (x >> 27)) * MIX2) & M64
        x ^= x >> 31
        return ((x >> 11) + 0.5) * INV53

    def _contact_ahead(self, n: int) -> tuple[int, list[float], float]:
        """Hash, draws and first screening time of the n-th new contact (computed a block at a
        time): the first uniform of each of the `AHEAD` streams, the first two of `age`, then the
        second uniform of each of the first `AHEAD_SECOND` streams (at `SECOND_AT`); the screening
        time is `screening.sample` of the first screening uniform."""
        i = self._ahead_index(n)
        return self._ahead_hashes[i], self._ahead_rows[i], self._ahead_screening[i]

    def _ahead_index(self, n: int) -> int:
        """Where the n-th new contact's draws are in the current block (`_contact_ahead`)."""
        block, i = divmod(n, AHEAD_BLOCK)
        if block != self._ahead_block:
            ids = self._id_base + 2 * np.arange(block * AHEAD_BLOCK, (block + 1) * AHEAD_BLOCK, dtype=np.int64)
            hashes = child_hashes(ids)
            keys = np.array(self._keys[:AHEAD] + [self._keys[S.age]], dtype=np.uint64)
            bases = hashes[:, None] ^ keys[None, :]
            rows = np.empty((len(ids), SECOND_AT + AHEAD_SECOND))
            rows[:, :AHEAD + 1] = uniforms_at(bases, 0)
            rows[:, AHEAD + 1] = uniforms_at(bases[:, AHEAD], 1)
            rows[:, SECOND_AT:] = uniforms_at(bases[:, :AHEAD_SECOND], 1)
            if cython.compiled:  # a child's row is read in place (a typed view), not as a list
                self._ahead_rows = rows
            else:
                self._ahead_rows = rows.tolist()
            self._ahead_hashes = hashes.tolist()
            self._ahead_screening = self.screening.ppf_many(rows[:, S.screening])
            self._ahead_block = block
        return i

    @staticmethod
    def _age_table(bands):
        total = sum(b.weight for b in bands)
        names, cum = cumulative({i: b.weight / total for i, b in enumerate(bands)})
        return names, cum, bands

    @staticmethod
    def _age_from(table, u1: float, u2: float) -> float:
        """An age in years: a band by weight, then uniform within the band."""
        names, cum, bands = table
        b = bands[names[bisect_left(cum, u1)]]
        return b.from_age + u2 * (b.to_age - b.from_age)

    # --------------------------------------------------------------------------------- run
    def run(self) -> None:
        # The run allocates many long-lived objects and no reference cycles worth collecting
        # until it ends; the cyclic garbage collector would otherwise take half the run time.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._start()
            self.run_events(self.horizon)
        finally:
            if was_enabled:
                gc.enable()

    def _start(self) -> None:
        """Book what the run starts with: the foster carers, dated team and bed changes, the
        starting caseload, and the first arrivals."""
        self._start_foster_pool()
        for name, t in self.p.capacity.teams:
            for date in t.change_dates():  # posts, vacancies or agency cover change: the workers in post
                offset = (date - self.start).days
                if 0 < offset < self.horizon:
                    self.env.process(self._team_change(name, offset, t.workers_on(date)))
        for day, team, extra in self.mech.team_changes:
            if 0 <= day < self.horizon:
                self.env.process(self._at(day, lambda team=team, extra=extra: self.teams[team].add_workers(extra)))
        for day, pool, extra in self.mech.bed_changes:
            if 0 <= day < self.horizon:
                self.env.process(self._at(day, lambda pool=pool, extra=extra: self._change_beds(pool, extra)))
        cap = self.p.capacity
        for name, market in ([] if cap.unlimited_markets else cap.markets.items()):
            for ch in market.changes:
                offset = (ch.date - self.start).days
                if 0 < offset < self.horizon:
                    self.env.process(self._at(offset, partial(self._set_market, name, int(ch.value))))
        for case in self._snapshot:
            self._start_open_case(case)
        self._arrivals(self.p.arrivals.new_contacts, "arrivals_contacts", self._new_contact)
        self._arrivals(self.p.arrivals.direct_care_entries, "arrivals_direct_care", self._new_direct_entry)

    def run_events(self, until: float) -> None:
        """Run the queue until `until` (days): `sim.eventqueue.run`."""
        eventqueue.run(self.env, until, self)

    def _booking(self, what, child=None, i=0, x=0.0, s="", flag=False, o=None):
        """A `Booked` entry (`sim.eventqueue.booking`), reusing one already dispatched: a new one
        would be tracked by the garbage collector, and freeing each touches two cold neighbours
        in the collector's list."""
        spare = self._spare
        if not spare:
            return booking(what, child, i, x, s, flag, o)
        b = spare.pop()
        b.what, b.child, b.i, b.x, b.s, b.flag, b.o = what, child, i, x, s, flag, o
        return b

    def dispatch(self, b: Booked) -> None:
        """Call the method a `Booked` entry of the queue names, with its arguments; the entry
        goes back to the spares first (the method may book again)."""
        w, child, i, x, s, flag, o = b.what, b.child, b.i, b.x, b.s, b.flag, b.o
        b.child = b.o = None
        self._spare.append(b)
        if w == LEAF_CLOSED:
            self._leaf_closed(i, x, s)
        elif w == SCREENED:
            self._screened(child)
        elif w == ASSESSMENT_END:
            self._assessment_end(child, flag)
        elif w == RETURN:
            self._return(child, o, s)
        elif w == CIN_PLAN_END:
            self._cin_plan_end(child, s, flag)
        elif w == CP_PLAN_END:
            self._cp_plan_end(child, s, flag)
        elif w == S47_END:
            self._s47_end(child, flag)
        elif w == AGE_OUT_WAITING:
            if i == FRONT_DOOR_TEAM:
                self._age_out_waiting(child, self._front_door)
            elif i == ASSESSMENT_TEAM:
                self._age_out_waiting(child, self._assessment_team)
            else:
                raise ValueError(f"unknown team {i} for a case waiting at 18")
        else:
            raise ValueError(f"unknown booking {w}")

    def close(self) -> None:
        """Break the model's reference cycles (pending events, the callbacks of cases waiting for
        a social worker) once its results are taken, so it is freed as soon as it is dropped."""
        eventqueue.discard(self.env)
        for team in self.teams.values():
            team.waiting.clear()
        self.waiting_for_placement.clear()
        self._out_of_area.clear()
        self._step_down_queue.clear()
        for carer in self.foster.carers:  # a carer's children and a child's carer refer to each other
            carer.placed.clear()

    def _at(self, day: float, action):
        yield self.env.timeout(day)
        action()

    def _change_beds(self, pool: str, extra: int):
        beds = self.beds[pool]
        beds.set_capacity(max(0, (beds.capacity or 0) + extra))
        if extra > 0:
            self._serve_waiting()

    def _set_market(self, name: str, places: int) -> None:
        """A dated change in the places an external market has open to the council."""
        beds = self.beds[name]
        more = beds.capacity is None or places > beds.capacity
        beds.set_capacity(places)
        if more:
            self._serve_waiting()

    def _team_change(self, name, offset, workers):
        yield self.env.timeout(offset)
        self.teams[name].set_workers(workers)

    def _arrival_times(self, rate: ArrivalRate, stream: str) -> list[float]:
        """Non-homogeneous Poisson arrival times (days) by thinning, from one global stream."""
        if rate.per_month <= 0:
            return []
        g = self.streams.glob(stream)
        growth_max = max(1.0, (1.0 + rate.trend_per_year) ** (self.horizon / DAYS_PER_YEAR))
        lam_max = rate.per_month * 12.0 / DAYS_PER_YEAR * growth_max * (max(rate.seasonality) if rate.seasonality else 1.0)
        # the rate per day at time t: base * growth ** (t / DAYS_PER_YEAR), times the month's factor
        base, growth, season, month = rate.per_month * 12.0 / DAYS_PER_YEAR, 1.0 + rate.trend_per_year, rate.seasonality, self.month_index
        times, t = [], self.env._now
        while True:
            t += -math.log(1.0 - g.uniform()) / lam_max
            if t >= self.horizon:
                return times
            lam = base * growth ** (t / DAYS_PER_YEAR)
            if season:
                lam *= season[month[int(t)]]
            if g.uniform() * lam_max <= lam:
                times.append(t)

    def _arrivals(self, rate: ArrivalRate, stream: str, start_child) -> None:
        """Each arrival starts a child, then books the next arrival: one event an arrival."""
        times = iter(self._arrival_times(rate, stream))
        t = next(times, None)
        if t is not None:
            self._after(t - self.env._now, partial(self._arrive, times, start_child))

    def _arrive(self, times, start_child) -> None:
        """One arrival, and the next one booked (a method, not a closure that refers to itself,
        so a finished model holds no reference cycle)."""
        start_child()
        t = next(times, None)
        if t is not None:
            self._after(t - self.env._now, partial(self._arrive, times, start_child))

    def _new_contact(self):
        n = self._n_contact_children
        cid = self._id_base + 2 * n
        self._n_contact_children += 1
        i = self._ahead_index(n)
        h, ahead, screening = self._ahead_hashes[i], self._ahead_rows[i], self._ahead_screening[i]
        age = self._age_from(self.contact_ages, ahead[AHEAD], ahead[AHEAD + 1])
        dob = self.env._now - age * DAYS_PER_YEAR
        if self._leaves and self._leaf_contact(cid, dob, ahead, screening):
            return
        child = Child(cid, dob, h)
        child.take_ahead(ahead)
        self.children[cid] = child
        self._contact(child)

    def _leaf_contact(self, cid: int, dob: float, ahead: list[float], d: float) -> bool:
        """Take a new contact whose whole path its first draws already tell, if it has one:
        screened at once (the team has room), closed without a referral before the horizon and
        the 18th birthday, and never back. Half of all contacts are such, and they need no
        `Child`: two event-log rows, the team's allocation and the retirement. The rows, times,
        order of events and random numbers are those of the general path (`_contact`, `_screen`,
        `_screened`, `_maybe_recontact`), which a test checks; anything else goes that way."""
        team = self._front_door
        if team.n_allocated >= team.capacity or team.waiting:
            return False
        now = self.env._now
        if d >= dob + 18 * DAYS_PER_YEAR - now:  # screening cut short by the 18th birthday
            return False
        closed = now + d
        if closed >= self.horizon or dob + 18 * DAYS_PER_YEAR - closed <= 1e-9:
            return False
        outcome = _choose(self.fd_outcomes, ahead[S.front_door_outcome])
        if outcome == "referral":
            return False
        rc = self._recontact.get(outcome)
        if rc is not None and ahead[S.recontact] < rc.probability:
            back = self._recontact_delay[outcome].sample(ahead[S.recontact_delay], 0.0)
            if back < dob + 18 * DAYS_PER_YEAR - closed and closed + back < self.horizon:
                return False  # the child comes back
        self.log.add(now, cid, "contact", "out", "contact", "", "", "")
        team.request(cid)
        self._after(d, self._booking(LEAF_CLOSED, i=cid, x=dob, s=outcome))
        return True

    def _leaf_closed(self, cid: int, dob: float, outcome: str) -> None:
        self._front_door.release(cid)
        self.log.add(self.env._now, cid, "contact_closed", "contact", "out", "", "", outcome)
        self.retired_ids.append(cid)
        self.retired_dobs.append(dob)

    def _new_direct_entry(self):
        cid = self._id_base + 2 * self._n_direct_children + 1
        self._n_direct_children += 1
        child = Child(cid, 0.0)
        age = self._age_from(self.direct_ages, self.u(child, S.age), self.u(child, S.age))
        child.dob = self.env._now - age * DAYS_PER_YEAR
        self.children[cid] = child
        self._move(child, "care_entry", "care", detail="direct")
        self.env.process(self._care(child))

    # ---------------------------------------------------------------------------- helpers
    def _move(self, child: Child, event: str, to_state: str, detail: str = ""):
        now = self.env._now
        self.log.add(now, child.id, event, child.state, to_state, "", "", detail)
        child.state = to_state
        child.state_since = now

    def _note(self, child: Child, event: str, detail: str = ""):
        self.log.add(self.env._now, child.id, event, child.state, child.state, child.placement, "", detail)

    def _capped(self, child: Child, d: float) -> tuple[float, bool]:
        """A duration cut at the 18th birthday; True if the birthday comes first."""
        t18 = child.time_to_18(self.env._now)
        if d >= t18:
            return max(t18, 0.0), True
        return d, False

    def _close(self, child: Child, event: str, detail: str, recontact: Optional[str]):
        self._move(child, event, "out", detail=detail)
        child.closure = recontact or ""
        child.repeat_kind = ""
        # weeks a shorter-plans lever took off the plans just closed: the drift, not the family's
        # next crisis, so a return comes when it would have come after the longer plan
        extra = child.drift_cut
        child.drift_cut = 0.0
        if recontact is None:
            self._retire(child)
            return
        if ((recontact == "cin_closed" or recontact == "cp_closed") and self._repeat_plans
                and self._maybe_repeat(child, 0.0, extra)):
            return
        if not self._maybe_recontact(child, recontact, 0.0, extra):
            self._retire(child)

    def _maybe_repeat(self, child: Child, elapsed: float = 0.0, extra: float = 0.0) -> bool:
        """Perhaps bring a child whose plan ended back into a repeat plan (`repeat_plans`: CP for a
        child who has had a CP plan, CIN otherwise), conditional on `elapsed` as returns are."""
        kind = "cp" if child.cp_plans > 0 else "cin"
        rp = self._repeat_plans.get(kind)
        if rp is None:
            return False
        p = rp.probability
        if elapsed > 0.0:
            s = rp.delay.sf(elapsed)
            p = p * s / (1.0 - p + p * s) if p * s > 0 else 0.0
        if self.u(child, S.repeat_plan) >= p:
            return False
        d = self._repeat_delay[kind].sample(self.u(child, S.repeat_plan_delay), elapsed) + extra
        now = self.env._now
        if d >= child.time_to_18(now) or now + d >= self.horizon:
            return False
        self._after(d, self._booking(RETURN, child, s=kind, o=1.0))
        return True

    def _retire(self, child: Child) -> None:
        """A closed child with no return scheduled is never touched again: keep only what the
        outputs need (id, birth date), unless the run must report its recently closed cases."""
        child.draws = None
        child.ahead = None
        child.contacts = None
        if not self.keep_closed:
            self.retired_ids.append(child.id)
            self.retired_dobs.append(child.dob)
            self.children.pop(child.id, None)

    def _maybe_recontact(self, child: Child, kind: str, elapsed: float = 0.0, extra: float = 0.0) -> bool:
        """Perhaps bring the child back to the front door after a closure of this kind.

        For a child closed `elapsed` days before the start (snapshot), the chance is conditional
        on no return so far: p S(e) / (1 - p + p S(e)), and the delay is drawn given T > e.
        """
        rc = self._recontact.get(kind)
        if rc is None:
            return False
        p = rc.probability
        if elapsed > 0.0:
            s = rc.delay.sf(elapsed)
            p = p * s / (1.0 - p + p * s) if p * s > 0 else 0.0
        if self.u(child, S.recontact) >= p:
            return False
        d = self._recontact_delay[kind].sample(self.u(child, S.recontact_delay), elapsed)
        if d + extra >= child.time_to_18(self.env._now) or self.env._now + d + extra >= self.horizon:
            return False
        rp = rc.referral_chance(elapsed + d)  # by the time out since the closure
        self._after(d + extra, self._booking(RETURN, child, o=rp))
        return True

    def _return(self, child: Child, referral_probability: Optional[float], repeat: str = ""):
        if child.state != "out":
            return
        child.return_referral_p = referral_probability
        child.repeat_kind = repeat  # back into a repeat plan: referred, assessed, and on to that plan
        self._contact(child)

    # ------------------------------------------------------------------------- front door
    # Contacts are the bulk of events, so the front door runs on event callbacks rather than a
    # SimPy process per contact; referrals, assessments and plans run on callbacks too (below).
    def _contact(self, child: Child, elapsed: float = 0.0):
        if elapsed == 0.0:
            self._move(child, "contact", "contact")
        child.contacts.append(self.env._now - elapsed)
        team = self._front_door
        if team.request(child.id):
            self._screen(child, elapsed)
        else:
            team.on_allocate(child.id, partial(self._screen, child, elapsed))
            # a contact still waiting at the 18th birthday closes then
            t18 = max(child.time_to_18(self.env._now), 0.0)
            self._after(t18, self._booking(AGE_OUT_WAITING, child, i=FRONT_DOOR_TEAM))

    def _age_out_waiting(self, child: Child, team: Team):
        if child.id in team.waiting and child.state in ("contact", "assessment"):
            team.release(child.id)
            self._close(child, "contact_closed" if child.state == "contact" else "assessment_complete",
                        "turned 18", None)

    def _screen(self, child: Child, elapsed: float):
        d = self._screening.sample(self.u(child, S.screening), elapsed)
        d, _ = self._capped(child, d)
        self._after(d, self._booking(SCREENED, child))

    def _screened(self, child: Child):
        now = self.env._now
        self._front_door.release(child.id)
        if child.time_to_18(now) <= 1e-9:
            self._close(child, "contact_closed", "turned 18", None)
            return
        u = self.u(child, S.front_door_outcome)
        rp = child.return_referral_p
        if rp is None:
            outcome = _choose(self.fd_outcomes, u)
        else:  # a returning child: referral chance of its own, the rest split as usual
            child.return_referral_p = None
            if u < rp:
                outcome = "referral"
            else:
                o = self.p.front_door.outcomes
                rest = o["nfa"] + o["early_help"]
                outcome = "nfa" if rest <= 0 or (u - rp) / (1.0 - rp) < o["nfa"] / rest else "early_help"
        escalated = False
        k = self._escalation_contacts
        if outcome != "referral" and k is not None and len(child.contacts) >= k:
            window_start = now - self._escalation_window
            recent = 0
            for c in child.contacts:  # a loop, not a generator: no closure for the compiled build
                if c >= window_start:
                    recent += 1
            if recent >= k:
                outcome, escalated = "referral", True
        if outcome == "referral":
            self._referral(child, escalated)
        else:
            self._close(child, "contact_closed", outcome, outcome)

    # ------------------------------------------------------------------------- assessment
    # From referral to the end of plans, each step is a callback at its time (`_after`), as at the
    # front door: a SimPy process per referral cost three events and a generator for little gain.
    # Care, with its many kinds of pending moves, stays a SimPy process.
    def _referral(self, child: Child, escalated: bool):
        now = self.env._now
        flags = []
        if child.last_referral is not None and now - child.last_referral <= 365.0:
            flags.append("rereferral")
        if escalated:
            flags.append("escalated")
        child.last_referral = now
        self._move(child, "referral", "assessment", detail=",".join(flags))
        if self.u(child, S.referral_nfa) < self._nfa_before_assessment and not child.repeat_kind:
            self._close(child, "referral_nfa", "nfa", "assessment_nfa")
            return
        self._assessment(child)

    def _assessment(self, child: Child, elapsed: float = 0.0):
        team = self._assessment_team
        if team.request(child.id):
            self._assessment_start(child, elapsed)
            return
        # waiting for a social worker: start when allocated (just after the step that freed the
        # worker), or close at the 18th birthday if still waiting then
        team.on_allocate(child.id, partial(self._after, 0.0, partial(self._assessment_start, child, elapsed)))
        self._after(max(child.time_to_18(self.env._now), 0.0), self._booking(AGE_OUT_WAITING, child, i=ASSESSMENT_TEAM))

    def _assessment_start(self, child: Child, elapsed: float):
        self._note(child, "assessment_start")
        d = self._assessment_duration.sample(self.u(child, S.assessment_duration), elapsed)
        d, adult = self._capped(child, d)
        self._after(d, self._booking(ASSESSMENT_END, child, flag=adult))

    def _assessment_end(self, child: Child, adult: bool):
        self._assessment_team.release(child.id)
        if adult:
            self._close(child, "assessment_complete", "turned 18", None)
            return
        outcome = _choose(self.assess_outcomes, self.u(child, S.assessment_outcome))
        if child.repeat_kind:  # a child back into a repeat plan: CIN, or a S47 enquiry toward CP
            outcome = "s47" if child.repeat_kind == "cp" else "cin"
        if outcome == "nfa":
            self._close(child, "assessment_complete", "nfa", "assessment_nfa")
        elif outcome == "cin":
            self._cin_plan(child, "assessment_complete")
        elif outcome == "s47":
            self._s47(child, "assessment_complete")
        else:
            self._toward_care(child, "assessment_complete")

    def _s47(self, child: Child, event: str, elapsed: float = 0.0):
        if elapsed == 0.0:
            self._move(child, "s47_start", "s47", detail=event)
        team = self._safeguarding
        team.request(child.id)
        d = self._s47_duration.sample(self.u(child, S.s47_duration), elapsed)
        d, adult = self._capped(child, d)
        self._after(d, self._booking(S47_END, child, flag=adult))

    def _s47_end(self, child: Child, adult: bool):
        self._safeguarding.release(child.id)
        if adult:
            self._close(child, "s47_end", "turned 18", None)
            return
        outcome = _choose(self.s47_outcomes, self.u(child, S.s47_outcome))
        if child.repeat_kind == "cp":
            outcome = "cp"
        if outcome == "cp":
            self._cp_plan(child)
        elif outcome == "cin":
            self._cin_plan(child, "s47_end")
        elif outcome == "nfa":
            self._close(child, "s47_end", "nfa", "assessment_nfa")
        else:
            self._toward_care(child, "s47_end")

    # ------------------------------------------------------------------------------ plans
    def _shorten(self, d: float, elapsed: float, term) -> float:
        """Remaining time after a lever takes `weeks` off (the lever `term`), judged at the time the
        case would have ended: every case ends that many weeks sooner, at most half its whole length
        sooner (so short cases are not erased), which moves the average by about the weeks stated."""
        if not term.bound > 0.0 or d == INF:
            return d
        weeks = term.value(self.env._now + d)
        if weeks <= 0:
            return d
        cut = min(7.0 * weeks, 0.5 * (elapsed + d))
        shorter = max(0.0, d - cut)
        # a case is never cut to end before the lever began acting
        return max(shorter, min(d, term.start() - self.env._now))

    def _plan_route(self, child, table, route_stream, time_stream, scale, elapsed=0.0):
        names, cum, durations, samplers = table
        if elapsed > 0.0:
            # route given that the plan has lasted `elapsed` days: P(r | T > e) ∝ p_r S_r(e)
            weights = [(cum[i] - (cum[i - 1] if i else 0.0))
                       * (durations[n].sf(elapsed / scale) if durations[n] is not None else 1.0)
                       for i, n in enumerate(names)]
            total = sum(weights)
            if total <= 0:
                weights, total = [1.0] * len(names), float(len(names))
            u, acc, route = self.u(child, route_stream) * total, 0.0, names[-1]
            for n, w in zip(names, weights):
                acc += w
                if u <= acc:
                    route = n
                    break
        else:
            route = names[bisect_left(cum, self.u(child, route_stream))]
        u = self.u(child, time_stream)
        dist = samplers[route]
        d = INF if dist is None else dist.sample(u, elapsed, scale)
        return route, d

    def _cin_plan(self, child: Child, event: str, elapsed: float = 0.0):
        route, d = self._plan_route(child, self.cin_routes, S.cin_route, S.cin_duration, 1.0, elapsed)
        if elapsed == 0.0:
            if child.cin_plans > 0 and self._t_repeat.bound > 0.0 and self._repeat_avoided(child, event, route):
                return
            child.cin_plans += 1
            child.repeat_kind = ""
            self._move(child, "cin_plan_start", "cin", detail="repeat" if child.cin_plans > 1 else "first")
        team = self._safeguarding
        team.request(child.id)
        if route == "closed" or route == "step_down_early_help" or self._t_into_care_shorter.value(self.env._now) > 0.0:
            d0 = d
            d = self._shorten(d, elapsed, self._t_cin_shorter)
            child.drift_cut += d0 - d
        d, adult = self._capped(child, d)
        self._after(d, self._booking(CIN_PLAN_END, child, s=route, flag=adult))

    def _cin_plan_end(self, child: Child, route: str, adult: bool):
        self._safeguarding.release(child.id)
        if adult:
            self._close(child, "cin_plan_end", "turned 18", None)
        elif route in ("closed", "step_down_early_help"):
            self._close(child, "cin_plan_end", route, "cin_closed")
        elif route == "s47":
            self._s47(child, "cin_plan_end")
        else:
            self._toward_care(child, "cin_plan_end")

    def _cp_plan(self, child: Child, elapsed: float = 0.0):
        route, d = self._plan_route(child, self.cp_routes, S.cp_route, S.cp_duration, 1.0, elapsed)
        if elapsed == 0.0:
            if child.cp_plans > 0 and self._t_repeat.bound > 0.0 and self._repeat_avoided(child, "s47_end", route):
                return
            child.cp_plans += 1
            child.repeat_kind = ""
            self._move(child, "cp_plan_start", "cp", detail="repeat" if child.cp_plans > 1 else "first")
        team = self._safeguarding
        team.request(child.id)
        if route == "closed" or route == "step_down_cin" or self._t_into_care_shorter.value(self.env._now) > 0.0:
            d0 = d
            d = self._shorten(d, elapsed, self._t_cp_shorter)
            child.drift_cut += d0 - d
        d, adult = self._capped(child, d)
        self._after(d, self._booking(CP_PLAN_END, child, s=route, flag=adult))

    def _repeat_avoided(self, child: Child, event: str, route: str) -> bool:
        """The fewer-repeat-plans lever: a repeat plan that would start a new involvement (after an
        assessment or a S47 enquiry, not a step-down or an edge-of-care plan) and end in closure or
        step-down is not needed, with the lever's chance: the case closes with no further action.
        Plans heading into S47 or care go ahead: avoiding care is edge of care's lever."""
        if not (event == "assessment_complete" or event == "s47_end") or route not in CLOSING_ROUTES:
            return False
        if self.u(child, S.lever_repeat_plan) >= self._t_repeat.value(self.env._now):
            return False
        self._close(child, event, "repeat_plan_avoided", "assessment_nfa")
        return True

    def _cp_plan_end(self, child: Child, route: str, adult: bool):
        self._safeguarding.release(child.id)
        if adult:
            self._close(child, "cp_plan_end", "turned 18", None)
        elif route == "closed":
            self._close(child, "cp_plan_end", "closed", "cp_closed")
        elif route == "step_down_cin":
            self._cin_plan(child, "cp_plan_end")
        else:
            self._toward_care(child, "cp_plan_end")

    # ------------------------------------------------------------------------- edge of care
    def _toward_care(self, child: Child, event: str):
        """A child heading into care may be offered edge-of-care support that keeps them home."""
        eoc = self.p.edge_of_care
        offered = self.u(child, S.edge_of_care_offer) < eoc.offered_share
        success_u = self.u(child, S.edge_of_care_success)
        extra = self._t_divert.value(self.env._now)
        diverted = (offered and success_u < eoc.success_probability) or self.u(child, S.edge_of_care_lever) < extra
        if offered or extra > 0:
            self._note(child, "edge_of_care", "diverted" if diverted else "not diverted")
        if diverted:
            if child.state == "cin":  # the old plan ends and a new one starts at once
                self._move(child, "cin_plan_end", "out", detail="edge_of_care")
            self._cin_plan(child, "edge_of_care")
            return
        child.drift_cut = 0.0
        self._move(child, "care_entry", "care", detail=event)
        self.env.process(self._care(child))

    # ------------------------------------------------------------------------------- care
    def _draw_need(self, child: Child, age: float) -> str:
        for band, (names, cum) in self.need_tables:
            if band.contains(age):
                return choose(names, cum, self.u(child, S.placement_need))
        names, cum = self.need_tables[-1][1]
        return choose(names, cum, self.u(child, S.placement_need))

    def _care(self, child: Child, case: Optional[OpenCase] = None):
        env = self.env
        now = env.now
        child.care_periods += 1
        if case is None:
            child.period_start = now
            age_entry = child.age(now)
            need = self._draw_need(child, age_entry)
            elapsed = 0.0
        else:
            elapsed = case.care_elapsed
            child.period_start = now - elapsed
            age_entry = child.age(child.period_start)
            need = NEED_OF_PLACEMENT[case.placement]
        if self._hazards is None:
            reason, exit_time = self._exit_route(child, need, age_entry, elapsed, case is None)
        else:  # competing hazards, drawn in `_placements_until`; the 18th birthday ends care otherwise
            reason, exit_time = "age18", now + max(child.time_to_18(now), 0.0)
        self._place(child, need, "snapshot" if case is not None else "entry",
                    preferred=case.placement if case is not None else None)
        team = self.teams["children_in_care"]
        team.request(child.id)  # a social worker when one has room; the wait is recorded
        lever_reason = yield from self._placements_until(child, exit_time)
        if lever_reason is not None:
            reason = lever_reason
        team.release(child.id)
        self._end_placement(child)
        child.placement = ""
        self._move(child, "care_exit", "out", detail=reason)
        self._after_care(child, reason)

    def _exit_route(self, child: Child, need: str, age_entry: float, elapsed: float, new: bool):
        """The exit route drawn at entry (`care.exit_routes`) and its time, with the levers that act
        on it: (reason, exit time)."""
        now = self.env.now
        _, kin_table, other_table = self.exit_tables[0]
        for band, kt, ot in self.exit_tables:
            if band.contains(age_entry):
                kin_table, other_table = kt, ot
                break
        table = kin_table if need == "kinship" else other_table
        route, d = self._plan_route(child, table, S.care_exit_route, S.care_exit_time, 1.0, elapsed)
        if route == "age18":
            d = INF
        if (new and need == "kinship" and route in KINSHIP_SGO_FROM and self._t_kinship_sgo.bound > 0.0
                and age_entry < 16 and "sgo" in table[3]):
            # kinship to SGO: a kinship entry that would stay in care leaves on an SGO instead, after
            # the SGO route's own time, if that comes sooner (the lever's share at entry)
            if self.u(child, S.lever_sgo) < self._t_kinship_sgo.value(now):
                d_sgo = table[3]["sgo"].sample(self.u(child, S.lever_sgo_time), 0.0, 1.0)
                if d_sgo < d:
                    route, d = "sgo", d_sgo
                    self._note(child, "lever_sgo")
        if route in PERMANENCE:
            d = self._shorten(d, elapsed, self._t_permanence)
        d, adult = self._capped(child, d)
        return ("age18" if adult else route), now + d

    def _exit_multipliers(self, child: Child, t: float, age: float) -> dict:
        """The levers' factors on the exit hazards at time t (reason index -> factor): kinship to
        SGO multiplies the SGO hazard of a child under 16 in kinship care by 1 / (1 - share), so the
        expected time to an SGO is that share shorter (the share at most 0.95); faster permanence
        multiplies the permanence hazards by M / (M - weeks), M the mean days to permanence of
        children entering this placement at this age, so that mean falls by the weeks stated (at
        most halved, as the exit routes are)."""
        out = {}
        kin = self._t_kinship_sgo
        if kin.bound > 0.0 and self._haz_sgo >= 0 and child.need == "kinship" and age < 16:
            s = min(kin.value(t), 0.95)
            if s > 0.0:
                out[self._haz_sgo] = 1.0 / (1.0 - s)
        perm = self._t_permanence
        if perm.bound > 0.0:
            w = perm.value(t)
            if w > 0.0:
                m = self._hazards.permanence_mean_days(child.need, child.age(child.period_start))
                if m < INF:
                    f = m / (m - min(7.0 * w, 0.5 * m))
                    for i in self._haz_permanence:
                        out[i] = out.get(i, 1.0) * f
        return out

    def _hazard_exit(self, child: Child) -> tuple[float, str]:
        """The next exit candidate under competing hazards: (time, reason, or '' for a re-draw then).

        The current cell's hazards give an exponential time; the cell's end (next age or time
        band), the 16th birthday while a kinship-to-SGO lever applies, and the first day an exit
        lever acts are re-draw points, so the draws before a lever starts are the baseline's. Once
        levers act, candidates come at their largest factors (the ramp's end) and are kept in
        proportion to the factor at their time (thinning: the exact time-varying hazards)."""
        now = self.env._now
        age = child.age(now)
        h, span = self._hazards.cell(child.need, age, now - child.period_start)
        kin, perm = self._t_kinship_sgo, self._t_permanence
        top = None
        if kin.bound > 0.0 or perm.bound > 0.0:
            starts = [x.start() for x in (kin, perm) if x.bound > 0.0]
            if min(starts) > now:  # no exit lever acts yet: the baseline's hazards until the first starts
                span = min(span, min(starts) - now)
            else:
                if kin.bound > 0.0 and child.need == "kinship" and age < 16:
                    span = min(span, child.dob + 16 * DAYS_PER_YEAR - now)
                if any(s > now for s in starts):
                    span = min(span, min(s for s in starts if s > now) - now)
                # the largest factors the levers reach (their full effect), for thinning
                kin_max = 1.0 / (1.0 - min(kin.bound, 0.95)) if kin.bound > 0.0 else 1.0
                top = {}
                if kin_max > 1.0 and self._haz_sgo >= 0 and child.need == "kinship" and age < 16:
                    top[self._haz_sgo] = kin_max
                if perm.bound > 0.0:
                    m = self._hazards.permanence_mean_days(child.need, child.age(child.period_start))
                    if m < INF:
                        f = m / (m - min(7.0 * perm.bound, 0.5 * m))
                        for i in self._haz_permanence:
                            top[i] = top.get(i, 1.0) * f
        span = max(span, EPS_DAYS)  # a re-draw point always lies ahead
        i, d = next_exit(h, span, self.u(child, S.care_exit_time), self.u(child, S.care_exit_route), top)
        if i is None:
            return now + d, ""
        if top and i in top:  # thinning: keep the candidate in proportion to the factor at its time
            factor = self._exit_multipliers(child, now + d, child.age(now + d)).get(i, 1.0)
            if self.u(child, S.lever_sgo) * top[i] >= factor:
                return now + d, ""
        return now + d, self._hazards.reasons[i]

    def _placements_until(self, child: Child, exit_time: float):
        """Placement moves until the exit: breakdowns, step-downs, moves to semi-independence,
        and exits brought forward by levers. Returns the exit reason if a lever ended the period.

        Each kind of event keeps its own scheduled time and is drawn again only when its rates
        change (a move, the 16th birthday), so a lever that is not yet acting changes nothing.
        Time-varying reductions (carer support) thin the scheduled breakdowns.
        """
        env, moves = self.env, self.p.care.moves
        reun, breakdown = self._t_reunification, self._t_breakdown
        semi = moves.semi_independent_from_16_per_year
        reun_max = reun.bound
        move_at = lever_at = None
        hazards = self._hazards is not None
        haz_at, haz_reason = (None, "") if hazards else (INF, "")
        rates = (0.0, 0.0, 0.0)
        which = lever_max = 0.0
        while True:
            now = env.now
            if now >= exit_time:
                return None
            grp, age = child.need, child.age(now)
            if move_at is None:
                rate = moves.breakdown_per_year.get(grp, 0.0)
                step = moves.step_down_residential_per_year if (grp == "residential" and age < 16) else 0.0
                to_semi = semi if (grp in ("foster", "residential") and age >= 16) else 0.0
                rates = (rate, step, to_semi)
                total = (rate + step + to_semi) / DAYS_PER_YEAR
                move_at = now - math.log(1.0 - self.u(child, S.placement_move_time)) / total if total > 0 else INF
                which = self.u(child, S.placement_move_kind) * (rate + step + to_semi)
            t16 = child.dob + 16 * DAYS_PER_YEAR
            if lever_at is None:
                # candidate exits at the lever's full rate from when it starts, under 16 only;
                # accepted in proportion to its ramp (thinning)
                # the reunification lever: children under 16 outside kinship care
                lever_max = reun_max if (age < 16 and child.placement != "kinship") else 0.0
                lever_at = INF
                if lever_max > 0:
                    lever_at = max(now, reun.start()) - math.log(1.0 - self.u(child, S.lever_exit_time)) / (
                        lever_max / DAYS_PER_YEAR)
                    if lever_at >= t16:
                        lever_at = INF
            if haz_at is None:  # competing exit hazards: the next exit in the current cell, or a re-draw point
                haz_at, haz_reason = self._hazard_exit(child)
            # move rates change at the 16th birthday: stop there and draw again
            age_rules = now < t16 and grp in ("foster", "residential") and (semi > 0 or rates[1] > 0)
            nxt = min(move_at, lever_at, exit_time, haz_at, t16 + 1e-6 if age_rules else INF)
            yield env.timeout(nxt - now)
            if nxt >= exit_time:
                return None
            if child.need != grp:  # moved meanwhile by a step-down to in-house foster care: draw again
                move_at = None
                if lever_max > 0:
                    lever_at = None
                if hazards:
                    haz_at = None
                continue
            if nxt == haz_at:
                haz_at = None
                if haz_reason:
                    return haz_reason
                continue  # a cell boundary: draw again in the next cell
            if nxt == t16 + 1e-6 and age_rules:
                move_at = None
                continue
            if nxt == lever_at:
                lever_at = None
                if self.u(child, S.lever_exit_accept) * lever_max < reun.value(env.now):
                    self._note(child, "lever_exit", "reunification")
                    return "reunification"
                continue
            # a placement move is due
            move_at = None
            rate, step, to_semi = rates
            if which < step:
                self._replace(child, "foster", "step_down")
            elif which < step + to_semi:
                self._replace(child, "semi_independent", "step_to_semi_independence")
            else:
                if grp == "foster" and breakdown.bound > 0.0:
                    if self.u(child, S.breakdown_prevented) < breakdown.value(env.now):
                        self._note(child, "breakdown_prevented")
                        continue
                table = self.next_need.get(grp)
                new_need = choose(*table, self.u(child, S.placement_next_need)) if table else grp
                if new_need == "semi_independent" and child.age(env.now) < 16:
                    new_need = "foster"
                self._replace(child, new_need, "breakdown")
            if lever_max > 0:
                lever_at = None  # eligibility may change with the placement
            if hazards:
                haz_at = None  # the exit hazards are the new placement's

    def _after_care(self, child: Child, reason: str):
        now = self.env._now
        t18 = child.time_to_18(now)
        child.closure = "reunification" if reason == "reunification" else (
            "care_exit" if reason in ("sgo", "cao", "other") else "")
        if reason == "sgo" and self.u(child, S.allowance) < self.p.care.sgo_allowance_share and t18 > 0:
            self.allowances.append((child.id, now, now + t18, "sgo"))
        elif reason == "adoption" and self.u(child, S.allowance) < self.p.care.adoption_allowance_share and t18 > 0:
            self.allowances.append((child.id, now, now + t18, "adoption"))
        if reason == "reunification" and self._maybe_reenter(child):
            return
        if reason not in ("reunification", "sgo", "cao", "other") or not self._maybe_recontact(child, "care_exit"):
            self._retire(child)

    def _maybe_reenter(self, child: Child, elapsed: float = 0.0) -> bool:
        """Perhaps bring a child who went home back into care (conditional on `elapsed`, as above)."""
        re = self.p.care.reentry
        p = re.probability
        if elapsed > 0.0:
            s = re.delay.sf(elapsed)
            p = p * s / (1.0 - p + p * s) if p * s > 0 else 0.0
        u = self.u(child, S.reentry)
        d = re.delay.sample(self.u(child, S.reentry_delay), elapsed)
        if u < p and d < child.time_to_18(self.env._now) and self.env._now + d < self.horizon:
            self.env.process(self._reenter(child, d))
            return True
        return False

    def _reenter(self, child: Child, delay: float):
        yield self.env.timeout(delay)
        if child.state != "out":
            return
        self._move(child, "care_entry", "care", detail="reentry")
        yield from self._care(child)

    # -------------------------------------------------------------------------- placements
    def _search(self, child: Child, need: str, exclude_carer=None, preferred: Optional[str] = None) -> Optional[str]:
        """Find a placement for a need: in-house first, then block, then the external market (the
        order of each need's types is sim/placements.py's `fallback`)."""
        if need in ALWAYS_AVAILABLE:
            return need
        if need == "foster":
            if child.inhouse_ok is None:  # decided once per placement need, not at every retry
                child.inhouse_ok = self.u(child, S.inhouse_suitable) < self.p.care.inhouse_foster_suitable_share
            suitable = child.inhouse_ok
            if preferred is not None:  # a snapshot child stays with the kind of carer they have
                suitable = preferred == "foster_inhouse"
            if suitable:
                carer = self.foster.take(exclude=exclude_carer)
                if carer is not None:
                    child.carer = carer
                    carer.placed.append(child)
                    return "foster_inhouse"
            where = self.beds["foster_ifa"].take()
            if not where:
                return None
            if where == OUT_OF_AREA:
                self._out_of_area.add(child.id)
            return "foster_ifa"
        order = SEARCH_ORDER.get(need)  # residential, semi-independent: bed pools, first fit
        if order is None:
            raise ValueError(f"unknown placement need {need!r}")
        order = list(order)
        if preferred in order:  # a snapshot child stays where they are if there is room
            order.remove(preferred)
            order.insert(0, preferred)
        for name in order:
            where = self.beds[name].take()
            if where:
                if where == OUT_OF_AREA:
                    self._out_of_area.add(child.id)
                if name == "residential_spot":
                    child.high_cost = self.u(child, S.spot_cost) < self.p.care.spot_residential_over_4100_share
                return name
        return None

    def _place(self, child: Child, need: str, reason: str, preferred: Optional[str] = None, exclude_carer=None):
        child.need = need
        child.inhouse_ok = None
        placement = self._search(child, need, exclude_carer, preferred)
        old = child.placement
        if placement is None:
            placement = "awaiting"
            self.waiting_for_placement[child.id] = child
        detail = reason + (",over_4100" if placement == "residential_spot" and child.high_cost else "")
        if child.id in self._out_of_area:
            detail += ",out_of_area"
        self.log.add(self.env._now, child.id, "placed", "care", "care", placement, old, detail)
        child.placement = placement
        if need == "residential" and self._could_foster > 0.0:
            self._maybe_could_foster(child)

    def _release(self, placement: str, carer, child: Optional[Child] = None, out_of_area: bool = False) -> None:
        """Give back the place a child left (`out_of_area`: a market's out-of-area place)."""
        if placement == "foster_inhouse":
            if child is not None and child in carer.placed:
                carer.placed.remove(child)
            self.foster.give_back(carer)
        elif placement in self.beds:
            self.beds[placement].give_back(out_of_area)
        if placement in self.beds or placement == "foster_inhouse":
            self._serve_waiting()
            if placement == "foster_inhouse" and not carer.resigned:
                self._offer_step_down()

    def _left_out_of_area(self, child: Child) -> bool:
        """Whether the placement the child is leaving was out of area (forgotten: the next one says anew)."""
        if child.id in self._out_of_area:
            self._out_of_area.discard(child.id)
            return True
        return False

    def _replace(self, child: Child, new_need: str, reason: str):
        old, old_carer = child.placement, child.carer
        if old == "awaiting":
            self.waiting_for_placement.pop(child.id, None)
        child.carer = None
        child.high_cost = False
        old_out = self._left_out_of_area(child)
        self._place(child, new_need, reason, exclude_carer=old_carer)
        self._release(old, old_carer, child, old_out)

    def _end_placement(self, child: Child):
        old, carer = child.placement, child.carer
        child.carer = None
        child.high_cost = False
        if old == "awaiting":
            self.waiting_for_placement.pop(child.id, None)
        child.placement = ""
        self.log.add(self.env._now, child.id, "placement_end", "care", "care", "", old, "exit")
        self._release(old, carer, child, self._left_out_of_area(child))

    # ------------------------------------------------------- residential -> in-house fostering
    def _maybe_could_foster(self, child: Child) -> None:
        """A child placed in residential care under 16 whose needs a foster family could meet (a
        share, drawn once a placement) waits for an in-house foster place, first come first served."""
        if child.age(self.env._now) >= 16:
            return
        if self.u(child, S.foster_match) < self._could_foster:
            self._step_down_queue[child.id] = child
            self._offer_step_down()

    def _offer_step_down(self) -> None:
        """Match children who could be fostered to free in-house places (one place each, held while
        the match is made); children waiting for any placement come first."""
        queue = self._step_down_queue
        if not queue or self.waiting_for_placement:
            return
        free = self.foster.free_places() - self._matches_pending
        now = self.env._now
        while free > 0 and queue:
            cid = next(iter(queue))
            child = queue.pop(cid)
            if child.state != "care" or child.need != "residential" or child.age(now) >= 16:
                continue
            free -= 1
            self._matches_pending += 1
            d = self._foster_matching.sample(self.u(child, S.foster_match), 0.0) if self._foster_matching else 0.0
            self.env.process(self._at(d, partial(self._step_down_inhouse, child)))

    def _step_down_inhouse(self, child: Child) -> None:
        self._matches_pending -= 1
        if child.state != "care" or child.need != "residential" or child.age(self.env._now) >= 16:
            self._offer_step_down()
            return
        carer = self.foster.take()
        if carer is None:  # the place went meanwhile: wait for the next one, at the front
            self._step_down_queue[child.id] = child
            self._step_down_queue.move_to_end(child.id, last=False)
            return
        old, old_carer = child.placement, child.carer
        if old == "awaiting":
            self.waiting_for_placement.pop(child.id, None)
        child.need = "foster"
        child.inhouse_ok = True
        child.carer = carer
        carer.placed.append(child)
        child.high_cost = False
        self.log.add(self.env._now, child.id, "placed", "care", "care", "foster_inhouse", old, "step_down_inhouse")
        child.placement = "foster_inhouse"
        self._release(old, old_carer, child, self._left_out_of_area(child))

    # --------------------------------------------------------- a carer resigns: children move
    def _carer_left(self, carer) -> None:
        """Each child placed with a carer who resigns moves on within the stated weeks (uniform)."""
        lo, hi = self._resign_move
        for child in list(carer.placed):
            d = 7.0 * (lo + (hi - lo) * self.u(child, S.carer_left_move))
            self.env.process(self._at(d, partial(self._carer_left_move, child, carer)))

    def _carer_left_move(self, child: Child, carer) -> None:
        if child.state == "care" and child.carer is carer and child.placement == "foster_inhouse":
            self._replace(child, "foster", "carer_left")

    def _serve_waiting(self):
        for cid in list(self.waiting_for_placement):
            child = self.waiting_for_placement[cid]
            placement = self._search(child, child.need)
            if placement is None:
                continue
            del self.waiting_for_placement[cid]
            self.log.add(self.env._now, child.id, "placed", "care", "care", placement, "awaiting",
                         "waited" + (",over_4100" if placement == "residential_spot" and child.high_cost else "")
                         + (",out_of_area" if child.id in self._out_of_area else ""))
            child.placement = placement

    # -------------------------------------------------------------------------- foster pool
    def _start_foster_pool(self):
        fc = self.p.capacity.foster_carers
        self._places_table = cumulative({str(k): v for k, v in fc.places_per_carer.items()})
        for _ in range(fc.initial_carers):
            self._join_carer()
        self.env.process(self._carer_joiners())
        if self._t_joiners.bound > 0.0:
            self.env.process(self._extra_carer_joiners())

    def _join_carer(self, stream_prefix: str = ""):
        fc = self.p.capacity.foster_carers
        places = int(choose(*self._places_table, self.streams.glob(stream_prefix + "carer_places").uniform()))
        carer = self.foster.add_carer(places)
        u = self.streams.glob(stream_prefix + "carer_tenure").uniform()
        if fc.leaving_rate_per_year > 0:
            tenure = -math.log(1.0 - u) / fc.leaving_rate_per_year * DAYS_PER_YEAR
            if self.env._now + tenure < self.horizon:
                self.env.process(self._carer_resigns(carer, tenure))
        if places and self.waiting_for_placement:
            self._serve_waiting()
        if places and self._step_down_queue:
            self._offer_step_down()

    def _carer_resigns(self, carer, tenure):
        fc = self.p.capacity.foster_carers
        while True:
            yield self.env.timeout(tenure)
            # a retention lever cancels a share of resignations; the carer stays on afresh
            if self._t_leaving.bound > 0.0:
                g = self.streams.glob("carer_retention")
                if g.uniform() < self._t_leaving.value(self.env._now):
                    tenure = -math.log(1.0 - g.uniform()) / fc.leaving_rate_per_year * DAYS_PER_YEAR
                    if self.env._now + tenure < self.horizon:
                        continue
                    return
            self.foster.resign(carer)
            if self._resign_move is not None:
                self._carer_left(carer)
            return

    def _carer_joiners(self):
        """Baseline recruitment: Poisson joiners at the yearly rate."""
        fc = self.p.capacity.foster_carers
        g = self.streams.glob("carer_joiners")
        env = self.env
        lam = fc.joiners_per_year / DAYS_PER_YEAR
        if lam <= 0:
            return
        while True:
            t = env.now - math.log(1.0 - g.uniform()) / lam
            if t >= self.horizon:
                return
            yield env.timeout(t - env.now)
            self._join_carer()

    def _extra_carer_joiners(self):
        """Recruitment added by a lever: its own stream, thinned by the lever's ramp, so the
        baseline's carers join exactly as they would without it."""
        g = self.streams.glob("carer_joiners_lever")
        env = self.env
        joiners = self._t_joiners
        lam_max = joiners.bound / DAYS_PER_YEAR
        while lam_max > 0:
            t = env.now - math.log(1.0 - g.uniform()) / lam_max
            if t >= self.horizon:
                return
            accept = g.uniform() * lam_max <= joiners.value(t) / DAYS_PER_YEAR
            yield env.timeout(t - env.now)
            if accept:
                self._join_carer(stream_prefix="lever_")

    # ------------------------------------------------------------------------ open caseload
    def _start_open_case(self, case: OpenCase):
        child = Child(case.child_id, case.dob)
        child.cp_plans = case.previous_cp_plans
        if case.last_referral is not None:
            child.last_referral = case.last_referral
        self.children[child.id] = child
        if case.state == "closed":
            # not open, but recently closed: they may still come back (conditional on not yet)
            child.closure = case.closure
            child.state_since = -case.state_elapsed
            if case.closure == "reunification" and self._maybe_reenter(child, case.state_elapsed):
                return
            kind = "care_exit" if case.closure == "reunification" else case.closure
            if (kind == "cin_closed" or kind == "cp_closed") and self._repeat_plans and self._maybe_repeat(
                    child, case.state_elapsed):
                return
            if not kind or not self._maybe_recontact(child, kind, case.state_elapsed):
                self._retire(child)
            return
        child.state = case.state
        child.state_since = -case.state_elapsed
        # detail keeps the days already spent in the stage and in care, for plan-length measures
        self.log.add(0.0, child.id, "snapshot", "", case.state, "", "", f"{case.state_elapsed:.2f};{case.care_elapsed:.2f}")
        if case.state == "contact":
            self._contact(child, case.state_elapsed)
            return
        if case.state == "assessment":
            child.last_referral = -case.state_elapsed
            self._assessment(child, case.state_elapsed)
        elif case.state == "s47":
            self._s47(child, "snapshot", case.state_elapsed)
        elif case.state == "cin":
            child.cin_plans = 1
            self._cin_plan(child, "snapshot", case.state_elapsed)
        elif case.state == "cp":
            child.cp_plans = max(1, case.previous_cp_plans + 1)
            self._cp_plan(child, case.state_elapsed)
        elif case.state == "care":
            self.env.process(self._care(child, case))
        else:
            raise ValueError(f"snapshot child {case.child_id}: unknown state {case.state!r}")

    # ---------------------------------------------------------------------------- results
    def open_cases(self, recent_days: float = 730.0) -> list[OpenCase]:
        """The caseload at the current time, as a snapshot a later run can start from: open
        cases, and children closed within `recent_days` who may return."""
        now = self.env._now
        cases = []
        for c in self.children.values():
            if c.age(now) >= 18:
                continue
            if c.state == "out":
                # recently closed children who may come back are part of the caseload's future
                if c.closure and now - c.state_since <= recent_days:
                    cases.append(OpenCase(
                        child_id=c.id, dob=c.dob - now, state="closed", state_elapsed=now - c.state_since,
                        care_elapsed=0.0, placement="", previous_cp_plans=c.cp_plans, closure=c.closure,
                        last_referral=(c.last_referral - now) if c.last_referral is not None else None))
                continue
            placement = c.placement if c.state == "care" else ""
            if placement == "awaiting":
                placement = LAST_RESORT.get(c.need, "other")
            cases.append(OpenCase(
                child_id=c.id, dob=c.dob - now, state=c.state, state_elapsed=now - c.state_since,
                care_elapsed=(now - c.period_start) if c.state == "care" else 0.0,
                placement=placement, previous_cp_plans=max(0, c.cp_plans - (1 if c.state == "cp" else 0)),
                last_referral=(c.last_referral - now) if c.last_referral is not None else None,
            ))
        return cases
