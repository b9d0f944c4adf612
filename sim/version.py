"""The code version recorded in every manifest: package version, git commit when known, and which
build of the model core ran (`compiled` or `python`; the same results either way)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from . import __version__, core


def code_version() -> dict:
    root = Path(__file__).resolve().parent.parent
    info = {"carepath": __version__, "git_commit": None, "git_dirty": None, "model_core": core.kind()}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                   capture_output=True, text=True, timeout=5)
            info["git_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


_MODEL_DIGEST = None


def model_digest() -> str:
    """A hash of the model's source files (sim/*.py, and the C types of the compiled core, sim/*.pxd): cached results are reused only while the
    code that made them is unchanged, whatever else (docs, reports) changes."""
    global _MODEL_DIGEST
    if _MODEL_DIGEST is None:
        import hashlib

        h = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for f in sorted([*here.glob("*.py"), *here.glob("*.pxd")]):
            h.update(f.name.encode())
            h.update(f.read_bytes())
        _MODEL_DIGEST = h.hexdigest()[:12]
    return _MODEL_DIGEST
