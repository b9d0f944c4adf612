"""Load the CIN census: the DfE XML return, or the same content flattened to CSV.

Both routes produce the same raw records (one per CIN episode, one per assessment, CIN plan,
section 47 enquiry and child protection plan), which then go through one set of checks, so XML
and CSV of the same content give identical tidy tables. Set-aside counts are kept per file and
table, e.g. "cin_2023.xml (assessments)"; see docs/data_formats.md for row numbering.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from calibration.records import (
    ROW,
    DataError,
    DataQuality,
    as_timestamp,
    data_files,
    read_csv_table,
    set_aside_bad_dates,
    set_aside_end_before_start,
    set_aside_invalid_codes,
    set_aside_missing,
)

CHILD_FIELDS = ("LAchildID", "PersonBirthDate")
EPISODE_FIELDS = ("CINreferralDate", "ReferralSource", "PrimaryNeedCode", "CINclosureDate",
                  "ReasonForClosure", "ReferralNFA")
# table name -> (XML elements holding one item, DfE fields)
ITEMS = {
    "assessments": (("Assessments", "Assessment"), ("AssessmentActualStartDate", "AssessmentAuthorisationDate")),
    "cin_plans": (("CINPlanDates", "CINPlanDate"), ("CINPlanStartDate", "CINPlanEndDate")),
    "s47": (("Section47", "Section47s"), ("S47ActualStartDate", "DateOfInitialCPC", "ICPCnotRequired")),
    "cp_plans": (("ChildProtectionPlans", "ChildProtectionPlan"), ("CPPstartDate", "CPPendDate",
                                                                   "NumberOfPreviousCPP")),
}
CSV_COLUMNS = CHILD_FIELDS + EPISODE_FIELDS + tuple(f for _, fields in ITEMS.values() for f in fields)
REASONS_FOR_CLOSURE = tuple(f"RC{i}" for i in range(1, 10))
TRUE, FALSE = ("1", "true", "True", "TRUE", "Y", "y"), ("0", "false", "False", "FALSE", "N", "n")
KEY = "_episode"  # which CIN episode an item belongs to, within one file


@dataclass
class CINCensus:
    """Tidy tables keyed by child and referral_date, and what was set aside."""

    referrals: pd.DataFrame
    assessments: pd.DataFrame
    cin_plans: pd.DataFrame
    s47: pd.DataFrame
    cp_plans: pd.DataFrame
    quality: DataQuality
    extract_date: pd.Timestamp

    def describe(self) -> str:
        r = self.referrals
        lines = [f"CIN census extract at {self.extract_date:%d/%m/%Y}:",
                 f"  {r['child'].nunique():,} children, {len(r):,} CIN episodes "
                 f"({int(r['nfa'].fillna(False).sum()):,} referrals with no further action, "
                 f"{int(r['closure_date'].isna().sum()):,} still open)",
                 f"  {len(self.assessments):,} assessments, {len(self.cin_plans):,} CIN plans, "
                 f"{len(self.s47):,} section 47 enquiries, {len(self.cp_plans):,} child protection plans"]
        if len(r):
            lines.append(f"  referrals from {r['referral_date'].min():%d/%m/%Y} to {r['referral_date'].max():%d/%m/%Y}")
        dq = self.quality.data_quality
        lines.append(f"  records read {int(dq['rows_read'].sum()):,}, set aside {int(dq['rows_set_aside'].sum()):,}")
        summary = self.quality.reasons_summary()
        lines += [f"    {n:>6,}  {reason}" for reason, n in summary.items()]
        return "\n".join(lines)


# ---- reading both formats into the same raw records -----------------------------------------

def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _text(el: ET.Element, name: str):
    value = el.findtext(name)
    value = value.strip() if value is not None else ""
    return value or pd.NA


def _raw_from_xml(path: Path, label: str) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Episodes numbered by their position in the file (1 = first CINdetails); items likewise."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DataError(f"{label}: not valid XML ({exc})") from None
    _strip_namespaces(root)
    children = root.findall("./Children/Child") or root.findall(".//Child")
    if not children:
        raise DataError(f"{label}: no Children/Child elements found (is this a CIN census XML file?)")
    episodes, items = [], {t: [] for t in ITEMS}
    for child in children:
        ids = child.find("ChildIdentifiers")
        who = {f: (_text(ids, f) if ids is not None else pd.NA) for f in CHILD_FIELDS}
        for cin in child.findall("CINdetails"):
            key = len(episodes) + 1
            episodes.append({ROW: key, KEY: key, **who, **{f: _text(cin, f) for f in EPISODE_FIELDS}})
            for table, (tags, fields) in ITEMS.items():
                for el in cin.iter():
                    if el.tag in tags and any(el.find(f) is not None for f in fields):
                        items[table].append({KEY: key, "LAchildID": who["LAchildID"],
                                             **{f: _text(el, f) for f in fields}})
    ep = pd.DataFrame(episodes, columns=[ROW, KEY, *CHILD_FIELDS, *EPISODE_FIELDS])
    out = {}
    for table, (_, fields) in ITEMS.items():
        df = pd.DataFrame(items[table], columns=[KEY, "LAchildID", *fields])
        df.insert(0, ROW, range(1, len(df) + 1))
        out[table] = df
    return ep, out


def _raw_from_csv(path: Path, label: str, quality: DataQuality) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """One row per CIN episode; further rows repeating LAchildID + CINreferralDate add sub-items."""
    scratch = DataQuality()  # rows are counted per table below, not per line
    df = read_csv_table(path, label, CSV_COLUMNS, scratch)
    has_key = df["LAchildID"].notna() & df["CINreferralDate"].notna()
    group = df.groupby(["LAchildID", "CINreferralDate"], sort=False).ngroup()
    df[KEY] = group.where(has_key, -df[ROW]).astype("int64")
    episodes = df.drop_duplicates(KEY, keep="first")[[ROW, KEY, *CHILD_FIELDS, *EPISODE_FIELDS]]
    out = {}
    for table, (_, fields) in ITEMS.items():
        part = df[[ROW, KEY, "LAchildID", *fields]]
        out[table] = part[part[list(fields)].notna().any(axis=1)]
    return episodes.reset_index(drop=True), {t: d.reset_index(drop=True) for t, d in out.items()}


# ---- checks, the same for both formats ------------------------------------------------------

def _flag(values: pd.Series) -> pd.Series:
    return values.map(lambda v: True if v in TRUE else (False if v in FALSE else pd.NA)).astype("boolean")


def _set_aside_bad_flags(df, column, label, quality) -> pd.DataFrame:
    ok = df[column].isna() | df[column].isin(TRUE + FALSE)
    quality.set_aside_rows(label, df[~ok], f"{column} '" + df.loc[~ok, column].astype(str)
                           + "' is not true/false (or 1/0)", "LAchildID")
    return df[ok]


def _referrals(ep: pd.DataFrame, label: str, extract, quality) -> pd.DataFrame:
    quality.read(label, len(ep))
    df = set_aside_missing(ep, ("LAchildID", "CINreferralDate"), label, "LAchildID", quality)
    df = set_aside_bad_dates(df, "CINreferralDate", label, "LAchildID", quality, extract, out="referral_date")
    df = set_aside_bad_dates(df, "CINclosureDate", label, "LAchildID", quality, extract, out="closure_date")
    df = set_aside_bad_dates(df, "PersonBirthDate", label, "LAchildID", quality, extract, out="dob")
    df = set_aside_end_before_start(df, "referral_date", "closure_date", "CINreferralDate", "CINclosureDate",
                                    label, "LAchildID", quality)
    df = set_aside_invalid_codes(df, "ReasonForClosure", REASONS_FOR_CLOSURE, label, "LAchildID", quality,
                                 allow_empty=True)
    df = _set_aside_bad_flags(df, "ReferralNFA", label, quality)
    again = df.duplicated(["LAchildID", "referral_date"], keep="first")
    first = df.groupby(["LAchildID", "referral_date"])[ROW].transform("first")
    quality.set_aside_rows(label, df[again], "a second CIN episode for this child with the same "
                           "CINreferralDate (row " + first[again].astype(str) + " kept)", "LAchildID")
    df = df[~again]
    return pd.DataFrame({
        KEY: df[KEY], "child": df["LAchildID"], "dob": df["dob"], "referral_date": df["referral_date"],
        "referral_source": df["ReferralSource"], "primary_need": df["PrimaryNeedCode"],
        "closure_date": df["closure_date"], "reason_for_closure": df["ReasonForClosure"],
        "nfa": _flag(df["ReferralNFA"]),
    })


def _items(table: str, raw: pd.DataFrame, referrals: pd.DataFrame, label: str, extract, quality) -> pd.DataFrame:
    quality.read(label, len(raw))
    fields = ITEMS[table][1]
    known = raw[KEY].isin(referrals[KEY])
    quality.set_aside_rows(label, raw[~known], "its CIN episode was set aside (see referrals)", "LAchildID")
    df = raw[known]
    dup = df.duplicated([KEY, *fields], keep="first")
    first = df.groupby([KEY, *fields], dropna=False)[ROW].transform("first")
    quality.set_aside_rows(label, df[dup], "exact duplicate of row " + first[dup].astype(str), "LAchildID")
    df = df[~dup]
    start, end = fields[0], fields[1]
    df = set_aside_missing(df, (start,), label, "LAchildID", quality)
    df = set_aside_bad_dates(df, start, label, "LAchildID", quality, extract, out="start")
    df = set_aside_bad_dates(df, end, label, "LAchildID", quality, extract, out="end")
    df = set_aside_end_before_start(df, "start", "end", start, end, label, "LAchildID", quality)
    df = df.merge(referrals[[KEY, "child", "referral_date"]], on=KEY, how="left")
    out = df[["child", "referral_date", "start", "end"]].copy()
    if table == "assessments":
        out = out.rename(columns={"end": "authorised"})
    elif table == "s47":
        df = _set_aside_bad_flags(df.set_index(df.index), "ICPCnotRequired", label, quality)
        out = out.loc[df.index].rename(columns={"end": "icpc_date"})
        out["icpc_not_required"] = _flag(df["ICPCnotRequired"])
    elif table == "cp_plans":
        n = pd.to_numeric(df["NumberOfPreviousCPP"], errors="coerce")
        bad = df["NumberOfPreviousCPP"].notna() & (n.isna() | (n < 0) | (n % 1 != 0))
        quality.set_aside_rows(label, df[bad], "NumberOfPreviousCPP '" + df.loc[bad, "NumberOfPreviousCPP"]
                               .astype(str) + "' is not a whole number", "LAchildID")
        out = out[~bad.to_numpy()]
        out["number_of_previous_cpp"] = n[~bad].astype("Int64").to_numpy()
    return out


def _load_one(path: Path, extract, quality: DataQuality) -> dict[str, pd.DataFrame]:
    name = path.name
    if path.suffix.lower() == ".xml":
        ep, items = _raw_from_xml(path, name)
    else:
        ep, items = _raw_from_csv(path, name, quality)
    refs = _referrals(ep, f"{name} (referrals)", extract, quality)
    tables = {t: _items(t, items[t], refs, f"{name} ({t})", extract, quality) for t in ITEMS}
    return {"referrals": refs.drop(columns=KEY), **tables}


def load_cin_census(path, extract_date) -> CINCensus:
    """Load one CIN census file (.xml or .csv), or every such file in a folder (tables appended)."""
    extract = as_timestamp(extract_date)
    quality = DataQuality()
    parts = [_load_one(p, extract, quality) for p in data_files(Path(path), (".xml", ".csv"), "CIN census")]
    tables = {}
    for name in ("referrals", *ITEMS):
        df = pd.concat([p[name] for p in parts], ignore_index=True)
        sort = ["child", "referral_date"] + (["start"] if name != "referrals" else [])
        tables[name] = df.sort_values(sort, kind="stable").reset_index(drop=True)
    return CINCensus(**tables, quality=quality, extract_date=extract)
