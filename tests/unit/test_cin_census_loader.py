"""CIN census loader: XML and flattened CSV of the same content agree; bad records are set aside."""
from __future__ import annotations

import pandas as pd
import pytest

from calibration.cin_census import CSV_COLUMNS, load_cin_census
from calibration.records import DataError

EXTRACT = "2023-03-31"
TABLES = ("referrals", "assessments", "cin_plans", "s47", "cp_plans")

XML = """<?xml version="1.0" encoding="UTF-8"?>
<Message xmlns="http://www.example.org/cin">
  <Header><CollectionDetails><Collection>CIN</Collection><Year>2023</Year></CollectionDetails></Header>
  <Children>
    <Child>
      <ChildIdentifiers><LAchildID>A1</LAchildID><PersonBirthDate>2015-03-27</PersonBirthDate></ChildIdentifiers>
      <CINdetails>
        <CINreferralDate>2022-10-06</CINreferralDate><ReferralSource>1A</ReferralSource>
        <PrimaryNeedCode>N4</PrimaryNeedCode><CINclosureDate>2023-02-27</CINclosureDate>
        <ReasonForClosure>RC1</ReasonForClosure><ReferralNFA>false</ReferralNFA>
        <Assessments><Assessment><AssessmentActualStartDate>2022-10-07</AssessmentActualStartDate>
          <AssessmentAuthorisationDate>2022-11-18</AssessmentAuthorisationDate></Assessment>
          <Assessment><AssessmentActualStartDate>2023-01-07</AssessmentActualStartDate></Assessment></Assessments>
        <CINPlanDates><CINPlanStartDate>2022-11-24</CINPlanStartDate><CINPlanEndDate>2023-01-26</CINPlanEndDate></CINPlanDates>
        <Section47><S47ActualStartDate>2022-10-08</S47ActualStartDate><DateOfInitialCPC>2022-10-20</DateOfInitialCPC>
          <ICPCnotRequired>false</ICPCnotRequired></Section47>
        <ChildProtectionPlans><CPPstartDate>2022-10-20</CPPstartDate><CPPendDate>2023-01-14</CPPendDate>
          <NumberOfPreviousCPP>1</NumberOfPreviousCPP></ChildProtectionPlans>
      </CINdetails>
      <CINdetails>
        <CINreferralDate>2023-03-01</CINreferralDate><ReferralSource>5A</ReferralSource>
        <PrimaryNeedCode>N1</PrimaryNeedCode><ReferralNFA>true</ReferralNFA>
      </CINdetails>
    </Child>
    <Child>
      <ChildIdentifiers><LAchildID>B2</LAchildID></ChildIdentifiers>
      <CINdetails>
        <CINreferralDate>2023-01-10</CINreferralDate><ReferralSource>2B</ReferralSource>
        <PrimaryNeedCode>N2</PrimaryNeedCode><ReferralNFA>0</ReferralNFA>
        <Assessments><AssessmentActualStartDate>2023-01-11</AssessmentActualStartDate></Assessments>
      </CINdetails>
    </Child>
  </Children>
</Message>
"""

# The same content flattened: first row carries the episode and its first items, the next row for
# the same LAchildID + CINreferralDate adds the second assessment.
CSV_ROWS = [
    dict(LAchildID="A1", PersonBirthDate="27/03/2015", CINreferralDate="06/10/2022", ReferralSource="1A",
         PrimaryNeedCode="N4", CINclosureDate="27/02/2023", ReasonForClosure="RC1", ReferralNFA="0",
         AssessmentActualStartDate="07/10/2022", AssessmentAuthorisationDate="18/11/2022",
         CINPlanStartDate="24/11/2022", CINPlanEndDate="26/01/2023", S47ActualStartDate="08/10/2022",
         DateOfInitialCPC="20/10/2022", ICPCnotRequired="0", CPPstartDate="20/10/2022",
         CPPendDate="14/01/2023", NumberOfPreviousCPP="1"),
    dict(LAchildID="A1", CINreferralDate="06/10/2022", AssessmentActualStartDate="2023-01-07"),
    dict(LAchildID="A1", PersonBirthDate="27/03/2015", CINreferralDate="01/03/2023", ReferralSource="5A",
         PrimaryNeedCode="N1", ReferralNFA="1"),
    dict(LAchildID="B2", CINreferralDate="10/01/2023", ReferralSource="2B", PrimaryNeedCode="N2",
         ReferralNFA="0", AssessmentActualStartDate="11/01/2023"),
]


def write_csv(path, rows):
    pd.DataFrame(rows, columns=list(CSV_COLUMNS)).to_csv(path, index=False)
    return path


def assert_balanced(result):
    dq = result.quality.data_quality
    assert (dq["rows_kept"] + dq["rows_set_aside"] == dq["rows_read"]).all()


def test_xml_and_flattened_csv_give_identical_tables(tmp_path):
    (tmp_path / "cin.xml").write_text(XML)
    from_xml = load_cin_census(tmp_path / "cin.xml", EXTRACT)
    from_csv = load_cin_census(write_csv(tmp_path / "cin.csv", CSV_ROWS), EXTRACT)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(from_xml, table), getattr(from_csv, table), obj=table)
    assert_balanced(from_xml)
    assert_balanced(from_csv)
    assert from_xml.quality.rows_set_aside.empty and from_csv.quality.rows_set_aside.empty


def test_tables_hold_the_content(tmp_path):
    (tmp_path / "cin.xml").write_text(XML)
    r = load_cin_census(tmp_path / "cin.xml", EXTRACT)
    assert len(r.referrals) == 3 and len(r.assessments) == 3
    a1 = r.referrals[r.referrals["child"] == "A1"]
    assert list(a1["nfa"]) == [False, True]
    assert pd.isna(r.referrals.set_index("child").loc["B2", "dob"])
    assert r.cp_plans.loc[0, "number_of_previous_cpp"] == 1
    assert r.s47.loc[0, "icpc_date"] == pd.Timestamp("2022-10-20")
    assert list(r.cp_plans.columns) == ["child", "referral_date", "start", "end", "number_of_previous_cpp"]
    assert "3 CIN episodes" in r.describe()


def test_bad_records_are_set_aside_with_reasons(tmp_path):
    rows = [
        dict(LAchildID="C1", CINreferralDate="01/01/2023", CINclosureDate="01/12/2022", ReasonForClosure="RC2",
             AssessmentActualStartDate="02/01/2023"),                              # closure before referral
        dict(LAchildID="C2", CINreferralDate="01/01/2023", ReasonForClosure="RC99"),  # invalid code
        dict(CINreferralDate="01/01/2023"),                                         # missing child
        dict(LAchildID="C4", CINreferralDate="01/13/2023"),                         # not a date
        dict(LAchildID="C5", CINreferralDate="01/01/2030"),                         # future
        dict(LAchildID="C6", CINreferralDate="01/01/2023", ReferralNFA="maybe"),    # bad flag
        dict(LAchildID="C7", CINreferralDate="01/01/2023", CPPstartDate="05/01/2023",
             CPPendDate="01/01/2023"),                                              # plan ends before start
        dict(LAchildID="C7", CINreferralDate="01/01/2023", CINPlanEndDate="05/01/2023"),  # plan without start
    ]
    r = load_cin_census(write_csv(tmp_path / "bad.csv", rows), EXTRACT)
    assert_balanced(r)
    sa = r.quality.rows_set_aside
    got = {(f.split("(")[1].rstrip(")"), row): reason for f, row, reason in zip(sa["file"], sa["row"], sa["reason"])}
    assert got[("referrals", 2)] == "CINclosureDate 01/12/2022 is before CINreferralDate 01/01/2023"
    assert got[("assessments", 2)] == "its CIN episode was set aside (see referrals)"
    assert got[("referrals", 3)] == "ReasonForClosure 'RC99' is not a valid code"
    assert got[("referrals", 4)] == "LAchildID is missing"
    assert got[("referrals", 5)] == "CINreferralDate '01/13/2023' is not a date (no such date: month first? expected dd/mm/yyyy)"
    assert got[("referrals", 6)] == "CINreferralDate 01/01/2030 is after the extract date 31/03/2023"
    assert got[("referrals", 7)].startswith("ReferralNFA 'maybe'")
    assert got[("cp_plans", 8)] == "CPPendDate 01/01/2023 is before CPPstartDate 05/01/2023"
    assert got[("cin_plans", 9)] == "CINPlanStartDate is missing"
    assert list(r.referrals["child"]) == ["C7"]


def test_missing_column_and_bad_xml_are_data_errors(tmp_path):
    pd.DataFrame({"LAchildID": ["1"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(DataError, match=r"^x.csv: required column .*PersonBirthDate"):
        load_cin_census(tmp_path / "x.csv", EXTRACT)
    (tmp_path / "y.xml").write_text("<Message><Children>")
    with pytest.raises(DataError, match="y.xml: not valid XML"):
        load_cin_census(tmp_path / "y.xml", EXTRACT)
