"""Load the SSDA903 (children looked after) return: header and episodes, cleaned as an analyst would.

Accepts one folder per collection year (each with header.csv and episodes.csv), or a folder or file
pair of combined files. Rows that cannot be used are set aside with a reason (see records.py);
episodes are mapped onto the model's placement types and exit reasons (sim/vocab.py) and joined
into periods of care (episodes.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from calibration import episodes as ep
from calibration.records import (
    ROW,
    DataError,
    DataQuality,
    as_timestamp,
    nothing_usable,
    read_csv_table,
    set_aside_bad_dates,
    set_aside_end_before_start,
    set_aside_exact_duplicates,
    set_aside_invalid_codes,
    set_aside_missing,
)
from sim import placements
from sim.vocab import EXIT_REASONS, PLACEMENT_TYPES

HEADER_COLUMNS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
EPISODE_COLUMNS = ("CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                   "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN")
# Columns the loader uses; the others (postcodes, URN, UPN...) are often removed before sharing.
HEADER_REQUIRED = ("CHILD", "SEX", "DOB")
EPISODES_REQUIRED = ("CHILD", "DECOM", "RNE", "LS", "PLACE", "PLACE_PROVIDER", "DEC", "REC")

# ---- DfE code lists --------------------------------------------------------------------------
RNE_CODES = ("S", "L", "P", "T", "U", "B")
LEGAL_STATUS_CODES = ("C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4")
SHORT_BREAK_LS = ("V3", "V4")
PROVIDER_CODES = ("PR0", "PR1", "PR2", "PR3", "PR4", "PR5")
# PLACE (and PLACE_PROVIDER, where it decides) onto placement types: from the one placement table
# (sim/placements.py). SSDA903 cannot tell block from spot contracts: every external one is "spot".
INHOUSE_PROVIDERS = placements.INHOUSE_PROVIDERS     # own council, other council, other public body
EXTERNAL_PROVIDERS = placements.EXTERNAL_PROVIDERS   # private, voluntary
PLACEMENT_TYPE_BY_PLACE = placements.ssda903_by_place()          # codes whose type does not depend on the provider
PLACEMENT_TYPE_BY_PROVIDER = placements.ssda903_by_provider()    # code: (in-house type, external type)
PLACE_CODES = tuple(PLACEMENT_TYPE_BY_PLACE) + tuple(PLACEMENT_TYPE_BY_PROVIDER)

CONTINUES = "X1"
EXIT_REASON_BY_REC = {
    **{c: "reunification" for c in ("E4A", "E4B", "E13")},
    **{c: "sgo" for c in ("E45", "E46", "E47", "E48")},
    "E41": "cao",
    **{c: "adoption" for c in ("E11", "E12")},
    **{c: "age18" for c in ("E17", "E5", "E6", "E7", "E15")},
    **{c: "other" for c in ("E2", "E3", "E8", "E9", "E14", "E16")},
}
REC_CODES = (CONTINUES,) + tuple(EXIT_REASON_BY_REC)
# episode columns held as categories inside the loader (see load_ssda903)
CODED = ("rne", "legal_status", "place", "provider", "rec", "reason_place_change", "source_file")

assert set(PLACEMENT_TYPE_BY_PLACE.values()) | {t for p in PLACEMENT_TYPE_BY_PROVIDER.values() for t in p} <= set(PLACEMENT_TYPES)
assert set(EXIT_REASON_BY_REC.values()) <= set(EXIT_REASONS)


def placement_type(place: pd.Series, provider: pd.Series) -> pd.Series:
    """Map PLACE × PLACE_PROVIDER onto sim.vocab placement types (NA where it cannot be told)."""
    out = place.map(PLACEMENT_TYPE_BY_PLACE)
    for code, (inhouse, external) in PLACEMENT_TYPE_BY_PROVIDER.items():
        is_code = place == code
        out[is_code & provider.isin(INHOUSE_PROVIDERS)] = inhouse
        out[is_code & provider.isin(EXTERNAL_PROVIDERS)] = external
    return out


def exit_reason(rec: pd.Series) -> pd.Series:
    """Map REC onto sim.vocab exit reasons; X1 (episode continues) and empty give NA."""
    return rec.map(EXIT_REASON_BY_REC)


@dataclass
class SSDA903:
    """What was loaded: tidy episodes, header and periods of care, and what was set aside."""

    episodes: pd.DataFrame
    header: pd.DataFrame
    periods: pd.DataFrame
    quality: DataQuality
    extract_date: pd.Timestamp
    trimmed: pd.DataFrame = field(default_factory=pd.DataFrame)

    def describe(self) -> str:
        """A plain-words summary for the analyst."""
        e, p = self.episodes, self.periods
        lines = [
            f"SSDA903 extract at {self.extract_date:%d/%m/%Y}:",
            f"  {self.header['child'].nunique():,} children in the header, "
            f"{e['child'].nunique():,} with care episodes",
            f"  {len(e):,} episodes kept (short breaks left out), "
            f"{len(self.trimmed):,} ended early because they overlapped the next one",
            f"  {len(p):,} periods of care, {int(p['end'].isna().sum()):,} still open; "
            f"{int((~p['start_known']).sum()):,} began before the data starts (no RNE S)",
        ]
        if len(e):
            lines.append(f"  episodes from {e['start'].min():%d/%m/%Y} to "
                         f"{max(e['start'].max(), e['end'].max()):%d/%m/%Y}")
        if len(p):
            counts = p["exit_reason"].value_counts()
            lines.append("  periods ended by: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        dq = self.quality.data_quality
        lines.append(f"  rows read {int(dq['rows_read'].sum()):,}, kept {int(dq['rows_kept'].sum()):,}, "
                     f"set aside {int(dq['rows_set_aside'].sum()):,}")
        summary = self.quality.reasons_summary()
        if len(summary):
            lines.append("  rows set aside by reason:")
            lines += [f"    {n:>6,}  {reason}" for reason, n in summary.items()]
        notes = self.quality.notes
        if len(notes):
            lines.append("  notes:")
            lines += [f"    {r.file}: {r.note}" for r in notes.itertuples()]
        return "\n".join(lines)


# ---- finding the files -----------------------------------------------------------------------

def _find(folder: Path, name: str) -> Path | None:
    for p in folder.iterdir():
        if p.is_file() and p.name.lower() == name:
            return p
    return None


def _collections(path: Path, header: Path | None, quality: DataQuality) -> list[tuple[str | None, Path, Path, str]]:
    """(collection, header file, episodes file, label prefix) in collection order, oldest first."""
    path = Path(path)
    if path.is_file():
        header = Path(header) if header else path.with_name("header.csv")
        if not header.is_file():
            raise DataError(f"{path.name}: no header file given and no header.csv beside it")
        return [(None, header, path, "")]
    if not path.is_dir():
        raise DataError(f"SSDA903: {path} does not exist")
    h, e = _find(path, "header.csv"), _find(path, "episodes.csv")
    if h or e:
        if not (h and e):
            missing = "header.csv" if not h else "episodes.csv"
            raise DataError(f"{path}: {missing} is missing (a combined extract needs both files)")
        for p in path.iterdir():
            if p.is_file() and p not in (h, e):
                quality.note(p.name, "not used by the SSDA903 loader: ignored")
        return [(None, h, e, "")]
    out = []
    for sub in sorted((p for p in path.iterdir() if p.is_dir()), key=_collection_order):
        h, e = _find(sub, "header.csv"), _find(sub, "episodes.csv")
        if not (h or e):
            quality.note(sub.name, "folder has no header.csv or episodes.csv: ignored")
            continue
        if not (h and e):
            missing = "header.csv" if not h else "episodes.csv"
            raise DataError(f"{sub.name}/{missing}: file is missing (each year folder needs both files)")
        for p in sorted(sub.iterdir()):
            if p.is_file() and p not in (h, e):
                quality.note(f"{sub.name}/{p.name}", "not used by the SSDA903 loader: ignored")
        out.append((sub.name, h, e, f"{sub.name}/"))
    if not out:
        raise DataError(f"SSDA903: {path} holds neither header.csv/episodes.csv nor year folders with them")
    return out


def _collection_order(folder: Path):
    m = re.search(r"\d{4}", folder.name)
    return (int(m.group()) if m else 10**6, folder.name)


# ---- header ----------------------------------------------------------------------------------

def _read_header(file: Path, label: str, collection, order: int, extract, quality) -> tuple[pd.DataFrame, set]:
    """The header's usable rows, and every child it lists (usable or not)."""
    df = read_csv_table(file, label, HEADER_REQUIRED, quality)
    listed = set(df["CHILD"].dropna())
    df = set_aside_exact_duplicates(df, label, "CHILD", quality)
    df = df[[c for c in df.columns if c in (ROW, *HEADER_REQUIRED, "ETHNIC")]]  # the others are not used
    df = set_aside_missing(df, ("CHILD", "DOB"), label, "CHILD", quality)
    df = set_aside_bad_dates(df, "DOB", label, "CHILD", quality, extract, out="dob")
    again = df.duplicated("CHILD", keep="first")
    if again.any():
        first = df.groupby("CHILD")[ROW].transform("first")
        quality.set_aside_rows(label, df[again], "second header row for this child in the same file (row "
                               + first[again].astype(str) + " kept)", "CHILD")
        df = df[~again]
    sex = df["SEX"].where(df["SEX"].isin(["1", "2"]))
    if (odd := df["SEX"].notna() & sex.isna()).any():
        quality.note(label, f"{int(odd.sum())} rows with a SEX code other than 1 or 2: sex left blank")
    return listed, pd.DataFrame({
        "child": df["CHILD"], "sex": sex.map({"1": "male", "2": "female"}), "dob": df["dob"],
        "ethnic": df.get("ETHNIC"), "collection": collection, "_order": order,
        "source_file": label, "source_row": df[ROW],
    })


# ---- episodes --------------------------------------------------------------------------------

def _read_episodes(file: Path, label: str, collection, order: int, extract, quality) -> pd.DataFrame:
    df = read_csv_table(file, label, EPISODES_REQUIRED, quality)
    df = set_aside_exact_duplicates(df, label, "CHILD", quality)
    df = df[[c for c in df.columns if c in (ROW, *EPISODES_REQUIRED, "REASON_PLACE_CHANGE")]]  # the others are not used
    df = set_aside_missing(df, ("CHILD", "DECOM", "RNE", "LS", "PLACE"), label, "CHILD", quality)
    for col, codes in (("RNE", RNE_CODES), ("LS", LEGAL_STATUS_CODES), ("PLACE", PLACE_CODES)):
        df = set_aside_invalid_codes(df, col, codes, label, "CHILD", quality, allow_empty=False)
    df = set_aside_invalid_codes(df, "PLACE_PROVIDER", PROVIDER_CODES, label, "CHILD", quality, allow_empty=True)
    df = set_aside_invalid_codes(df, "REC", REC_CODES, label, "CHILD", quality, allow_empty=True)
    needs = df["PLACE"].isin(list(PLACEMENT_TYPE_BY_PROVIDER)) & ~df["PLACE_PROVIDER"].isin(
        INHOUSE_PROVIDERS + EXTERNAL_PROVIDERS)
    quality.set_aside_rows(
        label, df[needs],
        "PLACE " + df.loc[needs, "PLACE"] + " needs a PLACE_PROVIDER of PR1-PR5 to tell in-house from "
        "external, found '" + df.loc[needs, "PLACE_PROVIDER"].fillna("").astype(str) + "'", "CHILD")
    df = df[~needs]
    df = set_aside_bad_dates(df, "DECOM", label, "CHILD", quality, extract, out="start")
    df = set_aside_bad_dates(df, "DEC", label, "CHILD", quality, extract, out="end", end=True)
    df = set_aside_end_before_start(df, "start", "end", "DECOM", "DEC", label, "CHILD", quality)
    no_rec = df["end"].notna() & df["REC"].isna()
    quality.set_aside_rows(label, df[no_rec], "DEC is given but REC (reason episode ceased) is missing", "CHILD")
    df = df[~no_rec].copy()
    rec_open = df["end"].isna() & df["REC"].notna()
    if rec_open.any():
        quality.note(label, f"{int(rec_open.sum())} open episodes (no DEC) carry a REC code: "
                            "treated as open, REC ignored")
        df.loc[rec_open, "REC"] = pd.NA
    again = df.duplicated(["CHILD", "start"], keep="first")
    if again.any():
        first = df.groupby(["CHILD", "start"])[ROW].transform("first")
        quality.set_aside_rows(label, df[again], "a second episode for this child starting on the same DECOM in "
                               "this file (row " + first[again].astype(str) + " kept)", "CHILD")
        df = df[~again]
    return pd.DataFrame({
        "child": df["CHILD"], "start": df["start"], "end": df["end"], "rne": df["RNE"],
        "legal_status": df["LS"], "place": df["PLACE"], "provider": df["PLACE_PROVIDER"],
        "rec": df["REC"], "reason_place_change": df.get("REASON_PLACE_CHANGE"),
        "collection": collection, "_order": order, "source_file": label, "source_row": df[ROW],
    })


def _set_aside_superseded(df: pd.DataFrame, keys: list[str], quality: DataQuality) -> pd.DataFrame:
    """Keep the most recent collection's version of each row repeated across collections."""
    df = df.sort_values(keys + ["_order"], kind="stable")
    older = df.duplicated(keys, keep="last")
    if older.any():
        newest = df.groupby(keys)["collection"].transform("last")
        _set_aside_by_file(df[older], "superseded by " + newest[older].astype(str) + " collection", quality)
    return df[~older]


def _set_aside_by_file(rows: pd.DataFrame, reason, quality: DataQuality) -> None:
    """Set aside rows of a combined frame, each under the file it came from."""
    for label, part in rows.groupby("source_file"):
        quality.set_aside_rows(label, part.rename(columns={"source_row": ROW}), reason, "child")


def _trim_overlaps(episodes: pd.DataFrame, quality: DataQuality) -> tuple[pd.DataFrame, pd.DataFrame]:
    """End an episode at the start of the next one when they overlap (or it was left open)."""
    episodes = episodes.sort_values(["child", "start"], kind="stable").reset_index(drop=True)
    next_start = episodes.groupby("child")["start"].shift(-1)
    overlap = next_start.notna() & (episodes["end"].isna() | (episodes["end"] > next_start))
    trimmed = pd.DataFrame({
        "child": episodes.loc[overlap, "child"], "start": episodes.loc[overlap, "start"],
        "old_end": episodes.loc[overlap, "end"], "new_end": next_start[overlap],
        "source_file": episodes.loc[overlap, "source_file"], "source_row": episodes.loc[overlap, "source_row"],
    }).reset_index(drop=True)
    episodes.loc[overlap, "end"] = next_start[overlap]
    # an episode left open, then followed by another, continued into it
    episodes.loc[overlap & episodes["rec"].isna(), "rec"] = CONTINUES
    if overlap.any():
        n_open = int(trimmed["old_end"].isna().sum())
        quality.note("episodes", f"{int(overlap.sum())} episodes overlapped the child's next episode and were "
                                 f"ended at its start ({n_open} of them had been left open)")
    return episodes, trimmed


def load_ssda903(path, extract_date, header=None) -> SSDA903:
    """Load SSDA903 from year folders, a folder of combined files, or an episodes file (+ header).

    `extract_date`: the date the data were extracted; later dates are set aside, open periods are
    censored there.
    """
    extract = as_timestamp(extract_date)
    quality = DataQuality()
    headers, episodes, listed = [], [], set()
    for order, (collection, h, e, prefix) in enumerate(_collections(Path(path), header, quality)):
        children, hdr = _read_header(h, prefix + h.name, collection, order, extract, quality)
        listed |= children
        headers.append(hdr)
        episodes.append(_read_episodes(e, prefix + e.name, collection, order, extract, quality))
    hdr = _set_aside_superseded(pd.concat(headers, ignore_index=True), ["child"], quality)
    eps = _set_aside_superseded(pd.concat(episodes, ignore_index=True), ["child", "start"], quality)
    # code columns as categories while the episodes are checked and joined into periods (a byte
    # a row instead of a pointer, in every copy those steps make); given back as text at the end
    kinds = {c: eps[c].dtype for c in CODED}
    eps = eps.astype({c: "category" for c in CODED})
    if CONTINUES not in eps["rec"].cat.categories:  # _trim_overlaps may write it
        eps["rec"] = eps["rec"].cat.add_categories([CONTINUES])

    orphan = ~eps["child"].isin(hdr["child"])
    reason = pd.Series("child is not in the header file", index=eps.index)
    reason[eps["child"].isin(listed)] = "the child's header row was set aside (see the header file)"
    _set_aside_by_file(eps[orphan], reason[orphan], quality)
    eps = eps[~orphan]
    eps = _set_aside_impossible_ages(eps, hdr, extract, quality)
    short = eps["legal_status"].isin(SHORT_BREAK_LS)
    _set_aside_by_file(eps[short], "short break (LS " + eps.loc[short, "legal_status"].astype(str)
                       + "): not a care episode for this purpose", quality)
    eps = eps[~short]

    if not len(eps):
        files = [f for f in quality.files if f.lower().endswith("episodes.csv")]
        raise nothing_usable("care episodes", f"SSDA903 {_name(path, files)}", quality, files)
    eps, trimmed = _trim_overlaps(eps.drop(columns="_order"), quality)
    eps["placement_type"] = placement_type(eps["place"].astype(kinds["place"]), eps["provider"].astype(kinds["provider"]))
    eps["exit_reason"] = exit_reason(eps["rec"].astype(kinds["rec"]))
    hdr = hdr.drop(columns="_order").sort_values("child").reset_index(drop=True)
    eps, periods = ep.build_periods(eps, hdr)
    eps = eps.astype(kinds)
    periods["rec"] = periods["rec"].astype(kinds["rec"])
    trimmed["source_file"] = trimmed["source_file"].astype(kinds["source_file"])
    n_dangling = int((periods["end"].notna() & periods["exit_reason"].isna()).sum())
    if n_dangling:
        quality.note("episodes", f"{n_dangling} periods end with REC X1 but no next episode follows: "
                                 "treated as followed until that date (censored), not as an exit")
    for frame in (hdr, eps):
        for label, rows in frame.groupby("source_file")["source_row"]:
            quality.kept(label, rows.to_numpy())
    quality.check()
    return SSDA903(episodes=eps, header=hdr, periods=periods, quality=quality, extract_date=extract,
                   trimmed=trimmed)


def _name(path, files) -> str:
    """The file or folder to name in a one-line error."""
    return files[0] if len(files) == 1 else str(Path(path).name or path)


def _set_aside_impossible_ages(eps: pd.DataFrame, hdr: pd.DataFrame, extract, quality: DataQuality) -> pd.DataFrame:
    """Episodes that start before the child's birth or on or after the 18th birthday are set aside
    (care is for children); episodes running on past the 18th birthday are kept, with a note. No
    date of birth is shown."""
    if not len(eps):
        return eps
    dob = eps["child"].map(hdr.drop_duplicates("child").set_index("child")["dob"])
    eighteen = dob + pd.DateOffset(years=18)
    before = eps["start"] < dob
    _set_aside_by_file(eps[before], "DECOM is before the child's date of birth (in the header)", quality)
    adult = ~before & (eps["start"] >= eighteen)
    _set_aside_by_file(eps[adult], "the child was 18 or over at DECOM (by the header's date of birth): "
                                   "care ends at 18", quality)
    eps = eps[~(before | adult)]
    past = (eps["end"].fillna(extract) > eighteen[eps.index] + pd.Timedelta(days=1))
    for label, part in eps[past].groupby("source_file"):
        n, n_open = len(part), int(part["end"].isna().sum())
        quality.note(label, f"{n} episode{'s' if n > 1 else ''} run{'' if n > 1 else 's'} on past the child's "
                            f"18th birthday ({n_open} still open at the extract date): kept; care ends at 18 in "
                            "the model, check these children's DOB and DEC")
    return eps
