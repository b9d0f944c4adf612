"""Exits as competing hazards (`care.exit_hazards`, sim/exits.py): the schema's one-line errors,
the exponential arithmetic against the sampler and the model (mean time 1/sum, reason shares
h_k/sum, within four standard errors), re-draws at placement changes and cell boundaries keeping
the right distribution (a two-placement Markov chain solved by hand), and the levers acting
through the hazards (paired replications, common random numbers)."""
from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pytest

from sim.exits import HazardTable, next_exit
from sim.levers import Lever, build_mechanisms
from sim.measures import summary_by_fy
from sim.params import ParamsError, params_from_dict, read_params_mapping
from sim.runner import run_replication
from sim.vocab import PLACEMENT_NEEDS

DAYS_PER_YEAR = 365.25


def _cells(per_year: dict, n_bands: int = 1, needs=PLACEMENT_NEEDS) -> list[dict]:
    """One cell aged 0-18 for each need, the same hazards in every time band."""
    return [{"placement": need, "from_age": 0, "to_age": 18,
             "per_year": {k: [v] * n_bands for k, v in per_year.items()}} for need in needs]


def _hazards(per_year: dict, edges=(0,), **kw) -> dict:
    return {"source": "test", "time_in_care_days": list(edges), "cells": _cells(per_year, len(edges)), **kw}


def _exits(params, reps=1, seed=11):
    """(days in care, exit reason, entry time) of every period of care that began and ended in the run."""
    out = []
    for rep in range(reps):
        ev = run_replication(params, seed, rep).events
        ev = ev[ev["event"].astype(str).isin(["care_entry", "care_exit"]).to_numpy()]
        for _, g in ev.groupby("child"):
            rows = list(g.itertuples())
            for a, b in zip(rows, rows[1:]):
                if str(a.event) == "care_entry" and str(b.event) == "care_exit":
                    out.append((b.time - a.time, str(b.detail), a.time))
    return out


# ---------------------------------------------------------------------------------- schema
@pytest.mark.parametrize("change, words", [
    (lambda h: h["cells"][0]["per_year"].update(sgo=[0.1, 0.2]), "one for each of the 1 time-in-care bands"),
    (lambda h: h["cells"][0]["per_year"].update(sgo=[-0.1]), "finite and not negative"),
    (lambda h: h["cells"][0]["per_year"].update(age18=[0.1]), "turning 18 needs no hazard"),
    (lambda h: h["cells"].pop(), "exit_hazards for other: at least one age band"),
    (lambda h: h["cells"][0].update(to_age=10), "age bands must run from 0 to 18"),
    (lambda h: h["cells"][0].update(placement="castle"), "unknown placement need 'castle'"),
    (lambda h: h.update(time_in_care_days=[5]), "must start at 0 days"),
    (lambda h: h["cells"][1]["per_year"].update(adoption=[0.1]), "adoption hazard from age 5"),
])
def test_bad_exit_hazards_are_one_clear_line(baseline_dict, change, words):
    d = baseline_dict
    d["initial_caseload"] = None
    h = _hazards({"reunification": 0.5, "sgo": 0.2})
    change(h)
    d["care"]["exit_hazards"] = h
    with pytest.raises(ParamsError) as err:
        params_from_dict(d, "council.yaml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("council.yaml: field 'care.exit_hazards") and words in msg


def test_adoption_from_5_when_allowed(baseline_dict):
    d = baseline_dict
    d["initial_caseload"] = None
    d["care"]["exit_hazards"] = _hazards({"adoption": 0.1}, allow_adoption_from_5=True)
    assert params_from_dict(d).care.exit_hazards.allow_adoption_from_5


def test_shipped_alternative_file_is_valid(repo):
    """The shipped hazards (docs/model.md) load, cover every placement and age, and keep adoption
    after age 5 to children already a year in care."""
    d = read_params_mapping(repo / "experiments" / "baseline_exit_hazards.yaml")
    d["initial_caseload"] = None
    h = params_from_dict(d).care.exit_hazards
    assert h is not None and h.source
    for c in h.cells:
        if c.to_age > 5 and "adoption" in c.per_year:
            assert c.per_year["adoption"][:2] == [0.0, 0.0], c


# ---------------------------------------------------------------------------- the sampler
class _Spec:
    def __init__(self, per_year, edges=(0,)):
        self.time_in_care_days = list(edges)
        self.cells = [type("C", (), {"placement": "foster", "from_age": 0, "to_age": 18,
                                     "per_year": {k: [v] * len(edges) for k, v in per_year.items()}})()]


def test_sampler_constant_hazard_mean_and_shares():
    """Exponential at the total hazard, reasons in proportion: checked on 40,000 draws."""
    rates = {"reunification": 0.6, "sgo": 0.3, "other": 0.1}
    table = HazardTable(_Spec(rates))
    h, span = table.cell("foster", 3.0, 0.0)
    assert span == math.inf or span > 1e6
    rng = np.random.default_rng(5)
    n = 40_000
    draws = [next_exit(h, math.inf, u1, u2) for u1, u2 in rng.random((n, 2))]
    days = np.array([d for _, d in draws])
    total = sum(rates.values()) / DAYS_PER_YEAR
    assert abs(days.mean() - 1 / total) < 4 * (1 / total) / math.sqrt(n)
    for i, r in enumerate(table.reasons):
        share = np.mean([k == i for k, _ in draws])
        p = rates[r] / sum(rates.values())
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), r


def test_cell_boundaries_and_permanence_mean():
    table = HazardTable(_Spec({"reunification": 1.0, "other": 1.0}, edges=(0, 100, 400)))
    _, span = table.cell("foster", 2.0, 30.0)
    assert span == pytest.approx(70.0, abs=1e-5)
    _, span = table.cell("foster", 2.0, 500.0)
    assert span == math.inf
    # with equal hazards everywhere, the mean days of permanence leavers is 1 / total (the exponential)
    assert table.permanence_mean_days("foster", 2.0) == pytest.approx(DAYS_PER_YEAR / 2.0, rel=1e-6)


# ------------------------------------------------------------------------------ the model
def _care_only(base, with_years, per_year, edges=(0,), moves=None, years=5.0, need="kinship"):
    d = with_years(base, years)
    d["initial_caseload"] = None
    d["arrivals"]["new_contacts"] = {"per_month": 0.0}
    d["arrivals"]["direct_care_entries"] = {"per_month": 60.0}
    d["arrivals"]["age_at_direct_entry"] = [{"from_age": 0, "to_age": 1, "weight": 1.0},
                                            {"from_age": 1, "to_age": 18, "weight": 0.0}]
    d["recontact"] = {}
    care = d["care"]
    care["need_on_entry"] = [{"from_age": 0, "to_age": 18, "probabilities": {need: 1.0}}]
    care["moves"]["breakdown_per_year"] = {k: 0.0 for k in care["moves"]["breakdown_per_year"]}
    care["moves"]["step_down_residential_per_year"] = 0.0
    care["moves"]["semi_independent_from_16_per_year"] = 0.0
    care["residential_could_foster_share"] = 0.0
    care["reentry"]["probability"] = 0.0
    if moves:
        care["moves"].update(moves)
    care["exit_hazards"] = _hazards(per_year, edges)
    return d


def _check_exponential(exits, rates_per_year, first_days=365.0):
    """Periods starting in the first year (censoring by the horizon negligible): mean and shares."""
    x = [(d, r) for d, r, t0 in exits if t0 < first_days]
    n = len(x)
    total = sum(rates_per_year.values())
    days = np.array([d for d, _ in x])
    mean = DAYS_PER_YEAR / total
    assert abs(days.mean() - mean) < 4 * mean / math.sqrt(n), (days.mean(), mean, n)
    for r, h in rates_per_year.items():
        p = h / total
        share = np.mean([rr == r for _, rr in x])
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), (r, share, p)


def test_constant_hazard_in_the_model(_baseline_dict_master, with_years):
    """Entries under 1, constant hazards: time in care exponential with mean 1/sum, reasons h_k/sum,
    although the time bands make the model re-draw at 91, 182 and 365 days."""
    rates = {"reunification": 1.2, "sgo": 0.5, "other": 0.3}
    p = params_from_dict(_care_only(copy.deepcopy(_baseline_dict_master), with_years, rates, edges=(0, 91, 182, 365)))
    _check_exponential(_exits(p, reps=2), rates)


def test_redraw_on_placement_change_keeps_the_distribution(_baseline_dict_master, with_years):
    """Kinship (home at 1 a year) and foster care (SGO at 2 a year), switching at 2 a year each way:
    the chain gives P(home) = 0.5 and a mean of 0.75 years from kinship (solved by hand)."""
    d = _care_only(copy.deepcopy(_baseline_dict_master), with_years, {"reunification": 1.0},
                   moves={"breakdown_per_year": {**{k: 0.0 for k in PLACEMENT_NEEDS}, "kinship": 2.0, "foster": 2.0},
                          "next_need": {"kinship": {"foster": 1.0}, "foster": {"kinship": 1.0}}})
    cells = d["care"]["exit_hazards"]["cells"]
    for c in cells:
        c["per_year"] = {"sgo": [2.0]} if c["placement"] == "foster" else {"reunification": [1.0]}
    d["capacity"]["foster_carers"]["initial_carers"] = 0  # every foster need goes to an agency carer
    p = params_from_dict(d)
    x = [(dd, r) for dd, r, t0 in _exits(p, reps=2) if t0 < 365.0]
    n = len(x)
    home = np.mean([r == "reunification" for _, r in x])
    assert abs(home - 0.5) < 4 * math.sqrt(0.25 / n), (home, n)
    days = np.array([dd for dd, _ in x])
    # sd of the time to absorption from kinship (first-step analysis of the second moment): 0.75 * 1.1 > sd;
    # bound the standard error generously by the mean
    assert abs(days.mean() / DAYS_PER_YEAR - 0.75) < 4 * 0.9 / math.sqrt(n), (days.mean() / DAYS_PER_YEAR, n)


# --------------------------------------------------------------------------------- levers
@pytest.fixture(scope="module")
def hazard_params(repo):
    d = read_params_mapping(repo / "experiments" / "baseline_exit_hazards.yaml")
    d["initial_caseload"] = None
    days = int(round(3 * DAYS_PER_YEAR))
    d["horizon"] = {"start_date": "2021-04-01", "end_date": (dt.date(2021, 4, 1) + dt.timedelta(days=days - 1)).isoformat()}
    return params_from_dict(d)


@pytest.fixture(scope="module")
def hazard_snapshot(hazard_params):
    from sim.inputs import read_snapshot
    from tests.conftest import SNAPSHOT_CSV
    return read_snapshot(SNAPSHOT_CSV, hazard_params)


def _paired(params, snapshot, lever, measure, fy="2023/24", reps=3):
    years = [fy] if isinstance(fy, str) else list(fy)

    def pick(s):
        return s[(s.measure == measure) & s.financial_year.isin(years)]["value"].sum()

    diffs = []
    for rep in range(reps):
        base = summary_by_fy(run_replication(params, 77, rep, snapshot=snapshot))
        run = summary_by_fy(run_replication(params, 77, rep, snapshot=snapshot,
                                            mechanisms=build_mechanisms([lever], params)))
        diffs.append(pick(run) - pick(base))
    return np.array(diffs)


def test_kinship_lever_moves_sgos_from_kinship(hazard_params, hazard_snapshot, ci):
    """kinship_to_sgo multiplies the SGO hazard of children in kinship care: more SGOs from kinship care."""
    lev = Lever(lever="kinship_to_sgo", start=dt.date(2021, 10, 1), ramp_months=3, mechanism={"sgo_share": 0.6})
    d = _paired(hazard_params, hazard_snapshot, lev, "care_exits_sgo_from_kinship", fy=("2022/23", "2023/24"))
    mean, low, high = ci(d)
    assert low > 0, d


def test_exit_levers_under_hazards(hazard_params, hazard_snapshot, ci):
    """Faster permanence shortens the weeks to permanence; the reunification lever adds returns home."""
    fast = Lever(lever="faster_permanence", start=dt.date(2021, 10, 1), ramp_months=3, mechanism={"weeks_shorter": 20})
    d = _paired(hazard_params, hazard_snapshot, fast, "care_exits", fy="2022/23")
    assert ci(d)[1] > 0, d  # permanence comes sooner: more children leave in the year it starts
    reun = Lever(lever="reunification", start=dt.date(2021, 10, 1), ramp_months=3,
                 mechanism={"reunification_rate_per_year": 0.3})
    d = _paired(hazard_params, hazard_snapshot, reun, "care_exits_reunification")
    assert ci(d)[1] > 0, d


def test_lever_changes_nothing_before_it_starts(hazard_params, hazard_snapshot):
    """Common random numbers: under hazards, a lever's run matches the baseline row for row until it starts."""
    start = dt.date(2022, 10, 1)
    t0 = float((start - dt.date(2021, 4, 1)).days)
    lev = Lever(lever="kinship_to_sgo", start=start, ramp_months=3, mechanism={"sgo_share": 0.6})
    perm = Lever(lever="faster_permanence", start=start, ramp_months=3, mechanism={"weeks_shorter": 10})
    base = run_replication(hazard_params, 5, 0, snapshot=hazard_snapshot).events
    run = run_replication(hazard_params, 5, 0, snapshot=hazard_snapshot,
                          mechanisms=build_mechanisms([lev, perm], hazard_params)).events
    a, b = base[base.time < t0].astype(str).reset_index(drop=True), run[run.time < t0].astype(str).reset_index(drop=True)
    assert len(a) > 1000 and a.equals(b)


def test_validation_reports_where_exits_come_from():
    """The validation table's two new rows: shares of SGOs from kinship care and of adoptions of
    children who entered under 5, from the summary's counts (per replication, then averaged)."""
    import pandas as pd

    from experiments.validation import compare, load_targets
    from sim.measures import CP_LENGTH_BINS

    rows = []
    for rep, (sgo, kin, ad, young) in enumerate([(20, 18, 10, 9), (30, 24, 10, 10)]):
        for m, v in {"care_exits_sgo": sgo, "care_exits_sgo_from_kinship": kin, "care_exits_adoption": ad,
                     "care_exits_adoption_entered_under_5": young, "cic_average": 700.0, "rereferral_rate": 0.2,
                     "care_entries": 0, **{name: 0.0 for name, _, _ in CP_LENGTH_BINS}}.items():
            rows.append((rep, "2023/24", m, float(v)))
    summary = pd.DataFrame(rows, columns=["replication", "financial_year", "measure", "value"])
    targets = [t for t in load_targets()[0] if t.measure in ("sgo_from_kinship_pct", "adoption_entered_under_5_pct")]
    assert len(targets) == 2
    table = compare(summary, tuple(targets)).set_index("measure")
    assert table["model_mean"].tolist() == pytest.approx([(90 + 80) / 2, (90 + 100) / 2])


def test_alternative_file_is_the_baseline_with_hazards(repo):
    """experiments/baseline_exit_hazards.yaml extends the baseline: loaded, only its name, description
    and care.exit_hazards differ from it."""
    from sim.params import load_params

    base = load_params(repo / "experiments" / "baseline.yaml").model_dump(mode="json")
    hz = load_params(repo / "experiments" / "baseline_exit_hazards.yaml").model_dump(mode="json")
    assert base["care"]["exit_hazards"] is None and hz["care"]["exit_hazards"]
    for d in (base, hz):
        d.pop("name"), d.pop("description"), d["care"].pop("exit_hazards")
    assert base == hz
