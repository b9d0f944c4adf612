"""Finished replications kept on disk, so an interrupted experiment resumes without redoing
them. One file per replication, written atomically (to be replaced by a format that cannot run
code: see experiments' issue on caches)."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Optional

from .outputs import atomic_write


class Cache:
    """One pickle per finished replication, written atomically."""

    def __init__(self, folder: Optional[Path]):
        self.folder = Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Optional[Path]:
        return self.folder / f"{key}.pkl" if self.folder else None

    def get(self, key: str):
        p = self._path(key)
        if p is None or not p.exists():
            return None
        try:
            with open(p, "rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError):
            return None  # a damaged file is simply run again

    def put(self, key: str, value) -> None:
        p = self._path(key)
        if p is not None:
            atomic_write(p, lambda tmp: tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))
