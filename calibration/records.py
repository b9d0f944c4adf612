"""Setting unusable rows aside, with a reason a council analyst can act on.

Every loader reads files through these helpers so that, for every file, rows kept plus rows set
aside equals rows read, and no row disappears silently. Row numbers are the ones a spreadsheet
shows: the header is line 1, so the first data row is row 2.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROW = "_row"  # column holding the spreadsheet row number of each data row
FIRST_DATA_ROW = 2


class DataError(Exception):
    """A file cannot be used at all (missing, unreadable, or a required column absent).

    The message is one line, names the file, and is meant to be shown as it is.
    """


@dataclass
class DataQuality:
    """Collects rows set aside and notes, and counts rows read per file."""

    _read: dict[str, int] = field(default_factory=dict)
    _set_aside: list[pd.DataFrame] = field(default_factory=list)
    _notes: list[tuple[str, str]] = field(default_factory=list)

    def read(self, file: str, rows: int) -> None:
        """Record that `rows` data rows were read from `file`."""
        self._read[file] = self._read.get(file, 0) + int(rows)

    def set_aside(self, file: str, row_number: int, child, reason: str) -> None:
        """Set one row aside."""
        self._set_aside.append(
            pd.DataFrame({"file": [file], "row": [row_number], "child": [child], "reason": [reason]})
        )

    def set_aside_rows(self, file: str, rows: pd.DataFrame, reason, child_column: str) -> None:
        """Set many rows aside at once; `reason` is one string or a Series aligned with `rows`."""
        if len(rows) == 0:
            return
        reasons = reason if isinstance(reason, pd.Series) else pd.Series(reason, index=rows.index)
        self._set_aside.append(
            pd.DataFrame(
                {
                    "file": file,
                    "row": rows[ROW].to_numpy(),
                    "child": rows[child_column].to_numpy() if child_column in rows else None,
                    "reason": reasons.loc[rows.index].to_numpy(),
                }
            )
        )

    def note(self, file: str, message: str) -> None:
        """Something the analyst should know that did not cost any row (a file ignored, a fix)."""
        self._notes.append((file, message))

    def merge(self, other: "DataQuality") -> None:
        for f, n in other._read.items():
            self.read(f, n)
        self._set_aside.extend(other._set_aside)
        self._notes.extend(other._notes)

    @property
    def rows_set_aside(self) -> pd.DataFrame:
        """One line per row set aside: file, row, child, reason (first reason wins)."""
        if not self._set_aside:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in ("file", "row", "child", "reason")})
        out = pd.concat(self._set_aside, ignore_index=True)
        out["row"] = out["row"].astype("int64")
        return out.drop_duplicates(["file", "row"], keep="first").reset_index(drop=True)

    @property
    def data_quality(self) -> pd.DataFrame:
        """Per file: rows_read, rows_kept, rows_set_aside (kept + set aside = read)."""
        aside = self.rows_set_aside.groupby("file").size()
        files = list(self._read)
        read = pd.Series([self._read[f] for f in files], index=files, dtype="int64")
        n_aside = aside.reindex(files, fill_value=0).astype("int64")
        return pd.DataFrame(
            {
                "file": files,
                "rows_read": read.to_numpy(),
                "rows_kept": (read - n_aside).to_numpy(),
                "rows_set_aside": n_aside.to_numpy(),
            }
        )

    @property
    def notes(self) -> pd.DataFrame:
        return pd.DataFrame(self._notes, columns=["file", "note"])

    def reasons_summary(self) -> pd.Series:
        """Rows set aside by reason, with the detail in quotes stripped so that alike reasons group."""
        reasons = self.rows_set_aside["reason"].astype(str)
        general = reasons.str.replace(r"'[^']*'", "'…'", regex=True).str.replace(
            r"\b(row|in) \d+\b", r"\1 N", regex=True
        )
        general = general.str.replace(r"\d{2}/\d{2}/\d{4}", "<date>", regex=True)
        return general.value_counts()


# ---- reading -------------------------------------------------------------------------------

def read_csv_table(path: Path, label: str, required: tuple[str, ...], quality: DataQuality) -> pd.DataFrame:
    """Read a CSV as text, check required columns, add spreadsheet row numbers and count the rows.

    Column names are matched after trimming spaces (case kept, as the DfE names are exact).
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise DataError(f"{label}: file not found ({path})") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{label}: cannot be read as a CSV file ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(f"{label}: required column {', '.join(missing)} is missing")
    df = df.apply(lambda s: s.str.strip())
    df = df.replace("", pd.NA)
    df.insert(0, ROW, range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(df)))
    quality.read(label, len(df))
    return df


def set_aside_exact_duplicates(df: pd.DataFrame, label: str, child: str, quality: DataQuality) -> pd.DataFrame:
    """Drop rows identical to an earlier row in the same file ("exact duplicate of row N")."""
    cols = [c for c in df.columns if c != ROW]
    dup = df.duplicated(cols, keep="first")
    if not dup.any():
        return df
    first_row = df.groupby(cols, dropna=False)[ROW].transform("first")
    quality.set_aside_rows(label, df[dup], "exact duplicate of row " + first_row[dup].astype(str), child)
    return df[~dup]


def set_aside_missing(df: pd.DataFrame, columns, label: str, child: str, quality: DataQuality) -> pd.DataFrame:
    """Set aside rows where any of `columns` is empty, naming the first empty one."""
    for col in columns:
        bad = df[col].isna()
        quality.set_aside_rows(label, df[bad], f"{col} is missing", child)
        df = df[~bad]
    return df


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dd/mm/yyyy or ISO yyyy-mm-dd (a time part is ignored); anything else becomes NaT."""
    text = values.astype("string")
    out = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    iso = out.isna() & text.str.match(_ISO.pattern).fillna(False)
    if iso.any():
        out[iso] = pd.to_datetime(text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    return out.astype("datetime64[ns]")


def set_aside_bad_dates(
    df: pd.DataFrame,
    column: str,
    label: str,
    child: str,
    quality: DataQuality,
    extract_date: pd.Timestamp,
    *,
    out: str | None = None,
) -> pd.DataFrame:
    """Parse `column` into `out` (default: in place); set aside unparseable and future dates.

    Empty values stay as NaT: whether they are allowed is the caller's decision.
    """
    out = out or column
    raw = df[column]
    parsed = parse_dates(raw)
    bad = raw.notna() & parsed.isna()
    quality.set_aside_rows(label, df[bad], f"{column} " + "'" + raw[bad].astype(str) + "' is not a date", child)
    future = parsed > extract_date
    quality.set_aside_rows(
        label,
        df[future & ~bad],
        f"{column} " + parsed[future & ~bad].dt.strftime("%d/%m/%Y")
        + f" is after the extract date {extract_date:%d/%m/%Y}",
        child,
    )
    keep = ~(bad | future)
    df = df[keep].copy()
    df[out] = parsed[keep]
    return df


def set_aside_invalid_codes(
    df: pd.DataFrame, column: str, valid, label: str, child: str, quality: DataQuality, *, allow_empty: bool
) -> pd.DataFrame:
    """Set aside rows whose code is not in `valid` (empty allowed only if `allow_empty`)."""
    values = df[column]
    bad = ~values.isin(list(valid))
    if allow_empty:
        bad &= values.notna()
    reason = f"{column} " + "'" + values[bad].astype(str) + "' is not a valid code"
    reason[values[bad].isna()] = f"{column} is missing"
    quality.set_aside_rows(label, df[bad], reason, child)
    return df[~bad]


def set_aside_end_before_start(
    df: pd.DataFrame, start: str, end: str, start_name: str, end_name: str, label: str, child: str,
    quality: DataQuality,
) -> pd.DataFrame:
    bad = df[end] < df[start]
    quality.set_aside_rows(
        label, df[bad],
        f"{end_name} " + df.loc[bad, end].dt.strftime("%d/%m/%Y") + f" is before {start_name} "
        + df.loc[bad, start].dt.strftime("%d/%m/%Y"),
        child,
    )
    return df[~bad]


def as_timestamp(extract_date) -> pd.Timestamp:
    """The extract date as a Timestamp (accepts a date, a string in either date format)."""
    if isinstance(extract_date, str):
        parsed = parse_dates(pd.Series([extract_date])).iloc[0]
        if pd.isna(parsed):
            raise DataError(f"extract date '{extract_date}' is not a date (use dd/mm/yyyy or yyyy-mm-dd)")
        return parsed
    return pd.Timestamp(extract_date)


def data_files(path: Path, suffixes: tuple[str, ...], label: str) -> list[Path]:
    """A single file, or every file with one of `suffixes` in a folder (sorted by name)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
        if not files:
            raise DataError(f"{label}: no {' or '.join(suffixes)} files in folder {path}")
        return files
    raise DataError(f"{label}: {path} does not exist")
