"""carepath's model: a SimPy simulation of a council's children's social care pathway.

The public API, for a notebook or a script (see docs/api.md):

    import sim
    params = sim.load_params("experiments/baseline.yaml")
    snapshot = sim.load_snapshot(params, "experiments/baseline.yaml")
    result = sim.run_replication(params, seed=1, replication=0, snapshot=snapshot)
    summary = sim.summary_by_fy(result)                     # tidy: measure by financial year
    many = sim.run_replications(params, seed=1, replications=10, snapshot=snapshot, workers=2)

The model does no file I/O beyond reading its inputs, and no plotting: the command line and
output files are the `carepath` package's. `sim.core` chooses between the compiled and the
Python build of the model's inner modules (the same results either way).
"""
from importlib import import_module

from . import core as _core

__version__ = "0.1.0"
__carepath__ = True  # checked by carepath at start-up: this package is carepath's own
_core.select()

# name -> the module that defines it; imported when first used (a notebook pays only for what
# it uses, and the package's own modules never import each other through it)
_API = {
    # parameters and the starting caseload
    "Params": "params", "ParamsError": "params", "load_params": "params", "params_from_dict": "params",
    "params_yaml": "params",
    "OpenCase": "initial", "SnapshotError": "initial", "read_snapshot": "inputs", "resolve_snapshot": "inputs",
    "load_snapshot": "inputs",
    # levers: the catalogue, a lever as scenario files write it, and what the model reads
    "CATALOGUE": "levers", "Lever": "levers", "LeverError": "levers", "build_mechanisms": "levers",
    # placement types
    "PLACEMENT_TYPES": "vocab", "PLACEMENT_GROUP": "vocab",
    # one replication, and many
    "run_replication": "runner", "ReplicationResult": "runner",
    "Job": "replications", "run_jobs": "replications", "run_replications": "replications",
    "ReplicationOutput": "replications", "frames": "replications",
    "LocalBackend": "backends", "make_backend": "backends",
    # measures: pure functions of a replication's result
    "summary_by_fy": "measures", "stocks_by_month": "measures",
    "FinancialYear": "calendar",
}
__all__ = [  # everything in _API, and the version (tested to agree)
    "CATALOGUE", "FinancialYear", "Job", "Lever", "LeverError", "LocalBackend", "OpenCase", "PLACEMENT_GROUP",
    "PLACEMENT_TYPES", "Params", "ParamsError", "ReplicationOutput", "ReplicationResult", "SnapshotError",
    "build_mechanisms", "frames", "load_params", "load_snapshot", "make_backend", "params_from_dict", "params_yaml",
    "read_snapshot", "resolve_snapshot", "run_jobs", "run_replication", "run_replications", "stocks_by_month",
    "summary_by_fy", "__version__",
]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))
