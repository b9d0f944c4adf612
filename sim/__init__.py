"""carepath simulation core: a SimPy model of the children's social care pathway.

The core does no file I/O and no plotting; see `sim.runner` for one replication and `sim.cli`
for the command line.
"""
__version__ = "0.1.0"
