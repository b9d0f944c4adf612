"""The council inputs file: the council's figures laid over the fitted parameters, what it
leaves out listed as inherited, and wrong units, unknown fields and missing required values
refused with one line naming the field."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from calibration.council import CouncilError, apply_council, load_council, provenance, template_text
from carepath.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "calibration" / "example_data" / "council.yaml"

MINIMAL = {"council": {"name": "Testshire"},
           "capacity": {"foster_carers": {"initial_carers": 40}, "residential_inhouse_beds": 5,
                        "residential_block_beds": 1}}


def _write(tmp_path, doc) -> Path:
    p = tmp_path / "council.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False) if isinstance(doc, dict) else doc)
    return p


def test_the_council_figures_replace_the_templates_and_the_rest_is_listed_as_inherited(baseline_params, tmp_path):
    doc = {**MINIMAL, "costs": {"placement_weekly": {"foster_ifa": "£950 a week"}}}
    council = load_council(_write(tmp_path, doc))
    p = apply_council(baseline_params, council)
    assert p.capacity.foster_carers.initial_carers == 40 and p.capacity.residential_inhouse_beds == 5
    assert p.costs.placement_weekly["foster_ifa"] == 950.0 and p.name == "Testshire"
    assert p.costs.placement_weekly["foster_inhouse"] == baseline_params.costs.placement_weekly["foster_inhouse"]
    prov = provenance(baseline_params, council)
    assert "costs.placement_weekly.foster_ifa" in prov["council"]
    assert "costs.placement_weekly.foster_inhouse" in prov["inherited"]
    assert "capacity.foster_carers.initial_carers" not in prov["inherited"]
    assert "capacity.foster_carers.joiners_per_year" in prov["inherited"]


@pytest.mark.parametrize("change, words", [
    ({"costs": {"placement_weekly": {"foster_ifa": "£49,400 a year"}}}, "is £ a year, but this value is £ a week"),
    ({"costs": {"placement_weekly": {"foster_ifa": 49400 * 52}}}, "implausible: is it a yearly cost"),
    ({"costs": {"price_growth_per_year": 5}}, "looks like a percentage; write 0.05"),
    ({"costs": {"price_growth_per_year": "five"}}, "is not a rate"),
    ({"costs": {"placement_weekly": {"foster_ifa": "lots"}}}, "is not a number"),
    ({"costs": {"placement_weekly": {"foster_iffa": 900}}}, "foster_iffa"),
    ({"staffing": {"x": 1}}, "unknown section 'staffing'"),
    ({"council": {"name": "T", "population": 3}}, "council.population: unknown field"),
    ({"investment": {"2022": 100}}, "investment.2022: not a financial year"),
])
def test_a_bad_council_file_is_one_line_naming_the_field(change, words, tmp_path, baseline_params):
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    for k, v in change.items():
        doc[k] = {**doc.get(k, {}), **v} if isinstance(v, dict) and k in doc else v
    with pytest.raises(CouncilError) as err:
        apply_council(baseline_params, load_council(_write(tmp_path, doc)))
    msg = str(err.value)
    assert words in msg and "\n" not in msg and "council.yaml" in msg


@pytest.mark.parametrize("missing", [("council", "name"), ("capacity", "residential_inhouse_beds"),
                                     ("capacity", "foster_carers", "initial_carers")])
def test_a_missing_required_value_is_named(missing, tmp_path):
    doc = yaml.safe_load(yaml.safe_dump(MINIMAL))
    node = doc
    for k in missing[:-1]:
        node = node[k]
    del node[missing[-1]]
    with pytest.raises(CouncilError, match=rf"{'.'.join(missing)} is required"):
        load_council(_write(tmp_path, doc))


def test_the_written_template_is_refused_until_the_required_values_are_filled_in(baseline_params, tmp_path):
    text = template_text(baseline_params)
    p = _write(tmp_path, text)
    with pytest.raises(CouncilError, match="initial_carers is required"):
        load_council(p)
    filled = (text.replace("initial_carers:   # REQUIRED", "initial_carers: 30   # REQUIRED")
              .replace("residential_inhouse_beds:   # REQUIRED", "residential_inhouse_beds: 4   # REQUIRED")
              .replace("residential_block_beds:   # REQUIRED", "residential_block_beds: 0   # REQUIRED"))
    council = load_council(_write(tmp_path, filled))
    assert apply_council(baseline_params, council).capacity.foster_carers.initial_carers == 30
    # everything else is commented out: inherited
    assert len(provenance(baseline_params, council)["council"]) == 3


def test_the_shipped_example_council_file_is_valid(baseline_params):
    council = load_council(EXAMPLE)
    assert "synthetic" in council.name.lower()
    apply_council(baseline_params, council)


def test_init_council_writes_once_and_the_command_line_refuses_a_bad_file(tmp_path, capsys):
    out = tmp_path / "c.yaml"
    assert main(["init-council", "--out", str(out)]) == 0
    assert "REQUIRED" in out.read_text()
    assert main(["init-council", "--out", str(out)]) == 2            # never overwrites a council's file
    assert "already exists" in capsys.readouterr().err
    bad = _write(tmp_path, {**MINIMAL, "costs": {"price_growth_per_year": 5}})
    rc = main(["refresh", "--ssda903", "x", "--council", str(bad), "--extract-date", "2022-03-31",
               "--out", str(tmp_path / "r")])
    assert rc == 2
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if "core" not in ln]
    assert len(err) == 1 and "price_growth_per_year" in err[-1]


def test_changes_since_last_year(tmp_path):
    from carepath.commands.refresh import _changes

    prev = tmp_path / "prev"
    (prev / "calibration").mkdir(parents=True)
    (prev / "forecast").mkdir()
    pd.DataFrame({"measure": ["care_entries_per_year", "referrals_per_year", "parameter:x"], "value": [60, 1000, 1],
                  "low": [50, 950, 0], "high": [70, 1050, 2]}).to_csv(prev / "calibration" / "calibration_summary.csv")
    pd.DataFrame({"replication": [0, 0], "financial_year": ["2022/23", "2022/23"], "measure": ["cic_average", "x"],
                  "value": [200.0, 1.0]}).to_csv(prev / "forecast" / "summary_by_fy.csv", index=False)
    now = pd.DataFrame({"measure": ["care_entries_per_year", "referrals_per_year"], "value": [80.0, 1010.0],
                        "low": [70, 990], "high": [90, 1030]})
    forecast = pd.DataFrame({"replication": [0, 1], "financial_year": ["2022/23"] * 2, "measure": ["cic_average"] * 2,
                             "value": [210.0, 220.0]})
    moved, revisions = _changes(prev, now, forecast)
    assert list(moved["measure"]) == ["care_entries_per_year"]          # 80 is outside last year's 50-70
    r = revisions.set_index("measure").loc["cic_average"]
    assert r["last_year"] == 200 and r["now"] == 215 and r["revision"] == 15
