"""Exit hazards by current placement need, current age and time in care (issue 18), recovered on the
project's synthetic generator drawing exits from known piecewise-constant competing hazards."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calibration import fit as cf
from calibration.hazards import TIME_IN_CARE_DAYS, fit_exit_hazards
from calibration.ssda903 import load_ssda903
from sim.params import load_params, params_from_dict

synthetic = pytest.importorskip("calibration.synthetic")
EXTRACT = "2022-03-31"
AGES = ((0, 5), (5, 10), (10, 16), (16, 18))
NEEDS = ("kinship", "foster", "residential", "semi_independent", "with_parents", "other")


def _truth_hazards() -> dict:
    """SGOs mostly from kinship care after the first year, adoption from foster care under 5,
    reunification falling with time in care, and more often from placements with parents."""
    tic_down = np.array([0.6, 0.45, 0.3, 0.2, 0.1])
    out = {}
    for need in NEEDS:
        out[need] = {}
        for a0, a1 in AGES:
            reun = tic_down * (2.0 if need == "with_parents" else 1.0) * (0.6 if a0 >= 16 else 1.0)
            sgo = (np.array([0.05, 0.35, 0.7, 0.5, 0.3]) if need == "kinship"
                   else np.array([0.0, 0.03, 0.06, 0.05, 0.03]) if need == "foster" else np.zeros(5))
            if a0 >= 16:
                sgo = sgo * 0.3
            ado = (np.array([0.0, 0.25, 0.6, 0.5, 0.2]) if need == "foster"
                   else np.array([0.0, 0.02, 0.05, 0.05, 0.02]) if need == "kinship" else np.zeros(5))
            if a0 >= 5:
                ado = np.zeros(5)
            other = np.full(5, 0.15 if need in ("residential", "other") else 0.05)
            cao = np.full(5, 0.03)
            out[need][f"{a0}-{a1}"] = {"reunification": reun.tolist(), "sgo": sgo.tolist(), "cao": cao.tolist(),
                                       "adoption": ado.tolist(), "other": other.tolist()}
    return out


@pytest.fixture(scope="module")
def hazard_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("hazards")
    hz = _truth_hazards()
    truth = synthetic.SyntheticTruth(scale=1.0, referrals_per_year=600, exit_hazards=hz,
                                     exit_hazard_days=list(TIME_IN_CARE_DAYS))
    synthetic.generate(truth, seed=3, out_dir=out, messy=False)
    s = load_ssda903(out / "ssda903", EXTRACT)
    window = s.episodes["end"].dropna().min()
    fh = fit_exit_hazards(s, window, pd.Timestamp(EXTRACT), AGES)
    return fh, hz, s


def test_hazards_recover_the_generator_s(hazard_data):
    fh, hz, _ = hazard_data
    t = fh["table"]
    own = t[(t["pooling"] == "own") & (t["child_years_used"] > 0)].copy()
    own["true"] = [hz[r.placement][f"{r.from_age:g}-{r.to_age:g}"][r.reason][TIME_IN_CARE_DAYS.index(r.time_in_care_from_days)]
                   for r in own.itertuples()]
    mu = own["true"] * own["child_years_used"]
    informative = own[mu >= 3]
    assert len(informative) >= 40
    inside = (informative["low"] <= informative["true"]) & (informative["true"] <= informative["high"])
    # exact 95% intervals: the share holding the truth is binomial around 0.95 (or above: exact
    # Poisson intervals are conservative); 0.85 is far below what 40+ cells give by chance
    assert inside.mean() >= 0.85, informative.loc[~inside, ["placement", "from_age", "reason", "per_year", "true"]]
    # and no cell is far out: a two-sided Poisson tail beyond 1 in 10,000
    k = informative["events_used"].to_numpy()
    m = (informative["true"] * informative["child_years_used"]).to_numpy()
    p = np.minimum(stats.poisson.cdf(k, m), stats.poisson.sf(k - 1, m)) * 2
    assert p.min() > 1e-4 / len(p) * 10, p.min()
    # structural zeros stay zero: adoption from 5 (the generator has none), SGO from residential care
    assert (t.loc[(t["reason"] == "adoption") & (t["from_age"] >= 5), "per_year"] == 0).all()
    assert (t.loc[(t["reason"] == "sgo") & (t["placement"] == "residential") & (t["pooling"] == "own"), "events_in_cell"] == 0).all()


def test_sgo_from_kinship_and_adoptions_of_young_entrants(hazard_data):
    fh, _, _ = hazard_data
    k, n, fitted = fh["shares"]["sgo_from_kinship_share"]
    assert n >= 50 and k / n > 0.6          # SGOs come mostly from kinship care
    assert abs(fitted - k / n) < 0.05       # pooling of thin cells keeps the data's share
    k, n, fitted = fh["shares"]["adoption_entered_under_5_share"]
    assert n >= 30 and k / n > 0.9 and abs(fitted - k / n) < 0.05


def test_written_into_valid_fitted_parameters(hazard_data):
    fh, _, _ = hazard_data
    template = load_params("experiments/baseline.yaml")
    d = template.model_dump(mode="json")
    d["care"]["exit_hazards"] = fh["params"]
    p = params_from_dict(d, "fitted parameters")
    eh = p.care.exit_hazards
    assert list(eh.time_in_care_days) == [0, 182, 365, 730, 1461]
    assert eh.source.startswith("fitted from SSDA903 episodes") and eh.source.endswith("occurrence/exposure by cell")
    assert {(c.placement, c.from_age, c.to_age) for c in eh.cells} == {
        (n, float(a), float(b)) for n in ("kinship", "foster", "residential", "semi_independent", "with_parents", "other")
        for a, b in AGES}
    for c in eh.cells:
        assert set(c.per_year) == {"reunification", "sgo", "cao", "adoption", "other"}
        assert "age18" not in c.per_year


def test_full_fit_writes_exit_hazards_and_shares(tmp_path):
    """On the shipped example data: the fitted parameters carry the hazards, the summary the shares."""
    s = load_ssda903("calibration/example_data/ssda903", EXTRACT)
    res = cf.fit_parameters(s, None, None, extract_date=EXTRACT, template=load_params("experiments/baseline.yaml"))
    assert res.params.care.exit_hazards is not None
    assert res.exit_hazards is not None and len(res.exit_hazards)
    summ = res.summary.set_index("measure")
    for m in ("sgo_from_kinship_share", "sgo_from_kinship_share_fitted",
              "adoption_entered_under_5_share", "adoption_entered_under_5_share_fitted"):
        assert np.isfinite(summ.loc[m, "value"]), m
    assert res.log.set_index("parameter").loc["care.exit_hazards", "source"] == "data"
