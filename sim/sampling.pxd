# C types for the compiled build of sampling.py (see sim/core.py); the .py stays the source.
cimport cython
cdef class Sampler:
    cdef public object dist
    cdef public int kind
    cdef public double a, b

    cpdef double sample(self, double u, double elapsed=*, double scale=*)
    @cython.locals(kind=int)
    cpdef double ppf(self, double p)
