# C types for the compiled build of eventlog.py (see sim/core.py); the .py stays the source.
cimport cython

cdef class EventLog:
    cdef public dict kind_table
    cdef public list _times, _children, _kinds, _chunks
    cdef public long long _chunked
    cdef object _tarr, _carr, _karr
    cdef double[::1] _tbuf
    cdef long long[::1] _cbuf
    cdef int[::1] _kbuf
    cdef long _n

    cpdef _new_arrays(self)
    @cython.locals(n=cython.long)
    cpdef add(self, double time, long long child, str event, str from_state, str to_state,
              str placement=*, str from_placement=*, str detail=*)
    @cython.locals(n=cython.long)
    cpdef _flush(self)
