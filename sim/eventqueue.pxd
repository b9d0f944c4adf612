# C types for the compiled build of eventqueue.py (see sim/core.py); the .py stays the source.
cimport cython

cdef class Booked:
    cdef public long what
    cdef public object child, o
    cdef public long long i
    cdef public double x
    cdef public str s
    cdef public bint flag

@cython.locals(b=Booked)
cpdef Booked booking(long what, object child=*, long long i=*, double x=*, str s=*, bint flag=*, object o=*)

cdef class Dispatcher:
    cpdef dispatch(self, Booked booked)

cdef class Heap:
    cdef double[::1] _t
    cdef int[::1] _p
    cdef long long[::1] _e
    cdef list _f
    cdef Py_ssize_t _n, _cap
    cdef object _ta, _pa, _ea
    cdef public double now

    cpdef _grow(self, Py_ssize_t cap)
    @cython.locals(i=Py_ssize_t, j=Py_ssize_t, t="double[::1]", p="int[::1]", e="long long[::1]", f=list)
    cpdef push(self, double time, int priority, long long eid, object event)
    @cython.locals(i=Py_ssize_t, c=Py_ssize_t, d=Py_ssize_t, n=Py_ssize_t, time=cython.double, priority=cython.int,
                   eid=cython.longlong, t="double[::1]", p="int[::1]", e="long long[::1]", f=list)
    cpdef object pop(self)

@cython.locals(heap=Heap)
cpdef book(object env, double delay, object event, int priority=*)

@cython.locals(heap=Heap)
cpdef run(object env, double until, Dispatcher dispatcher=*)
