"""Setting unusable rows aside, with a reason a council analyst can act on.

Every loader reads files through these helpers so that, for every file, rows kept plus rows set
aside equals rows read, and no row disappears silently: rows read are counted from the file's
lines as they are read, rows kept from what the loader returns, and `DataQuality.check` stops
with an error if the two sides do not meet. Row numbers are the ones a spreadsheet (or a text
editor) shows: the header is line 1, so the first data row is row 2, and blank lines count.

Dates go through one parser (`read_dates`) for every loader. Reasons never show a date of birth.
"""
from __future__ import annotations

import codecs
import csv
import itertools
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROW = "_row"  # column holding the spreadsheet row number of each data row
FIRST_DATA_ROW = 2
# Columns holding a date of birth: their values are never shown in a reason.
BIRTH_DATE_COLUMNS = frozenset({"DOB", "MC_DOB", "PersonBirthDate", "ExpectedPersonBirthDate", "dob"})
EARLIEST_PLAUSIBLE = pd.Timestamp("1900-01-01")  # dates before it are set aside (01/01/1900 is a placeholder)
OPEN_MARKER_YEAR = 9999  # 31/12/9999 and the like: "no end date" in many case management systems
SPREADSHEET_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


class DataError(Exception):
    """A file cannot be used at all (missing, unreadable, a required column absent, or nothing
    usable left in it).

    The message is one line, names the file, and is meant to be shown as it is.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def show(value, limit: int = 40) -> str:
    """A value as quoted in a reason: on one line, and cut short if long."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _formula_like(v) -> bool:
    """Text a spreadsheet would run as a formula; a plain signed number ("-12.5") is not."""
    return isinstance(v, str) and v.startswith(SPREADSHEET_DANGEROUS) and not _NUMBER.match(v)


def spreadsheet_safe(df: pd.DataFrame, columns=None) -> pd.DataFrame:
    """A copy of `df` whose text cells that a spreadsheet would run as a formula (starting with
    = + - @, a tab or a carriage return) start with a single quote instead, so `=HYPERLINK(...)`
    in a child's id is shown as text, not run."""
    out = df.copy()
    for col in columns if columns is not None else out.columns:
        s = out[col]
        if s.dtype != object and not pd.api.types.is_string_dtype(s):
            continue
        risky = s.map(_formula_like).astype(bool)
        if risky.any():
            out.loc[risky, col] = "'" + s[risky].astype(str)
    return out


@dataclass
class DataQuality:
    """Collects rows set aside and notes, counts rows read per file, and the rows kept."""

    _read: dict[str, int] = field(default_factory=dict)
    _set_aside: list[pd.DataFrame] = field(default_factory=list)
    _notes: list[tuple[str, str]] = field(default_factory=list)
    _read_rows: dict[str, list] = field(default_factory=dict)
    _kept_rows: dict[str, list] = field(default_factory=dict)

    def read(self, file: str, rows, row_numbers=None) -> None:
        """Record that `rows` data rows were read from `file` (their row numbers if known)."""
        self._read[file] = self._read.get(file, 0) + int(rows)
        if row_numbers is not None:
            self._read_rows.setdefault(file, []).append(np.asarray(row_numbers, dtype="int64"))

    def kept(self, file: str, row_numbers) -> None:
        """Record the rows of `file` that the loader kept (its output, counted from the output)."""
        self._kept_rows.setdefault(file, []).append(np.asarray(row_numbers, dtype="int64"))

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
        """Something the analyst should know that did not cost any row (a file ignored, a fix, a
        value that looks impossible but was kept)."""
        self._notes.append((file, message))

    def merge(self, other: "DataQuality") -> None:
        for f, n in other._read.items():
            self._read[f] = self._read.get(f, 0) + n
        for f, parts in other._read_rows.items():
            self._read_rows.setdefault(f, []).extend(parts)
        for f, parts in other._kept_rows.items():
            self._kept_rows.setdefault(f, []).extend(parts)
        self._set_aside.extend(other._set_aside)
        self._notes.extend(other._notes)

    def _aside(self) -> pd.DataFrame:
        if not self._set_aside:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in ("file", "row", "child", "reason")})
        out = pd.concat(self._set_aside, ignore_index=True)
        out["row"] = out["row"].astype("int64")
        return out.drop_duplicates(["file", "row"], keep="first").reset_index(drop=True)

    @property
    def rows_set_aside(self) -> pd.DataFrame:
        """One line per row set aside: file, row, child, reason (first reason wins). Text that a
        spreadsheet would run as a formula is quoted (`spreadsheet_safe`)."""
        return spreadsheet_safe(self._aside(), ["file", "child", "reason"])

    def _kept_set(self, file: str):
        parts = self._kept_rows.get(file)
        if parts is None:
            return None
        return np.unique(np.concatenate(parts)) if parts else np.array([], dtype="int64")

    def _kept_count(self, file: str, n_aside: int) -> int:
        kept = self._kept_set(file)
        return self._read[file] - n_aside if kept is None else int(len(kept))

    @property
    def data_quality(self) -> pd.DataFrame:
        """Per file: rows_read (counted as the file was read), rows_kept (counted from what the
        loader kept) and rows_set_aside."""
        aside = self._aside().groupby("file").size()
        files = list(self._read)
        n_aside = [int(aside.get(f, 0)) for f in files]
        out = pd.DataFrame({
            "file": files,
            "rows_read": pd.Series([self._read[f] for f in files], dtype="int64"),
            "rows_kept": pd.Series([self._kept_count(f, a) for f, a in zip(files, n_aside)], dtype="int64"),
            "rows_set_aside": pd.Series(n_aside, dtype="int64"),
        })
        return spreadsheet_safe(out, ["file"])

    def check(self) -> None:
        """Stop if any row was lost or counted twice: for every file, the rows kept and the rows
        set aside must be the rows read, each once."""
        aside = self._aside()
        for file, n_read in self._read.items():
            rows_aside = aside.loc[aside["file"] == file, "row"].to_numpy("int64")
            kept = self._kept_set(file)
            n_kept = len(kept) if kept is not None else n_read - len(rows_aside)
            problem = None
            if kept is not None and len(both := np.intersect1d(kept, rows_aside)):
                problem = f"row {both[0]} is both kept and set aside"
            elif n_kept + len(rows_aside) != n_read:
                problem = (f"{n_read} rows read but {n_kept} kept and {len(rows_aside)} set aside "
                           f"({n_read - n_kept - len(rows_aside):+d} rows unaccounted for)")
            elif self._read_rows.get(file) and kept is not None:
                read_rows = np.concatenate(self._read_rows[file])
                stray = np.setdiff1d(np.concatenate([kept, rows_aside]), read_rows)
                if len(stray):
                    problem = f"row {stray[0]} is counted but was never read"
            if problem:
                raise DataError(f"{file}: the rows do not add up: {problem} "
                                "(a fault in carepath, not in the data: please report it)")

    @property
    def files(self) -> list[str]:
        """The files (and tables) read, in the order they were read."""
        return list(self._read)

    @property
    def notes(self) -> pd.DataFrame:
        return spreadsheet_safe(pd.DataFrame(self._notes, columns=["file", "note"]))

    def reasons_summary(self) -> pd.Series:
        """Rows set aside by reason, with the detail in quotes stripped so that alike reasons group."""
        return general_reasons(self._aside()["reason"]).value_counts()

    def summary_of(self, files) -> str:
        """'N rows read, N set aside (N reason; N reason ...)' over `files`, for a one-line error."""
        files = [f for f in self._read if f in set(files)]
        aside = self._aside()
        aside = aside[aside["file"].isin(files)]
        n_read = sum(self._read[f] for f in files)
        if n_read == 0:
            return "no data rows (only a header line)" if files else "no data rows"
        top = general_reasons(aside["reason"]).value_counts()
        text = f"{n_read} row{'s' if n_read != 1 else ''} read, {len(aside)} set aside"
        if len(top):
            text += " (" + "; ".join(f"{n} {r}" for r, n in top.head(3).items())
            text += "; …)" if len(top) > 3 else ")"
        return text


def general_reasons(reasons: pd.Series) -> pd.Series:
    """Reasons with their detail (quoted values, row numbers, dates) replaced, so alike ones group."""
    general = reasons.astype(str).str.replace(r"'[^']*'", "'…'", regex=True).str.replace(
        r"\b(row|rows|in|line|lines) \d+\b", r"\1 N", regex=True)
    return general.str.replace(r"\d{2}/\d{2}/\d{4}", "<date>", regex=True)


# ---- reading -------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", None), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))


def _decode(data: bytes, label: str, quality: DataQuality, name: str) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), UTF-16 with a BOM, and lines in
    Windows-1252/Latin-1 read as such with a note. Never a codec offset message."""
    if data.startswith(b"PK\x03\x04"):
        raise DataError(f"{name}: is a spreadsheet workbook or zip file, not a CSV file "
                        "(save it from the spreadsheet as CSV, comma-separated)")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(f"{name}: is an old-style Excel workbook (.xls), not a CSV file (save it as CSV)")
    for bom, codec, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                raise DataError(f"{name}: starts as {encoding or 'UTF-8'} text but is not valid "
                                f"{encoding or 'UTF-8'} (save it again as UTF-8 CSV)") from None
            if encoding:
                quality.note(label, f"the file is {encoding} text: read as such (carepath expects UTF-8)")
            return text
    if data[:4096].count(0) > len(data[:4096]) // 10:
        even, odd = data[0:4096:2].count(0), data[1:4096:2].count(0)
        codec = "utf-16-le" if odd > even else "utf-16-be"
        if max(even, odd) > len(data[:4096]) // 4:
            try:
                text = data.decode(codec)
                quality.note(label, "the file is UTF-16 text without a byte order mark: read as such "
                                    "(carepath expects UTF-8)")
                return text
            except UnicodeDecodeError:
                pass
        raise DataError(f"{name}: holds binary data (NUL bytes), not CSV text")
    head = data[:4096]
    if sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 20:
        raise DataError(f"{name}: holds binary data (control bytes), not CSV text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines, odd_lines = [], []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                lines.append(raw.decode("cp1252"))
            except UnicodeDecodeError:
                lines.append(raw.decode("latin-1"))
            odd_lines.append(i)
    shown = ", ".join(map(str, odd_lines[:5])) + (" …" if len(odd_lines) > 5 else "")
    which = f"lines {shown} are" if len(odd_lines) > 1 else f"line {shown} is"
    quality.note(label, f"{which} not UTF-8: read as Windows-1252 (Latin-1); check accented letters there")
    return "\n".join(lines)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _delimiter(header_line: str, label: str, quality: DataQuality) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    if counts[","] >= counts[best] or counts[best] == 0:
        return ","
    name = {"\t": "tabs", ";": "';'", "|": "'|'"}[best]
    quality.note(label, f"the file uses {name} between columns: read that way (carepath expects commas)")
    return best


CHUNK_LINES = 50_000


def read_csv_table(path: Path, label: str, required: tuple[str, ...], quality: DataQuality,
                   name: str | None = None) -> pd.DataFrame:
    """Read a CSV as text, check required columns, add spreadsheet row numbers and count the rows.

    Each line is one row, numbered as in the file (blank lines count, but are not rows). Rows with
    more values than the header has columns, an unclosed quote or no values at all are set aside
    here. Column names are matched after trimming spaces; a required column found only in another
    case (`child` for `CHILD`) is used with a note. Errors name the file as `name` (default `label`).
    """
    path = Path(path)
    name = name or label
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{name}: file not found ({path})") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a folder, not a file ({path})") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    text = _decode(data, label, quality, name)
    del data
    lines = _numbered_lines(text)  # (row number, line) of the lines that are not blank, one at a time
    first = next(lines, None)
    if first is None:
        raise DataError(f"{name}: the file is empty (no header line)")
    header_line = first[1]
    delimiter = None
    if re.fullmatch(r"\s*sep=(.)\s*", header_line, flags=re.I):  # Excel's "sep=;" first line
        delimiter = re.fullmatch(r"\s*sep=(.)\s*", header_line, flags=re.I).group(1)
        after = next(lines, None)
        if after is None:
            raise DataError(f"{name}: the file has no header line after 'sep='")
        header_line = after[1]
    delimiter = delimiter or _delimiter(header_line, label, quality)
    header = next(csv.reader([header_line], delimiter=delimiter, skipinitialspace=True))
    names = [h.strip().strip("\ufeff").strip() for h in header]
    columns = _columns(names, required, label, quality, name)
    width = len(names)

    child_at = columns.get(required[0]) if required else None
    bad_rows: list = []
    keep = list(columns.values())
    # Each column is kept as whole-number codes into its distinct values (codes and dates repeat
    # a lot), and the lines are split in blocks: a large return never exists as one Python string
    # per value, nor as a list of all its lines.
    codes = [array("i") for _ in keep]
    values_of: list[dict[str, int]] = [{"": -1} for _ in keep]  # "" (an empty value) is missing
    row_numbers, all_rows = array("q"), array("q")
    while True:
        block = list(itertools.islice(lines, CHUNK_LINES))
        if not block:
            break
        good, good_rows = [], []
        for n, line in block:
            all_rows.append(n)
            if "\x00" in line:
                bad_rows.append((n, None, "holds a NUL character (binary data), not text"))
                continue
            if line.count('"') % 2 and _opens_a_quote(line, delimiter):
                first_values = line.split(delimiter)
                child = first_values[child_at].strip() if child_at is not None and len(first_values) > child_at else None
                bad_rows.append((n, child or None, 'has an unclosed quote (") and cannot be split into columns'))
                continue
            good.append(line)
            good_rows.append(n)
        del block
        for n, rec in zip(good_rows, csv.reader(good, delimiter=delimiter, skipinitialspace=True)):
            values = [v.strip() for v in rec]
            if len(values) > width and any(values[width:]):
                bad_rows.append((n, values[child_at] if child_at is not None else None,
                                 f"has {len(values)} values but the header has {width} columns "
                                 "(a value with a comma in it that is not in quotes?)"))
                continue
            if not any(values):
                bad_rows.append((n, None, "the row is empty (no values)"))
                continue
            for j, i in enumerate(keep):
                v = values[i] if i < len(values) else ""
                seen = values_of[j]
                code = seen.get(v)
                if code is None:
                    code = seen[v] = len(seen) - 1
                codes[j].append(code)
            row_numbers.append(n)
    del lines, text  # the file's text is not needed once its values are coded
    df = pd.DataFrame({ROW: np.frombuffer(row_numbers, dtype=np.int64).copy() if row_numbers else
                       np.array([], dtype=np.int64)})
    for j, column in enumerate(columns):
        distinct = np.empty(len(values_of[j]), dtype=object)  # the last place (code -1) is missing
        for v, code in values_of[j].items():
            distinct[code] = v
        distinct[-1] = np.nan
        df[column] = pd.Series(distinct[np.frombuffer(codes[j], dtype=np.intc)] if len(codes[j]) else
                               np.array([], dtype=object), dtype=str)
        codes[j] = values_of[j] = None  # freed column by column
    del codes, values_of
    quality.read(label, len(all_rows), np.frombuffer(all_rows, dtype=np.int64) if all_rows else [])
    if bad_rows:
        bad = pd.DataFrame(bad_rows, columns=[ROW, "child", "reason"])
        quality.set_aside_rows(label, bad, bad["reason"], "child")
    return df


def _numbered_lines(text: str):
    """(row number, line) for each line of `text` that is not blank, numbered as a text editor
    numbers them (a line break is \\r\\n, \\r or \\n)."""
    pos, n = 0, 0
    for m in _LINE_BREAK.finditer(text):
        n += 1
        line = text[pos:m.start()]
        pos = m.end()
        if line.strip():
            yield n, line
    if pos < len(text) and text[pos:].strip():
        yield n + 1, text[pos:]


def _opens_a_quote(line: str, delimiter: str) -> bool:
    """Whether a quoted value opened on this line is not closed on it (a quote inside an
    unquoted value, such as 5" tall, is only a character)."""
    try:
        next(csv.reader([line], delimiter=delimiter, skipinitialspace=True, strict=True))
    except csv.Error as exc:
        return "end of data" in str(exc)
    return False


def _columns(names: list[str], required, label: str, quality: DataQuality, name: str) -> dict[str, int]:
    """{column name: position}; the first of repeated names; required names matched forgivingly."""
    columns: dict[str, int] = {}
    repeated = []
    internal = [c for c in names if c.startswith("_")]
    if internal:
        quality.note(label, f"column {', '.join(map(show, internal))} ignored (names starting with '_' are "
                            "carepath's own)")
    for i, column in enumerate(names):
        if not column or column.startswith("_"):
            continue
        if column in columns:
            repeated.append(column)
            continue
        columns[column] = i
    for column in required:
        if column in columns:
            continue
        alike = [c for c in columns if c.lower().replace(" ", "") == column.lower()]
        if len(alike) == 1:
            columns[column] = columns.pop(alike[0])
            quality.note(label, f"column '{show(alike[0])}' read as {column}")
    missing = [c for c in required if c not in columns]
    if missing:
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in (";", "\t", "|")):
            hint = " (the header is one column: is the file comma-separated?)"
        raise DataError(f"{name}: required column {', '.join(missing)} is missing{hint}")
    clash = sorted(set(repeated) & set(required))
    if clash:
        raise DataError(f"{name}: column {', '.join(clash)} appears more than once in the header")
    if repeated:
        quality.note(label, f"column {', '.join(sorted(set(map(show, repeated))))} appears more than once: "
                            "the first is used")
    return columns


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
        if bad.any():  # (a large return is not copied when nothing is set aside)
            quality.set_aside_rows(label, df[bad], f"{col} is missing", child)
            df = df[~bad]
    return df


# ---- dates: one parser for every loader ------------------------------------------------------

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$")
_TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}(?:\s.*)?$")
_SERIAL = re.compile(r"^\d{4,6}(?:\.\d+)?$")
_OTHER_SEPARATOR = re.compile(r"^\d{1,2}[.\-]\d{1,2}[.\-]\d{4}$|^\d{4}/\d{1,2}/\d{1,2}$|^\d{8}$")
EXPECTED = "dd/mm/yyyy or yyyy-mm-dd"


def _why_not_a_date(text: str) -> str:
    if _TWO_DIGIT_YEAR.match(text):
        return f"two-digit years are not read: use {EXPECTED}"
    if _SERIAL.match(text):
        return f"a spreadsheet's date number? save the column as dates, {EXPECTED}"
    if _OTHER_SEPARATOR.match(text):
        return f"expected {EXPECTED}"
    m = _DMY.match(text)
    if m and 1 <= int(m.group(1)) <= 12 < int(m.group(2)) <= 31:
        return "no such date: month first? expected dd/mm/yyyy"
    if m or _ISO.match(text):
        return "no such date"
    return f"expected {EXPECTED}"


def read_dates(values: pd.Series, column: str, *, end: bool = False):
    """Parse `values` (text) as dates: dd/mm/yyyy (a time part ignored) or ISO yyyy-mm-dd.

    Returns (dates, reasons, open_markers): dates as datetime64[ns] (NaT where empty or not
    usable), the reason a non-empty value cannot be used (NA where it can), and where an `end`
    date holds an "open" marker such as 31/12/9999 (kept as NaT: the period is open).
    Dates before 1900 are not plausible (01/01/1900 is a common placeholder). A value in a
    date-of-birth column is never shown in a reason.

    Each distinct value is parsed once (a return of a million rows has a few thousand dates), so
    the work and the memory go with the distinct values, not the rows.
    """
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    # the distinct values, then one missing value for the rows that had none (code -1)
    each = pd.Series(list(distinct) + [np.nan], dtype=object)
    dates, reasons, markers = _read_distinct_dates(each, column, end=end)
    take = np.where(codes < 0, len(each) - 1, codes)
    return tuple(part.take(take).set_axis(values.index) for part in (dates, reasons, markers))


def _read_distinct_dates(values: pd.Series, column: str, *, end: bool = False):
    """`read_dates` over values given once each."""
    text = values.astype("string").str.strip()
    index = values.index
    reasons = pd.Series(pd.NA, index=index, dtype="object")
    year = pd.Series(np.nan, index=index)
    month, day = year.copy(), year.copy()
    dmy = text.str.extract(_DMY)
    iso = text.str.extract(_ISO)
    for parts, (y, m, d) in ((dmy, (2, 1, 0)), (iso, (0, 1, 2))):
        got = parts[y].notna() & year.isna()
        year[got] = parts.loc[got, y].astype(float)
        month[got] = parts.loc[got, m].astype(float)
        day[got] = parts.loc[got, d].astype(float)
    valid_md = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    in_range = year.between(1678, 2261) & valid_md
    frame = pd.DataFrame({"year": year.where(in_range, 2000), "month": month.where(in_range, 1),
                          "day": day.where(in_range, 1)})
    dates = pd.to_datetime(frame, errors="coerce") if len(frame) else pd.Series(pd.NaT, index=index)
    dates = dates.where(in_range).astype("datetime64[ns]")
    present = text.notna() & (text != "")
    personal = column in BIRTH_DATE_COLUMNS
    if personal:
        shown = pd.Series(column, index=index, dtype="object")
    else:
        shown = column + " '" + text.map(lambda v: show(v) if isinstance(v, str) else "").astype(object) + "'"
    marker = present & (year == OPEN_MARKER_YEAR) & valid_md
    open_markers = marker & end
    if not end:
        reasons[marker] = shown[marker] + " is a placeholder for 'no date' (year 9999), not a date"
    future_far = present & year.notna() & (year > 2261) & ~marker & valid_md
    reasons[future_far] = shown[future_far] + " is not a plausible date (after the year 2261)"
    early = present & dates.notna() & (dates < EARLIEST_PLAUSIBLE)
    early |= present & year.notna() & (year < 1678) & valid_md
    placeholder = present & (dates == EARLIEST_PLAUSIBLE)
    reasons[early] = shown[early] + " is not a plausible date (before 1900)"
    reasons[placeholder] = shown[placeholder] + (" is 1 January 1900" if personal else "") + (
        ", a placeholder for an unknown date" if personal else " is a placeholder for an unknown date")
    not_date = present & reasons.isna() & dates.isna() & ~open_markers
    if not_date.any():
        why = text[not_date].map(_why_not_a_date)
        reasons[not_date] = shown[not_date] + " is not a date (" + why + ")"
    dates = dates.where(reasons.isna() & ~open_markers)
    return dates.astype("datetime64[ns]"), reasons, open_markers


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dd/mm/yyyy or ISO yyyy-mm-dd (a time part is ignored); anything else becomes NaT."""
    return read_dates(values, "date")[0]


def set_aside_bad_dates(
    df: pd.DataFrame,
    column: str,
    label: str,
    child: str,
    quality: DataQuality,
    extract_date: pd.Timestamp,
    *,
    out: str | None = None,
    end: bool = False,
) -> pd.DataFrame:
    """Parse `column` into `out` (default: in place); set aside unusable and future dates.

    Empty values stay as NaT: whether they are allowed is the caller's decision. With `end`, an
    open marker such as 31/12/9999 is read as empty (open), with a note.
    """
    out = out or column
    parsed, reasons, markers = read_dates(df[column], column, end=end)
    bad = reasons.notna()
    quality.set_aside_rows(label, df[bad], reasons, child)
    if (markers & ~bad).any():
        quality.note(label, f"{int((markers & ~bad).sum())} {column} values in the year 9999 "
                            "(a marker for 'no end date') read as open")
    future = (parsed > extract_date) & ~bad
    if column in BIRTH_DATE_COLUMNS:
        why = pd.Series(f"{column} is after the extract date {extract_date:%d/%m/%Y}", index=df.index)
    else:
        why = f"{column} " + parsed.dt.strftime("%d/%m/%Y") + f" is after the extract date {extract_date:%d/%m/%Y}"
    quality.set_aside_rows(label, df[future], why, child)
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
    if not bad.any():  # (a large return is not copied when nothing is set aside)
        return df
    reason = f"{column} " + "'" + values[bad].map(show) + "' is not a valid code"
    reason[values[bad].isna()] = f"{column} is missing"
    quality.set_aside_rows(label, df[bad], reason, child)
    return df[~bad]


def set_aside_end_before_start(
    df: pd.DataFrame, start: str, end: str, start_name: str, end_name: str, label: str, child: str,
    quality: DataQuality,
) -> pd.DataFrame:
    bad = df[end] < df[start]
    if start_name in BIRTH_DATE_COLUMNS or end_name in BIRTH_DATE_COLUMNS:
        reason = pd.Series(f"{end_name} is before {start_name}", index=df.index[bad])
    else:
        reason = (f"{end_name} " + df.loc[bad, end].dt.strftime("%d/%m/%Y") + f" is before {start_name} "
                  + df.loc[bad, start].dt.strftime("%d/%m/%Y"))
    quality.set_aside_rows(label, df[bad], reason, child)
    return df[~bad]


def as_timestamp(extract_date) -> pd.Timestamp:
    """The extract date as a Timestamp (accepts a date, a string in either date format)."""
    if isinstance(extract_date, str):
        parsed, reasons, _ = read_dates(pd.Series([extract_date]), "extract date")
        if pd.isna(parsed.iloc[0]):
            raise DataError(f"extract date '{show(extract_date)}' is not a date (use {EXPECTED})")
        return parsed.iloc[0]
    try:
        stamp = pd.Timestamp(extract_date)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"extract date '{show(extract_date)}' is not a date ({show(exc, 80)})") from None
    if pd.isna(stamp):
        raise DataError(f"extract date '{show(extract_date)}' is not a date (use {EXPECTED})")
    return stamp


def nothing_usable(what: str, name, quality: DataQuality, files) -> DataError:
    """The error for a loader left with nothing usable: names the file(s) and what was set aside."""
    return DataError(f"{name}: no usable {what} left: {quality.summary_of(files)}")


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
