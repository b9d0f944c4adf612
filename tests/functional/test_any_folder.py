"""Every command works from any folder, on the packaged defaults, and writes only where it is
told: nothing into the package or the repository unless asked."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from carepath.options import default_params, example_data

REPO = Path(__file__).resolve().parents[2]
CAREPATH = Path(sys.executable).parent / "carepath"


SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "build"}


def _tree_state(root: Path) -> set[str]:
    """The files in the repository and its packages (an output landing there is a new file)."""
    return {str(f) for f in root.rglob("*") if f.is_file() and not SKIP & set(f.relative_to(root).parts)}


def _carepath(args, cwd) -> subprocess.CompletedProcess:
    cmd = [str(CAREPATH)] if CAREPATH.exists() else [sys.executable, "-m", "carepath"]
    r = subprocess.run(cmd + list(args), cwd=cwd, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture(scope="module")
def empty_folder(tmp_path_factory):
    before = _tree_state(REPO)
    folder = tmp_path_factory.mktemp("anywhere")
    yield folder
    new = _tree_state(REPO) - before
    assert not new, f"a command wrote into the package or the repository: {sorted(new)[:5]}"


def test_run_from_an_empty_folder(empty_folder):
    r = _carepath(["run", "--replications", "1", "--years", "1", "--out", "o", "--quiet"], empty_folder)
    assert r.returncode == 0, r.stderr
    m = json.loads((empty_folder / "o" / "manifest.json").read_text())
    assert Path(m["params_file"]) == default_params()
    assert (empty_folder / "o" / "summary_by_fy.csv").stat().st_size > 0


def test_validate_writes_only_the_file_asked_for(empty_folder):
    r = _carepath(["validate", "--replications", "2", "--out", "v.md", "--quiet", "--workers", "2"], empty_folder)
    assert r.returncode == 0, r.stderr
    text = (empty_folder / "v.md").read_text()
    assert "| Children in care, average number | 2021/22 | 703.6 |" in text


def test_experiment_from_an_empty_folder(empty_folder):
    (empty_folder / "set.yaml").write_text(
        f"name: tiny\nbaseline: {default_params()}\nreplications: 2\nseed: 5\nsearch_replications: 2\n"
        "scenarios:\n  - name: carers\n    levers:\n"
        "      - {lever: foster_carers, start: 2022-04-01, ramp_months: 12, mechanism: {extra_joiners_per_year: 10}}\n")
    r = _carepath(["experiment", "set.yaml", "--out", "e", "--quiet", "--workers", "2"], empty_folder)
    assert r.returncode == 0, r.stderr
    assert (empty_folder / "e" / "report.html").exists() and (empty_folder / "e" / "roi_profile.csv").exists()


def test_calibrate_on_the_packaged_example_data(empty_folder):
    data = example_data()
    r = _carepath(["calibrate", "--ssda903", str(data / "ssda903"), "--cin", str(data / "cin_census" / "csv"),
                   "--extract-date", "2022-03-31", "--out", "c", "--no-backcast"], empty_folder)
    assert r.returncode == 0, r.stderr
    r = _carepath(["run", "--params", "c/params.yaml", "--replications", "1", "--years", "1", "--out", "c_run",
                   "--quiet"], empty_folder)
    assert r.returncode == 0, r.stderr


def test_help_and_version_from_an_empty_folder(empty_folder):
    assert _carepath(["--help"], empty_folder).returncode == 0
    r = _carepath(["--version"], empty_folder)
    assert r.returncode == 0 and r.stdout.startswith("carepath ")
    r = _carepath(["nonsense"], empty_folder)
    assert r.returncode == 2 and "carepath --help" in r.stderr and "carepath carepath" not in r.stderr
