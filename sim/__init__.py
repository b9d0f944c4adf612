"""carepath simulation core: a SimPy model of the children's social care pathway.

The core does no file I/O and no plotting; see `sim.runner` for one replication; the command
line is the `carepath` package's. `sim.core` chooses between the compiled and the Python build of the
model's inner modules (the same results either way).
"""
from . import core as _core

__version__ = "0.1.0"
__carepath__ = True  # checked by carepath at start-up: this package is carepath's own
_core.select()
