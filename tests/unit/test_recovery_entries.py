"""Parameter recovery of entries into care on the project's synthetic generator (issue 15, item 3).

(a) With a CIN census, an entry into care after a return home is made by `care.reentry`; counted
    as a direct entry too, the model made it twice. Generator: every entry into care has no CIN
    episode (care route `none`, so every first entry is a direct entry) and half the reunified
    children come back: the fitted direct entries must be the generator's first entries, within
    their sampling error.
(b) From SSDA903 alone, the entries' trend is the data's; (d) and their age profile is kept.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from calibration import fit as cf
from calibration.cin_census import load_cin_census
from calibration.ssda903 import load_ssda903
from sim.params import load_params

synthetic = pytest.importorskip("calibration.synthetic")
BASELINE = "experiments/baseline.yaml"
EXTRACT = "2022-03-31"


def _truth_rate_at_extract(truth) -> float:
    """The generator's first entries a month at the extract date (its rate grows from start_date)."""
    years = (truth.extract_date - truth.start_date).days / 365.25
    return truth.first_entries_per_year * truth.scale * (1 + truth.entries_growth_per_year) ** years / 12


@pytest.fixture(scope="module")
def direct_only(tmp_path_factory):
    out = tmp_path_factory.mktemp("direct_only")
    truth = synthetic.SyntheticTruth(scale=1.0, care_routes={"none": 1.0}, referrals_per_year=600,
                                     reentry_within_2y=0.5)
    synthetic.generate(truth, seed=1, out_dir=out, messy=False)
    s = load_ssda903(out / "ssda903", EXTRACT)
    c = load_cin_census(out / "cin_census" / "csv" / "cin_census.csv", EXTRACT)
    res = cf.fit_parameters(s, c, None, extract_date=EXTRACT, template=load_params(BASELINE))
    return res, truth, s


def test_re_entries_are_not_counted_as_direct_entries(direct_only):
    res, truth, s = direct_only
    true_rate = _truth_rate_at_extract(truth)
    rf = cf.fit_rate(res.monthly["direct_care_entries"], pd.Timestamp(EXTRACT))
    lo, hi = rf.per_month_ci
    assert res.params.arrivals.direct_care_entries.per_month == pytest.approx(rf.per_month, abs=1e-3)
    assert lo <= true_rate <= hi, (rf.per_month, lo, hi, true_rate)
    # the trend too (the generator's 1.5% a year)
    tlo, thi = rf.trend_ci
    assert tlo <= truth.entries_growth_per_year <= thi, (rf.trend_per_year, rf.trend_ci)
    # the re-entries were there to double count: every period of care, re-entries included, gives a
    # rate well outside that interval (the fix matters on these data)
    start = pd.Timestamp(res.monthly["direct_care_entries"]["month"].iloc[0])
    periods = s.periods
    tab = cf.monthly_counts(periods.loc[periods["start"] >= start, "start"], start, pd.Timestamp(EXTRACT))
    every = cf.fit_rate(tab, pd.Timestamp(EXTRACT))
    assert every.per_month > hi, (every.per_month, hi)
    note = res.log.set_index("parameter").loc["arrivals.direct_care_entries", "note"]
    assert "re-entries after a return home left out" in note


def test_the_re_entries_are_made_by_care_reentry(direct_only):
    res, truth, _ = direct_only
    # the generator's reunified children come back with probability 0.5, all within 2 years; the
    # cure model's probability of ever coming back (censored at the extract and the 18th birthday)
    p = res.params.care.reentry.probability
    assert abs(p - truth.reentry_within_2y) < 0.08, p
    assert res.params.horizon.start_date == dt.date(2022, 4, 1)


# (b) From SSDA903 alone, entries into care come mostly through the template's front door, whose
#     demand grew at the template's trend (2.5% a year), whatever the council's entries did. The
#     generator's first entries grow 8% a year here: the fitted trend must hold it in its interval,
#     and both arrival streams that make entries (contacts, direct entries) must carry it.
@pytest.fixture(scope="module")
def growing(tmp_path_factory):
    out = tmp_path_factory.mktemp("growing")
    truth = synthetic.SyntheticTruth(scale=1.0, entries_growth_per_year=0.08, referrals_per_year=1500)
    synthetic.generate(truth, seed=5, out_dir=out, messy=False)
    s = load_ssda903(out / "ssda903", EXTRACT)
    template = load_params(BASELINE)
    res = cf.fit_parameters(s, None, None, extract_date=EXTRACT, template=template)
    return res, truth, template


def test_ssda903_only_entry_trend_is_the_data_s(growing):
    res, truth, template = growing
    lo, hi = res.supply["observed_trend_ci"]
    assert lo <= truth.entries_growth_per_year <= hi, (lo, hi)
    g = res.supply["observed_trend"]
    # the template's demand trend is outside that interval: carried on, it would misstate the growth
    assert not lo <= template.arrivals.new_contacts.trend_per_year <= hi
    a = res.params.arrivals
    assert a.new_contacts.trend_per_year == pytest.approx(g, abs=1e-4)
    if a.direct_care_entries.per_month > 0:
        assert a.direct_care_entries.trend_per_year == pytest.approx(g, abs=1e-4)
    log = res.log.set_index("parameter")
    assert log.loc["arrivals.new_contacts.trend_per_year", "source"] == "data"


def test_ssda903_only_entries_keep_their_age_profile(growing):
    """(d) The template's front door makes few infants and many children aged 1-16; direct entries
    cannot take a band down, so before this the entries' age mix was the template's (infants about
    3% of entries where the data have 18%). Now the front door is scaled until no band is over by
    more than its sampling error, and direct entries make up the rest, band by band."""
    res, truth, _ = growing
    sup = res.supply
    obs = np.asarray(sup["observed_by_band"])
    fd = np.asarray(sup["front_door_by_band"])
    w = np.array([b.weight for b in res.params.arrivals.age_at_direct_entry])
    bands = [(b.from_age, b.to_age) for b in res.params.arrivals.age_at_direct_entry]
    assert bands == list(zip(sup["bands"][:-1], sup["bands"][1:]))
    model = fd + res.params.arrivals.direct_care_entries.per_month * w / w.sum()
    # the front door's own noise: its entries over the warm-up's measured months are Poisson
    se_fd = np.sqrt(np.maximum(fd, 1e-9) * sup["front_door_months"]) / sup["front_door_months"]
    assert np.all(np.abs(model - obs) <= 3 * se_fd + 0.02), (model, obs, se_fd)
    # the generator's share of first entries under 1 (20%) is recovered within its sampling error
    n = sup["observed_entries"]
    share = model[0] / model.sum()
    p = truth.entry_age_shares["under1"]
    assert abs(share - p) <= 2.5 * math.sqrt(p * (1 - p) / n) + 3 * se_fd[0] / model.sum(), share
