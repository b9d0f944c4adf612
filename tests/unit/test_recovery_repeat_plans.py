"""Repeat plans fitted from the CIN census (issue 13), recovered on the project's synthetic generator.

The generator re-refers a closed episode with a fixed chance and sends a child who has had a CP
plan on to a S47 enquiry and a conference more often; nothing in it is the model's repeat-plan
mechanism. The truth here is read from its full histories (closures up to two years before the
extract, so that every return is seen, as re-referrals come within about a year): the share of
closed CIN episodes with a plan whose next referral leads to a repeat plan of the kind.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from calibration import fit as cf
from calibration.cin_census import load_cin_census
from calibration.closed import NOT_RETURNING_RC
from calibration.contacts import load_contacts
from calibration.ssda903 import load_ssda903
from sim.params import load_params

synthetic = pytest.importorskip("calibration.synthetic")
BASELINE = "experiments/baseline.yaml"
EXTRACT = "2022-03-31"
SEED = 11


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("repeat_plans")
    truth = synthetic.SyntheticTruth(scale=0.35)
    synthetic.generate(truth, seed=SEED, out_dir=out, messy=False)
    s = load_ssda903(out / "ssda903", EXTRACT)
    c = load_cin_census(out / "cin_census" / "csv" / "cin_census.csv", EXTRACT)
    k = load_contacts(out / "contacts" / "contacts.csv", EXTRACT)
    res = cf.fit_parameters(s, c, k, extract_date=EXTRACT, template=load_params(BASELINE))
    return res, truth


def _realised(truth) -> dict:
    """From the uncensored histories: of closed episodes with a plan (closed from the window start to
    two years before the extract, before the 18th birthday, not RC1-RC6), the share whose child's next
    referral leads to a plan of the kind (CP for a child who has had a CP plan by the closure, else CIN)."""
    h = synthetic.simulate_history(truth, SEED)
    start, last = truth.start_date.toordinal(), truth.extract_date.toordinal() - 730
    by_child: dict = {}
    for e in h.cin:
        by_child.setdefault(e.child, []).append(e)
    first_cp = {ch: min((p[0] for e in eps for p in e.cpps), default=None) for ch, eps in by_child.items()}
    n = {"cp": 0, "cin": 0}
    rep = {"cp": 0, "cin": 0}
    for ch, eps in by_child.items():
        eps.sort(key=lambda e: e.referral)
        b18 = synthetic._add_years(h.children[ch].dob, 18)
        for i, e in enumerate(eps):
            if not (e.cin_plans or e.cpps) or e.closure is None or not start <= e.closure <= last:
                continue
            if e.rc in NOT_RETURNING_RC or e.closure >= b18:
                continue
            kind = "cp" if first_cp[ch] is not None and first_cp[ch] <= e.closure else "cin"
            n[kind] += 1
            nxt = next((x for x in eps[i + 1:] if x.referral > e.closure), None)
            if nxt is not None and nxt.referral < b18 and (nxt.cpps if kind == "cp" else nxt.cin_plans):
                rep[kind] += 1
    return {k: (rep[k] / n[k], n[k]) for k in n}


def test_repeat_plan_probabilities_recover_the_generator(fitted):
    res, truth = fitted
    real = _realised(truth)
    summary = res.summary.set_index("measure")
    for kind in ("cp", "cin"):
        p_true, n_true = real[kind]
        rp = res.params.repeat_plans[kind]
        row = summary.loc[f"repeat_plan_probability_{kind}"]
        assert row["value"] == pytest.approx(rp.probability, abs=1e-4)
        # the fit's interval, widened by the realised share's own binomial noise (a different sample
        # of closures: the truth's window stops two years earlier)
        half = (row["high"] - row["low"]) / 2
        tol = np.hypot(half, 1.96 * np.sqrt(p_true * (1 - p_true) / n_true))
        assert abs(rp.probability - p_true) <= tol, (kind, rp.probability, p_true, tol)
        # re-referrals come within about a year in the generator: most of the delay's mass is inside
        assert rp.delay.sf(365.0) < 0.2, kind
    assert res.log.set_index("parameter").loc["repeat_plans.cp", "source"] == "data"


def test_ordinary_returns_leave_out_the_repeats(fitted):
    res, _ = fitted
    log = res.log.set_index("parameter")
    for kind in ("cin_closed", "cp_closed"):
        assert "followed by a repeat plan left out" in log.loc[f"recontact.{kind}", "note"]
    assert res.params.horizon.start_date == dt.date(2022, 4, 1)
