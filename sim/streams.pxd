# C types for the compiled build of streams.py (see sim/core.py); the .py stays the source.
cdef class GlobalStream:
    cdef public str name
    cdef public object rng
    cdef public list _u
    cdef public long _i

    cpdef double uniform(self)
