"""Papers a finance committee can use: the one-page `summary.html` (prints on one A4 portrait
page), and the pieces it shares with the full report and the workbook: the headline table, the
savings chart with its two bands (simulation noise alone; noise plus parameter uncertainty from
the draws), the probabilities with their Monte Carlo error, and the plain-words sentences on what
drives the risk.

`risk` is what `carepath experiment --draws N` hands over (attributes `risk`, `probabilities`,
`drivers`, `draws`, `inputs`, `n_draws`) or None: then every range is simulation noise only, and
the papers say so. Pure presentation: nothing here runs or tunes the model.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .run import BASELINE  # noqa: E402

Z90 = 1.6449        # the normal's 95th percentile: mean ± Z90 sd holds 90%
NOT_ESTIMATED = "not estimated: run with --draws"
MODEL_BLUE, MODEL_LIGHT, DRAWS_LIGHT, COUNCIL = "#1f4e79", "#6fa8dc", "#f6d7a7", "#c55a11"


# ---------------------------------------------------------------------------------- the numbers
def _money(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    sign, a = ("-" if x < 0 else ""), abs(x)
    return f"{sign}£{a / 1e6:.1f}m" if a >= 1e6 else f"{sign}£{a / 1e3:.0f}k" if a >= 1e3 else f"{sign}£{a:.0f}"


def _ratio(x: float) -> str:
    return f"{x:.1f}:1" if x is not None and np.isfinite(x) else "n/a"


def frame(risk, name: str) -> Optional[pd.DataFrame]:
    """One of the risk result's frames, or None when draws were not run or it is empty."""
    f = getattr(risk, name, None) if risk is not None else None
    return f if isinstance(f, pd.DataFrame) and len(f) else None


def replication_savings(summary: pd.DataFrame, scenario: str, years: list[str]) -> pd.DataFrame:
    """Gross saving (baseline cost minus scenario cost) by replication and financial year."""
    s = summary[(summary["measure"] == "cost_total") & summary["financial_year"].isin(years)]
    b = s[s["scenario"] == BASELINE].pivot_table(index="replication", columns="financial_year", values="value")
    x = s[s["scenario"] == scenario].pivot_table(index="replication", columns="financial_year", values="value")
    reps = b.index.intersection(x.index)
    return (b.loc[reps] - x.loc[reps]).reindex(columns=years)


def noise_range(summary: pd.DataFrame, scenario: str, years: list[str]) -> pd.DataFrame:
    """By financial year: the mean gross saving and the range holding 90% of replications
    (mean ± 1.645 standard deviations of the replications: simulation noise alone, for one
    council's one future; few replications make empirical 5% and 95% points unstable)."""
    d = replication_savings(summary, scenario, years)
    m, sd = d.mean(), d.std(ddof=1)
    return pd.DataFrame({"financial_year": years, "mean": m.to_numpy(), "p05": (m - Z90 * sd).to_numpy(),
                         "p95": (m + Z90 * sd).to_numpy()})


def draws_range(draws: pd.DataFrame, scenario: str, years: list[str], column: str = "gross_saving") -> pd.DataFrame:
    """By financial year: mean, 5% and 95% points of a saving over the parameter draws (noise plus
    parameter uncertainty)."""
    d = draws[draws["scenario"] == scenario]
    g = d.groupby("financial_year")[column]
    out = pd.DataFrame({"mean": g.mean(), "p05": g.quantile(0.05), "p95": g.quantile(0.95)}).reindex(years)
    return out.rename_axis("financial_year").reset_index()


def risk_value(risk, scenario: str, measure: str) -> Optional[pd.Series]:
    """A row (mean, p05, p50, p95) of `business_case_risk.csv`, or None."""
    r = frame(risk, "risk")
    if r is None:
        return None
    r = r[(r["scenario"] == scenario) & (r["measure"] == measure)]
    return r.iloc[0] if len(r) else None


def probability(risk, scenario: str, measure: str, threshold: Optional[float] = None) -> Optional[pd.Series]:
    """A row (probability, mc_error) of `business_case_probabilities.csv`, or None."""
    p = frame(risk, "probabilities")
    if p is None:
        return None
    p = p[(p["scenario"] == scenario) & (p["measure"] == measure)]
    if threshold is not None and len(p):
        t = pd.to_numeric(p["threshold"], errors="coerce")
        p = p[np.isclose(t, threshold)]
    return p.iloc[0] if len(p) else None


def chance_words(row: Optional[pd.Series]) -> str:
    """"62% (± 3 points)": a probability with its Monte Carlo error (one standard error)."""
    if row is None:
        return NOT_ESTIMATED
    p, e = float(row["probability"]), float(row.get("mc_error", np.nan))
    return f"{100 * p:.0f}% (± {100 * e:.0f} points)" if np.isfinite(e) else f"{100 * p:.0f}%"


PROBABILITY_WORDS = {
    "roi_4y": "return on investment over 4 years at least {t:g}:1",
    "roi_8y": "return on investment over 8 years at least {t:g}:1",
    "year8_gross_saving": "gross saving in the last year at least {m}",
    "gross_saving_8y": "gross saving over all years at least {m}",
    "net_saving_8y": "net saving over all years at least {m}",
    "npv_net_saving": "net present value of the net saving at least {m}",
}


def probability_words(measure: str, threshold) -> str:
    """A probability's event in words (unknown measures: the measure and threshold as given)."""
    t = pd.to_numeric(pd.Series([threshold]), errors="coerce").iloc[0]
    if measure in PROBABILITY_WORDS and np.isfinite(t):
        return PROBABILITY_WORDS[measure].format(t=t, m=_money(t))
    if "payback" in measure or "positive" in measure or "break" in measure:
        if str(threshold).startswith("not by"):
            return f"cumulative net saving is still not positive by the end of {str(threshold)[7:]}"
        return f"cumulative net saving first turns positive in {threshold}"
    return f"{measure.replace('_', ' ')}: {threshold}"


def _driver_columns(drivers: pd.DataFrame) -> tuple[str, str]:
    """The input's name and its share of variance in `uncertainty_drivers.csv`, by the first
    matching column name."""
    name = next((c for c in ("label", "input", "name", "parameter", "group") if c in drivers), None)
    share = next((c for c in ("share", "variance_share", "share_of_variance") if c in drivers), None)
    if name is None:
        name = next(c for c in drivers.columns if drivers[c].dtype == object and c not in ("scenario", "measure"))
    if share is None:
        share = next(c for c in drivers.columns if "share" in c)
    return name, share


def drivers_for(risk, scenario: Optional[str]) -> Optional[pd.DataFrame]:
    """`input, share` sorted largest first, for `scenario` if the frame has scenarios."""
    d = frame(risk, "drivers")
    if d is None:
        return None
    if "scenario" in d and scenario is not None:
        d = d[d["scenario"] == scenario] if (d["scenario"] == scenario).any() else d[d["scenario"] == d["scenario"].iloc[0]]
    name, share = _driver_columns(d)
    out = pd.DataFrame({"input": d[name].astype(str).str.replace("_", " "),
                        "share": pd.to_numeric(d[share], errors="coerce")}).dropna()
    out = out[~out["input"].str.startswith("not explained")]   # the regression's remainder: not an input
    return out.sort_values("share", ascending=False).reset_index(drop=True)


def unexplained_share(risk, scenario: Optional[str]) -> Optional[float]:
    """The share of variance the inputs leave unexplained, when the drivers' frame states it."""
    d = frame(risk, "drivers")
    if d is None:
        return None
    name, share = _driver_columns(d)
    d = d[d[name].astype(str).str.startswith("not explained")]
    if "scenario" in d and scenario is not None:
        d = d[d["scenario"] == scenario]
    v = pd.to_numeric(d[share], errors="coerce").dropna()
    return float(v.iloc[0]) if len(v) else None


def risk_sentences(risk, scenario: Optional[str], label: str, year: str, summary_table: pd.DataFrame) -> list[str]:
    """Three plain-words sentences on what drives the risk of `scenario`'s saving in `year`."""
    d = drivers_for(risk, scenario)
    n = getattr(risk, "n_draws", None) if risk is not None else None
    drew = frame(risk, "risk") is not None or frame(risk, "draws") is not None
    if (d is None or d.empty) and drew:
        return _too_few_draws(risk, scenario, label, year, n)
    if d is None or d.empty:
        s = summary_table.set_index("scenario")
        words = []
        if scenario in s.index:
            r = s.loc[scenario]
            words.append("The ranges here are simulation noise only: the chance in which children arrive and what "
                         "happens to them, with every input (lever effectiveness, prices, demand, durations) held "
                         "at its central value; the real uncertainty is wider.")
            words.append(f"With {int(r['replications'])} replications the {year} saving of {label} is known to "
                         f"{_money(r['year8_gross_saving_low'])} to {_money(r['year8_gross_saving_high'])} "
                         f"(95% interval of the mean).")
        words.append("What drives the risk, and the chance of a 3:1 return by year 4, were not estimated: run "
                     "carepath experiment with --draws N to draw the uncertain inputs.")
        return words[:3]
    top = d.iloc[0]
    rest = d.iloc[1:3]
    rest_share = unexplained_share(risk, scenario)
    explained = 1.0 - rest_share if rest_share is not None else float(d["share"].sum())
    s1 = (f"The largest source of uncertainty in the {year} saving of {label} is {top['input']}, which explains "
          f"{100 * top['share']:.0f}% of its variance over {n or 'the'} draws.")
    s2 = ("Next come " + " and ".join(f"{r['input']} ({100 * r['share']:.0f}%)" for _, r in rest.iterrows()) + "."
          if len(rest) else "No other input explains much of it.")
    s3 = (f"The inputs together explain {100 * min(explained, 1):.0f}%; the rest is the model's own chance (which "
          "children arrive and what happens to them) and the inputs acting together.")
    return [s1, s2, s3]


def _too_few_draws(risk, scenario: Optional[str], label: str, year: str, n) -> list[str]:
    """Draws were run but give no drivers (too few for the regression): say so, and what they do give."""
    raw = frame(risk, "drivers")
    k = 0
    if raw is not None:
        name, _ = _driver_columns(raw)
        r = raw[raw["scenario"] == scenario] if "scenario" in raw and scenario is not None else raw
        k = int((~r[name].astype(str).str.startswith("not explained")).sum())
    words = [f"With {n} draws there are too few to say which input drives the risk: that needs more draws than "
             f"uncertain inputs plus one ({k} inputs here{'' if k else ', for this scenario'}); run more draws."]
    rv = risk_value(risk, scenario, "year8_gross_saving") if scenario else None
    if rv is not None:
        words.append(f"Over the draws the {year} saving of {label} lies between {_money(rv['p05'])} and "
                     f"{_money(rv['p95'])} (90% of draws), around a median of {_money(rv['p50'])}.")
    row = probability(risk, scenario, "roi_4y", 3.0) if scenario else None
    if row is not None:
        words.append(f"The chance of a return of at least 3:1 over the first 4 years is {chance_words(row)}.")
    return words[:3]


def headline(summary_table: pd.DataFrame, sset, risk, label) -> list[dict]:
    """The committee's headline, one dict per scenario: saving in the last year with its 90%
    range, 8-year saving, investment, running cost, net, ROI over 4 and 8 years, the chance of 3:1
    by year 4. With draws the range is the draws' 5% to 95% (noise plus parameter uncertainty);
    without, the replications' spread (noise alone) and the chance is not estimated."""
    rows = []
    for _, r in summary_table.iterrows():
        name = r["scenario"]
        rv = risk_value(risk, name, "year8_gross_saving")
        if rv is not None:
            lo, hi, basis = float(rv["p05"]), float(rv["p95"]), "draws"
        else:
            n = r.get("replications", np.nan)
            sd = (r["year8_gross_saving_high"] - r["year8_gross_saving"]) * np.sqrt(n) / _t975(n) \
                if np.isfinite(n) and n >= 2 else np.nan
            lo, hi, basis = r["year8_gross_saving"] - Z90 * sd, r["year8_gross_saving"] + Z90 * sd, "noise"
        rows.append({"scenario": name, "label": label(name), "year8": r["year8_gross_saving"], "year8_p05": lo,
                     "year8_p95": hi, "range_basis": basis, "gross_8y": r["gross_saving_8y"],
                     "investment": r["investment_8y"], "running_cost": r.get("running_cost_8y", 0.0),
                     "net_8y": r["net_saving_8y"], "roi_4y": r["roi_4y"], "roi_8y": r["roi_8y"],
                     "chance_3_to_1": _chance_3_to_1(risk, name, r["investment_4y"]),
                     "flags": r.get("flags", "") if isinstance(r.get("flags", ""), str) else ""})
    return rows


def _chance_3_to_1(risk, scenario: str, investment_4y: float) -> str:
    """The chance that the 4-year ROI is at least 3: not estimated without draws; "n/a" for a
    scenario with no investment in the first four years (no ROI)."""
    if frame(risk, "probabilities") is None:
        return NOT_ESTIMATED
    if not investment_4y > 0:
        return "n/a (no investment)"
    row = probability(risk, scenario, "roi_4y", 3.0)
    if row is not None:
        return chance_words(row)
    drawn = frame(risk, "probabilities")["scenario"]
    return "n/a" if (drawn == scenario).any() else "not drawn"


def _t975(n: float) -> float:
    from scipy import stats
    return float(stats.t.ppf(0.975, int(n) - 1))


# -------------------------------------------------------------------------------- the chart
def chart_savings(profile: pd.DataFrame, summary: Optional[pd.DataFrame], sset, all_name: str, years: list[str],
                  risk=None, title: str = "", size=(10, 5.2), label: str = ""):
    """Gross and net saving a year for one scenario: the mean, the range holding 90% of
    replications (simulation noise alone), and, with draws, the draws' 5% to 95% (noise plus
    parameter uncertainty); the investment as bars; the council's Table 1 if stated."""
    p = profile[profile["scenario"] == all_name].set_index("financial_year").reindex(years)
    x = np.arange(len(years))
    fig, ax = plt.subplots(figsize=size)
    dr = frame(risk, "draws")
    if dr is not None and (dr["scenario"] == all_name).any():
        d = draws_range(dr, all_name, years)
        ax.fill_between(x, d["p05"], d["p95"], color=DRAWS_LIGHT, alpha=0.8,
                        label=f"Noise plus parameter uncertainty: 90% of {getattr(risk, 'n_draws', '')} draws".replace("  ", " "))
    if summary is not None and len(summary):
        nr = noise_range(summary, all_name, years)
        ax.fill_between(x, nr["p05"], nr["p95"], color=MODEL_LIGHT, alpha=0.45,
                        label="Simulation noise alone: 90% of replications")
    ax.plot(x, p["gross_saving"], "-o", color=MODEL_BLUE, lw=2.2, label="Model gross saving (mean)")
    ax.plot(x, p["net_saving"], "--o", color=MODEL_BLUE, lw=1.6, mfc="white",
            label="Model net saving (after investment and running costs)")
    if p["investment"].sum() > 0:
        ax.bar(x, p["investment"], width=0.5, color="#bbbbbb", alpha=0.6, label="Investment", zorder=0)
    c = sset.council
    if c and c.gross_profile_m:
        ax.plot(x, [c.gross_profile_m.get(y, np.nan) * 1e6 for y in years], "-s", color=COUNCIL, lw=2.0,
                label="Council gross (its Table 1)")
    if c and c.net_profile_m:
        ax.plot(x, [c.net_profile_m.get(y, np.nan) * 1e6 for y in years], "--s", color=COUNCIL, lw=1.4, mfc="white",
                label="Council net (its Table 1)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, years)
    ax.set_xlabel("Financial year (April to March)")
    ax.set_ylabel("£ a year (nominal)")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _: ("-" if v < 0 else "") + (f"£{abs(v) / 1e6:.0f}m" if abs(v) >= 1e6 or v == 0 else f"£{abs(v) / 1e6:.1f}m")))
    ax.set_title(title or f"Savings by financial year: {label or all_name}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig


def chart_tornado(drivers: pd.DataFrame, year: str, label: str, top: int = 10):
    """The share of the variance of the last year's saving each uncertain input explains, largest
    at the top."""
    d = drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(d) + 1.4))
    ax.barh(np.arange(len(d)), 100 * d["share"], color=MODEL_BLUE)
    for i, v in enumerate(d["share"]):
        ax.text(100 * v + 0.5, i, f"{100 * v:.0f}%", va="center", fontsize=9)
    ax.set_yticks(np.arange(len(d)), d["input"])
    ax.set_xlabel(f"share of the variance of the {year} saving explained (%)")
    ax.set_xlim(0, max(100 * d["share"].max() * 1.15, 5))
    ax.set_title(f"What drives the uncertainty in the {year} saving: {label}")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------- the one-page summary
SUMMARY_CSS = """
@page{size:A4 portrait;margin:11mm 11mm 10mm 11mm}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#1a1a1a;margin:0 auto;max-width:188mm;
font-size:8.2pt;line-height:1.28}
h1{font-size:14pt;color:#1f4e79;margin:0 0 1mm;border-bottom:2px solid #1f4e79;padding-bottom:1mm}
h2{font-size:10pt;color:#1f4e79;margin:2.2mm 0 1mm}
p{margin:0 0 1.2mm}
.meta{color:#444;font-size:7.6pt}
table{border-collapse:collapse;width:100%;table-layout:fixed;font-size:7.4pt}
th,td{border:1px solid #c8c8c8;padding:.4mm .8mm;vertical-align:top}
th{background:#eef3f8;text-align:left;font-weight:600;font-size:6.9pt;line-height:1.2}
td.n{text-align:right}
td.n small{display:block;color:#555;font-size:6.6pt}
col.s{width:20%}
col.r{width:14%}
tr.council td{background:#fdf1e7}
img{width:100%;height:auto;display:block}
ul{margin:0;padding-left:4.5mm}
li{margin:0 0 .5mm}
.note{font-size:7pt;color:#555;margin-top:.8mm}
.cols{display:flex;gap:4mm}
.cols>div{flex:1}
@media screen{body{padding:8mm 6mm}}
"""


def _cell(v, cls="n") -> str:
    return f'<td class="{cls}">{v}</td>'


def summary_html(*, sset, scenario_path, summary_table: pd.DataFrame, profile: pd.DataFrame,
                 summary: Optional[pd.DataFrame], flags: Optional[pd.DataFrame], years: list[str], all_name: Optional[str],
                 label, lever_label, chart_png: Optional[bytes], risk=None, seed=None, params_hash: str = "",
                 replications: Optional[int] = None) -> str:
    """The one-page committee summary as self-contained HTML (chart inline, no scripts)."""
    y8, y1 = years[-1], years[0]
    rows = headline(summary_table, sset, risk, label)
    draws = frame(risk, "draws") is not None or frame(risk, "risk") is not None
    n_draws = getattr(risk, "n_draws", None) if risk is not None else None
    range_words = (f"the range holding 90% of {n_draws} parameter draws (simulation noise plus uncertainty in the "
                   "inputs)" if draws else "the range holding 90% of replications (simulation noise only: "
                   "parameter uncertainty not estimated, run with --draws)")
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Summary: {html.escape(sset.name)}</title>", f"<style>{SUMMARY_CSS}</style></head><body>",
           f"<h1>{html.escape(sset.name)}: the business case on one page</h1>",
           f'<p class="meta">carepath, {dt.date.today():%d %B %Y}. {len(years)} financial years, {y1} to {y8} '
           f"(April to March); £ nominal. Scenario file {html.escape(Path(scenario_path).name)}, seed {seed}, "
           f"{replications or ''} replications{f', {n_draws} parameter draws' if draws else ''}; parameters' hash "
           f"{html.escape(params_hash)}. The full detail is in report.html and business_case.xlsx beside this page.</p>",
           "<h2>Headline</h2>",
           '<table><colgroup><col class="s"><col class="r"></colgroup><thead><tr>'
           + "".join(f"<th>{h}</th>" for h in (
               "Scenario", f"Gross saving {y8} (90% range)", f"Gross saving, {len(years)} years", "Invest&shy;ment",
               "Running costs", f"Net saving, {len(years)} years", "ROI, 4 years", f"ROI, {len(years)} years",
               "Chance of 3:1 by year 4"))
           + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + _cell(html.escape(r["label"]), "") + _cell(
            f"{_money(r['year8'])}<small>{_money(r['year8_p05'])}&ndash;{_money(r['year8_p95'])}"
            + ("&dagger;" if draws and r["range_basis"] == "noise" else "") + "</small>")
            + _cell(_money(r["gross_8y"])) + _cell(_money(r["investment"]) if r["investment"] > 0 else "none")
            + _cell(_money(r["running_cost"])) + _cell(_money(r["net_8y"])) + _cell(_ratio(r["roi_4y"]))
            + _cell(_ratio(r["roi_8y"])) + _cell(html.escape(r["chance_3_to_1"]) if draws else "not estimated")
            + "</tr>")
    c = sset.council
    if c and c.gross_profile_m and all_name is not None:
        g = [c.gross_profile_m.get(y, np.nan) * 1e6 for y in years]
        n = [c.net_profile_m.get(y, np.nan) * 1e6 for y in years] if c.net_profile_m else [np.nan]
        sc = next(s for s in sset.scenarios if s.name == all_name)
        inv = sset.investment_of(sc)
        i8, i4 = sum(inv.get(y, 0.0) for y in years), sum(inv.get(y, 0.0) for y in years[:4])
        out.append('<tr class="council">' + _cell("Council's own case (its Table 1)", "") + _cell(_money(g[-1]))
                   + _cell(_money(np.nansum(g))) + _cell(_money(i8) if i8 else "n/a") + _cell("not stated")
                   + _cell(_money(np.nansum(n)) + "<small>its net</small>")
                   + _cell(_ratio(np.nansum(g[:4]) / i4) if i4 else "n/a") + _cell(_ratio(np.nansum(g) / i8) if i8 else "n/a")
                   + _cell("not stated") + "</tr>")
    out.append("</tbody></table>")
    undrawn = draws and any(r["range_basis"] == "noise" for r in rows)
    out.append(f'<p class="note">Gross saving: the baseline\'s cost minus the scenario\'s (placements, social work, '
               f"allowances, fixed costs of empty places). The 90% range is {range_words}"
               + ("; &dagger;: a scenario not drawn, its range the replications' (simulation noise only)" if undrawn else "")
               + ". Net saving takes off the "
               "investment and the levers' running costs. ROI: gross saving ÷ investment. "
               + ("Chance of 3:1: the share of draws whose 4-year ROI is at least 3, ± its Monte Carlo error."
                  if draws else "The chance of 3:1 by year 4 is " + NOT_ESTIMATED + ".") + "</p>")
    if chart_png is not None:
        data = base64.b64encode(chart_png).decode("ascii")
        out.append(f"<h2>Savings by financial year: {html.escape(label(all_name).lower()) if all_name else ''}</h2>"
                   f'<img src="data:image/png;base64,{data}" alt="Savings by financial year">')
    out.append('<div class="cols"><div><h2>Flags on the levers</h2>' + _flags_html(flags, label, lever_label)
               + "</div><div><h2>What drives the risk</h2><ul>"
               + "".join(f"<li>{html.escape(s)}</li>" for s in risk_sentences(
                   risk, all_name, label(all_name).lower() if all_name else "", y8, summary_table))
               + "</ul></div></div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _flags_html(flags: Optional[pd.DataFrame], label, lever_label) -> str:
    """Lever flags with their reasons, each lever once; the precision flags in one line."""
    if flags is None or not len(flags):
        return "<p>None: every target was reached and sustained, and every saving is measured within ±10%.</p>"
    items, seen, precise = [], set(), []
    for _, f in flags.iterrows():
        lever = f["lever"] if isinstance(f["lever"], str) else ""
        if not lever:
            m = pd.Series([str(f["reason"])]).str.extract(r"needs (\d+) replications")[0].iloc[0]
            precise.append(f"{label(f['scenario'])}" + (f" ({m})" if isinstance(m, str) else ""))
            continue
        if lever in seen:
            continue
        seen.add(lever)
        where = sorted({label(s) for s in flags[flags["lever"] == lever]["scenario"]})
        items.append(f"<li><strong>{html.escape(lever_label(lever))}</strong> ({html.escape(f['flag'])}; in "
                     f"{html.escape(', '.join(where))}): {html.escape(str(f['reason']))}</li>")
    if precise:
        items.append("<li><strong>Precision too low</strong> for the replications run (the last year's saving not "
                     "known to ±10%; replications needed): " + html.escape(", ".join(precise)) + ".</li>")
    return "<ul>" + "".join(items) + "</ul>"
