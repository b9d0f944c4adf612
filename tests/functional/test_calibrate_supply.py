"""SSDA903 only (no CIN census): the calibrated parameters make as many entries into care as the
data show, from the forecast's first month (calibration.supply, docs/calibration.md).

Synthetic data (scale 0.2, about 50 entries a year) are cut back to 31 March 2021 (`as_of`), so
2021/22 is out of sample. The templates have small front doors, so the warm-up runs are quick;
one has too few direct entries (0.5 a month, where the data need about 2), the other a front door
that alone makes far more entries than the data (its routes into care must be scaled down).
Tolerances are three standard deviations, from Poisson counts: the spread of the replications,
and the Poisson error of the warm-up's estimate of the front door's rate.
"""
from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from calibration.fit import as_of, fit_parameters
from calibration.ssda903 import load_ssda903
from sim.initial import cases_from_frame
from sim.params import params_from_dict
from sim.runner import run_replication

synthetic = pytest.importorskip("calibration.synthetic")
CUT = pd.Timestamp("2021-03-31")
EXTRACT = pd.Timestamp("2022-03-31")
R = 12


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("supply")
    synthetic.generate(synthetic.SyntheticTruth(scale=0.2), seed=5, out_dir=out, messy=False)
    full = load_ssda903(out / "ssda903", EXTRACT)
    cut, _, _ = as_of(full, None, None, CUT)
    return full, cut


def _template(baseline_dict, contacts_per_month, direct_per_month):
    d = copy.deepcopy(baseline_dict)
    d["initial_caseload"] = None
    d["arrivals"]["new_contacts"]["per_month"] = contacts_per_month
    d["arrivals"]["direct_care_entries"]["per_month"] = direct_per_month
    return params_from_dict(d)


def _forecast(res, months=12):
    """First entries (not after a return home) and all entries in each replication, over the
    first quarter and the first year."""
    p = res.params.model_copy(deep=True)
    end = p.horizon.start_date + dt.timedelta(days=int(months * 30.4375) - 1)
    p.horizon = p.horizon.model_copy(update={"end_date": end})
    cases = cases_from_frame(res.snapshot, p.horizon.start_date)
    first_q, first_y, all_y = [], [], []
    for rep in range(R):
        ev = run_replication(p, 2021, rep, snapshot=cases).events
        ce = ev[ev["event"] == "care_entry"]
        first = ce[ce["detail"].astype(str) != "reentry"]
        first_q.append(int((first["time"] < 91.3).sum()))
        first_y.append(len(first))
        all_y.append(len(ce))
    return np.array(first_q, float), np.array(first_y, float), np.array(all_y, float)


def test_direct_entries_make_up_what_the_front_door_does_not(data, baseline_dict):
    full, cut = data
    res = fit_parameters(cut, extract_date=CUT, template=_template(baseline_dict, 70.0, 0.5))
    sup = res.supply
    obs, fd, se = sup["observed_per_month"], sup["front_door_per_month"], sup["front_door_se"]
    assert 0 < fd < obs
    direct = res.params.arrivals.direct_care_entries.per_month
    assert direct == pytest.approx(obs - fd, abs=1e-3)
    log = res.log.set_index("parameter")
    assert log.loc["arrivals.direct_care_entries", "source"] == "data"
    assert log.loc["arrivals.age_at_direct_entry", "source"] == "data"
    assert "initial_caseload (front-door cases, synthetic)" in log.index
    states = set(res.snapshot["state"])
    assert {"care", "cin", "cp", "closed"} <= states

    first_q, first_y, all_y = _forecast(res)
    # expected first entries: the fitted rate at the extract date, grown over the year
    growth = 1 + sup["observed_trend"] / 2
    for got, months in ((first_q, 3), (first_y, 12)):
        want = obs * months * growth
        sd = math.sqrt(got.var(ddof=1) / R + (se * months) ** 2)
        assert abs(got.mean() - want) < 3 * sd, (months, got.mean(), want, sd)
    # out of sample: all entries in 2021/22 against the data's, with the Poisson error of that
    # count and of the fitted rate at the extract date (a log-linear fit with a trend over n
    # entries puts about 2/sqrt(n) relative error on its level at the end of the window)
    n_obs = int(((full.periods["start"] > CUT) & (full.periods["start"] <= EXTRACT)).sum())
    sd = math.sqrt(n_obs + all_y.var(ddof=1) / R + (all_y.mean() * 2 / math.sqrt(sup["observed_entries"])) ** 2)
    assert abs(all_y.mean() - n_obs) < 3 * sd, (all_y.mean(), n_obs, sd)


def test_a_front_door_that_alone_makes_too_many_is_scaled_down(data, baseline_dict):
    _, cut = data
    template = _template(baseline_dict, 220.0, 3.0)
    res = fit_parameters(cut, extract_date=CUT, template=template)
    sup = res.supply
    obs, fd, se = sup["observed_per_month"], sup["front_door_per_month"], sup["front_door_se"]
    assert sup["front_door_before_scaling"] > 1.2 * obs
    k = sup["scaled_front_door"]
    assert 0 < k < 1
    # the re-run front door makes no more than observed, within its own sampling error, in all and
    # in every age band (scaled until no band is over, so the entries keep the data's age profile),
    # and direct entries make up the rest, band by band
    assert fd < obs + 3 * se, (fd, obs, se)
    fd_band, obs_band = np.asarray(sup["front_door_by_band"]), np.asarray(sup["observed_by_band"])
    se_band = np.sqrt(np.maximum(fd_band, 1e-9) / sup["front_door_months"])
    assert np.all(fd_band < obs_band + 3 * se_band + 0.02), (fd_band, obs_band)
    w = np.array([b.weight for b in res.params.arrivals.age_at_direct_entry])
    model_band = fd_band + res.params.arrivals.direct_care_entries.per_month * w / w.sum()
    assert np.all(np.abs(model_band - obs_band) < 3 * se_band + 0.02), (model_band, obs_band)
    assert res.params.arrivals.direct_care_entries.per_month == pytest.approx(max(0.0, obs - fd), abs=1e-3)
    p, t = res.params, template
    # a smaller council: fewer contacts and social workers, the template's conversion rates
    assert p.arrivals.new_contacts.per_month == pytest.approx(t.arrivals.new_contacts.per_month * k, rel=1e-3)
    teams, tteams = dict(p.capacity.teams), dict(t.capacity.teams)
    for name in ("front_door", "assessment", "safeguarding"):
        assert teams[name].workers == pytest.approx(tteams[name].workers * k, rel=1e-3)
    assert teams["children_in_care"].workers == tteams["children_in_care"].workers
    assert p.assessment.outcomes == t.assessment.outcomes
    assert p.cp_plan.routes["care"].probability == t.cp_plan.routes["care"].probability
    assert res.log.set_index("parameter").loc["front_door.volume", "source"] == "data"
