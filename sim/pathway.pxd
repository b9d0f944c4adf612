# C types for the compiled build of pathway.py (see sim/core.py); the .py stays the source.
cimport cython
from sim.child cimport Child
from sim.capacity cimport Team
from sim.eventlog cimport EventLog
from sim.sampling cimport Sampler
from sim.eventqueue cimport book, booking, Booked, Dispatcher
from sim.streams cimport GlobalStream

cdef unsigned long long GOLDEN, M64, MIX1, MIX2
cdef double INV53
cdef long N_AHEAD, N_SECOND, AT_SECOND
cdef long LEAF_CLOSED, SCREENED, ASSESSMENT_END, RETURN, CIN_PLAN_END, CP_PLAN_END, S47_END, AGE_OUT_WAITING
cdef long FRONT_DOOR_TEAM, ASSESSMENT_TEAM

cdef object _choose(tuple table, double u)

cdef class Pathway(Dispatcher):
    cdef public EventLog log
    cdef public Team _front_door, _assessment_team, _safeguarding
    cdef public object p, env, streams, mech, caplog, start, _snapshot, screening
    cdef public object _escalation_contacts, _recontact
    cdef public object _t_divert, _t_kinship_sgo, _t_reunification, _t_permanence, _t_repeat, _t_into_care_shorter
    cdef public object _t_cin_shorter, _t_cp_shorter, _t_joiners, _t_breakdown, _t_leaving
    cdef public Sampler _screening, _assessment_duration, _s47_duration
    cdef public dict _recontact_delay, _repeat_plans, _repeat_delay
    cdef public object _resign_move, _foster_matching, _step_down_queue
    cdef public object _hazards, _haz_permanence
    cdef public long _haz_sgo
    cdef public double _could_foster
    cdef public long _matches_pending
    cdef public object retired_ids, retired_dobs, foster
    cdef public bint trace, keep_closed, _leaves
    cdef public double horizon, cin_mean, cp_mean, _escalation_window, _nfa_before_assessment
    cdef public long long _n_contact_children, _n_direct_children, _ahead_block, _id_base
    cdef public list allowances, _keys, _ahead_hashes, _ahead_screening, month_index
    cdef double[:, ::1] _ahead_rows
    cdef public list need_tables, exit_tables
    cdef list _spare
    cdef public dict children, route_means, next_need, beds, teams, waiting_for_placement
    cdef public set _out_of_area
    cdef public tuple fd_outcomes, assess_outcomes, s47_outcomes, cin_routes, cp_routes
    cdef public tuple contact_ages, direct_ages, _places_table

    @cython.locals(k=cython.long, key=cython.ulonglong, x=cython.ulonglong, draws=list, ahead=list)
    cpdef double u(self, Child child, long stream)

    cpdef run_events(self, double until)
    @cython.locals(b=Booked, spare=list)
    cpdef Booked _booking(self, long what, object child=*, long long i=*, double x=*, str s=*, bint flag=*, object o=*)
    @cython.locals(w=cython.long, i=cython.longlong, x=cython.double, s=str, flag=cython.bint)
    cpdef dispatch(self, Booked b)
    @cython.locals(g=GlobalStream, growth_max=cython.double, lam_max=cython.double, t=cython.double, times=list,
                   base=cython.double, growth=cython.double, lam=cython.double, month=list)
    cpdef list _arrival_times(self, object rate, str stream)
    cpdef _after(self, double delay, object fn)
    cpdef _arrive(self, object times, object start_child)
    @cython.locals(block=cython.longlong, i=cython.long)
    cpdef long _ahead_index(self, long long n) except -1
    @cython.locals(n=cython.longlong, cid=cython.longlong, child=Child, age=cython.double, dob=cython.double,
                   ahead="double[::1]", screening=cython.double, i=cython.long)
    cpdef _new_contact(self)
    @cython.locals(team=Team, now=cython.double, closed=cython.double, back=cython.double)
    cpdef bint _leaf_contact(self, long long cid, double dob, double[::1] ahead, double d)
    cpdef _leaf_closed(self, long long cid, double dob, str outcome)
    @cython.locals(now=cython.double)
    cpdef _move(self, Child child, str event, str to_state, str detail=*)
    cpdef _note(self, Child child, str event, str detail=*)
    @cython.locals(t18=cython.double)
    cpdef tuple _capped(self, Child child, double d)
    cpdef _close(self, Child child, str event, str detail, object recontact)
    cpdef _retire(self, Child child)
    @cython.locals(p=cython.double, s=cython.double, d=cython.double)
    cpdef bint _maybe_recontact(self, Child child, str kind, double elapsed=*, double extra=*)
    cpdef _return(self, Child child, object referral_probability, str repeat=*)
    @cython.locals(team=Team, t18=cython.double)
    cpdef _contact(self, Child child, double elapsed=*)
    cpdef _age_out_waiting(self, Child child, Team team)
    @cython.locals(d=cython.double)
    cpdef _screen(self, Child child, double elapsed)
    @cython.locals(now=cython.double, u=cython.double, window_start=cython.double)
    cpdef _screened(self, Child child)
    @cython.locals(now=cython.double)
    cpdef _referral(self, Child child, bint escalated)
    @cython.locals(team=Team)
    cpdef _assessment(self, Child child, double elapsed=*)
    @cython.locals(d=cython.double)
    cpdef _assessment_start(self, Child child, double elapsed)
    cpdef _assessment_end(self, Child child, bint adult)
    @cython.locals(team=Team, d=cython.double)
    cpdef _s47(self, Child child, str event, double elapsed=*)
    cpdef _s47_end(self, Child child, bint adult)
    cpdef double _shorten(self, double d, double elapsed, object term)
    @cython.locals(u=cython.double, acc=cython.double, total=cython.double, d=cython.double, dist=Sampler)
    cpdef tuple _plan_route(self, Child child, tuple table, long route_stream, long time_stream, double scale, double elapsed=*)
    @cython.locals(team=Team, d=cython.double)
    cpdef _cin_plan(self, Child child, str event, double elapsed=*)
    cpdef _cin_plan_end(self, Child child, str route, bint adult)
    @cython.locals(team=Team, d=cython.double)
    cpdef _cp_plan(self, Child child, double elapsed=*)
    cpdef _cp_plan_end(self, Child child, str route, bint adult)
    cpdef _toward_care(self, Child child, str event)
