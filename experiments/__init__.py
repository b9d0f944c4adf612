"""Experiments: scenario sets, replications with common random numbers, and the business case."""
