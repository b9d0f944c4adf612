"""What the model books on its queue comes back to the right method with the right arguments.

The frequent bookings are `Booked` entries (a method's number, the child, the arguments), not
`partial`s, so the pathway's `dispatch` must map each number to its method; the two builds only
compare with each other, so a swapped number would pass `test_compiled_core`. These tests pin the
mapping, and a case that turns 18 while waiting for an assessment (the one booking that names a
team) closes in the assessment team."""
from __future__ import annotations

import gc

import numpy as np
import pytest

from sim import eventqueue, pathway
from sim.child import DAYS_PER_YEAR, Child
from sim.eventqueue import booking
from sim.pathway import Pathway
from sim.runner import run_replication


class Recorder(Pathway):  # a subclass: the compiled Pathway's instances take no new attributes
    def _leaf_closed(self, cid, dob, outcome):
        CALLS.append(("leaf_closed", cid, dob, outcome))

    def _screened(self, child):
        CALLS.append(("screened", child))

    def _assessment_end(self, child, adult):
        CALLS.append(("assessment_end", child, adult))

    def _return(self, child, rp, repeat=""):
        CALLS.append(("return", child, rp, repeat))

    def _cin_plan_end(self, child, route, adult):
        CALLS.append(("cin_plan_end", child, route, adult))

    def _cp_plan_end(self, child, route, adult):
        CALLS.append(("cp_plan_end", child, route, adult))

    def _s47_end(self, child, adult):
        CALLS.append(("s47_end", child, adult))

    def _age_out_waiting(self, child, team):
        CALLS.append(("age_out_waiting", child, team))


CALLS: list = []


def test_each_booking_reaches_its_method_with_its_arguments(baseline_params):
    model = Recorder(baseline_params, 1, 0)
    child = Child(7, -2000.0, 0)
    K, T = pathway.BOOKING_KINDS, pathway.WAITING_TEAMS
    cases = [
        (booking(K["leaf_closed"], i=12, x=-300.5, s="nfa"), ("leaf_closed", 12, -300.5, "nfa")),
        (booking(K["screened"], child), ("screened", child)),
        (booking(K["assessment_end"], child, flag=True), ("assessment_end", child, True)),
        (booking(K["return"], child, o=0.25), ("return", child, 0.25, "")),
        (booking(K["return"], child, o=None), ("return", child, None, "")),
        (booking(K["return"], child, s="cp", o=1.0), ("return", child, 1.0, "cp")),  # back into a repeat CP plan
        (booking(K["cin_plan_end"], child, s="s47", flag=False), ("cin_plan_end", child, "s47", False)),
        (booking(K["cp_plan_end"], child, s="closed", flag=True), ("cp_plan_end", child, "closed", True)),
        (booking(K["s47_end"], child, flag=False), ("s47_end", child, False)),
        (booking(K["age_out_waiting"], child, i=T["front_door"]), ("age_out_waiting", child, model.teams["front_door"])),
        (booking(K["age_out_waiting"], child, i=T["assessment"]), ("age_out_waiting", child, model.teams["assessment"])),
    ]
    for b, expected in cases:
        CALLS.clear()
        model.dispatch(b)
        assert len(CALLS) == 1
        got = CALLS[0]
        assert got[0] == expected[0] and got[1:] == expected[1:], (got, expected)
        assert all(type(g) is type(e) for g, e in zip(got, expected)), (got, expected)
    assert {b.what for b, _ in cases} == set(K.values()) and len(K) == 8  # every kind the model books


def test_a_dispatched_entry_is_reused_and_holds_nothing_meanwhile(baseline_params):
    """`dispatch` puts the entry back among the spares before calling its method (which may book
    again): it must not keep the child alive, and the next booking takes it with new values."""
    import sys

    model = Recorder(baseline_params, 1, 0)
    K = pathway.BOOKING_KINDS
    child = Child(7, -2000.0, 0)
    alone = sys.getrefcount(child)
    b = model._booking(K["return"], child, o=0.5)
    assert sys.getrefcount(child) == alone + 1  # the entry holds the child
    CALLS.clear()
    model.dispatch(b)
    assert CALLS == [("return", child, 0.5, "")]
    CALLS.clear()
    assert b.child is None and b.o is None  # a spare refers to nothing
    assert sys.getrefcount(child) == alone  # so it keeps no child alive
    other = Child(8, -1000.0, 0)
    again = model._booking(K["cin_plan_end"], other, s="closed", flag=True)
    assert again is b  # reused
    model.dispatch(again)
    assert CALLS == [("cin_plan_end", other, "closed", True)]
    fresh = model._booking(K["screened"], other)
    assert model._booking(K["screened"], other) is not fresh  # no spare left: a new entry


def test_an_unknown_booking_or_team_is_refused(baseline_params):
    model = Recorder(baseline_params, 1, 0)
    child = Child(7, -2000.0, 0)
    with pytest.raises(ValueError, match="unknown booking"):
        model.dispatch(booking(99, child))
    with pytest.raises(ValueError, match="team"):
        model.dispatch(booking(pathway.BOOKING_KINDS["age_out_waiting"], child))  # no team given


def test_a_queue_with_bookings_and_no_one_to_dispatch_them_says_so():
    env = eventqueue.Environment()
    eventqueue.book(env, 0.5, booking(pathway.BOOKING_KINDS["screened"]))
    with pytest.raises(TypeError, match="dispatch"):
        eventqueue.run(env, 1.0)


def test_a_case_turning_18_while_waiting_for_an_assessment_closes_then(baseline_dict, with_years, build, snapshot):
    """With no assessment social workers every referral waits; those who turn 18 first close on
    their birthday, never allocated, in the assessment team's queue."""
    d = with_years(baseline_dict, 1)
    d["capacity"]["teams"]["assessment"]["workers"] = 0
    r = run_replication(build(d), 11, 0, snapshot=snapshot)
    ev = r.events
    aged = ev[(ev["event"] == "assessment_complete") & (ev["detail"] == "turned 18")]
    assert len(aged) >= 20
    dob = r.children.set_index("child")["dob"]
    birthday = dob.loc[aged["child"]].to_numpy() + 18 * DAYS_PER_YEAR
    np.testing.assert_allclose(aged["time"].to_numpy(), np.maximum(birthday, 0.0), atol=1e-6)
    waits = r.team_waits[r.team_waits["team"] == "assessment"].set_index("case")
    w = waits.loc[aged["child"]]
    assert not w["allocated"].any()
    np.testing.assert_allclose(w["until"].to_numpy(), aged["time"].to_numpy())
    assert not (r.team_waits[r.team_waits["team"] == "assessment"]["allocated"]).any()


def test_the_garbage_collector_comes_back_when_a_replication_fails(baseline_params, monkeypatch):
    import sim.runner as runner

    class Failing(Pathway):
        def run(self):
            raise RuntimeError("a failed run")

    monkeypatch.setattr(runner, "Pathway", Failing)
    gc.enable()
    with pytest.raises(RuntimeError, match="a failed run"):
        runner.run_replication(baseline_params, 1, 0)
    assert gc.isenabled()
