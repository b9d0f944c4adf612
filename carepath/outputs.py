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
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import pandas as pd

from sim.initial import OpenCase, cases_to_frame, with_month_of_birth
from sim.params import Params
from sim.version import code_version


class OutputError(OSError):
    """A file could not be written; the message names it."""


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` then rename tmp over `path`; a failure (a full disk, say) is an
    OutputError naming `path`, and leaves no temporary file."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        write(Path(tmp))
        with open(tmp, "rb+") as f:  # on disk before the rename, so a crash leaves the old file or the new
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(exc.errno, f"could not write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return path


PERSONAL_DATA_NOTE = "PERSONAL_DATA.txt"


def _personal_data_note(files: dict[str, str]) -> str:
    lines = ["CHILD-LEVEL DATA IN THIS FOLDER", "",
             "These files hold one row per child or per event in a child's history. Where they come from",
             "a council's own records they are personal data (UK GDPR): keep them where the council's",
             "data protection rules allow, share them only as those rules allow, and delete them when no",
             "longer needed. Children are identified by pseudonymous numbers, not by the council's own",
             "identifiers, except where a file below says it holds them. The other files in this folder",
             "are aggregates (counts, costs, rates by financial year or month) and hold no child-level",
             "records.", ""]
    lines += [f"- {name}: {what}" for name, what in files.items()]
    return "\n".join(lines) + "\n"


@contextmanager
def output_folder(out: Path, child_level: Optional[dict[str, str]] = None) -> Iterator[Path]:
    """An output folder written whole or not at all.

    The files go into a hidden folder inside `out` (`.partial-...`); only when every one is
    written do they replace the previous run's: its manifest goes first (from then on the folder
    does not look complete), then the files the previous manifest listed that this run did not
    write, then the new files move in, the manifest last, listing them. A failure or an
    interruption before that leaves the previous run's folder as it was. What a run keeps
    between runs (`.cache/`) stays where it is.

    `child_level`: {file name: what it holds} for the files that hold child-level records; those
    written are listed in a PERSONAL_DATA.txt beside them and in the manifest."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob(".partial-*"):  # left by a run that was killed
            shutil.rmtree(old, ignore_errors=True)
        stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    except OSError as exc:
        raise OutputError(exc.errno, f"could not write into {out}: {exc.strerror or exc}") from None
    try:
        yield stage
        present = {n: w for n, w in (child_level or {}).items() if (stage / n).exists()}
        if present:
            write_text(_personal_data_note(present), stage / PERSONAL_DATA_NOTE)
        _publish(stage, out, list(present))
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, out: Path, child_level: list[str]) -> None:
    names = sorted(p.name for p in stage.iterdir())
    staged_manifest = stage / "manifest.json"
    if staged_manifest.exists():
        data = json.loads(staged_manifest.read_text(encoding="utf-8"))
        data["files"] = [n for n in names if n != "manifest.json"]
        data["child_level_files"] = child_level
        write_json(data, staged_manifest)
    previous = []
    old_manifest = out / "manifest.json"
    try:
        if old_manifest.exists():
            try:
                previous = json.loads(old_manifest.read_text(encoding="utf-8")).get("files") or []
            except (ValueError, AttributeError):
                previous = []
            old_manifest.unlink()
        for name in previous:
            if name not in names and "/" not in name and not name.startswith("."):
                (out / name).unlink(missing_ok=True)
        for name in names:
            if name != "manifest.json":
                os.replace(stage / name, out / name)
        if staged_manifest.exists():
            os.replace(staged_manifest, old_manifest)
    except OSError as exc:
        raise OutputError(exc.errno, f"could not move the new files into {out}: {exc.strerror or exc}") from None


def write_csv(df: pd.DataFrame, path: Path, **kw) -> Path:
    """A CSV a person may open in a spreadsheet: text that would run as a formula (=, +, -, @ at
    the start, as in an identifier `=HYPERLINK(...)`) is written with a leading quote."""
    from calibration.records import spreadsheet_safe

    return atomic_write(path, lambda p: spreadsheet_safe(df).to_csv(p, index=False, **kw))


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


def write_workbook(workbook, path: Path) -> Path:
    """An openpyxl workbook as .xlsx."""
    return atomic_write(path, lambda p: workbook.save(p))


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

    def workbook(self, workbook, path: Path) -> Path:
        return write_workbook(workbook, path)


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


def write_snapshot(cases: list[OpenCase], params: Params, path: Path, label: str = SYNTHETIC_LABEL,
                   exact_dates_of_birth: bool = False) -> Path:
    """A caseload as a snapshot file; dates of birth as months (yyyy-mm) unless `exact_dates_of_birth`."""
    df = cases_to_frame(cases, params.horizon.start_date)
    if not exact_dates_of_birth:
        df = with_month_of_birth(df)

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
