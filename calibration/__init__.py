"""Calibration: turn a council's activity data (SSDA903, CIN census, contacts) into parameters."""

__carepath__ = True  # checked by carepath at start-up: this package is carepath's own
