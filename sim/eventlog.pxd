# C types for the compiled build of eventlog.py (see sim/core.py); the .py stays the source.
cdef class EventLog:
    cdef public dict kind_table
    cdef public list _times, _children, _kinds, _chunks
    cdef public long long _chunked

    cpdef add(self, double time, long long child, str event, str from_state, str to_state,
              str placement=*, str from_placement=*, str detail=*)
    cpdef _flush(self)
