"""Reading the model's inputs: the starting caseload a parameter set names (the parameters
themselves are read by `sim.params.load_params`). Writing anything is the application's job
(`carepath.outputs`); the model itself never touches files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .initial import OpenCase, SnapshotError, cases_from_frame
from .params import Params


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


def resolve_snapshot(params: Params, params_path: Path | None) -> Path | None:
    """The snapshot file a parameter set names, relative to the parameter file's folder."""
    if not params.initial_caseload:
        return None
    p = Path(params.initial_caseload)
    if not p.is_absolute() and params_path is not None:
        p = Path(params_path).parent / p
    return p


def load_snapshot(params: Params, params_path: Path | None = None) -> list[OpenCase] | None:
    """The starting caseload a parameter set names (relative to its file), or None if it names none."""
    path = resolve_snapshot(params, params_path)
    return read_snapshot(path, params) if path is not None else None
