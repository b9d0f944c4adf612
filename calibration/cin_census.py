"""Load the CIN census: the DfE XML return, or the same content flattened to CSV.

Both routes produce the same raw records (one per CIN episode, one per assessment, CIN plan,
section 47 enquiry and child protection plan), which then go through one set of checks, so XML
and CSV of the same content give identical tidy tables. Set-aside counts are kept per file and
table, e.g. "cin_2023.xml (assessments)"; see docs/data_formats.md for row numbering.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.records import (
    ROW,
    DataError,
    DataQuality,
    as_timestamp,
    data_files,
    nothing_usable,
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
FILE, ORDER = "_file", "_order"  # internal: the table's label in the quality report, the file's place


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
    except OSError as exc:
        raise DataError(f"{label}: cannot be read ({exc.strerror or exc})") from None
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
    return ep, out, None


def _raw_from_csv(path: Path, label: str, quality: DataQuality):
    """One row per CIN episode; further rows repeating LAchildID + CINreferralDate add sub-items.

    Every line of the file is a record of the referrals table (`label (referrals)`): the first
    line of an episode is the referral; a later line of the same episode that adds sub-items is
    kept with it (returned as `more`: its row and the episode's); a later line that adds nothing,
    repeats an earlier line exactly, or gives the episode's own fields differently is set aside.
    """
    refs = f"{label} (referrals)"
    df = read_csv_table(path, refs, CSV_COLUMNS, quality, name=label)
    has_key = df["LAchildID"].notna() & df["CINreferralDate"].notna()
    group = df.groupby(["LAchildID", "CINreferralDate"], sort=False).ngroup()
    df[KEY] = group.where(has_key, -df[ROW]).astype("int64")
    first = ~df.duplicated(KEY, keep="first")
    episodes = df[first][[ROW, KEY, *CHILD_FIELDS, *EPISODE_FIELDS]]
    later = df[~first]
    first_row = df[KEY].map(df[first].set_index(KEY)[ROW])
    item_fields = [f for _, fields in ITEMS.values() for f in fields]
    own = [f for f in (*CHILD_FIELDS, *EPISODE_FIELDS) if f not in ("LAchildID", "CINreferralDate")]
    cols = [c for c in df.columns if c not in (ROW, KEY)]
    exact = df.duplicated(cols, keep="first") & ~first
    exact_of = df.groupby(cols, dropna=False)[ROW].transform("first")
    heads = df[first].set_index(KEY)[own]
    theirs = heads.reindex(later[KEY]).set_index(later.index)
    differs = (later[own].notna() & (later[own] != theirs)).any(axis=1)
    empty = later[item_fields].isna().all(axis=1)
    reason = pd.Series(pd.NA, index=later.index, dtype="object")
    reason[empty] = "repeats the CIN episode of row " + first_row[later.index][empty].astype(str) + \
        " and adds no assessment, plan or enquiry"
    reason[differs] = ("a second CIN episode for this child with the same CINreferralDate (row "
                       + first_row[later.index][differs].astype(str) + " kept)")
    reason[exact[later.index]] = "exact duplicate of row " + exact_of[later.index][exact[later.index]].astype(str)
    aside = reason.notna()
    quality.set_aside_rows(refs, later[aside], reason[aside], "LAchildID")
    ok = later[~aside]
    more = pd.DataFrame({ROW: ok[ROW].to_numpy(), "_of": first_row[ok.index].to_numpy()})
    out = {}
    for table, (_, fields) in ITEMS.items():
        part = df[[ROW, KEY, "LAchildID", *fields]]
        out[table] = part[part[list(fields)].notna().any(axis=1)]
    return episodes.reset_index(drop=True), {t: d.reset_index(drop=True) for t, d in out.items()}, more


# ---- checks, the same for both formats ------------------------------------------------------

def _flag(values: pd.Series) -> pd.Series:
    def flag(v):
        if not isinstance(v, str):
            return pd.NA
        return True if v in TRUE else (False if v in FALSE else pd.NA)
    return values.map(flag).astype("boolean")


def _set_aside_bad_flags(df, column, label, quality) -> pd.DataFrame:
    ok = df[column].isna() | df[column].isin(TRUE + FALSE)
    quality.set_aside_rows(label, df[~ok], f"{column} '" + df.loc[~ok, column].astype(str)
                           + "' is not true/false (or 1/0)", "LAchildID")
    return df[ok]


def _referrals(ep: pd.DataFrame, label: str, extract, quality) -> pd.DataFrame:
    df = set_aside_missing(ep, ("LAchildID", "CINreferralDate"), label, "LAchildID", quality)
    df = set_aside_bad_dates(df, "CINreferralDate", label, "LAchildID", quality, extract, out="referral_date")
    df = set_aside_bad_dates(df, "CINclosureDate", label, "LAchildID", quality, extract, out="closure_date",
                             end=True)
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
        ROW: df[ROW], KEY: df[KEY], "child": df["LAchildID"], "dob": df["dob"],
        "referral_date": df["referral_date"],
        "referral_source": df["ReferralSource"], "primary_need": df["PrimaryNeedCode"],
        "closure_date": df["closure_date"], "reason_for_closure": df["ReasonForClosure"],
        "nfa": _flag(df["ReferralNFA"]),
    })


def _items(table: str, raw: pd.DataFrame, referrals: pd.DataFrame, label: str, extract, quality) -> pd.DataFrame:
    quality.read(label, len(raw), raw[ROW].to_numpy())
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
    df = set_aside_bad_dates(df, end, label, "LAchildID", quality, extract, out="end",
                             end=table in ("cin_plans", "cp_plans"))
    df = set_aside_end_before_start(df, "start", "end", start, end, label, "LAchildID", quality)
    df = df.merge(referrals[[KEY, "child", "referral_date"]], on=KEY, how="left")
    out = df[[ROW, "child", "referral_date", "start", "end"]].copy()
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


def _load_one(path: Path, order: int, extract, quality: DataQuality) -> dict[str, pd.DataFrame]:
    name = path.name
    refs_label = f"{name} (referrals)"
    if path.suffix.lower() == ".xml":
        ep, items, more = _raw_from_xml(path, name)
        quality.read(refs_label, len(ep), ep[ROW].to_numpy())
    else:
        ep, items, more = _raw_from_csv(path, name, quality)
    refs = _referrals(ep, refs_label, extract, quality)
    _plausible_ages(refs, refs_label, quality)
    tables = {t: _items(t, items[t], refs, f"{name} ({t})", extract, quality) for t in ITEMS}
    if more is not None and len(more):
        # a line adding sub-items goes with its episode: set aside when the episode is
        kept = more["_of"].isin(refs[ROW])
        lost = more[~kept].rename(columns={"_of": "episode"})
        quality.set_aside_rows(refs_label, lost.assign(child=None), "its CIN episode (row "
                               + lost["episode"].astype(str) + ") was set aside", "child")
        more = more[kept]
    refs = refs.drop(columns=KEY)
    out = {"referrals": refs, **tables}
    for table, df in out.items():
        df[FILE] = f"{name} ({table})"
        df[ORDER] = order
    out["more"] = (more if more is not None else pd.DataFrame({ROW: [], "_of": []})).assign(
        **{FILE: refs_label, ORDER: order})
    return out


def _plausible_ages(refs: pd.DataFrame, label: str, quality: DataQuality) -> None:
    """Warn (no row is lost, and no date of birth shown) about ages that look impossible."""
    age = (refs["referral_date"] - refs["dob"]).dt.days / 365.25
    if (n := int((age >= 18).sum())):
        quality.note(label, f"{n} CIN episodes begin when the child is 18 or over (by PersonBirthDate): kept; "
                            "check these dates of birth")
    if (n := int((age < -1).sum())):
        quality.note(label, f"{n} CIN episodes were referred more than a year before the child's birth "
                            "(by PersonBirthDate): kept; check these dates")


def _census_order(path: Path):
    m = re.search(r"\d{4}", path.stem)
    return (int(m.group()) if m else -1, path.name)


def _set_aside_repeats(df: pd.DataFrame, keys: list[str], quality: DataQuality, more=None) -> pd.DataFrame:
    """Across files, keep each record from the latest file holding it (as SSDA903 years are)."""
    if df.empty or df[ORDER].nunique() < 2:
        return df
    latest = df.groupby(keys, dropna=False)[ORDER].transform("max")
    older = df[ORDER] < latest
    if not older.any():
        return df
    winner = df.loc[df[ORDER] == latest].drop_duplicates(keys).set_index(keys)[FILE]
    by = pd.MultiIndex.from_frame(df.loc[older, keys])
    label = winner.reindex(by).to_numpy()
    reason = pd.Series("superseded by " + pd.Series(label).str.replace(r" \(.*\)$", "", regex=True)
                       + " (a later or repeated return): that version is used", index=df.index[older])
    for file, part in df[older].groupby(FILE):
        quality.set_aside_rows(file, part, reason[part.index], "child")
        if more is not None:
            lines = more[(more[FILE] == file) & more["_of"].isin(part[ROW])]
            quality.set_aside_rows(file, lines.assign(child=None), "its CIN episode (row "
                                   + lines["_of"].astype("int64").astype(str) + ") is superseded by another file",
                                   "child")
    return df[~older]


def load_cin_census(path, extract_date) -> CINCensus:
    """Load one CIN census file (.xml or .csv), or every such file in a folder (tables appended;
    a record in several files is taken from the latest, by the year in the file's name)."""
    extract = as_timestamp(extract_date)
    quality = DataQuality()
    files = sorted(data_files(Path(path), (".xml", ".csv"), "CIN census"), key=_census_order)
    parts = [_load_one(p, order, extract, quality) for order, p in enumerate(files)]
    more = pd.concat([p["more"] for p in parts], ignore_index=True)
    tables = {}
    for name in ("referrals", *ITEMS):
        df = pd.concat([p[name] for p in parts], ignore_index=True)
        keys = ["child", "referral_date"] + (["start"] if name != "referrals" else [])
        df = _set_aside_repeats(df, keys, quality, more if name == "referrals" else None)
        if name == "referrals":
            kept_eps = set(zip(df[FILE], df[ROW]))
            more = more[np.array([(f, r) in kept_eps for f, r in zip(more[FILE], more["_of"])], dtype=bool)]
            for label, rows in more.groupby(FILE)[ROW]:
                quality.kept(label, rows.to_numpy())
        for label, rows in df.groupby(FILE)[ROW]:
            quality.kept(label, rows.to_numpy())
        tables[name] = (df.sort_values(keys, kind="stable").drop(columns=[ROW, FILE, ORDER])
                        .reset_index(drop=True))
    for label in quality.files:
        quality.kept(label, [])
    quality.check()
    if not len(tables["referrals"]):
        name = files[0].name if len(files) == 1 else str(Path(path).name or path)
        raise nothing_usable("CIN episodes", f"CIN census {name}", quality,
                             [f"{p.name} (referrals)" for p in files])
    return CINCensus(**tables, quality=quality, extract_date=extract)
