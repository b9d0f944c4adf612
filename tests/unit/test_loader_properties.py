"""Property tests of the loaders' row handling: random mixes of good and broken rows.

Whatever the lines, every data line of the file is either kept or set aside (once, with a
reason), the counts add up, and the only error is a one-line DataError when nothing is left.
"""
from __future__ import annotations

import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from calibration.cin_census import CSV_COLUMNS, load_cin_census  # noqa: E402
from calibration.contacts import load_contacts  # noqa: E402
from calibration.records import DataError, _formula_like  # noqa: E402

EXTRACT = "31/03/2022"
SETTINGS = settings(max_examples=60, deadline=None, database=None, derandomize=True,  # the same cases every run
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# text that stays on one line (line breaks are what the file is made of)
junk = st.text(st.characters(blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029",
                             blacklist_categories=("Cs",)), max_size=12)
good_date = st.dates(min_value=pd.Timestamp("2005-01-01").date(), max_value=pd.Timestamp("2022-03-31").date())
date_text = st.one_of(
    good_date.map(lambda d: d.strftime("%d/%m/%Y")),
    good_date.map(lambda d: d.isoformat()),
    good_date.map(lambda d: d.strftime("%d/%m/%y")),          # two-digit year
    st.integers(30000, 50000).map(str),                       # spreadsheet serial
    st.sampled_from(["31/12/9999", "01/01/1066", "01/01/1900", "31/02/2020", "2030-01-01", "", "unknown"]),
    junk,
)
child = st.one_of(st.integers(1, 30).map(str), st.sampled_from(["", "=HYPERLINK(1)", "+cmd|x", "-1", "@a"]), junk)
outcome = st.one_of(st.sampled_from(["nfa", "early_help", "Early Help", "referral", "REFERRAL", "", "strategy"]), junk)


def csv_value(text: str) -> str:
    """A value as a CSV writer would write it, or sometimes raw (stray quotes and commas)."""
    if any(c in text for c in ',"'):
        return '"' + text.replace('"', '""') + '"'
    return text


contact_line = st.one_of(
    st.tuples(child, date_text, outcome, date_text).map(lambda t: ",".join(csv_value(v) for v in t)),
    st.tuples(child, date_text, outcome, date_text).map(lambda t: ",".join(t)),  # raw: may break the columns
    st.sampled_from(["", "   ", ",,,", "1,01/02/2022,nfa,01/01/2015,extra", '1,"01/02/2022,nfa,', "1,01/02/2022"]),
    junk,
)


def assert_every_line_accounted(result, file: str, data_lines: list[int], kept_rows: int):
    q = result.quality
    q.check()
    dq = q.data_quality.set_index("file").loc[file]
    assert dq["rows_read"] == len(data_lines)
    assert dq["rows_kept"] == kept_rows
    assert dq["rows_kept"] + dq["rows_set_aside"] == dq["rows_read"]
    aside = q.rows_set_aside
    aside = aside[aside["file"] == file]
    assert aside["row"].is_unique
    assert set(aside["row"]) <= set(data_lines)
    assert aside["reason"].notna().all() and (aside["reason"].astype(str).str.len() > 0).all()


def data_line_numbers(body: list[str]) -> list[int]:
    return [i + 2 for i, line in enumerate(body) if line.strip()]


@SETTINGS
@given(body=st.lists(contact_line, max_size=25), latin1=st.booleans())
def test_contacts_every_line_is_kept_or_set_aside(tmp_path, body, latin1):
    text = "child_id,contact_date,outcome,dob\n" + "".join(line + "\n" for line in body)
    data = text.encode("utf-8") + (b"9,01/01/2022,nfa,caf\xe9\n" if latin1 else b"")
    path = tmp_path / "contacts.csv"
    path.write_bytes(data)
    lines = data_line_numbers(body) + ([len(body) + 2] if latin1 else [])
    try:
        result = load_contacts(path, EXTRACT)
    except DataError as exc:
        message = str(exc)
        # a file whose first bytes are mostly control characters is refused whole, as binary
        assert "\n" not in message and message.startswith(("contacts contacts.csv: no usable contacts left",
                                                            "contacts.csv: holds binary data"))
        return
    assert_every_line_accounted(result, "contacts.csv", lines, len(result.contacts))
    # text a spreadsheet would run is quoted (a plain signed number such as -1 runs nothing)
    assert not result.quality.rows_set_aside["child"].map(_formula_like).any()


def cin_row(values: dict) -> str:
    return ",".join(csv_value(values.get(c, "")) for c in CSV_COLUMNS)


cin_child = st.sampled_from(["A", "B", "C", "", "=1+1"])
cin_line = st.one_of(
    st.builds(lambda c, r, cl, a, p: cin_row({"LAchildID": c, "CINreferralDate": r, "CINclosureDate": cl,
                                               "AssessmentActualStartDate": a, "CPPstartDate": p}),
              cin_child, st.sampled_from(["01/01/2021", "2021-01-01", "05/05/2021", "01/01/21", "", "x"]),
              st.sampled_from(["", "01/06/2021", "31/12/9999", "01/01/2020"]),
              st.sampled_from(["", "02/01/2021", "06/05/2021", "44000"]), st.sampled_from(["", "03/01/2021"])),
    st.sampled_from(["", ",,,", '"unclosed,']),
    junk,
)


@SETTINGS
@given(body=st.lists(cin_line, max_size=20))
def test_cin_csv_every_line_is_kept_or_set_aside(tmp_path, body):
    text = ",".join(CSV_COLUMNS) + "\n" + "".join(line + "\n" for line in body)
    path = tmp_path / "cin.csv"
    path.write_text(text, encoding="utf-8")
    try:
        result = load_cin_census(path, EXTRACT)
    except DataError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(("CIN census cin.csv: no usable CIN episodes left",
                                                            "cin.csv: holds binary data"))
        return
    q = result.quality
    q.check()
    dq = q.data_quality.set_index("file")
    assert dq.loc["cin.csv (referrals)", "rows_read"] == len(data_line_numbers(body))
    assert (dq["rows_kept"] + dq["rows_set_aside"] == dq["rows_read"]).all()
    assert dq.loc["cin.csv (referrals)", "rows_kept"] >= len(result.referrals)
    for table in ("assessments", "cp_plans"):
        assert dq.loc[f"cin.csv ({table})", "rows_kept"] == len(getattr(result, table))
    assert not result.referrals.duplicated(["child", "referral_date"]).any()
