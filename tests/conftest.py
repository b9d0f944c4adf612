"""Shared fixtures for the model's tests: the shipped parameters as a plain dict (so any value can
be changed and re-validated with `params_from_dict`), short horizons, minimal parameter sets for
the analytic checks, and one traced baseline replication reused by the property tests."""
from __future__ import annotations

import collections
import copy
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.params import params_from_dict

REPO = Path(__file__).resolve().parents[1]
BASELINE_YAML = REPO / "experiments" / "baseline.yaml"
SNAPSHOT_CSV = REPO / "experiments" / "snapshot_2021-04-01.csv"
OPEN_STATES = ("contact", "assessment", "s47", "cin", "cp", "care")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def _baseline_dict_master() -> dict:
    return yaml.safe_load(BASELINE_YAML.read_text(encoding="utf-8"))


@pytest.fixture
def baseline_dict(_baseline_dict_master) -> dict:
    """A fresh deep copy of the shipped baseline parameters as loaded from YAML."""
    return copy.deepcopy(_baseline_dict_master)


def _with_years(d: dict, years: float, start: dt.date = dt.date(2021, 4, 1)) -> dict:
    d = copy.deepcopy(d)
    days = int(round(years * 365.25))
    d["horizon"] = {"start_date": start.isoformat(),
                    "end_date": (start + dt.timedelta(days=days - 1)).isoformat()}
    return d


@pytest.fixture(scope="session")
def with_years():
    """with_years(d, years): a copy of parameter dict `d` whose horizon runs `years` from 1 April 2021."""
    return _with_years


@pytest.fixture(scope="session")
def build():
    """build(d): validate a parameter dict into Params (no snapshot file)."""
    def _build(d: dict):
        d = copy.deepcopy(d)
        d["initial_caseload"] = None
        return params_from_dict(d)
    return _build


@pytest.fixture(scope="session")
def baseline_params(_baseline_dict_master):
    d = copy.deepcopy(_baseline_dict_master)
    d["initial_caseload"] = None
    return params_from_dict(d)


@pytest.fixture(scope="session")
def snapshot(baseline_params):
    """The shipped synthetic caseload at 1 April 2021."""
    from sim.inputs import read_snapshot
    return read_snapshot(SNAPSHOT_CSV, baseline_params)


@pytest.fixture(scope="session")
def short_params(_baseline_dict_master):
    """The baseline over two financial years (2021/22 and 2022/23)."""
    d = _with_years(_baseline_dict_master, 2)
    d["initial_caseload"] = None
    return params_from_dict(d)


@pytest.fixture(scope="session")
def baseline_run(short_params, snapshot):
    """One traced replication of the baseline from the shipped snapshot over two years."""
    from sim.runner import run_replication
    return run_replication(short_params, 2024, 0, snapshot=snapshot, trace=True)


def _minimal_care_dict(base: dict, *, per_month: float, mean_days: float, years: float,
                       need: str = "kinship", carers: int = 0) -> dict:
    """Only direct entries to care (Poisson, `per_month`), aged under 1 on entry, one exit route with
    an exponential duration (`mean_days`), no moves, no returns, no front door traffic; every entry
    needs `need`; `carers` in-house foster carers with one place each, none joining or leaving."""
    d = _with_years(base, years)
    d["initial_caseload"] = None
    d["arrivals"]["new_contacts"] = {"per_month": 0.0}
    d["arrivals"]["direct_care_entries"] = {"per_month": per_month}
    d["arrivals"]["age_at_direct_entry"] = [
        {"from_age": 0, "to_age": 1, "weight": 1.0},
        {"from_age": 1, "to_age": 18, "weight": 0.0},
    ]
    d["recontact"] = {}
    exit_ = {"other": {"probability": 1.0, "duration": {"dist": "exponential", "mean_days": mean_days}}}
    care = d["care"]
    care["need_on_entry"] = [{"from_age": 0, "to_age": 18, "probabilities": {need: 1.0}}]
    care["exit_routes"] = [{"from_age": 0, "to_age": 18, "kinship": copy.deepcopy(exit_),
                            "non_kinship": copy.deepcopy(exit_)}]
    care["moves"]["breakdown_per_year"] = {k: 0.0 for k in care["moves"]["breakdown_per_year"]}
    care["moves"]["step_down_residential_per_year"] = 0.0
    care["moves"]["semi_independent_from_16_per_year"] = 0.0
    care["reentry"]["probability"] = 0.0
    care["inhouse_foster_suitable_share"] = 1.0
    fc = d["capacity"]["foster_carers"]
    fc.update(initial_carers=carers, places_per_carer={1: 1.0}, joiners_per_year=0.0, leaving_rate_per_year=0.0)
    # one price growth for every cost and no fixed costs, so hand-computed costs stay simple
    # (tests of growth by type and of fixed costs set them themselves)
    d["costs"]["price_growth_by_type"] = {}
    d["costs"]["high_cost_share_growth_per_year"] = 0.0
    d["costs"]["fixed_costs"] = {}
    return d


@pytest.fixture
def minimal_care_params(_baseline_dict_master):
    """minimal_care_params(per_month=, mean_days=, years=, need=, carers=) -> Params (see _minimal_care_dict)."""
    def _make(**kw):
        return params_from_dict(_minimal_care_dict(copy.deepcopy(_baseline_dict_master), **kw))
    return _make


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the t-based confidence interval of independent replication values."""
    x = np.asarray(values, dtype=float)
    m = x.mean()
    h = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return m, m - h, m + h


@pytest.fixture(scope="session")
def ci():
    """ci(values, level=0.95) -> (mean, low, high), t-based over replications."""
    return t_interval


# ------------------------------------------------------------------- hand-made CIN census data
_CIN_COLS = ["child", "referral_date"]


def census_from_rows(ref, ass, cin, s47, cpp, extract):
    """A CINCensus from plain row tuples, for hand-made test data:
    ref (child, dob, referral_date, referral_source, primary_need, closure_date, reason_for_closure, nfa),
    ass (child, referral_date, start, authorised), cin (child, referral_date, start, end),
    s47 (child, referral_date, start, icpc_date, icpc_not_required),
    cpp (child, referral_date, start, end, number_of_previous_cpp)."""
    from calibration.cin_census import CINCensus
    from calibration.records import DataQuality

    cols = _CIN_COLS
    return CINCensus(
        referrals=pd.DataFrame(ref, columns=["child", "dob", "referral_date", "referral_source", "primary_need",
                                             "closure_date", "reason_for_closure", "nfa"]),
        assessments=pd.DataFrame(ass, columns=cols + ["start", "authorised"]),
        cin_plans=pd.DataFrame(cin, columns=cols + ["start", "end"]).astype({"start": "datetime64[ns]",
                                                                          "end": "datetime64[ns]"}),
        s47=pd.DataFrame(s47, columns=cols + ["start", "icpc_date", "icpc_not_required"]),
        cp_plans=pd.DataFrame(cpp, columns=cols + ["start", "end", "number_of_previous_cpp"]),
        quality=DataQuality(), extract_date=extract)


def fitter_after_cin_census(census, extract):
    """Calibration's fitter (CIN census only, baseline template) after its CIN census pass."""
    from calibration import fit as cf
    from sim.params import load_params

    f = cf._Fitter(None, census, None, None, extract, load_params(BASELINE_YAML))
    f.route_fits = {}
    f.cin_census()
    return f


def cp_plan_rows(rows, child, referral, icpc, end, step: bool, extract):
    """Append a CP plan from its ICPC to `end` (still open if `end` is after the extract) to
    `rows` = (ref, ass, s47, cin, cpp). A plan that steps down starts a CIN plan the day it ends;
    one that closes closes its episode 5 days later: that closure date is returned (else None)."""
    _, _, _, cin, cpp = rows
    if end > extract:
        cpp.append((child, referral, icpc, pd.NaT, 0))
        return None
    cpp.append((child, referral, icpc, end, 0))
    if step:
        cin.append((child, referral, end, pd.NaT))
        return None
    return end + pd.Timedelta(days=5)


def referral_row(rows, child, dob, referral, closure, extract):
    """Append the CIN episode (referral) row, closed on `closure` if that is by the extract."""
    if closure is not None and closure > extract:
        closure = None
    rows[0].append((child, dob, referral, "1", "N1", closure if closure is not None else pd.NaT,
                    "RC7" if closure is not None else pd.NA, False))


HandMadeCIN = collections.namedtuple("HandMadeCIN", "build fit cp_plan referral")


@pytest.fixture(scope="session")
def hand_made_cin():
    """Builders for hand-made CIN census tests: `build` (census_from_rows), `fit`
    (fitter_after_cin_census), `cp_plan` (cp_plan_rows) and `referral` (referral_row)."""
    return HandMadeCIN(census_from_rows, fitter_after_cin_census, cp_plan_rows, referral_row)
