"""Which build of the model core runs: compiled (Cython) or the plain Python source.

The modules in `COMPILED` are plain Python; `setup.py` also compiles them with Cython, with C
types declared in `.pxd` files beside them, which makes a replication several times faster.
Both builds give the same random numbers and results, to the last digit (tested).

A compiled module would shadow its `.py` file even after the `.py` is edited, so the build
records the hash of the source it was made from (`MANIFEST`), and the package uses the Python
source for all these modules, with a warning, when any has changed since. Setting
`CAREPATH_PURE_PYTHON=1` asks for the Python source. This module uses the standard library only:
`setup.py` imports it before numpy is installed.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

COMPILED = ("streams", "child", "eventlog", "eventqueue", "capacity", "sampling", "pathway")
MANIFEST = "_compiled_from.json"
HERE = Path(__file__).resolve().parent
ENV_PURE = "CAREPATH_PURE_PYTHON"

_kind = "python"
_reason = "not built"


def source_hashes(folder: Path = HERE) -> dict[str, str]:
    """sha256 of each compiled module's source: its `.py` and, if any, its `.pxd`."""
    out = {}
    for m in COMPILED:
        h = hashlib.sha256()
        for suffix in (".py", ".pxd"):
            f = folder / f"{m}{suffix}"
            if f.exists():
                h.update(f.read_bytes())
        out[m] = h.hexdigest()
    return out


def _built(m: str) -> bool:
    return any((HERE / f"{m}{s}").exists() for s in importlib.machinery.EXTENSION_SUFFIXES)


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads the core modules from their `.py` files, ahead of any compiled build."""

    names = {f"{__package__}.{m}": HERE / f"{m}.py" for m in COMPILED}

    def find_spec(self, fullname, path=None, target=None):
        f = self.names.get(fullname)
        return importlib.util.spec_from_file_location(fullname, f) if f is not None else None


def select() -> str:
    """Decide, once, before any core module is imported, which build runs; returns the kind."""
    global _kind, _reason
    built = [m for m in COMPILED if _built(m)]
    if os.environ.get(ENV_PURE, "") not in ("", "0"):
        _kind, _reason = "python", f"{ENV_PURE} is set"
    elif not built:
        _kind, _reason = "python", "the compiled core is not built (no C compiler or Cython at install)"
    else:
        try:
            recorded = json.loads((HERE / MANIFEST).read_text())
        except (OSError, ValueError):
            recorded = {}
        changed = [m for m, h in source_hashes().items() if recorded.get(m) != h or m not in built]
        if changed:
            _kind = "python"
            _reason = (f"the compiled core is older than its source ({', '.join(f'sim/{m}.py' for m in changed)}); "
                       "run `make setup` to rebuild it")
            print(f"carepath: {_reason}. Using the Python source meanwhile: the same results, more slowly.",
                  file=sys.stderr)
        else:
            _kind, _reason = "compiled", "built from the current source"
    if _kind == "python" and built and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())
    return _kind


def kind() -> str:
    """'compiled' or 'python': the build of the model core in use (recorded in manifests)."""
    return _kind


def reason() -> str:
    return _reason
