"""YAML inputs that can only be mistakes are refused with one line naming the file and line:
a key given twice, a date that does not exist, a file that is not UTF-8; absurd forecast lengths."""
from __future__ import annotations

import pytest

from carepath.cli import main
from sim.params import ParamsError, load_params


def _lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def baseline_text(repo) -> str:
    return (repo / "experiments" / "baseline.yaml").read_text(encoding="utf-8")


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("name: a\ndescription: x\nname: b\n")
    with pytest.raises(ParamsError, match=r"line 3.*'name' is given twice.*first at line 1"):
        load_params(p)


def test_a_key_given_twice_in_a_nested_section_is_refused(tmp_path, baseline_text):
    p = tmp_path / "p.yaml"
    p.write_text(baseline_text.replace("horizon:\n", "horizon:\n  end_date: 2025-03-31\n", 1))
    with pytest.raises(ParamsError, match="'end_date' is given twice"):
        load_params(p)


def test_a_date_that_does_not_exist_names_its_line(tmp_path, baseline_text):
    p = tmp_path / "p.yaml"
    text = baseline_text.replace("start_date: 2021-04-01", "start_date: 2021-02-30", 1)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "2021-02-30" in ln)
    p.write_text(text)
    with pytest.raises(ParamsError, match=rf"at line {line} \(2021-02-30 is not a date\)"):
        load_params(p)


def test_a_file_that_is_not_utf8_names_its_line(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_bytes(b"name: ok\ndescription: caf\xe9\n")
    with pytest.raises(ParamsError, match=r"line 2 is not UTF-8 text \(byte 0xe9\)"):
        load_params(p)


def test_a_byte_order_mark_is_fine(tmp_path, baseline_text):
    p = tmp_path / "p.yaml"
    p.write_bytes(b"\xef\xbb\xbf" + baseline_text.encode())
    assert load_params(p).name


@pytest.mark.parametrize("text, words", [
    ("name: a\nname: b\n", "is given twice"),
    (None, "is not a date"),
    (b"name: \xff\n", "is not UTF-8"),
])
def test_the_command_line_gives_one_line_and_exit_2(text, words, tmp_path, capsys, baseline_text):
    p = tmp_path / "p.yaml"
    if text is None:
        p.write_text(baseline_text.replace("start_date: 2021-04-01", "start_date: 2021-02-30", 1))
    elif isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    assert main(["run", "--params", str(p), "--replications", "1", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = [ln for ln in _lines(capsys) if "model core" not in ln and "compiled core" not in ln]
    assert len(err) == 1 and words in err[0] and "Traceback" not in err[0]


def test_an_absurd_forecast_length_is_refused(tmp_path, capsys):
    assert main(["run", "--years", "100000", "--replications", "1", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = [ln for ln in _lines(capsys) if "core" not in ln]
    assert len(err) == 1 and "--years 100000" in err[0]
