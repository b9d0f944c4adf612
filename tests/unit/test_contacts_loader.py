"""Contacts loader: our own CSV format, with bad rows set aside and counts that balance."""
from __future__ import annotations

import pytest

from calibration.contacts import load_contacts
from calibration.records import DataError

EXTRACT = "31/03/2023"


def test_contacts_load_and_bad_rows_are_set_aside(tmp_path):
    (tmp_path / "contacts.csv").write_text(
        "child_id,contact_date,outcome,dob\n"
        "1,01/02/2023,nfa,01/01/2015\n"          # row 2 fine
        "2,2023-02-03,Early Help,\n"             # row 3 fine (ISO date, forgiving outcome)
        "1,01/02/2023,nfa,01/01/2015\n"          # row 4 exact duplicate
        "3,01/02/2023,strategy,\n"               # row 5 invalid outcome
        "4,,referral,\n"                         # row 6 missing date
        "5,01/04/2024,referral,\n"               # row 7 future
        "6,32/01/2023,referral,\n"               # row 8 not a date
        ",01/02/2023,referral,\n"                # row 9 missing child
        "7,01/02/2023,referral,01/03/2023\n"     # row 10 born after contact
        "8,01/03/2023,referral,\n"               # row 11 fine
    )
    c = load_contacts(tmp_path / "contacts.csv", EXTRACT)
    dq = c.quality.data_quality.iloc[0]
    assert (dq["rows_read"], dq["rows_kept"], dq["rows_set_aside"]) == (10, 3, 7)
    reasons = dict(zip(c.quality.rows_set_aside["row"], c.quality.rows_set_aside["reason"]))
    assert reasons[4] == "exact duplicate of row 2"
    assert reasons[5] == "outcome 'strategy' is not a valid code"
    assert reasons[6] == "contact_date is missing"
    assert reasons[7] == "contact_date 01/04/2024 is after the extract date 31/03/2023"
    assert reasons[8] == "contact_date '32/01/2023' is not a date (no such date)"
    assert reasons[9] == "child_id is missing"
    assert reasons[10].startswith("dob is after contact_date (an unborn")
    assert list(c.contacts["outcome"]) == ["nfa", "early_help", "referral"]
    assert c.contacts["contact_date"].dtype == "datetime64[ns]"
    assert "3 contacts" in c.describe()


def test_dob_column_is_optional(tmp_path):
    (tmp_path / "c.csv").write_text("child_id,contact_date,outcome\n1,01/02/2023,referral\n")
    c = load_contacts(tmp_path / "c.csv", EXTRACT)
    assert c.contacts["dob"].isna().all() and len(c.contacts) == 1


def test_missing_column_is_a_data_error(tmp_path):
    (tmp_path / "c.csv").write_text("child_id,contact_date\n1,01/02/2023\n")
    with pytest.raises(DataError, match=r"^c.csv: required column outcome is missing$"):
        load_contacts(tmp_path / "c.csv", EXTRACT)


def test_a_folder_of_files_is_read_with_counts_per_file(tmp_path):
    for name in ("2022.csv", "2023.csv"):
        (tmp_path / name).write_text("child_id,contact_date,outcome\n1,01/02/2022,nfa\n2,bad,nfa\n")
    c = load_contacts(tmp_path, EXTRACT)
    dq = c.quality.data_quality
    assert list(dq["file"]) == ["2022.csv", "2023.csv"] and list(dq["rows_set_aside"]) == [2, 1]
    assert len(c.contacts) == 1  # the same contact in both files (they overlap) is counted once


def test_contacts_about_adults_are_set_aside_with_a_reason(tmp_path):
    """The front door and the model are for children: a contact about someone aged 18 or over on
    the day is listed with its reason, not used; the day before the 18th birthday is kept."""
    (tmp_path / "contacts.csv").write_text(
        "child_id,contact_date,outcome,dob\n"
        "1,09/03/2023,nfa,10/03/2005\n"          # row 2: the day before the 18th birthday: kept
        "2,10/03/2023,nfa,10/03/2005\n"          # row 3: the 18th birthday: set aside
        "3,01/02/2023,referral,01/01/1990\n"     # row 4: aged 33: set aside
        "4,01/02/2023,referral,\n"               # row 5: no dob: kept
    )
    c = load_contacts(tmp_path / "contacts.csv", EXTRACT)
    assert sorted(c.contacts["child"].astype(str)) == ["1", "4"]
    reasons = dict(zip(c.quality.rows_set_aside["row"], c.quality.rows_set_aside["reason"]))
    assert set(reasons) == {3, 4}
    assert reasons[3] == ("aged 18 or over on contact_date (by dob): "
                          "the front door and the model are for children")
    dq = c.quality.data_quality.iloc[0]
    assert (dq["rows_read"], dq["rows_kept"], dq["rows_set_aside"]) == (4, 2, 2)
