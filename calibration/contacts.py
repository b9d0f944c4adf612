"""Load the contacts extract: contacts are not in the CIN census, so councils export them locally.

Our format (docs/data_formats.md): a CSV with child_id, contact_date, outcome (nfa, early_help,
referral) and optionally dob. One file, or a folder of CSV files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from calibration.records import (
    ROW,
    DataQuality,
    as_timestamp,
    data_files,
    nothing_usable,
    read_csv_table,
    set_aside_bad_dates,
    set_aside_exact_duplicates,
    set_aside_invalid_codes,
    set_aside_missing,
)

REQUIRED = ("child_id", "contact_date", "outcome")
OUTCOMES = ("nfa", "early_help", "referral")


@dataclass
class Contacts:
    contacts: pd.DataFrame  # child, contact_date, outcome, dob (NaT if not given)
    quality: DataQuality
    extract_date: pd.Timestamp

    def describe(self) -> str:
        c = self.contacts
        lines = [f"Contacts extract at {self.extract_date:%d/%m/%Y}:",
                 f"  {len(c):,} contacts about {c['child'].nunique():,} children"]
        if len(c):
            lines.append(f"  from {c['contact_date'].min():%d/%m/%Y} to {c['contact_date'].max():%d/%m/%Y}")
            lines.append("  outcomes: " + ", ".join(f"{k} {v:,}" for k, v in c["outcome"].value_counts().items()))
        dq = self.quality.data_quality
        lines.append(f"  rows read {int(dq['rows_read'].sum()):,}, set aside {int(dq['rows_set_aside'].sum()):,}")
        lines += [f"    {n:>6,}  {reason}" for reason, n in self.quality.reasons_summary().items()]
        return "\n".join(lines)


def _read_one(path: Path, extract, quality: DataQuality) -> pd.DataFrame:
    label = path.name
    df = read_csv_table(path, label, REQUIRED, quality)
    df = set_aside_exact_duplicates(df, label, "child_id", quality)
    df = set_aside_missing(df, REQUIRED, label, "child_id", quality)
    # outcomes are forgiving about case and spacing ("Early Help", "early-help")
    df["outcome"] = df["outcome"].str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    df = set_aside_invalid_codes(df, "outcome", OUTCOMES, label, "child_id", quality, allow_empty=False)
    df = set_aside_bad_dates(df, "contact_date", label, "child_id", quality, extract)
    if "dob" in df:
        df = set_aside_bad_dates(df, "dob", label, "child_id", quality, extract)
        late = df["dob"] > df["contact_date"]
        quality.set_aside_rows(label, df[late], "dob is after contact_date (an unborn child's contact should "
                               "leave dob empty)", "child_id")
        df = df[~late]
        adult = df["contact_date"] >= df["dob"] + pd.DateOffset(years=18)
        quality.set_aside_rows(label, df[adult], "aged 18 or over on contact_date (by dob): the front door and "
                               "the model are for children", "child_id")
        df = df[~adult]
    else:
        df["dob"] = pd.NaT
    return pd.DataFrame({"child": df["child_id"], "contact_date": df["contact_date"],
                         "outcome": df["outcome"], "dob": df["dob"].astype("datetime64[ns]"),
                         ROW: df[ROW], "_file": label})


def _file_order(path: Path):
    m = re.search(r"\d{4}", path.stem)
    return (int(m.group()) if m else -1, path.name)


def _set_aside_repeats(contacts: pd.DataFrame, quality: DataQuality) -> pd.DataFrame:
    """Files whose periods overlap: a contact (child, date, outcome) in a later file is taken from
    there, and earlier copies are set aside (counted once)."""
    keys = ["child", "contact_date", "outcome"]
    if contacts.empty or contacts["_order"].nunique() < 2:
        return contacts
    latest = contacts.groupby(keys)["_order"].transform("max")
    older = contacts["_order"] < latest
    winner = contacts[contacts["_order"] == latest].drop_duplicates(keys).set_index(keys)["_file"]
    where = winner.reindex(pd.MultiIndex.from_frame(contacts.loc[older, keys])).to_numpy()
    reason = pd.Series("also in " + pd.Series(where, dtype=object) + " (files that overlap): counted once, there",
                       dtype=object).set_axis(contacts.index[older])
    for label, part in contacts[older].groupby("_file"):
        quality.set_aside_rows(label, part, reason[part.index], "child")
    return contacts[~older]


def load_contacts(path, extract_date) -> Contacts:
    """Load contacts from one CSV file or every CSV file in a folder (a contact repeated in files
    that overlap is counted once, from the latest file by the year in its name)."""
    extract = as_timestamp(extract_date)
    quality = DataQuality()
    files = sorted(data_files(Path(path), (".csv",), "contacts"), key=_file_order)
    frames = [_read_one(p, extract, quality).assign(_order=order) for order, p in enumerate(files)]
    contacts = _set_aside_repeats(pd.concat(frames, ignore_index=True), quality)
    for p in files:
        quality.kept(p.name, contacts.loc[contacts["_file"] == p.name, ROW].to_numpy())
    quality.check()
    contacts = (contacts.drop(columns=[ROW, "_file", "_order"])
                .sort_values(["contact_date", "child"], kind="stable"))
    if not len(contacts):
        name = files[0].name if len(files) == 1 else str(Path(path).name or path)
        raise nothing_usable("contacts", f"contacts {name}", quality, [p.name for p in files])
    return Contacts(contacts=contacts.reset_index(drop=True), quality=quality, extract_date=extract)
