"""Bad input to every command ends in exit status 2 and one plain line naming the file or the
field, never a traceback: missing, empty, unreadable and malformed files, impossible values,
outputs that cannot be written, bad backend settings."""
from __future__ import annotations

from pathlib import Path

import pytest

from carepath.cli import main

REPO = Path(__file__).resolve().parents[2]
BASE = str(REPO / "experiments" / "baseline.yaml")
DATA = REPO / "calibration" / "example_data"


def _files(tmp: Path) -> dict[str, str]:
    (tmp / "empty.yaml").write_text("")
    (tmp / "list.yaml").write_text("- 1\n- 2\n")
    (tmp / "tabs.yaml").write_text("name:\tx\n\tdescription: y\n")
    (tmp / "binary.yaml").write_bytes(b"\x00\x01\x02\xff")
    (tmp / "garbage.csv").write_text("this,is\nnot,a snapshot\n")
    (tmp / "a_file").write_text("x")
    (tmp / "unknown_lever.yaml").write_text(
        f"name: x\nbaseline: {BASE}\nscenarios:\n  - name: s\n    levers:\n"
        "      - {lever: magic_wand, start: 2022-04-01, mechanism: {power: 1}}\n")
    (tmp / "late_lever.yaml").write_text(
        f"name: x\nbaseline: {BASE}\nscenarios:\n  - name: s\n    levers:\n"
        "      - {lever: edge_of_care, start: 2022-04-01, mechanism: {divert_share: 1.5}}\n")
    (tmp / "no_baseline.yaml").write_text("name: x\nbaseline: nowhere.yaml\nscenarios: []\n")
    lever = "{lever: edge_of_care, mechanism: {divert_share: 0.5}, ramp_months: 0, "
    for stem, extra, lever_dates in (
            ("early_first_year", "first_year: 1999/00\n", "start: 2022-04-01"),
            ("late_target_year", "target_year: 2040/41\n", "start: 2022-04-01"),
            ("first_after_target", "first_year: 2027/28\ntarget_year: 2025/26\n", "start: 2022-04-01"),
            ("lever_after_horizon", "", "start: 2031-04-01"),
            ("lever_off_before_start", "", "start: 2019-01-01, end: 2020-01-01"),
            ("lever_target_year_late", "", "start: 2022-04-01, target_year: 2045/46")):
        (tmp / f"{stem}.yaml").write_text(f"name: x\nbaseline: {BASE}\n{extra}scenarios:\n  - name: s\n    levers:\n"
                                          f"      - {lever}{lever_dates}}}\n")
    (tmp / "targets.yaml").write_text("targets: [{label: x}]\n")
    (tmp / "sens.yaml").write_text("nothing: here\n")
    return {Path(k).stem: str(tmp / k) for k in (
        "empty.yaml", "list.yaml", "tabs.yaml", "binary.yaml", "garbage.csv", "a_file", "unknown_lever.yaml",
        "late_lever.yaml", "no_baseline.yaml", "targets.yaml", "sens.yaml", "early_first_year.yaml",
        "late_target_year.yaml", "first_after_target.yaml", "lever_after_horizon.yaml", "lever_off_before_start.yaml",
        "lever_target_year_late.yaml")}


RUN = ["run", "--replications", "1", "--years", "1", "--quiet"]
CASES = [
    # (arguments, words the one line must hold); {x} are files made by _files, {out} a fresh folder
    (RUN + ["--params", "{tmp}/missing.yaml", "--out", "{out}"], "not found"),
    (RUN + ["--params", "{tmp}", "--out", "{out}"], "parameter file"),
    (RUN + ["--params", "{empty}", "--out", "{out}"], "mapping"),
    (RUN + ["--params", "{list}", "--out", "{out}"], "mapping"),
    (RUN + ["--params", "{tabs}", "--out", "{out}"], "malformed YAML"),
    (RUN + ["--params", "{binary}", "--out", "{out}"], "binary.yaml"),
    (RUN + ["--snapshot", "{tmp}/missing.csv", "--out", "{out}"], "snapshot file not found"),
    (RUN + ["--snapshot", "{garbage}", "--out", "{out}"], "garbage.csv"),
    (RUN + ["--out", "{a_file}/sub"], "a_file"),
    (["run", "--replications", "0", "--out", "{out}"], "must be 1 or more"),
    (["run", "--replications", "many", "--out", "{out}"], "expected a whole number"),
    (["run", "--years", "-1", "--out", "{out}"], "must be 1 or more"),
    (["run", "--workers", "0", "--out", "{out}"], "must be 1 or more"),
    (["run", "--seed", "-5", "--out", "{out}"], "must be 0 or more"),
    (RUN + ["--backend", "spark", "--out", "{out}"], "invalid choice"),
    (RUN + ["--scheduler", "not an address", "--out", "{out}"], "Dask scheduler"),
    (RUN + ["--tls-cert", "x.pem", "--out", "{out}"], "tls://"),
    (["experiment", "{tmp}/missing.yaml", "--out", "{out}"], "not found"),
    (["experiment", "{tabs}", "--out", "{out}"], "malformed YAML"),
    (["experiment", "{unknown_lever}", "--out", "{out}"], "magic_wand"),
    (["experiment", "{late_lever}", "--out", "{out}"], "divert_share"),
    (["experiment", "{no_baseline}", "--out", "{out}"], "nowhere.yaml"),
    # business case years and lever dates outside the forecast (1 April 2021 to 31 March 2030): refused, not clipped
    (["experiment", "{early_first_year}", "--out", "{out}"], "first_year 1999/00 is before the forecast"),
    (["experiment", "{late_target_year}", "--out", "{out}"], "target_year 2040/41 is after the forecast"),
    (["experiment", "{first_after_target}", "--out", "{out}"], "first_year 2027/28 is after target_year 2025/26"),
    (["experiment", "{lever_after_horizon}", "--out", "{out}"],
     "lever 'edge_of_care': start 2031-04-01 is after the forecast ends (2030-03-31)"),
    (["experiment", "{lever_off_before_start}", "--out", "{out}"],
     "end 2020-01-01 is not after the forecast starts (2021-04-01)"),
    (["experiment", "{lever_target_year_late}", "--out", "{out}"], "target_year 2045/46 is outside the forecast"),
    (["validate", "--replications", "1", "--targets", "{targets}", "--out", "{out}/v.md", "--quiet"], "targets.yaml"),
    (["validate", "--params", "{empty}", "--out", "{out}/v.md"], "mapping"),
    (["sensitivity", "{sens}", "--out", "{out}"], "sens.yaml"),
    (["sensitivity", "{tmp}/missing.yaml", "--out", "{out}"], "not found"),
    (["snapshot", "--params", "{list}", "--out", "{out}/s.csv"], "mapping"),
    (["calibrate", "--ssda903", "{tmp}/missing", "--extract-date", "2022-03-31", "--out", "{out}"], "missing"),
    (["calibrate", "--ssda903", str(DATA / "ssda903"), "--extract-date", "yesterday", "--out", "{out}"], "yesterday"),
    (["calibrate", "--ssda903", str(DATA / "ssda903"), "--cin", "{tmp}/nocin", "--extract-date", "2022-03-31",
      "--out", "{out}"], "nocin"),
    (["calibrate", "--ssda903", str(DATA / "ssda903"), "--template", "{list}", "--extract-date", "2022-03-31",
      "--out", "{out}"], "mapping"),
    (["refresh", "--ssda903", str(DATA / "ssda903"), "--council", "{tmp}/missing.yaml", "--extract-date",
      "2022-03-31", "--out", "{out}"], "not found"),
    (["refresh", "--ssda903", str(DATA / "ssda903"), "--council", "{list}", "--extract-date", "2022-03-31",
      "--out", "{out}"], "mapping"),
    (["init-council", "--out", "{a_file}"], "already exists"),
    (["no-such-command"], "invalid choice"),
]


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(a[:3]) + f" [{i}]" for i, (a, _) in enumerate(CASES)])
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path, capsys):
    files = _files(tmp_path)
    filled = [a.format(tmp=tmp_path, out=tmp_path / "out", **files) for a in args]
    try:
        rc = main(filled)
    except SystemExit as exc:   # argparse's own exit
        rc = exc.code
    err = [ln for ln in capsys.readouterr().err.strip().splitlines()
           if "model core" not in ln and "compiled core" not in ln]
    assert rc == 2, err
    assert len(err) == 1, err
    assert words in err[0], err[0]
    assert "Traceback" not in err[0]


def test_a_lever_starting_after_the_business_case_years_is_a_warning(tmp_path):
    """Legitimate (the forecast runs on past the business case), but it changes none of its years."""
    from experiments.scenarios import load_scenarios
    from sim.params import load_params

    path = tmp_path / "later.yaml"
    path.write_text(f"name: x\nbaseline: {BASE}\ntarget_year: 2027/28\nscenarios:\n  - name: s\n    levers:\n"
                    "      - {lever: edge_of_care, start: 2028-06-01, mechanism: {divert_share: 0.5}}\n"
                    "  - name: t\n    levers:\n"
                    "      - {lever: edge_of_care, start: 2028-03-31, mechanism: {divert_share: 0.5}}\n")
    sset, horizon = load_scenarios(path), load_params(BASE).horizon
    labels = [f"{y}/{(y + 1) % 100:02d}" for y in range(2021, 2030)]
    first, last, years = sset.business_case_years(labels, str(path))
    assert (first, last, years) == ("2021/22", "2027/28", labels[:7])
    (warning,) = sset.lever_date_warnings(horizon.start_date, horizon.end_date, labels, last, str(path))
    assert "scenario 's'" in warning and "after the business case's last year 2027/28" in warning
