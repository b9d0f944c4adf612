"""A NaN or an infinite number in a parameter, a lever or a scenario file can only be a mistake
(an `.inf` arrival rate ran the machine out of memory; a NaN lever intensity silently did
nothing; a NaN investment became £0): each is refused with one line naming the field."""
from __future__ import annotations

import copy
import math

import pytest
import yaml

from carepath.cli import main
from sim.levers import Lever, LeverError
from sim.params import ParamsError, params_from_dict


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("path", [("costs", "placement_weekly", "residential_spot"),
                                  ("arrivals", "new_contacts", "per_month")])
def test_a_parameter_that_is_not_a_finite_number_is_refused(baseline_dict, path, value):
    d = copy.deepcopy(baseline_dict)
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    with pytest.raises(ParamsError) as err:
        params_from_dict(d)
    assert path[-1] in str(err.value) and "finite" in str(err.value)


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_lever_intensity_that_is_not_a_finite_number_is_refused(value):
    with pytest.raises((ValueError, LeverError)) as err:
        Lever(lever="edge_of_care", start="2022-04-01", mechanism={"divert_share": value})
    assert "finite" in str(err.value) or "between" in str(err.value)


def test_infinity_in_a_parameter_file_is_one_line_and_exit_2(baseline_dict, tmp_path, capsys, repo):
    d = copy.deepcopy(baseline_dict)
    d["initial_caseload"] = str(repo / "experiments" / "snapshot_2021-04-01.csv")
    text = yaml.safe_dump(d, sort_keys=False).replace("residential_spot: ", "residential_spot: .inf #", 1)
    p = tmp_path / "p.yaml"
    p.write_text(text)
    assert main(["run", "--params", str(p), "--replications", "1", "--years", "1", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 2
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if "core" not in ln]
    assert len(err) == 1 and "residential_spot" in err[0] and "Traceback" not in err[0]
