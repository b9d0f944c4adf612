"""Plausible ranges for numbers that can only be mistakes outside them.

The schema checks types, shares and signs; these bounds catch the rest: a council's arrivals of
a million a month, a billion beds (the model would try to build them and run the machine out of
memory), a weekly cost of £10 million, a growth rate of 500% a year, a duration of a thousand
years. Each bound is generous (well beyond any English council), so a real parameter set never
meets one; the message names the field and the range.
"""
from __future__ import annotations

import math
from typing import Iterator

# (test on the field's name, lowest, highest, what it is)
RULES: tuple[tuple[str, float, float, str], ...] = (
    ("per_month", 0.0, 1e5, "a number a month"),
    ("joiners_per_year", 0.0, 1e4, "carers a year"),
    ("semi_independent_from_16_per_year", 0.0, 1e4, "a rate a year"),
    ("step_down_residential_per_year", 0.0, 1e3, "a rate a year"),
    ("initial_carers", 0.0, 1e5, "foster carers"),
    ("_beds", 0.0, 1e5, "beds"),
    ("_places", 0.0, 1e5, "places"),
    ("workers", 0.0, 1e5, "social workers"),
    ("value", -1e5, 1e5, "a dated value"),
    ("caseload_limit", 0.0, 1e4, "cases a worker"),
    ("_weekly", 0.0, 1e6, "£ a week"),
    ("growth_per_year", -0.5, 1.0, "a growth rate a year (0.05 is 5%)"),
    ("trend_per_year", -0.5, 1.0, "a trend a year (0.05 is 5%)"),
    ("median_days", 0.0, 365.25 * 100, "days"),
    ("_days", 0.0, 365.25 * 100, "days"),
    ("_weeks", 0.0, 52.18 * 100, "weeks"),
    ("leaving_rate_per_year", 0.0, 10.0, "a rate a year"),
)
# the price growth by placement type, keyed by the type: the same bound as a growth rate
GROWTH_SECTIONS = ("price_growth_by_type",)


def _numbers(d, path=()) -> Iterator[tuple[tuple[str, ...], float]]:
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _numbers(v, path + (str(k),))
    elif isinstance(d, (list, tuple)):
        for i, v in enumerate(d):
            yield from _numbers(v, path + (str(i),))
    elif isinstance(d, (int, float)) and not isinstance(d, bool):
        yield path, float(d)


def out_of_range(data: dict) -> str | None:
    """The first number outside its plausible range, as 'field: value is outside lo to hi (what)',
    or None."""
    for path, v in _numbers(data):
        if not math.isfinite(v):
            continue   # the schema refuses these with its own message
        names = [p for p in path if not p.isdigit()]
        if not names:
            continue
        name = names[-1]
        if len(names) >= 2 and names[-2] in GROWTH_SECTIONS:
            name = "growth_per_year"
        elif len(names) >= 2 and names[-2].endswith("_weekly"):   # placement_weekly.foster_ifa: £ a week
            name = names[-2]
        for test, lo, hi, what in RULES:
            if test == name or (test.startswith("_") and name.endswith(test)) or (
                    not test.startswith("_") and name.endswith(test)):
                if not lo <= v <= hi:
                    return f"field '{'.'.join(path)}' (value: {v:g}): outside the plausible range {lo:g} to {hi:g} ({what})"
                break
    return None
