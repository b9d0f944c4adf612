"""The forecast back-test's scoring and cutting (benchmarks/forecast_scoring.py, and the harness's
folder cut): hand-worked cases, since the benchmark's tables are only as good as these."""
import datetime as dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import forecast_scoring as fs  # noqa: E402
import peer_cs_demand_model as harness  # noqa: E402

COLS = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE"]


def test_mape_and_bias_by_hand():
    obs = [100, 200, 50]
    over_under = [110, 180, 50]        # +10%, -10%, 0%
    assert fs.mape(over_under, obs) == pytest.approx(20 / 3)
    assert fs.bias(over_under, obs) == pytest.approx(0.0)
    high = [105, 220, 55]              # +5%, +10%, +10%: a level error, MAPE equals bias
    assert fs.mape(high, obs) == pytest.approx(25 / 3)
    assert fs.bias(high, obs) == pytest.approx(25 / 3)
    assert fs.bias([95, 180, 45], obs) == pytest.approx(-25 / 3)


def test_months_with_nothing_observed_are_left_out():
    # a group with no children in a month has no percentage error; the other months still count
    assert fs.mape([5, 110], [0, 100]) == pytest.approx(10.0)
    assert fs.bias([5, 90], [0, 100]) == pytest.approx(-10.0)
    assert np.isnan(fs.mape([1, 2], [0, 0]))
    with pytest.raises(ValueError):
        fs.mape([1, 2, 3], [1, 2])


def test_flat_forecast_holds_the_last_count():
    f = fs.flat_forecast(676, 24)
    assert f.shape == (24,) and (f == 676.0).all()
    assert fs.flat_forecast(3, 0).shape == (0,)
    with pytest.raises(ValueError):
        fs.flat_forecast(3, -1)
    # a flat forecast of a series that does not move scores zero
    assert fs.mape(f, np.full(24, 676)) == 0.0


def test_score_takes_months_12_and_24():
    obs = np.full(24, 100.0)
    pred = obs + np.arange(1, 25)       # month k is k% high
    s = fs.score(pred, obs)
    assert s["err12"] == pytest.approx(12.0) and s["err24"] == pytest.approx(24.0)
    assert s["pred24"] == 124.0 and s["obs24"] == 100.0
    assert s["mape"] == pytest.approx(12.5) and s["bias"] == pytest.approx(12.5)
    short = fs.score(pred[:6], obs[:6])  # a shorter horizon reports its last month for both
    assert short["err12"] == short["err24"] == pytest.approx(6.0)


def test_months_after_a_cutoff():
    m = fs.months_after(dt.date(2020, 3, 31))
    assert len(m) == 24 and m[0] == "2020-04" and m[-1] == "2022-03"


def _episodes(rows):
    return pd.DataFrame([dict(zip(COLS, r)) for r in rows], columns=COLS).astype(str)


EPISODES = [
    # child, start, ..., end, reason for leaving, reason for the placement change
    ("1", "01/05/2019", "S", "C2", "N1", "U1", "PR1", "10/02/2020", "E11", ""),     # ended before the cut
    ("2", "01/06/2019", "S", "C2", "N1", "U4", "PR1", "15/06/2020", "E4A", "CHILD"),  # open at the cut
    ("3", "20/04/2020", "S", "V2", "N2", "R1", "PR1", "", "", ""),                   # starts after the cut
    ("4", "31/03/2020", "S", "V2", "N2", "U5", "PR4", "31/03/2020", "E8", ""),       # both on the cut day
    ("5", "99/99/2019", "S", "V2", "N2", "U5", "PR4", "", "", ""),                   # start unreadable
]


def test_cut_episodes_as_extracted_on_the_day():
    cut = fs.cut_episodes(_episodes(EPISODES), dt.date(2020, 3, 31))
    assert list(cut["CHILD"]) == ["1", "2", "4"]
    kept = cut.set_index("CHILD")
    assert kept.loc["1", "DEC"] == "10/02/2020" and kept.loc["1", "REC"] == "E11"
    assert kept.loc["4", "DEC"] == "31/03/2020" and kept.loc["4", "REC"] == "E8"
    # still open on the cut-off: the later end, its reason and the move reason are not known yet
    assert (kept.loc["2", ["DEC", "REC", "REASON_PLACE_CHANGE"]] == "").all()
    assert kept.loc["2", "PLACE"] == "U4"
    for col in ("DECOM", "DEC"):
        d = pd.to_datetime(cut[col], format="%d/%m/%Y", errors="coerce")
        assert (d.dropna() <= pd.Timestamp(2020, 3, 31)).all()


def test_collection_year_from_the_folder_and_its_dates():
    eps = _episodes(EPISODES[:2])                      # latest start 1 June 2019
    assert fs.collection_year_end("2020", eps) == pd.Timestamp(2020, 3, 31)   # DfE: named by the end year
    assert fs.collection_year_end("2019", eps) == pd.Timestamp(2020, 3, 31)   # named by the start year
    assert fs.collection_year_end("return_2019-20", eps) == pd.Timestamp(2020, 3, 31)
    assert fs.collection_year_end("latest", eps) == pd.Timestamp(2020, 3, 31)
    april = _episodes([("9", "01/04/2020", "S", "V2", "N2", "U5", "PR4", "", "", "")])
    assert fs.collection_year_end("latest", april) == pd.Timestamp(2021, 3, 31)


def _year(folder: Path, rows, children):
    folder.mkdir(parents=True)
    _episodes(rows).to_csv(folder / "episodes.csv", index=False)
    pd.DataFrame({"CHILD": children, "SEX": "1", "DOB": "01/01/2010"}).to_csv(folder / "header.csv", index=False)


def test_cut_ssda903_leaves_out_later_years(tmp_path):
    src = tmp_path / "ssda903"
    _year(src / "2020", EPISODES[:2], ["1", "2"])                      # April 2019 to March 2020
    open_on = ("2", "01/06/2019", "S", "C2", "N1", "U4", "PR1", "15/06/2020", "E4A", "CHILD")
    _year(src / "2021", [open_on, EPISODES[2]], ["2", "3"])            # April 2020 to March 2021: after the cut
    (src / "2020" / "uasc.csv").write_text("CHILD,SEX,DOB,DUC\n")
    cut = harness.cut_ssda903(src, tmp_path / "cut", dt.date(2020, 3, 31))
    assert sorted(p.name for p in cut.iterdir()) == ["2020"]
    assert (cut / "2020" / "uasc.csv").exists()
    eps = pd.read_csv(cut / "2020" / "episodes.csv", dtype=str, keep_default_na=False)
    assert list(eps["CHILD"]) == ["1", "2"] and eps.loc[1, "DEC"] == ""
    assert harness.latest_date(cut) <= pd.Timestamp(2020, 3, 31)
    # a cut-off inside a year keeps that year, cut at the day, and its header only for the children left
    mid = harness.cut_ssda903(src, tmp_path / "mid", dt.date(2020, 4, 10))
    assert sorted(p.name for p in mid.iterdir()) == ["2020", "2021"]
    hdr = pd.read_csv(mid / "2021" / "header.csv", dtype=str)
    assert list(hdr["CHILD"]) == ["2"]
    assert harness.latest_date(mid) <= pd.Timestamp(2020, 4, 10)
