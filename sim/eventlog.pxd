# C types for the compiled build of eventlog.py (see sim/core.py); the .py stays the source.
cdef class EventLog:
    cdef public object times, children, kinds
    cdef public dict kind_table

    cpdef add(self, double time, long long child, str event, str from_state, str to_state,
              str placement=*, str from_placement=*, str detail=*)
