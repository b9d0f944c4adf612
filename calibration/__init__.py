"""Calibration: turn a council's activity data (SSDA903, CIN census, contacts) into parameters."""
