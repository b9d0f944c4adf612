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
    (tmp / "targets.yaml").write_text("targets: [{label: x}]\n")
    (tmp / "sens.yaml").write_text("nothing: here\n")
    return {Path(k).stem: str(tmp / k) for k in (
        "empty.yaml", "list.yaml", "tabs.yaml", "binary.yaml", "garbage.csv", "a_file", "unknown_lever.yaml",
        "late_lever.yaml", "no_baseline.yaml", "targets.yaml", "sens.yaml")}


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
