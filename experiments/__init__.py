"""Experiments: scenario sets, replications with common random numbers, and the business case."""

__carepath__ = True  # checked by carepath at start-up: this package is carepath's own
