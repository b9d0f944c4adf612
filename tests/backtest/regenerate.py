"""Rewrite the back-test's expected files (tests/backtest/exp_results/) from the code.

    .venv/bin/python tests/backtest/regenerate.py              # from this checkout
    .venv/bin/python tests/backtest/regenerate.py --code DIR   # from another checkout's sim/ and
                                                               # experiments/ (e.g. a git worktree)

The scenario runs in a fresh process with the Python source of the model core
(CAREPATH_PURE_PYTHON=1), the reference build; the test checks the compiled build against the
same files. A change that moves a number must update the expected files in the same commit and
say why in its message.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "_backtest.py"
EXPECTED = HERE / "exp_results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", type=Path, default=HERE.parents[1],
                    help="the checkout whose sim/ and experiments/ make the files (default: this one)")
    ap.add_argument("--out", type=Path, default=EXPECTED, help="folder to (re)write (default: %(default)s)")
    args = ap.parse_args(argv)
    code = args.code.resolve()
    env = dict(os.environ, CAREPATH_PURE_PYTHON="1", PYTHONPATH=str(code))
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([sys.executable, str(SCRIPT), "expected", tmp], cwd=code, env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr, file=sys.stderr)
            return 1
        facts = json.loads(p.stdout.strip().splitlines()[-1])
        if Path(facts["sim"]) != code / "sim" or facts["core"] != "python":
            print(f"ran {facts['core']} code from {facts['sim']}, not the Python source of {code / 'sim'}",
                  file=sys.stderr)
            return 1
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(tmp, args.out)
    print(f"wrote {args.out} from {facts['sim']} ({facts['core']} source, parameters {facts['params']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
