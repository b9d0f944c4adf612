"""Contacts about people aged 18 or over are left out of the fit, and the data-quality table says so.

The example data's generator drew its "known child" contacts from everyone ever referred, so
about 7% of its contacts (2,254 kept by the loader) were about adults. Counted, they added to
the rate of new contacts and to the NFA and early-help shares of their outcomes, though the
model's front door only sees children. Hand-made: 400 new contacts about children (a quarter
referred) and 100 about adults (never referred)."""
from __future__ import annotations

import pandas as pd
import pytest

from calibration import fit as cf
from calibration.contacts import Contacts
from calibration.records import DataQuality

EXTRACT = pd.Timestamp("2022-03-31")


def _contacts(with_adults: bool) -> Contacts:
    rows = []
    days = pd.date_range("2019-04-01", "2022-03-30", periods=400)
    for i, d in enumerate(days):
        rows.append((f"K{i}", d, "referral" if i % 4 == 0 else "nfa", d - pd.DateOffset(years=8)))
    if with_adults:
        for i, d in enumerate(pd.date_range("2019-04-02", "2022-03-29", periods=100)):
            rows.append((f"A{i}", d, "nfa", d - pd.DateOffset(years=18 + i % 5)))   # 18th birthday on the day or earlier
    k = pd.DataFrame(rows, columns=["child", "contact_date", "outcome", "dob"])
    q = DataQuality()
    q.read("contacts.csv", len(k))
    return Contacts(contacts=k.sort_values("contact_date").reset_index(drop=True), quality=q, extract_date=EXTRACT)


def test_children_only_leaves_out_contacts_from_the_18th_birthday():
    k, n = cf.children_only(_contacts(True))
    assert n == 100 and len(k.contacts) == 400 and k.contacts["child"].str.startswith("K").all()
    same, n0 = cf.children_only(_contacts(False))
    assert n0 == 0 and len(same.contacts) == 400


def test_the_day_before_the_18th_birthday_is_still_a_child():
    k = _contacts(False)
    k.contacts.loc[0, "dob"] = k.contacts.loc[0, "contact_date"] - pd.DateOffset(years=18) + pd.Timedelta(days=1)
    k.contacts.loc[1, "dob"] = pd.NaT     # unborn or not given: kept
    assert cf.children_only(k)[1] == 0


def _front_door(contacts):
    from sim.params import load_params

    f = cf._Fitter(None, None, contacts, None, EXTRACT, load_params("experiments/baseline.yaml"))
    f.contacts()
    return f.p["arrivals"]["new_contacts"]["per_month"], f.p["front_door"]["outcomes"]


def test_adult_contacts_would_bias_the_front_door_fit_and_are_left_out():
    rate, out = _front_door(_contacts(False))
    assert out["referral"] == pytest.approx(0.25, abs=0.01)
    biased_rate, biased_out = _front_door(_contacts(True))           # what counting them gives
    assert biased_rate > rate * 1.15 and biased_out["referral"] < 0.22
    assert _front_door(cf.children_only(_contacts(True))[0]) == (rate, out)


def test_fit_parameters_leaves_them_out_and_says_so():
    """On the shipped example data the loader sets aside the 2,254 contacts about people aged 18
    or over, listed with their reason; contacts about adults that reach the fit by another route
    (here: 300 added back by hand) are left out, with a fit-log row and a data-quality note."""
    import copy
    from pathlib import Path

    from calibration.cin_census import load_cin_census
    from calibration.contacts import load_contacts
    from calibration.ssda903 import load_ssda903
    from calibration.summary import data_quality_table
    from sim.params import load_params

    d = Path("calibration/example_data")
    k = load_contacts(d / "contacts" / "contacts.csv", "2022-03-31")
    reasons = k.quality.rows_set_aside["reason"].astype(str)
    assert reasons.str.startswith("aged 18 or over on contact_date").sum() == 2254
    assert cf.children_only(k)[1] == 0
    adults = k.contacts.sample(300, random_state=1).copy()
    adults["dob"] = adults["contact_date"] - pd.DateOffset(years=30)
    k2 = copy.copy(k)
    k2.contacts = pd.concat([k.contacts, adults], ignore_index=True)
    res = cf.fit_parameters(load_ssda903(d / "ssda903", "2022-03-31"),
                            load_cin_census(d / "cin_census" / "csv", "2022-03-31"), k2,
                            extract_date="2022-03-31", template=load_params("experiments/baseline.yaml"))
    log = res.log.set_index("parameter")
    assert log.loc["contacts (aged 18 or over)", "n"] == 300
    dq = data_quality_table(res.quality).set_index("file")
    assert "aged 18 or over" in dq.loc["contacts.csv", "notes"]
