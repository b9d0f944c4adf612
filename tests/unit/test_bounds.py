"""Numbers outside any plausible range are refused with one line naming the field and the range
(a billion beds ran the machine out of memory; a million contacts a month, a 500% growth rate or
a £10m weekly cost can only be mistakes); the shipped parameters are well inside every range."""
from __future__ import annotations

import copy

import pytest

from sim.bounds import out_of_range
from sim.params import ParamsError, params_from_dict


def test_the_shipped_parameters_are_inside_every_range(baseline_dict):
    assert out_of_range(baseline_dict) is None


@pytest.mark.parametrize("path, value, words", [
    (("capacity", "residential_inhouse_beds"), 10**9, "beds"),
    (("capacity", "foster_carers", "initial_carers"), 10**7, "foster carers"),
    (("arrivals", "new_contacts", "per_month"), 1e12, "a number a month"),
    (("costs", "placement_weekly", "foster_ifa"), 1e7, "£ a week"),
    (("costs", "price_growth_per_year"), 5.0, "5%"),
    (("arrivals", "new_contacts", "trend_per_year"), 3.0, "a trend a year"),
])
def test_an_implausible_number_is_refused_naming_the_field_and_range(baseline_dict, path, value, words):
    d = copy.deepcopy(baseline_dict)
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(ParamsError) as err:
        params_from_dict(d)
    msg = str(err.value)
    assert ".".join(path) in msg and words in msg and "\n" not in msg
    assert "plausible range" in msg or "fraction a year" in msg   # growth rates: the schema's own check comes first
