"""Bad input to the three loaders (issue 16): no traceback on any input, nothing lost or silently wrong.

Every case builds a broken file in tmp_path and loads it. The outcome is either a DataError whose
message is one line naming the file (and the row or field where it applies), or a result whose
rows are each kept or set aside with a reason, with kept + set aside = read for every file. No
other exception, and no numpy RuntimeWarning.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from calibration.cin_census import CSV_COLUMNS, load_cin_census
from calibration.contacts import load_contacts
from calibration.records import DataError, spreadsheet_safe
from calibration.ssda903 import load_ssda903

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

EXTRACT = "31/03/2022"
SAMPLE = Path(__file__).parents[2].parent / "shared" / "data" / "ssda903_sample"
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB"
EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN"
GOOD_HEADER = ["1,1,01/01/2010,WBRI,,,", "2,2,2012-05-05,WBRI,,,", "3,1,03/03/2008,WBRI,,,"]
GOOD_EPISODES = [
    "1,01/02/2020,S,C2,N1,U4,PR1,01/06/2020,X1,,,,",
    "1,01/06/2020,P,C2,N1,U5,PR4,,,,,,",
    "2,05/05/2019,S,C2,N1,U1,PR1,10/10/2020,E4A,,,,",
    "3,03/03/2021,S,J2,N1,K2,PR4,,,,,,",
]
CONTACTS = "child_id,contact_date,outcome,dob"
GOOD_CONTACTS = ["1,01/02/2022,nfa,01/01/2015", "2,2022-02-03,Early Help,", "3,01/03/2022,referral,05/05/2010"]


def cin_line(**fields) -> str:
    return ",".join(fields.get(c, "") for c in CSV_COLUMNS)


CIN_HEADER = ",".join(CSV_COLUMNS)
GOOD_CIN = [
    cin_line(LAchildID="A1", PersonBirthDate="27/03/2015", CINreferralDate="06/10/2021", ReferralSource="1A",
             PrimaryNeedCode="N4", CINclosureDate="27/02/2022", ReasonForClosure="RC1", ReferralNFA="0",
             AssessmentActualStartDate="07/10/2021", AssessmentAuthorisationDate="18/11/2021"),
    cin_line(LAchildID="A1", CINreferralDate="06/10/2021", AssessmentActualStartDate="2022-01-07"),
    cin_line(LAchildID="B2", PersonBirthDate="2010-01-01", CINreferralDate="10/01/2022", ReferralSource="2B",
             PrimaryNeedCode="N2", ReferralNFA="0", CPPstartDate="15/01/2022"),
]


def lines(header: str, rows) -> str:
    return "\n".join([header, *rows]) + "\n"


def ssda(root: Path, header_rows=GOOD_HEADER, episode_rows=GOOD_EPISODES, *, header_text=None,
         episodes_text=None, encoding="utf-8") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    h = header_text if header_text is not None else lines(HEADER, header_rows)
    e = episodes_text if episodes_text is not None else lines(EPISODES, episode_rows)
    for name, text in (("header.csv", h), ("episodes.csv", e)):
        data = text if isinstance(text, bytes) else text.encode(encoding)
        (root / name).write_bytes(data)
    return root


def write(path: Path, text, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


@dataclass
class Case:
    name: str
    build: Callable[[Path], Callable[[], object]]  # tmp_path -> a call that loads
    error: str | None = None       # regex the one-line DataError must match
    aside: dict = field(default_factory=dict)  # {(file or None, row): substring of the reason}
    note: str | None = None        # substring of some note
    kept: dict = field(default_factory=dict)  # {file: rows kept}
    check: Callable | None = None  # more checks on the result


def check_outcome(case: Case, tmp_path: Path):
    load = case.build(tmp_path)
    if case.error:
        with pytest.raises(DataError) as info:
            load()
        message = str(info.value)
        assert "\n" not in message and "Traceback" not in message
        assert re.search(case.error, message), message
        return None
    result = load()
    q = result.quality
    dq = q.data_quality
    assert (dq["rows_kept"] + dq["rows_set_aside"] == dq["rows_read"]).all(), dq
    assert (dq["rows_kept"] >= 0).all()
    q.check()
    aside = q.rows_set_aside
    for (file, row), text in case.aside.items():
        hit = aside[(aside["row"] == row) & ((aside["file"] == file) if file else True)]
        assert len(hit) == 1, (file, row, aside.to_string())
        assert text in hit["reason"].iloc[0], hit["reason"].iloc[0]
    if case.note:
        assert any(case.note in n for n in q.notes["note"]), q.notes.to_string()
    for file, n in case.kept.items():
        assert int(dq.loc[dq["file"] == file, "rows_kept"].iloc[0]) == n, dq
    # personal data: no date of birth in any reason
    assert not aside["reason"].astype(str).str.contains(r"\b(?:DOB|dob|PersonBirthDate) \d").any()
    assert not aside["reason"].astype(str).str.contains(r"\(dob \d").any()
    if case.check:
        case.check(result)
    return result


CASES: list[Case] = []


def case(name, **kw):
    def deco(build):
        CASES.append(Case(name, build, **kw))
        return build
    return deco


def ssda_case(name, header_rows=GOOD_HEADER, episode_rows=GOOD_EPISODES, extract=EXTRACT, **kw):
    CASES.append(Case(name, lambda tmp: (lambda: load_ssda903(ssda(tmp / "x", header_rows, episode_rows),
                                                             extract)), **kw))


def eps_with(*extra):
    return [*GOOD_EPISODES, *extra]


def hdr_with(*extra):
    return [*GOOD_HEADER, *extra]


# ---- SSDA903: dates ------------------------------------------------------------------------------

ssda_case("903 DEC 31/12/9999 is an open marker", episode_rows=eps_with("4,01/01/2021,S,C2,N1,U4,PR1,31/12/9999,E4A,,,,"),
          header_rows=hdr_with("4,1,01/01/2011,WBRI,,,"), note="year 9999",
          check=lambda r: pd.isna(r.episodes.set_index("child").loc["4", "end"]))
ssda_case("903 DEC 9999-12-31 (ISO) is an open marker",
          episode_rows=eps_with("4,01/01/2021,S,C2,N1,U4,PR1,9999-12-31,E4A,,,,"),
          header_rows=hdr_with("4,1,01/01/2011,WBRI,,,"), kept={"episodes.csv": 5})
ssda_case("903 DOB 01/01/1066", header_rows=hdr_with("4,1,01/01/1066,WBRI,,,"),
          episode_rows=eps_with("4,01/01/2021,S,C2,N1,U4,PR1,,,,,,"),
          aside={("header.csv", 5): "DOB is not a plausible date", ("episodes.csv", 6): "header row was set aside"})
ssda_case("903 DOB 01/01/1900 placeholder", header_rows=hdr_with("4,1,01/01/1900,WBRI,,,"),
          aside={("header.csv", 5): "placeholder"})
ssda_case("903 DOB 31/12/9999", header_rows=hdr_with("4,1,31/12/9999,WBRI,,,"), aside={("header.csv", 5): "DOB is a placeholder"})
ssda_case("903 DOB after the extract date, no date shown", header_rows=hdr_with("4,1,05/05/2023,WBRI,,,"),
          aside={("header.csv", 5): "DOB is after the extract date"})
ssda_case("903 DECOM 01/01/1066", episode_rows=eps_with("2,01/01/1066,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "before 1900"})
ssda_case("903 DECOM 31/12/9999", episode_rows=eps_with("2,31/12/9999,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "placeholder for 'no date'"})
ssda_case("903 DEC year 3000", episode_rows=eps_with("2,01/01/2021,S,C2,N1,U4,PR1,01/01/3000,E4A,,,,"),
          aside={("episodes.csv", 6): "after the year 2261"})
ssda_case("903 DECOM dd/mm/yy", episode_rows=eps_with("2,01/01/21,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "two-digit years"})
ssda_case("903 DECOM an Excel serial", episode_rows=eps_with("2,44197,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "date number"})
ssda_case("903 DECOM month first", episode_rows=eps_with("2,12/31/2020,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "month first"})
ssda_case("903 DECOM with a time part", episode_rows=eps_with("2,01/01/2021 00:00,S,C2,N1,U4,PR1,,,,,,"),
          kept={"episodes.csv": 5})
ssda_case("903 DECOM ISO with T", episode_rows=eps_with("2,2021-01-01T00:00:00,S,C2,N1,U4,PR1,,,,,,"),
          kept={"episodes.csv": 5})
ssda_case("903 DECOM 01.01.2021", episode_rows=eps_with("2,01.01.2021,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "expected dd/mm/yyyy or yyyy-mm-dd"})
ssda_case("903 every DECOM dd/mm/yy", episode_rows=[r.replace("/2020", "/20").replace("/2019", "/19")
                                                     .replace("/2021", "/21") for r in GOOD_EPISODES],
          error=r"^SSDA903 episodes.csv: no usable care episodes left: 4 rows read, 4 set aside \(4 DECOM '…' is not a date \(two-digit")
ssda_case("903 every DECOM an Excel serial", episode_rows=["1,43862,S,C2,N1,U4,PR1,,,,,,", "2,43590,S,C2,N1,U1,PR1,,,,,,"],
          error=r"episodes.csv: no usable care episodes left: 2 rows read, 2 set aside .*date number")
ssda_case("903 episodes header only", episode_rows=[],
          error=r"^SSDA903 episodes.csv: no usable care episodes left: no data rows")
ssda_case("903 every PLACE invalid", episode_rows=[r.replace(",U4,", ",Q9,").replace(",U5,", ",Q9,")
                                                   .replace(",U1,", ",Q9,").replace(",K2,", ",Q9,") for r in GOOD_EPISODES],
          error=r"episodes.csv: no usable care episodes left: 4 rows read, 4 set aside \(4 PLACE '…' is not a valid code\)")
ssda_case("903 extract date before the data", extract="01/01/2019",
          error=r"episodes.csv: no usable care episodes left: .*after the extract date")
ssda_case("903 DEC before DECOM", episode_rows=eps_with("2,01/01/2021,S,C2,N1,U4,PR1,01/01/2020,E4A,,,,"),
          aside={("episodes.csv", 6): "DEC 01/01/2020 is before DECOM 01/01/2021"})

# ---- SSDA903: impossible ages ----------------------------------------------------------------------

ssda_case("903 placement before birth", header_rows=hdr_with("4,1,01/01/2021,WBRI,,,"),
          episode_rows=eps_with("4,01/06/2020,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "DECOM is before the child's date of birth"})
ssda_case("903 a child aged 25 entering care", header_rows=hdr_with("4,1,01/01/1996,WBRI,,,"),
          episode_rows=eps_with("4,01/06/2021,S,C2,N1,U4,PR1,,,,,,"),
          aside={("episodes.csv", 6): "18 or over at DECOM"})
ssda_case("903 DOB 1900 (a child aged 120)", header_rows=hdr_with("4,1,05/06/1900,WBRI,,,"),
          episode_rows=eps_with("4,01/06/2021,S,C2,N1,U4,PR1,,,,,,"), aside={("episodes.csv", 6): "18 or over"})
ssda_case("903 still in care at 25", header_rows=hdr_with("4,1,01/01/1997,WBRI,,,"),
          episode_rows=eps_with("4,01/06/2014,S,C2,N1,U4,PR1,,,,,,"), note="past the child's 18th birthday",
          kept={"episodes.csv": 5})

# ---- SSDA903: the file itself --------------------------------------------------------------------


@case("903 ';' between columns", note="';' between columns", kept={"episodes.csv": 4, "header.csv": 3})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", header_text=lines(HEADER, GOOD_HEADER).replace(",", ";"),
                                     episodes_text=lines(EPISODES, GOOD_EPISODES).replace(",", ";")), EXTRACT)


@case("903 tabs between columns", note="tabs between columns", kept={"episodes.csv": 4})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=lines(EPISODES, GOOD_EPISODES).replace(",", "\t")),
                                EXTRACT)


@case("903 Excel's sep=; line", kept={"episodes.csv": 4})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text="sep=;\n" + lines(EPISODES, GOOD_EPISODES)
                                     .replace(",", ";")), EXTRACT)


@case("903 UTF-16 with BOM", note="UTF-16", kept={"episodes.csv": 4})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=lines(EPISODES, GOOD_EPISODES).encode("utf-16")),
                                EXTRACT)


@case("903 UTF-8 with BOM", kept={"episodes.csv": 4, "header.csv": 3})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", header_text=lines(HEADER, GOOD_HEADER).encode("utf-8-sig")),
                                EXTRACT)


@case("903 one Latin-1 byte", note="line 3", kept={"header.csv": 3})
def _(tmp):
    text = lines(HEADER, GOOD_HEADER).replace("2,2,2012-05-05,WBRI", "2,2,2012-05-05,WBRI\xe9").encode("latin-1")
    return lambda: load_ssda903(ssda(tmp / "x", header_text=text), EXTRACT)


@case("903 blank lines keep the row numbers", aside={("episodes.csv", 5): "PLACE 'Q9'"}, kept={"episodes.csv": 4})
def _(tmp):
    text = lines(EPISODES, [GOOD_EPISODES[0], "", "   ", "2,01/01/2021,S,C2,N1,Q9,PR1,,,,,,", *GOOD_EPISODES[1:]])
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=text), EXTRACT)


@case("903 CR line endings", kept={"episodes.csv": 4})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=lines(EPISODES, GOOD_EPISODES).replace("\n", "\r")),
                                EXTRACT)


@case("903 CRLF line endings", kept={"episodes.csv": 4})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=lines(EPISODES, GOOD_EPISODES).replace("\n", "\r\n")),
                                EXTRACT)


ssda_case("903 formula in a child id", episode_rows=eps_with('"=HYPERLINK(""http://x"",""y"")",01/01/2021,S,C2,N1,U4,PR1,,,,,,'),
          aside={("episodes.csv", 6): "child is not in the header file"},
          check=lambda r: r.quality.rows_set_aside["child"].str.startswith("'=").any())
ssda_case("903 +cmd in a code", episode_rows=eps_with("2,01/01/2021,S,C2,N1,+cmd|' /C calc'!A0,PR1,,,,,,"),
          aside={("episodes.csv", 6): "is not a valid code"},
          check=lambda r: not r.quality.rows_set_aside["reason"].str.match(r"[=+\-@\t\r]").any())
ssda_case("903 -, @ and tab leading a child id", episode_rows=eps_with("-2+3,01/01/2021,S,C2,N1,U4,PR1,,,,,,",
                                                                      "@SUM(1),01/01/2021,S,C2,N1,U4,PR1,,,,,,"),
          check=lambda r: set(r.quality.rows_set_aside["child"]) >= {"'-2+3", "'@SUM(1)"})
ssda_case("903 unclosed quote sets aside its row only",
          episode_rows=eps_with('2,"01/01/2021,S,C2,N1,U4,PR1,,,,,,', "3,01/06/2021,P,J2,N1,K2,PR4,,,,,,"),
          aside={("episodes.csv", 6): "unclosed quote"}, kept={"episodes.csv": 5})
ssda_case("903 a quote inside a value is a character", episode_rows=eps_with('2,01/01/2021,S,C2,N1,U4,PR1,,,5" tall,,,'),
          kept={"episodes.csv": 5}, check=lambda r: '5" tall' in set(r.episodes["reason_place_change"].dropna()))
ssda_case("903 too many values", episode_rows=eps_with("2,01/01/2021,S,C2,N1,U4,PR1,,,,,,,extra,more"),
          aside={("episodes.csv", 6): "has 15 values but the header has 13 columns"})
ssda_case("903 trailing empty values are fine", episode_rows=eps_with("2,01/01/2021,S,C2,N1,U4,PR1,,,,,,,,,"),
          kept={"episodes.csv": 5})
ssda_case("903 a truncated line", episode_rows=eps_with("2,01/01/2021,S"), aside={("episodes.csv", 6): "LS is missing"})
ssda_case("903 a row of commas", episode_rows=eps_with(",,,,,,,,,,,,"), aside={("episodes.csv", 6): "the row is empty"})
ssda_case("903 no episode's child in the header", header_rows=["7,1,01/01/2010,WBRI,,,"],
          error=r"^SSDA903 episodes.csv: no usable care episodes left: 4 rows read, 4 set aside \(4 child is not in the header")
ssda_case("903 a NUL byte in one line", episode_rows=eps_with("2,01/01/2021,S,C2,N1,U4\x00,PR1,,,,,,"),
          aside={("episodes.csv", 6): "NUL character"}, kept={"episodes.csv": 4})
ssda_case("903 a very long code", episode_rows=eps_with("2,01/01/2021,S,C2,N1," + "X" * 5000 + ",PR1,,,,,,"),
          check=lambda r: r.quality.rows_set_aside["reason"].str.len().max() < 200)
ssda_case("903 exact duplicate", episode_rows=eps_with(GOOD_EPISODES[0]), aside={("episodes.csv", 6): "exact duplicate of row 2"})


@case("903 a column named _row", note="carepath's own", kept={"episodes.csv": 4})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=lines(EPISODES + ",_row", [r + ",x" for r in GOOD_EPISODES])),
                                EXTRACT)


@case("903 lower-case column names", note="read as CHILD", kept={"header.csv": 3})
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", header_text=lines(HEADER.lower(), GOOD_HEADER)), EXTRACT)


@case("903 a required column twice", error=r"^header.csv: column DOB appears more than once")
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", header_text=lines(HEADER + ",DOB", [r + ",x" for r in GOOD_HEADER])),
                                EXTRACT)


@case("903 missing column", error=r"^episodes.csv: required column PLACE is missing$")
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=lines(EPISODES.replace("PLACE,", "PLACEX,"),
                                                                    GOOD_EPISODES)), EXTRACT)


@case("903 an xlsx saved as .csv", error=r"^episodes.csv: is a spreadsheet workbook")
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=b"PK\x03\x04" + b"\x00" * 100), EXTRACT)


@case("903 binary data", error=r"^header.csv: holds binary data \(control bytes\)")
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", header_text=bytes(range(256)) * 4), EXTRACT)


@case("903 an empty file", error=r"^episodes.csv: the file is empty")
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=""), EXTRACT)


@case("903 UTF-16 that is broken", error=r"^episodes.csv: starts as UTF-16 text but is not valid")
def _(tmp):
    return lambda: load_ssda903(ssda(tmp / "x", episodes_text=b"\xff\xfe" + "CHILD".encode("utf-16-le") + b"\x00\xd8"),
                                EXTRACT)


@case("903 two years with the same episode", aside={("2021/episodes.csv", 2): "superseded by 2022 collection"})
def _(tmp):
    ssda(tmp / "y" / "2021", GOOD_HEADER, GOOD_EPISODES)
    ssda(tmp / "y" / "2022", GOOD_HEADER, [GOOD_EPISODES[0], GOOD_EPISODES[1].replace(",,,,,,", ",01/02/2022,E13,,,,")])
    return lambda: load_ssda903(tmp / "y", EXTRACT)


@case("903 third-party sample with an ancient DOB and a 9999 end",
      aside={("2017/header.csv", 3): "DOB is not a plausible date"})
def _(tmp):
    if not SAMPLE.is_dir():
        pytest.skip("third-party sample not present")
    root = tmp / "s"
    for year in ("2017", "2018"):
        shutil.copytree(SAMPLE / year, root / year)
    h = (root / "2017" / "header.csv").read_text().splitlines()
    h[2] = ",".join(v if i != 2 else "01/01/1066" for i, v in enumerate(h[2].split(",")))
    (root / "2017" / "header.csv").write_text("\n".join(h) + "\n")
    e = (root / "2018" / "episodes.csv").read_text().splitlines()
    e[1] = ",".join(v if i != 7 else "31/12/9999" for i, v in enumerate(e[1].split(",")))
    (root / "2018" / "episodes.csv").write_text("\n".join(e) + "\n")
    return lambda: load_ssda903(root, "31/03/2019")


# ---- CIN census ------------------------------------------------------------------------------------

def cin_case(name, rows=GOOD_CIN, extract=EXTRACT, file="cin.csv", encoding="utf-8", transform=None, **kw):
    def build(tmp):
        text = lines(CIN_HEADER, rows)
        text = transform(text) if transform else text
        return lambda: load_cin_census(write(tmp / file, text, encoding), extract)
    CASES.append(Case(name, build, **kw))


R = "cin.csv (referrals)"
cin_case("CIN exact duplicate episode line without sub-items",
         rows=[*GOOD_CIN, cin_line(LAchildID="C3", CINreferralDate="01/01/2022", ReferralNFA="1"),
               cin_line(LAchildID="C3", CINreferralDate="01/01/2022", ReferralNFA="1")],
         aside={(R, 6): "exact duplicate of row 5"}, kept={R: 4})
cin_case("CIN same child and referral date, another closure",
         rows=[*GOOD_CIN, cin_line(LAchildID="B2", CINreferralDate="10/01/2022", CINclosureDate="20/02/2022",
                                   ReasonForClosure="RC1")],
         aside={(R, 5): "a second CIN episode for this child with the same CINreferralDate (row 4 kept)"})
cin_case("CIN a repeated line that adds nothing", rows=[*GOOD_CIN, cin_line(LAchildID="B2", CINreferralDate="10/01/2022")],
         aside={(R, 5): "adds no assessment"})
cin_case("CIN closure 31/12/9999 is open", rows=[*GOOD_CIN, cin_line(LAchildID="C3", CINreferralDate="01/01/2022",
                                                                   CINclosureDate="31/12/9999")],
         note="year 9999", check=lambda r: r.referrals.set_index("child").loc["C3", "closure_date"] is pd.NaT)
cin_case("CIN birth date 01/01/1066", rows=[*GOOD_CIN, cin_line(LAchildID="C3", PersonBirthDate="01/01/1066",
                                                               CINreferralDate="01/01/2022")],
         aside={(R, 5): "PersonBirthDate is not a plausible date"})
cin_case("CIN referral 01/01/1066", rows=[*GOOD_CIN, cin_line(LAchildID="C3", CINreferralDate="01/01/1066")],
         aside={(R, 5): "before 1900"})
cin_case("CIN assessment on 31/12/9999", rows=[*GOOD_CIN, cin_line(LAchildID="C3", CINreferralDate="01/01/2022",
                                                                  AssessmentActualStartDate="31/12/9999")],
         aside={("cin.csv (assessments)", 5): "placeholder"})
cin_case("CIN every referral dd/mm/yy", rows=[cin_line(LAchildID="C3", CINreferralDate="01/01/22"),
                                              cin_line(LAchildID="C4", CINreferralDate="02/01/22")],
         error=r"^CIN census cin.csv: no usable CIN episodes left: 2 rows read, 2 set aside .*two-digit")
cin_case("CIN header only", rows=[], error=r"^CIN census cin.csv: no usable CIN episodes left: no data rows")
cin_case("CIN extract date before the data", extract="01/01/2020",
         error=r"cin.csv: no usable CIN episodes left: .*after the extract date")
cin_case("CIN semicolons", transform=lambda t: t.replace(",", ";"), note="';' between columns", kept={R: 3})
cin_case("CIN one Latin-1 byte", rows=[*GOOD_CIN, cin_line(LAchildID="C\xe93", CINreferralDate="01/01/2022")],
         encoding="latin-1", note="not UTF-8", kept={R: 4})
cin_case("CIN UTF-16", encoding="utf-16", note="UTF-16", kept={R: 3})
cin_case("CIN formula child id", rows=[*GOOD_CIN, cin_line(LAchildID="=1+1", CINreferralDate="01/01/2030")],
         aside={(R, 5): "after the extract date"},
         check=lambda r: r.quality.rows_set_aside["child"].iloc[0] == "'=1+1")
cin_case("CIN referral at 25", rows=[*GOOD_CIN, cin_line(LAchildID="C3", PersonBirthDate="01/01/1996",
                                                         CINreferralDate="01/01/2022")], note="18 or over")
cin_case("CIN sub-item line whose episode is set aside",
         rows=[cin_line(LAchildID="C3", CINreferralDate="01/01/2022", ReasonForClosure="RC99"),
               cin_line(LAchildID="C3", CINreferralDate="01/01/2022", AssessmentActualStartDate="02/01/2022"), *GOOD_CIN],
         aside={(R, 2): "not a valid code", (R, 3): "its CIN episode (row 2) was set aside",
                ("cin.csv (assessments)", 3): "its CIN episode was set aside"})


@case("CIN two census years overlap", aside={("cin_2021.csv (referrals)", 2): "superseded by cin_2022.csv"},
      check=lambda r: not r.referrals.duplicated(["child", "referral_date"]).any()
      and not r.assessments.duplicated(["child", "referral_date", "start"]).any() and len(r.assessments) == 3)
def _(tmp):
    write(tmp / "cin" / "cin_2021.csv", lines(CIN_HEADER, GOOD_CIN[:2]))
    newer = GOOD_CIN[0].replace(",27/02/2022,RC1,", ",,,")  # the 2022 return: still open
    write(tmp / "cin" / "cin_2022.csv", lines(CIN_HEADER, [newer, GOOD_CIN[2],
                                                           cin_line(LAchildID="A1", CINreferralDate="06/10/2021",
                                                                    AssessmentActualStartDate="01/03/2022")]))
    return lambda: load_cin_census(tmp / "cin", EXTRACT)


XML = """<?xml version="1.0" encoding="UTF-8"?>
<Message><Children><Child>
  <ChildIdentifiers><LAchildID>A1</LAchildID><PersonBirthDate>2015-03-27</PersonBirthDate></ChildIdentifiers>
  <CINdetails><CINreferralDate>2021-10-06</CINreferralDate><ReferralSource>1A</ReferralSource>
    <PrimaryNeedCode>N4</PrimaryNeedCode><CINclosureDate>{closure}</CINclosureDate><ReasonForClosure>RC1</ReasonForClosure>
    <ReferralNFA>false</ReferralNFA>
    <Assessments><AssessmentActualStartDate>2021-10-07</AssessmentActualStartDate>
      <AssessmentAuthorisationDate>2021-11-18</AssessmentAuthorisationDate></Assessments>
    <Assessments><AssessmentActualStartDate>2022-01-07</AssessmentActualStartDate></Assessments>
  </CINdetails></Child></Children></Message>
"""


@case("CIN a CSV and an XML of one return", check=lambda r: len(r.referrals) == 2 and len(r.assessments) == 2,
      aside={("cin_2022.csv (referrals)", 2): "superseded by cin_2022.xml"})
def _(tmp):
    write(tmp / "cin" / "cin_2022.csv", lines(CIN_HEADER, GOOD_CIN))
    write(tmp / "cin" / "cin_2022.xml", XML.format(closure="2022-02-27"))
    return lambda: load_cin_census(tmp / "cin", EXTRACT)


@case("CIN XML closure 9999-12-31", note="year 9999")
def _(tmp):
    return lambda: load_cin_census(write(tmp / "c.xml", XML.format(closure="9999-12-31")), EXTRACT)


@case("CIN XML closure 1066", aside={("c.xml (referrals)", 1): "before 1900"},
      error=r"^CIN census c.xml: no usable CIN episodes left: 1 row read, 1 set aside")
def _(tmp):
    return lambda: load_cin_census(write(tmp / "c.xml", XML.format(closure="1066-10-14")), EXTRACT)


@case("CIN XML without ReferralNFA", kept={"c.xml (referrals)": 1, "c.xml (assessments)": 2},
      check=lambda r: pd.isna(r.referrals["nfa"].iloc[0]))
def _(tmp):
    text = XML.format(closure="2022-02-27").replace("<ReferralNFA>false</ReferralNFA>", "")
    return lambda: load_cin_census(write(tmp / "c.xml", text), EXTRACT)


@case("CIN XML broken", error=r"^c.xml: not valid XML")
def _(tmp):
    return lambda: load_cin_census(write(tmp / "c.xml", XML.format(closure="x")[:200]), EXTRACT)


@case("CIN XML without children", error=r"^c.xml: no Children/Child elements")
def _(tmp):
    return lambda: load_cin_census(write(tmp / "c.xml", "<Message><Header/></Message>"), EXTRACT)


# ---- contacts --------------------------------------------------------------------------------------

def contacts_case(name, rows=GOOD_CONTACTS, extract=EXTRACT, header=CONTACTS, encoding="utf-8", transform=None, **kw):
    def build(tmp):
        text = lines(header, rows)
        text = transform(text) if transform else text
        return lambda: load_contacts(write(tmp / "contacts.csv", text, encoding), extract)
    CASES.append(Case(name, build, **kw))


K = "contacts.csv"
contacts_case("contacts date 31/12/9999", rows=[*GOOD_CONTACTS, "4,31/12/9999,nfa,"], aside={(K, 5): "placeholder"})
contacts_case("contacts dob 01/01/1066", rows=[*GOOD_CONTACTS, "4,01/01/2022,nfa,01/01/1066"],
              aside={(K, 5): "dob is not a plausible date"})
contacts_case("contacts dob after the contact (no date shown)", rows=[*GOOD_CONTACTS, "4,01/01/2022,nfa,05/02/2022"],
              aside={(K, 5): "dob is after contact_date"},
              check=lambda r: "05/02/2022" not in " ".join(r.quality.rows_set_aside["reason"]))
contacts_case("contacts an adult (no date shown)", rows=[*GOOD_CONTACTS, "4,01/01/2022,nfa,05/02/1990"],
              aside={(K, 5): "aged 18 or over"},
              check=lambda r: "1990" not in " ".join(r.quality.rows_set_aside["reason"]))
contacts_case("contacts dd/mm/yy", rows=[*GOOD_CONTACTS, "4,01/01/22,nfa,"], aside={(K, 5): "two-digit"})
contacts_case("contacts Excel serial", rows=[*GOOD_CONTACTS, "4,44562,nfa,"], aside={(K, 5): "date number"})
contacts_case("contacts every row bad", rows=["4,01/01/22,nfa,", "5,soon,nfa,"],
              error=r"^contacts contacts.csv: no usable contacts left: 2 rows read, 2 set aside")
contacts_case("contacts header only", rows=[], error=r"^contacts contacts.csv: no usable contacts left: no data rows")
contacts_case("contacts extract before the data", extract="01/01/2020",
              error=r"no usable contacts left: 3 rows read, 3 set aside \(3 contact_date <date> is after the extract date")
contacts_case("contacts tabs", transform=lambda t: t.replace(",", "\t"), note="tabs", kept={K: 3})
contacts_case("contacts UTF-16", encoding="utf-16", kept={K: 3})
contacts_case("contacts cp1252", rows=[*GOOD_CONTACTS, "Zo\u00eb,01/01/2022,nfa,"], encoding="cp1252",
              note="Windows-1252", kept={K: 4})
contacts_case("contacts formula ids", rows=[*GOOD_CONTACTS, "=cmd|' /C calc'!A0,xx,nfa,", "+1,01/01/2022,maybe,"],
              check=lambda r: set(r.quality.rows_set_aside["child"]) == {"'=cmd|' /C calc'!A0", "'+1"})
contacts_case("contacts blank lines keep row numbers", rows=[GOOD_CONTACTS[0], "", "", "4,bad,nfa,", *GOOD_CONTACTS[1:]],
              aside={(K, 5): "contact_date 'bad' is not a date"}, kept={K: 3})
contacts_case("contacts exact duplicate", rows=[*GOOD_CONTACTS, GOOD_CONTACTS[0]], aside={(K, 5): "exact duplicate of row 2"})
contacts_case("contacts unclosed quote", rows=[*GOOD_CONTACTS, '4,"01/01/2022,nfa,'], aside={(K, 5): "unclosed quote"})
contacts_case("contacts a missing column", header="child_id,contact_date", error=r"^contacts.csv: required column outcome")
contacts_case("contacts one column (semicolons, no outcome)", header="child_id;contact_date",
              rows=["1;01/01/2022"], error=r"^contacts.csv: required column outcome is missing")


@case("contacts a folder with a header-only file", kept={"a.csv": 0, "b.csv": 3})
def _(tmp):
    write(tmp / "k" / "a.csv", CONTACTS + "\n")
    write(tmp / "k" / "b.csv", lines(CONTACTS, GOOD_CONTACTS))
    return lambda: load_contacts(tmp / "k", EXTRACT)


@case("contacts two extracts that overlap", aside={("contacts_2021.csv", 3): "also in contacts_2022.csv"},
      kept={"contacts_2021.csv": 1, "contacts_2022.csv": 3},
      check=lambda r: not r.contacts.duplicated(["child", "contact_date", "outcome"]).any())
def _(tmp):
    write(tmp / "k" / "contacts_2021.csv", lines(CONTACTS, ["9,01/06/2021,nfa,", GOOD_CONTACTS[0]]))
    write(tmp / "k" / "contacts_2022.csv", lines(CONTACTS, GOOD_CONTACTS))
    return lambda: load_contacts(tmp / "k", EXTRACT)


@case("contacts a folder given as the file", error=r"^contacts: no .csv files in folder")
def _(tmp):
    (tmp / "empty").mkdir()
    return lambda: load_contacts(tmp / "empty", EXTRACT)


@case("contacts an extract date of 31/12/9999", error=r"^extract date '31/12/9999' is not a date")
def _(tmp):
    return lambda: load_contacts(write(tmp / "contacts.csv", lines(CONTACTS, GOOD_CONTACTS)), "31/12/9999")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path):
    check_outcome(case, tmp_path)


def test_there_are_at_least_fifty_cases():
    assert len(CASES) >= 50


def test_spreadsheet_safe_quotes_only_dangerous_text():
    df = pd.DataFrame({"a": ["=1", "+2+cmd|x", "-3+1", "@x", "\tx", "\rx", "ok", None, "-3", "+2.5e3"],
                       "n": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]})
    out = spreadsheet_safe(df)
    assert list(out["a"][:7]) == ["'=1", "'+2+cmd|x", "'-3+1", "'@x", "'\tx", "'\rx", "ok"]
    assert list(out["a"][8:]) == ["-3", "+2.5e3"]   # a plain signed number runs nothing: left as it is
    assert pd.isna(out["a"].iloc[7]) and list(out["n"]) == list(df["n"])
    assert list(df["a"][:1]) == ["=1"]  # the input is not changed
