# C types for the compiled build of child.py (see sim/core.py); the .py stays the source.
cimport cython

cdef class Child:
    cdef public long long id
    cdef public unsigned long long hash
    cdef public double dob
    cdef public double state_since, drift_cut
    cdef public str state, placement, need, closure, repeat_kind
    cdef public object carer, last_referral, period_start, return_referral_p, inhouse_ok
    cdef public bint high_cost
    cdef public long cin_plans, cp_plans, care_periods
    cdef public list contacts, draws
    cdef public object ahead
    # the compiled build's draw counts and draws computed ahead (see the class's docstring)
    cdef int _draws[40]
    cdef double _ahead[24]
    cdef bint has_ahead

    @cython.locals(j=Py_ssize_t)
    cpdef take_ahead(self, double[::1] ahead)
    cpdef double age(self, double t)
    cpdef double time_to_18(self, double t)
