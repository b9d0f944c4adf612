"""Workforce pressure: vacancies and agency cover (sim/params.py `Team`), what a short team does
(cases wait for allocation: open contacts and unallocated cases rise, the days from referral to
the end of an assessment grow), and the front-door scenario of 2021/22-2022
(experiments/front_door_2022.yaml) in the direction the council reported."""
from __future__ import annotations

import copy
import datetime as dt

import pandas as pd
import pytest

from sim.measures import stocks_by_month, summary_by_fy
from sim.params import ParamsError, Team, params_from_dict, read_params_mapping
from sim.runner import run_replication


def test_workers_in_post_arithmetic():
    t = Team(workers=20, caseload_limit=5, vacancy_share=0.25, agency_cover_share=0.4,
             changes=[{"date": "2022-01-01", "value": 30}],
             vacancy_changes=[{"date": "2022-06-01", "value": 0.1}],
             agency_cover_changes=[{"date": "2021-06-01", "value": 1.0}])
    assert t.workers_on(dt.date(2021, 4, 1)) == pytest.approx(20 * (1 - 0.25 * 0.6))
    assert t.workers_on(dt.date(2021, 7, 1)) == pytest.approx(20.0)           # vacancies all covered
    assert t.workers_on(dt.date(2022, 2, 1)) == pytest.approx(30.0)
    assert t.change_dates() == [dt.date(2021, 6, 1), dt.date(2022, 1, 1), dt.date(2022, 6, 1)]
    assert Team(workers=8, caseload_limit=5).workers_on(dt.date(2030, 1, 1)) == 8.0  # no vacancies: the posts


@pytest.mark.parametrize("field, value, words", [
    ("vacancy_share", 1.5, "less than or equal to 1"),
    ("agency_cover_share", -0.1, "greater than or equal to 0"),
    ("vacancy_changes", [{"date": "2022-02-30", "value": 0.2}], "vacancy_changes"),
])
def test_bad_workforce_fields_are_one_line(baseline_dict, field, value, words):
    d = baseline_dict
    d["initial_caseload"] = None
    d["capacity"]["teams"]["front_door"][field] = value
    with pytest.raises(ParamsError) as err:
        params_from_dict(d, "council.yaml")
    msg = str(err.value)
    assert "\n" not in msg and "capacity.teams.front_door" in msg and words in msg


def _short_run(d, with_years, years=1.0, seed=3, rep=0):
    d = with_years(d, years)
    d["initial_caseload"] = None
    r = run_replication(params_from_dict(d), seed, rep)
    return summary_by_fy(r), stocks_by_month(r)


def _value(summary, measure, fy="2021/22"):
    return float(summary[(summary.measure == measure) & (summary.financial_year == fy)]["value"].iloc[0])


def test_a_short_team_makes_cases_wait(_baseline_dict_master, with_years):
    """Same seed and demand: a front door with 40% of posts vacant and no agency cover keeps more
    contacts open and more unallocated; an assessment team short of workers makes the days from
    referral to the end of an assessment longer."""
    base = copy.deepcopy(_baseline_dict_master)
    s0, _ = _short_run(base, with_years)
    short = copy.deepcopy(_baseline_dict_master)
    short["capacity"]["teams"]["front_door"]["vacancy_share"] = 0.4
    s1, _ = _short_run(short, with_years)
    assert _value(s0, "unallocated_front_door_average") < 1.0
    assert _value(s1, "unallocated_front_door_average") > 20.0  # demand above the 9.6 workers in post: a queue
    assert _value(s1, "open_contacts_average") > 2 * _value(s0, "open_contacts_average")
    # half the assessment posts vacant (272 cases held, against about 400 open): a queue for allocation
    # in the second year, and the days from referral to the end of an assessment grow by the wait
    s0b, _ = _short_run(copy.deepcopy(_baseline_dict_master), with_years, years=2.0)
    slow = copy.deepcopy(_baseline_dict_master)
    slow["capacity"]["teams"]["assessment"]["vacancy_share"] = 0.5
    s3, _ = _short_run(slow, with_years, years=2.0)
    assert _value(s3, "unallocated_assessment_average", "2022/23") > _value(s0b, "unallocated_assessment_average", "2022/23") + 10
    assert _value(s3, "assessment_average_days", "2022/23") > _value(s0b, "assessment_average_days", "2022/23") + 5
    short["capacity"]["teams"]["assessment"]["vacancy_share"] = 0.5
    # agency cover of every vacancy puts the front door back as it was (the same workers in post)
    covered = copy.deepcopy(short)
    for team in ("front_door", "assessment"):
        covered["capacity"]["teams"][team]["agency_cover_share"] = 1.0
    s2, _ = _short_run(covered, with_years)
    for m in ("open_contacts_average", "unallocated_front_door_average", "assessment_average_days", "referrals"):
        assert _value(s2, m) == pytest.approx(_value(s0, m)), m


def test_front_door_scenario_direction(repo, with_years):
    """experiments/front_door_2022.yaml: open contacts over 500 in January 2022, falling by June and
    again after the 8 extra posts of September 2022 (council: over 1,000, 603, 196)."""
    d = read_params_mapping(repo / "experiments" / "front_door_2022.yaml")
    d = with_years(d, 2.0)
    d["initial_caseload"] = None
    p = params_from_dict(d)
    from sim.inputs import read_snapshot
    from tests.conftest import SNAPSHOT_CSV
    snap = read_snapshot(SNAPSHOT_CSV, p)
    contacts = []
    for rep in range(2):
        st = stocks_by_month(run_replication(p, 12345, rep, snapshot=snap))
        contacts.append(st[st.measure == "contact"].set_index("month")["value"])
    c = pd.concat(contacts, axis=1).mean(axis=1)
    assert c["2022-01"] > 500
    assert c["2022-06"] < c["2022-01"]
    assert c["2022-10"] < 0.5 * c["2022-06"]


def test_front_door_scenario_is_the_baseline_but_its_front_door(repo):
    """The scenario file extends the baseline: loaded, only its name, description and front door team differ."""
    from sim.params import load_params

    base = load_params(repo / "experiments" / "baseline.yaml").model_dump(mode="json")
    fd = load_params(repo / "experiments" / "front_door_2022.yaml").model_dump(mode="json")
    assert base["capacity"]["teams"]["front_door"] != fd["capacity"]["teams"]["front_door"]
    for d in (base, fd):
        d.pop("name"), d.pop("description")
        d["capacity"]["teams"].pop("front_door")
    assert base == fd


def test_validate_keeps_the_hand_written_part(tmp_path):
    """docs/validation.md's section written by hand from the front-door run survives `carepath validate`."""
    from experiments.validation import HAND_WRITTEN, keep_written_by_hand

    out = tmp_path / "validation.md"
    assert keep_written_by_hand("# new table\n", out) == "# new table\n"  # no file yet
    out.write_text("# old table\n\n" + HAND_WRITTEN + "\n\n## By hand\n\nnumbers\n", encoding="utf-8")
    text = keep_written_by_hand("# new table\n", out)
    assert text.startswith("# new table\n") and "old table" not in text
    assert text.endswith(HAND_WRITTEN + "\n\n## By hand\n\nnumbers\n")
