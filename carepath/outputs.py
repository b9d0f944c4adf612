"""Every file carepath writes goes through here: one atomic writer, one manifest builder.

A file is written to a temporary name in its folder and renamed into place, so an interrupted
run never leaves a half-written file. Files get the permissions the user's umask gives (never
forced world-readable: some outputs hold child-level records).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

import pandas as pd

from sim.initial import OpenCase, cases_to_frame
from sim.params import Params
from sim.version import code_version


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
        with open(tmp, "rb+") as f:  # on disk before the rename, so a crash leaves the old file or the new
            os.fsync(f.fileno())
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


def write_figure(fig, path: Path, dpi: int = 120) -> Path:
    """A matplotlib figure as PNG; the figure is closed afterwards."""
    import matplotlib.pyplot as plt

    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
    finally:
        plt.close(fig)


class Writer:
    """What report builders below the application layer are handed to write their files with."""

    def __init__(self, dpi: int = 120):
        self.dpi = dpi

    def figure(self, fig, path: Path) -> Path:
        return write_figure(fig, path, self.dpi)

    def text(self, text: str, path: Path) -> Path:
        return write_text(text, path)

    def csv(self, df: pd.DataFrame, path: Path) -> Path:
        return write_csv(df, path)


def file_sha256(path: Path) -> str:
    """The first 16 hex digits of a file's sha256; of a folder, of its files' names and contents."""
    path = Path(path)
    if path.is_dir():
        h = hashlib.sha256()
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            h.update(f.read_bytes())
        return h.hexdigest()[:16]
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


SYNTHETIC_LABEL = ("# SYNTHETIC DATA: a caseload made by `carepath snapshot` (a warm-up run of the model); "
                   "no real child.\n")


def write_snapshot(cases: list[OpenCase], params: Params, path: Path, label: str = SYNTHETIC_LABEL) -> Path:
    df = cases_to_frame(cases, params.horizon.start_date)

    def write(tmp: Path):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(label)
            df.to_csv(f, index=False)

    return atomic_write(path, write)


def manifest(what: str, *, parameters: Optional[Params] = None, params_path=None, snapshot_path=None,
             seed=None, replications=None, workers=None, backend: Optional[str] = None,
             wall: Optional[float] = None, **extra) -> dict:
    """What made an output folder: the command, parameters and their hash, the starting caseload
    and its hash, seed, replications, where they ran, the code version and the time taken.
    `extra` adds the command's own entries (in order, after the common ones)."""
    out = {
        "what": what,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
    if parameters is not None:
        out["params_file"] = str(params_path) if params_path else None
        out["params_hash"] = parameters.digest()
        out["snapshot_file"] = str(snapshot_path) if snapshot_path else None
        out["snapshot_hash"] = file_sha256(snapshot_path) if snapshot_path else None
    if seed is not None:
        out["seed"] = seed
    if replications is not None:
        out["replications"] = replications
    if workers is not None:
        out["workers"] = workers
    if backend is not None:
        out["backend"] = backend
    out["code_version"] = code_version()
    out["python"] = platform.python_version()
    if wall is not None:
        out["wall_seconds"] = round(wall, 2)
    out.update(extra)
    return out
