"""Reading inputs and writing outputs for the command line; the model core never touches files.

Writes are atomic: each file goes to a temporary name in its folder and is renamed into place,
so an interrupted run never leaves a half-written output.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

from .initial import OpenCase, SnapshotError, cases_from_frame, cases_to_frame
from .params import Params


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` then rename tmp over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_csv(df: pd.DataFrame, path: Path, **kw) -> Path:
    return atomic_write(path, lambda p: df.to_csv(p, index=False, **kw))


def write_text(text: str, path: Path) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(data, path: Path) -> Path:
    return write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def read_snapshot(path: Path, params: Params) -> list[OpenCase]:
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"state": str, "placement": str, "closure": str}, keep_default_na=False,
                         na_values={"previous_cp_plans": [""]}, comment="#")
    except FileNotFoundError:
        raise SnapshotError(f"{path}: snapshot file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{path}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    return cases_from_frame(df, params.horizon.start_date, str(path))


SYNTHETIC_LABEL = ("# SYNTHETIC DATA: a caseload made by `carepath snapshot` (a warm-up run of the model); "
                   "no real child.\n")


def write_snapshot(cases: list[OpenCase], params: Params, path: Path, label: str = SYNTHETIC_LABEL) -> Path:
    df = cases_to_frame(cases, params.horizon.start_date)

    def write(tmp: Path):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(label)
            df.to_csv(f, index=False)

    return atomic_write(path, write)


def resolve_snapshot(params: Params, params_path: Path | None) -> Path | None:
    """The snapshot file a parameter set names, relative to the parameter file's folder."""
    if not params.initial_caseload:
        return None
    p = Path(params.initial_caseload)
    if not p.is_absolute() and params_path is not None:
        p = Path(params_path).parent / p
    return p
