"""SSDA903 loader: every row is kept or set aside with a reason, and cleaning does what an analyst would."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from calibration import ssda903
from calibration.records import DataError
from sim.vocab import EXIT_REASONS, PLACEMENT_TYPES

SAMPLE = Path(__file__).parents[2].parent / "shared" / "data" / "ssda903_sample"
EXTRACT = "31/03/2022"

HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"


def ep(child, decom, rne="S", ls="C2", place="U4", provider="PR1", dec="", rec="", rpc=""):
    return f"{child},{decom},{rne},{ls},N1,{place},{provider},{dec},{rec},{rpc},,,\n"


def write_year(root: Path, year: str, header_rows: str, episode_rows: str) -> None:
    folder = root / year
    folder.mkdir(parents=True)
    (folder / "header.csv").write_text(HEADER + header_rows)
    (folder / "episodes.csv").write_text(EPISODES + episode_rows)


def write_combined(root: Path, header_rows: str, episode_rows: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "header.csv").write_text(HEADER + header_rows)
    (root / "episodes.csv").write_text(EPISODES + episode_rows)
    return root


def assert_balanced(result) -> None:
    dq = result.quality.data_quality
    assert (dq["rows_kept"] + dq["rows_set_aside"] == dq["rows_read"]).all()
    assert (dq["rows_kept"] >= 0).all()


def reasons(result, file="episodes.csv") -> dict[int, str]:
    sa = result.quality.rows_set_aside
    sa = sa[sa["file"] == file]
    return dict(zip(sa["row"], sa["reason"]))


# ---- mapping tables ----------------------------------------------------------------------------

DOMAIN_PLACE = ["U1", "U2", "U3", "U4", "U5", "U6", "K2", "R1", "K1", "H5", "K3", "P2", "P1",
                "A3", "A4", "A5", "A6", "T0", "T1", "T2", "T3", "T4", "Z1"]
DOMAIN_REC = ["E4A", "E4B", "E13", "E45", "E46", "E47", "E48", "E41", "E11", "E12", "E17", "E5", "E6",
              "E7", "E15", "E2", "E3", "E8", "E9", "E14", "E16"]


def test_every_domain_place_code_maps_to_a_vocab_type_for_every_provider():
    places = pd.Series([p for p in DOMAIN_PLACE for _ in range(5)])
    providers = pd.Series([f"PR{i}" for _ in DOMAIN_PLACE for i in range(1, 6)])
    types = ssda903.placement_type(places, providers)
    assert types.notna().all()
    assert set(types) <= set(PLACEMENT_TYPES)


@pytest.mark.parametrize("place, provider, expected", [
    ("U2", "PR4", "kinship"), ("U5", "PR1", "foster_inhouse"), ("U5", "PR3", "foster_inhouse"),
    ("U4", "PR4", "foster_ifa"), ("U6", "PR5", "foster_ifa"), ("K2", "PR1", "residential_inhouse"),
    ("R1", "PR4", "residential_spot"), ("H5", "PR1", "semi_independent_spot"),
    ("P2", "PR4", "semi_independent_spot"), ("P1", "PR0", "with_parents"), ("A4", "PR1", "other"),
    ("T2", "PR1", "other"), ("K1", "PR4", "other"), ("Z1", "PR1", "other"),
])
def test_placement_mapping(place, provider, expected):
    assert ssda903.placement_type(pd.Series([place]), pd.Series([provider])).iloc[0] == expected


def test_every_domain_rec_code_maps_to_a_vocab_exit_reason():
    reasons_ = ssda903.exit_reason(pd.Series(DOMAIN_REC))
    assert reasons_.notna().all() and set(reasons_) == set(EXIT_REASONS)
    assert ssda903.exit_reason(pd.Series(["X1"])).isna().all()
    assert dict(zip(["E4A", "E45", "E41", "E11", "E17", "E14"],
                    ssda903.exit_reason(pd.Series(["E4A", "E45", "E41", "E11", "E17", "E14"])))) == {
        "E4A": "reunification", "E45": "sgo", "E41": "cao", "E11": "adoption", "E17": "age18", "E14": "other"}


# ---- bad rows are set aside with the right reason ----------------------------------------------

def test_bad_rows_are_set_aside_with_reasons(tmp_path):
    header = "1,1,01/01/2010,WBRI,,,\n2,2,2012-05-06,WBRI,,,\n3,1,01/01/2011,WBRI,,,\n"
    rows = [
        ep(1, "01/04/2020", dec="01/06/2020", rec="E4A"),              # row 2: fine
        ep(1, "01/04/2020", dec="01/06/2020", rec="E4A"),              # row 3: exact duplicate
        ep(2, "01/02/2021", place="Q9"),                               # row 4: invalid PLACE
        ep(2, "01/03/2021", dec="01/02/2021", rec="E13"),              # row 5: end before start
        ep(2, "01/04/2030"),                                           # row 6: future
        ep(2, "31/02/2021"),                                           # row 7: unparseable date
        ep(2, ""),                                                     # row 8: missing DECOM
        ep(9, "01/01/2021"),                                           # row 9: not in header
        ep(3, "01/01/2021", rec="E99", dec="02/02/2021"),              # row 10: invalid REC
        ep(3, "05/05/2021", place="U4", provider="PR0"),               # row 11: provider needed
        ep(3, "06/06/2021", dec="07/07/2021"),                         # row 12: DEC without REC
        ep(2, "2021-06-01"),                                           # row 13: ISO date, fine
    ]
    root = write_combined(tmp_path / "x", header, "".join(rows))
    result = ssda903.load_ssda903(root, EXTRACT)
    assert_balanced(result)
    r = reasons(result)
    assert r[3] == "exact duplicate of row 2"
    assert r[4] == "PLACE 'Q9' is not a valid code"
    assert r[5] == "DEC 01/02/2021 is before DECOM 01/03/2021"
    assert r[6] == "DECOM 01/04/2030 is after the extract date 31/03/2022"
    assert r[7] == "DECOM '31/02/2021' is not a date (no such date)"
    assert r[8] == "DECOM is missing"
    assert r[9] == "child is not in the header file"
    assert r[10] == "REC 'E99' is not a valid code"
    assert "needs a PLACE_PROVIDER" in r[11]
    assert "REC (reason episode ceased) is missing" in r[12]
    assert set(r) == set(range(3, 13))
    assert len(result.episodes) == 2
    assert result.episodes["start"].max() == pd.Timestamp("2021-06-01")


def test_header_problems_are_set_aside_and_explain_the_episodes(tmp_path):
    header = "1,1,01/01/2010,WBRI,,,\n2,2,not a date,WBRI,,,\n1,1,01/01/2010,WBRI,,,\n"
    root = write_combined(tmp_path / "x", header, ep(1, "01/04/2020") + ep(2, "01/04/2020"))
    result = ssda903.load_ssda903(root, EXTRACT)
    assert_balanced(result)
    h = reasons(result, "header.csv")
    assert h == {3: "DOB is not a date (expected dd/mm/yyyy or yyyy-mm-dd)", 4: "exact duplicate of row 2"}
    assert reasons(result)[3].startswith("the child's header row was set aside")


def test_missing_column_raises_a_one_line_error(tmp_path):
    root = tmp_path / "x"
    root.mkdir()
    (root / "header.csv").write_text(HEADER + "1,1,01/01/2010,,,,\n")
    (root / "episodes.csv").write_text("CHILD,DECOM,RNE,LS,PLACE,PLACE_PROVIDER,DEC\n1,01/01/2020,S,C2,U4,PR1,\n")
    with pytest.raises(DataError, match=r"^episodes.csv: required column REC is missing$"):
        ssda903.load_ssda903(root, EXTRACT)


def test_missing_folder_or_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError):
        ssda903.load_ssda903(tmp_path / "nowhere", EXTRACT)
    (tmp_path / "2019").mkdir()
    (tmp_path / "2019" / "episodes.csv").write_text(EPISODES)
    with pytest.raises(DataError, match="2019/header.csv"):
        ssda903.load_ssda903(tmp_path, EXTRACT)


# ---- cleaning ---------------------------------------------------------------------------------

def test_repeats_across_years_resolve_to_the_latest_collection(tmp_path):
    write_year(tmp_path, "2019", "1,1,01/01/2010,,,,\n", ep(1, "01/04/2019"))
    write_year(tmp_path, "2020", "1,1,01/01/2010,,,,\n",
               ep(1, "01/04/2019", dec="01/10/2020", rec="E45"))
    (tmp_path / "2020" / "uasc.csv").write_text("CHILD,SEX,DOB,DUC\n")
    result = ssda903.load_ssda903(tmp_path, EXTRACT)
    assert_balanced(result)
    assert len(result.episodes) == 1
    row = result.episodes.iloc[0]
    assert row["end"] == pd.Timestamp("2020-10-01") and row["exit_reason"] == "sgo"
    assert reasons(result, "2019/episodes.csv") == {2: "superseded by 2020 collection"}
    assert reasons(result, "2019/header.csv") == {2: "superseded by 2020 collection"}
    assert any("uasc.csv" in f for f in result.quality.notes["file"])


def test_overlapping_episodes_are_trimmed_and_recorded(tmp_path):
    rows = ep(1, "01/01/2020", dec="01/06/2020", rec="X1") + ep(1, "01/03/2020", rne="P", dec="01/09/2020",
                                                                  rec="E4A")
    result = ssda903.load_ssda903(write_combined(tmp_path / "x", "1,1,01/01/2010,,,,\n", rows), EXTRACT)
    e = result.episodes
    assert e.loc[0, "end"] == pd.Timestamp("2020-03-01")
    assert len(result.trimmed) == 1 and result.trimmed.loc[0, "old_end"] == pd.Timestamp("2020-06-01")
    assert len(result.periods) == 1
    assert result.periods.loc[0, "end"] == pd.Timestamp("2020-09-01")


def test_short_breaks_are_left_out(tmp_path):
    rows = ep(1, "01/01/2020", ls="V3", dec="03/01/2020", rec="E13") + ep(2, "01/01/2020", ls="V4") + ep(3, "01/01/2020")
    header = "1,1,01/01/2010,,,,\n2,1,01/01/2010,,,,\n3,1,01/01/2010,,,,\n"
    result = ssda903.load_ssda903(write_combined(tmp_path / "x", header, rows), EXTRACT)
    assert_balanced(result)
    assert list(result.episodes["child"]) == ["3"]
    assert all(r.startswith("short break") for r in reasons(result).values())


def test_periods_join_across_x1_changes_and_split_at_exits_and_gaps(tmp_path):
    rows = (
        ep(1, "01/01/2019", dec="01/03/2019", rec="X1", rpc="CARPL")
        + ep(1, "01/03/2019", rne="P", place="K2", provider="PR4", dec="01/05/2019", rec="X1")
        + ep(1, "01/05/2019", rne="L", ls="C1", place="K2", provider="PR4", dec="01/07/2019", rec="E4A")
        + ep(1, "01/01/2020", rne="S", place="U1")                               # re-entry, open
        + ep(2, "01/01/2019", dec="01/02/2019", rec="X1")
        + ep(2, "01/06/2019", rne="P", dec="01/07/2019", rec="E11", place="A4")  # gap: new period
    )
    header = "1,1,01/01/2010,,,,\n2,2,15/06/2012,,,,\n"
    result = ssda903.load_ssda903(write_combined(tmp_path / "x", header, rows), EXTRACT)
    p = result.periods.set_index(["child", "period"])
    assert len(p) == 4
    first = p.loc[("1", 1)]
    assert (first["start"], first["end"], first["exit_reason"]) == (
        pd.Timestamp("2019-01-01"), pd.Timestamp("2019-07-01"), "reunification")
    assert first["episodes"] == 3 and first["placements"] == 2
    assert first["first_placement"] == "foster_inhouse" and first["age_at_entry"] == 9
    assert pd.isna(p.loc[("1", 2), "end"]) and p.loc[("1", 2), "first_placement"] == "kinship"
    # a period that ends X1 with nothing after it is censored, not an exit
    assert pd.isna(p.loc[("2", 1), "exit_reason"]) and p.loc[("2", 1), "end"] == pd.Timestamp("2019-02-01")
    assert p.loc[("2", 2), "exit_reason"] == "adoption" and not p.loc[("2", 2), "start_known"]
    assert p.loc[("2", 1), "age_at_entry"] == 6


def test_episodes_file_with_header_beside_it(tmp_path):
    root = write_combined(tmp_path / "x", "1,1,01/01/2010,,,,\n", ep(1, "01/01/2020"))
    result = ssda903.load_ssda903(root / "episodes.csv", EXTRACT, header=root / "header.csv")
    assert len(result.periods) == 1


# ---- the third-party sample -------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.is_dir():
        pytest.skip(f"third-party SSDA903 sample not found at {SAMPLE}")
    return ssda903.load_ssda903(SAMPLE, EXTRACT)


def test_sample_loads_with_balanced_counts(sample):
    assert_balanced(sample)
    dq = sample.quality.data_quality
    assert len(dq) == 10  # header and episodes for five years; uasc.csv only noted
    assert (dq["rows_read"] > 0).all()


def test_sample_periods_are_sensible(sample):
    p = sample.periods
    assert len(p) > 500
    assert p["start"].between(pd.Timestamp("2010-01-01"), pd.Timestamp("2022-03-31")).all()
    closed = p["end"].notna()
    assert (p.loc[closed, "end"] >= p.loc[closed, "start"]).all()
    assert p["age_at_entry"].between(0, 18).all()
    assert set(p["exit_reason"].dropna()) <= set(EXIT_REASONS)
    assert set(p["first_placement"]) <= set(PLACEMENT_TYPES)
    assert p["end"].isna().sum() == sample.episodes["end"].isna().sum(), "each open episode ends an open period"
    e = sample.episodes.sort_values(["child", "start"])
    next_start = e.groupby("child")["start"].shift(-1)
    assert not (e["end"] > next_start).any(), "episodes still overlap"
    assert not e["legal_status"].isin(["V3", "V4"]).any()


def test_sample_describe_speaks_plainly(sample):
    text = sample.describe()
    assert "periods of care" in text and "superseded by" in text and "short break" in text
