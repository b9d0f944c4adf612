"""Output folders are written whole or not at all, and a failed write names its file."""
from __future__ import annotations

import errno
import json

import pytest

from carepath import outputs
from carepath.outputs import OutputError, output_folder, write_json, write_text


def _complete_run(out, files: dict[str, str]):
    with output_folder(out) as stage:
        for name, text in files.items():
            write_text(text, stage / name)
        write_json({"what": "carepath test"}, stage / "manifest.json")


def test_a_finished_folder_holds_every_file_and_a_manifest_listing_them(tmp_path):
    _complete_run(tmp_path / "o", {"a.csv": "1\n", "b.csv": "2\n"})
    out = tmp_path / "o"
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["files"] == ["a.csv", "b.csv"]


def test_a_failure_part_way_leaves_the_previous_run_as_it_was(tmp_path):
    out = tmp_path / "o"
    _complete_run(out, {"a.csv": "old a\n", "b.csv": "old b\n"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError):
        with output_folder(out) as stage:
            write_text("new a\n", stage / "a.csv")
            raise RuntimeError("the run failed here")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before   # nothing new, nothing half-written
    assert not list(out.glob(".partial-*"))


def test_an_interruption_leaves_the_previous_run_as_it_was(tmp_path):
    out = tmp_path / "o"
    _complete_run(out, {"a.csv": "old\n"})
    with pytest.raises(KeyboardInterrupt):
        with output_folder(out) as stage:
            write_text("new\n", stage / "a.csv")
            raise KeyboardInterrupt
    assert (out / "a.csv").read_text() == "old\n" and (out / "manifest.json").exists()


def test_files_of_the_previous_run_that_this_run_did_not_write_are_removed(tmp_path):
    out = tmp_path / "o"
    _complete_run(out, {"a.csv": "1\n", "event_log.csv.gz": "x"})
    (out / ".cache").mkdir()
    (out / ".cache" / "k.npz").write_bytes(b"kept")
    (out / "notes.txt").write_text("the user's own file, not in the manifest")
    _complete_run(out, {"a.csv": "2\n"})
    assert not (out / "event_log.csv.gz").exists()
    assert (out / "a.csv").read_text() == "2\n"
    assert (out / ".cache" / "k.npz").read_bytes() == b"kept" and (out / "notes.txt").exists()


def test_a_full_disk_names_the_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(_tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError) as err:
        outputs.atomic_write(tmp_path / "summary_by_fy.csv", full)
    assert "summary_by_fy.csv" in str(err.value) and "No space left" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_keeps_the_previous_folder_when_a_run_fails(tmp_path, monkeypatch, capsys, repo):
    from carepath.cli import main
    from carepath.commands import run as run_cmd

    out = tmp_path / "o"
    args = ["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--replications", "1", "--years", "1",
            "--quiet", "--out", str(out), "--event-log", "none"]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def no_space(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_cmd, "plot_bands", lambda stocks, path: outputs.atomic_write(path, no_space))
    assert main(args[:-2] + ["--event-log", "first", "--seed", "9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cin_cp_cic_bands.png" in err[0] and "No space left" in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_child_level_files_are_named_beside_them_and_in_the_manifest(tmp_path):
    out = tmp_path / "o"
    with output_folder(out, {"snapshot.csv": "one row per child", "absent.csv": "not written this time"}) as stage:
        write_text("child_id\n1\n", stage / "snapshot.csv")
        write_text("measure,value\n", stage / "summary.csv")
        write_json({"what": "carepath test"}, stage / "manifest.json")
    note = (out / outputs.PERSONAL_DATA_NOTE).read_text()
    assert "snapshot.csv: one row per child" in note and "absent.csv" not in note and "summary.csv" not in note
    assert json.loads((out / "manifest.json").read_text())["child_level_files"] == ["snapshot.csv"]
    # a folder of aggregates only gets no note
    _complete_run(tmp_path / "agg", {"summary.csv": "x\n"})
    assert not (tmp_path / "agg" / outputs.PERSONAL_DATA_NOTE).exists()


def test_every_csv_carepath_writes_is_safe_to_open_in_a_spreadsheet(tmp_path):
    import pandas as pd

    from carepath.outputs import write_csv

    df = pd.DataFrame({"scenario": ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "plain", "-0.5"], "value": [1.0, -2.0, 3.0, 4.0]})
    back = pd.read_csv(write_csv(df, tmp_path / "t.csv"))
    assert list(back["scenario"]) == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "plain", "-0.5"]
    assert list(back["value"]) == [1.0, -2.0, 3.0, 4.0]
