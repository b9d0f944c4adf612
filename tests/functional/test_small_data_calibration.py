"""A calibration from very little data succeeds without numpy warnings or a traceback.

Tiny returns (a handful of children) leave some fits with nothing to resample or too few months
for an interval; those intervals are left empty rather than computed over nothing, which
printed numpy's RuntimeWarnings (an all-NaN percentile) and once overflowed into a traceback
(the CIN referral rate's interval on three children).
"""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from calibration.survival import exit_shares

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "calibration" / "example_data"


def _first_children(n: int, out: Path) -> Path:
    """The example data cut to the first `n` children of the SSDA903 episodes (and, for the CIN
    census and contacts, those children and the first 5n others)."""
    ids: list[str] = []
    years = sorted(p for p in (EXAMPLE / "ssda903").iterdir() if p.is_dir())
    for y in years:
        for line in (y / "episodes.csv").read_text().splitlines()[1:]:
            child = line.split(",")[0]
            if child not in ids and len(ids) < n:
                ids.append(child)

    def cut(src: Path, dst: Path, keep: set[str]) -> None:
        lines = src.read_text().splitlines()
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split(",")[0] in keep]) + "\n")

    for y in years:
        for name in ("header.csv", "episodes.csv"):
            cut(y / name, out / "ssda903" / y.name / name, set(ids))
    cin = EXAMPLE / "cin_census" / "csv" / "cin_census.csv"
    others = sorted({ln.split(",")[0] for ln in cin.read_text().splitlines()[1:]})[: 5 * n]
    cut(cin, out / "cin.csv", set(ids) | set(others))
    cut(EXAMPLE / "contacts" / "contacts.csv", out / "contacts.csv", set(ids) | set(others))
    return out


@pytest.mark.parametrize("n, with_cin", [(3, True), (3, False), (15, True)])
def test_a_small_data_calibration_prints_no_runtime_warning(n, with_cin, tmp_path):
    d = _first_children(n, tmp_path / "data")
    extra = ["--cin", str(d / "cin.csv"), "--contacts", str(d / "contacts.csv")] if with_cin else []
    # every RuntimeWarning shown, even one numpy would show only once (and in forked workers too)
    r = subprocess.run([sys.executable, "-W", "always::RuntimeWarning", "-m", "carepath.cli", "calibrate",
                        "--ssda903", str(d / "ssda903"), *extra, "--extract-date", "2022-03-31",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Warning" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    report = (tmp_path / "out" / "calibration_report.html").read_text()
    assert "back-cast failed" not in report   # the back-cast would hide an error raised from a warning


@pytest.mark.parametrize("durations, causes", [
    ([30.0], ["home"]),                        # one case: nothing to resample
    ([30.0, 40.0, 50.0], [None, None, None]),  # no case ended yet: no share in any resample
])
def test_exit_shares_without_an_interval_give_no_warning(durations, causes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = exit_shares(durations, causes, ["home", "sgo"], n_boot=50)
    assert set(out) == {"home", "sgo"}
    for share, low, high in out.values():
        assert np.isnan(low) and np.isnan(high)


def test_exit_shares_keep_their_interval_where_resamples_give_one():
    rng = np.random.default_rng(4)
    t = rng.exponential(100, 200)
    c = np.where(rng.random(200) < 0.3, "sgo", "home")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = exit_shares(t, c, ["home", "sgo"], n_boot=100)
    share, low, high = out["sgo"]
    # 200 cases, about 30% by SGO: the interval holds the share and is about +-2 standard errors wide
    se = np.sqrt(share * (1 - share) / 200)
    assert low < share < high and 2 * se < high - low < 6 * se
