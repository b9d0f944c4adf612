# C types for the compiled build of capacity.py (see sim/core.py); the .py stays the source.
cdef class Team:
    cdef public str name
    cdef public double caseload_limit, workers, extra_workers
    cdef public long capacity, n_allocated
    cdef public bint keep_cases
    cdef public object log, clock
    cdef public set allocated
    cdef public dict waiting
    cdef public list waits, worker_changes

    cpdef bint request(self, long long case)
    cpdef on_allocate(self, long long case, object callback)
    cpdef release(self, long long case)
    cpdef _allocate_waiting(self)
    cpdef _record(self)
