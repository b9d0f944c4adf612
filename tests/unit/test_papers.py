"""The committee's papers (experiments/papers.py and the report's risk, envelope and sources
sections) from small synthetic tables, with and without the parameter draws' frames (hand-made,
in the columns `carepath experiment --draws N` writes): the one-page summary prints as one A4
page in Chromium, both bands are drawn from the right numbers, each chance carries its Monte Carlo
error, and no council paper number reaches the reader."""
from __future__ import annotations

import re
import shutil
import subprocess
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from carepath.outputs import Writer
from experiments import business_case as bc
from experiments import papers
from experiments.envelope import back_of_envelope
from experiments.report import readable, summary_page, write_report
from experiments.scenarios import ScenarioSet
from test_report import YEARS, intensities, scenario_set, synthetic

CHROMIUM = Path("/usr/bin/chromium")
UNITS = {"place_kinship": 20_000.0, "place_foster_inhouse": 46_000.0, "place_foster_ifa": 64_000.0,
         "place_residential_block": 280_000.0, "spot_over_4100": 580_000.0, "spot_under_4100": 380_000.0,
         "social_work_cin": 5_000.0, "social_work_cp": 7_000.0, "sgo_allowance": 12_000.0}


def fake_risk(sset: ScenarioSet, profile: pd.DataFrame, n: int = 200) -> types.SimpleNamespace:
    """Draws in the relied-on columns: each draw scales every scenario's saving by one factor."""
    rng = np.random.default_rng(3)
    k = rng.lognormal(0.0, 0.25, size=n)
    g = profile[profile["financial_year"].isin(YEARS)][["scenario", "financial_year", "gross_saving"]]
    draws = pd.concat([g.assign(draw=d, gross_saving=g["gross_saving"] * k[d]) for d in range(n)], ignore_index=True)
    draws["net_saving"] = draws["gross_saving"] - 5e5
    draws["cumulative_net_saving"] = draws.groupby(["draw", "scenario"])["net_saving"].cumsum()
    draws = draws[["draw", "scenario", "financial_year", "gross_saving", "net_saving", "cumulative_net_saving"]]
    last = draws[draws["financial_year"] == YEARS[-1]].groupby("scenario")["gross_saving"]
    risk = pd.DataFrame({"mean": last.mean(), "p05": last.quantile(0.05), "p50": last.median(),
                         "p95": last.quantile(0.95)}).reset_index()
    risk.insert(1, "measure", "year8_gross_saving")
    probs = pd.DataFrame([("all_levers", "roi_4y", 3.0, 0.62, 0.0343), ("all_levers", "roi_8y", 1.0, 0.97, 0.012),
                          ("all_levers", "payback_year", YEARS[1], 0.3, 0.0324),
                          ("all_levers", "payback_year", YEARS[2], 0.7, 0.0324),
                          ("all_levers", "payback_year", f"not by {YEARS[2]}", 0.0, 0.0)],
                         columns=["scenario", "measure", "threshold", "probability", "mc_error"])
    drivers = pd.DataFrame({"scenario": "all_levers", "measure": "year8_gross_saving",
                            "input": ["edge_of_care effectiveness", "residential price growth", "demand growth",
                                      "not explained by the inputs (simulation noise, effects that are not linear)"],
                            "share_of_variance": [0.5, 0.3, 0.05, 0.15],
                            "standardised_coefficient": [0.7, 0.55, 0.2, np.nan]})
    return types.SimpleNamespace(risk=risk, probabilities=probs, drivers=drivers, draws=draws,
                                 inputs=pd.DataFrame(), n_draws=n)


def tables(sset: ScenarioSet, with_risk: bool, flags=None):
    summary, stocks = synthetic(sset)
    summary = bc.with_derived(summary)
    profile = bc.roi_profile(summary, sset, YEARS)
    bsum = bc.business_case_summary(summary, profile, sset, YEARS)
    flags = flags if flags is not None else bc.headline_flags(bsum, intensities(sset))
    bsum = bc.with_flags(bsum, flags)
    risk = fake_risk(sset, profile) if with_risk else None
    return summary, stocks, profile, bsum, flags, risk


def with_paper_numbers(sset: ScenarioSet) -> ScenarioSet:
    """The council section quoting its paper by number, as the shipped files do."""
    c = sset.council.model_copy(update={"source": "Nottingham City Council, 26 January 2023 (seed 003)",
                                        "profile_net_deducts": "£2.1m a year (003: Table 1, gross minus net)"})
    return sset.model_copy(update={"council": c})


def build(out: Path, sset: ScenarioSet, with_risk: bool):
    summary, stocks, profile, bsum, flags, risk = tables(sset, with_risk)
    env = back_of_envelope(summary, sset, YEARS[-1], UNITS)
    write_report(out, sset, out / "set.yaml", summary=summary, stocks=stocks, profile=profile, summary_table=bsum,
                 effects=bc.lever_effects(summary, sset, YEARS), outcomes=bc.outcomes(summary, sset, YEARS),
                 comparison=bc.comparison(summary, profile, sset, YEARS, intensities(sset)),
                 interaction=bc.interaction(profile, sset, YEARS, "all_levers"), intensities=intensities(sset),
                 years=YEARS, flags=flags, params_hash="abc123def4567890", writer=Writer(dpi=80), risk=risk,
                 envelope=env)
    return dict(summary=summary, profile=profile, bsum=bsum, risk=risk, envelope=env)


def text_of(page: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for with_risk in (False, True):
        d = tmp_path_factory.mktemp("risk" if with_risk else "noise")
        out[with_risk] = (d, build(d, with_paper_numbers(scenario_set()), with_risk))
    return out


def test_without_draws_the_papers_say_noise_only(runs):
    d, t = runs[False]
    page = text_of((d / "summary.html").read_text(encoding="utf-8"))
    md = (d / "report.md").read_text(encoding="utf-8")
    assert "not estimated" in page and "run with --draws" in page and "simulation noise only" in page
    assert "Parameter uncertainty: not estimated" in md
    assert not (d / "chart_uncertainty_drivers.png").exists()
    s = t["bsum"].set_index("scenario").loc["all_levers"]
    assert papers._money(s["year8_gross_saving"]) in page and papers._money(s["gross_saving_8y"]) in page
    assert "<script" not in page.lower()


def test_with_draws_each_chance_has_its_monte_carlo_error(runs):
    d, t = runs[True]
    page = text_of((d / "summary.html").read_text(encoding="utf-8"))
    md = (d / "report.md").read_text(encoding="utf-8")
    assert ".cols>div{flex:1}" in page                        # the styles as written
    assert "62% (± 3 points)" in page                       # the chance of 3:1 by year 4, all levers
    assert "n/a (no investment)" in page                     # single levers declare no investment
    assert "| 62% | ± 3.4 points |" in md and "| 97% | ± 1.2 points |" in md
    # draws for a 95% interval of ± 5 points on the chance nearest one half (0.62 here)
    assert f"at least **{int(np.ceil(1.96 ** 2 * 0.62 * 0.38 / 0.05 ** 2))} draws**" in md
    assert (d / "chart_uncertainty_drivers.png").exists()
    assert "edge of care effectiveness, which explains 50%" in page   # three sentences from the drivers
    assert "residential price growth (30%)" in page and "together explain 85%" in page
    assert len(papers.drivers_for(t["risk"], "all_levers")) == 3        # the remainder is not an input
    assert "When the cumulative net saving first turns positive" in md and "| 30% | 70% | 0% |" in md
    r = t["risk"].risk.set_index("scenario").loc["all_levers"]
    assert f"{papers._money(r['p05'])}&ndash;{papers._money(r['p95'])}" in page   # the 90% range is the draws'


def test_both_bands_from_the_right_numbers(runs):
    _, t = runs[True]
    sset = scenario_set()
    fig = papers.chart_savings(t["profile"], t["summary"], sset, "all_levers", YEARS, risk=t["risk"])
    bands = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection) and not c.get_label().startswith("_")]
    labels = [c.get_label() for c in bands]
    assert any("parameter uncertainty" in x for x in labels) and any("noise alone" in x for x in labels)
    dr = papers.draws_range(t["risk"].draws, "all_levers", YEARS)
    last = t["risk"].draws.query("scenario == 'all_levers' and financial_year == @YEARS[-1]")["gross_saving"]
    assert dr["p95"].iloc[-1] == pytest.approx(np.quantile(last, 0.95))
    nr = papers.noise_range(t["summary"], "all_levers", YEARS)
    reps = papers.replication_savings(t["summary"], "all_levers", YEARS)[YEARS[-1]]
    assert nr["p05"].iloc[-1] == pytest.approx(reps.mean() - 1.6449 * reps.std(ddof=1))
    fig2 = papers.chart_savings(t["profile"], t["summary"], sset, "all_levers", YEARS, risk=None)
    assert len([c for c in fig2.axes[0].collections if isinstance(c, PolyCollection)
                and "draws" in c.get_label()]) == 0


def test_envelope_section_and_sources(runs):
    d, t = runs[True]
    md = (d / "report.md").read_text(encoding="utf-8")
    assert "A back-of-envelope check of each lever" in md and "`back_of_envelope.csv`" in md
    e = t["envelope"].set_index("scenario").loc["edge_of_care"]
    assert e["working"] in md
    assert "## Sources" in md and "Scrutiny Committee, 26 January 2023" in md


def test_council_paper_numbers_are_words(runs):
    d, _ = runs[False]
    for name in ("report.md", "report.html", "summary.html"):
        body = text_of((d / name).read_text(encoding="utf-8"))
        assert not re.search(r"(?<![\d,.£])003(?![\d,.]\d)", body), name
    assert "the council paper: Table 1" in (d / "report.md").read_text(encoding="utf-8")
    assert readable("£1,003 in 2003") == "£1,003 in 2003"


def shipped_sized_set() -> ScenarioSet:
    """The shipped business case's shape: eight single levers, all levers, a stretch case, a council."""
    base = scenario_set()
    names = ["edge_of_care", "kinship_to_sgo", "reunification", "faster_permanence", "fewer_repeat_plans",
             "shorter_plans", "foster_carers", "block_beds"]
    lv = {"edge_of_care": {"divert_share": 0.2}, "kinship_to_sgo": {"sgo_share": 0.5},
          "reunification": {"reunification_rate_per_year": 0.05}, "faster_permanence": {"weeks_shorter": 5},
          "fewer_repeat_plans": {"repeat_plan_reduction": 0.5}, "shorter_plans": {"cin_weeks_shorter": 6},
          "foster_carers": {"extra_joiners_per_year": 11}, "block_beds": {"extra_beds": 10}}
    levers = [{"lever": n, "start": "2022-11-01", "ramp_months": 12, "mechanism": lv[n]} for n in names]
    scen = [{"name": n, "levers": [lvr]} for n, lvr in zip(names, levers)]
    scen += [{"name": "all_levers", "investment": "programme", "levers": levers},
             {"name": "stretch", "investment": "programme", "based_on": "all_levers", "intensity_scale": 1.43}]
    d = base.model_dump(mode="json", exclude_none=True)
    d["scenarios"] = scen
    d.pop("council")
    return ScenarioSet.model_validate(d)


def long_flags(sset) -> pd.DataFrame:
    reason = ("at its bound: sgo_share at its most (1) delivers 8.8 in 2029/30 against a target of 20; not sustainable: "
              "the children this lever acts on arrive too few to give 20 a year; the most it can deliver is 8.8")
    rows = [{"scenario": s, "lever": "kinship_to_sgo", "flag": "target not reached; at its bound; not sustainable",
             "reason": reason} for s in ("kinship_to_sgo", "all_levers", "stretch")]
    rows += [{"scenario": s.name, "lever": "", "flag": "precision too low",
              "reason": f"precision too low: ... it needs {40 + i} replications, 4 were run"}
             for i, s in enumerate(sset.scenarios)]
    return pd.DataFrame(rows)


def pdf_pages(html_file: Path, tmp: Path) -> int:
    pdf = tmp / "out.pdf"
    profile = tmp / "chromium-profile"
    subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
                    html_file.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    data = pdf.read_bytes()
    try:
        import pypdf
        return len(pypdf.PdfReader(str(pdf)).pages)
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![a-z])", data))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="LOUD SKIP: /usr/bin/chromium is missing, so summary.html's "
                    "one-page print cannot be checked; install it (Debian package chromium, as make test does)")
@pytest.mark.parametrize("with_risk", [False, True])
def test_summary_prints_on_one_a4_page(tmp_path, with_risk):
    sset = shipped_sized_set()
    # the shipped set's council section: its Table 1 row too
    sset = sset.model_copy(update={"council": scenario_set().council})
    summary, _, profile, bsum, flags, risk = tables(sset, with_risk, flags=long_flags(sset))
    body = summary_page(sset, tmp_path / "business_case.yaml", summary_table=bsum, profile=profile, summary=summary,
                        flags=flags, years=YEARS, all_name="all_levers", risk=risk, seed=77, params_hash="abc")
    page = tmp_path / "summary.html"
    page.write_text(body, encoding="utf-8")
    assert body.count("<tr") == 1 + len(sset.scenarios) + 1       # header, every scenario, the council's row
    assert pdf_pages(page, tmp_path) == 1
    assert shutil.which(str(CHROMIUM))


def test_scenarios_not_drawn_keep_their_noise_range_and_say_so(runs):
    _, t = runs[True]
    r = t["risk"]
    part = types.SimpleNamespace(**{**vars(r), "risk": r.risk[r.risk["scenario"] == "all_levers"]})
    rows = {x["scenario"]: x for x in papers.headline(t["bsum"], scenario_set(), part, str)}
    assert rows["all_levers"]["range_basis"] == "draws" and rows["edge_of_care"]["range_basis"] == "noise"
    noise = papers.headline(t["bsum"], scenario_set(), None, str)
    assert rows["edge_of_care"]["year8_p05"] == pytest.approx(next(x for x in noise if x["scenario"] == "edge_of_care")["year8_p05"])
    page = summary_page(scenario_set(), "set.yaml", summary_table=t["bsum"], profile=t["profile"], summary=t["summary"],
                        flags=None, years=YEARS, all_name="all_levers", risk=part, seed=1, params_hash="x")
    assert "&dagger;" in page and "a scenario not drawn" in page


def test_too_few_draws_for_the_drivers_is_said(runs):
    _, t = runs[True]
    r = t["risk"]
    nan = r.drivers.assign(share_of_variance=np.nan)           # fewer draws than inputs plus one: no shares
    few = types.SimpleNamespace(**{**vars(r), "drivers": nan, "n_draws": 3})
    words = papers.risk_sentences(few, "all_levers", "all levers", YEARS[-1], t["bsum"])
    assert len(words) == 3 and "too few to say which input drives the risk" in words[0] and "(3 inputs here)" in words[0]
    assert "62% (± 3 points)" in words[2] and "not estimated" not in " ".join(words)
