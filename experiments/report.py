"""The business case report: `report.md` and a self-contained `report.html` (charts embedded as
data URIs, inline CSS, no scripts) plus the chart PNGs, for a council finance committee and a
transformation team. Pure presentation: every number comes from the experiment's tables; nothing
here changes or tunes the model.

The document is built once as a list of blocks (headings, paragraphs, lists, tables, figures)
and rendered twice, to Markdown and to HTML, so the two say the same thing.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.levers import CATALOGUE, LEVERS  # noqa: E402
from sim.placements import AWAITING, AWAITING_MIX, groups_of  # noqa: E402

from . import papers  # noqa: E402
from .business_case import LEVER_VOLUME, MODEL_NET_DEDUCTS  # noqa: E402
from .run import BASELINE, _mean_ci  # noqa: E402

# ------------------------------------------------------------------------------ words and numbers
LEVER_NAMES = {name: spec.label for name, spec in CATALOGUE.items()}  # from the lever catalogue (sim/levers.py)


def lever_label(name: str) -> str:
    """A lever's label for the report (the catalogue's), or its name in words if unknown."""
    return LEVER_NAMES.get(name, name.replace("_", " "))


# Outcomes for children: (measure, heading, unit, how to print, more is better?)
OUTCOMES = [
    ("children_kept_out_of_care", "Children kept out of care", "children a year", "int", True),
    ("cic_average", "Children in care", "average number", "int", False),
    ("weeks_to_permanence_average", "Weeks to permanence", "weeks, average", "1dp", False),
    ("family_based_share", "In family-based placements", "share of care days", "pct", True),
    ("placement_moves_per_child_year", "Placement moves", "per child-year in care", "2dp", False),
    ("children_waiting_for_placement_average", "Waiting for a placement", "children, average", "1dp", False),
    ("repeat_plans", "Repeat CIN and CP plans", "plans a year", "int", False),
    ("out_of_area_share", "Placed out of area", "share of care days", "pct", False),
    ("children_in_family_homes_share", "In a family home, counting those who left on orders", "share", "pct", True),
    ("children_3plus_placements_share", "Three or more placements in the year", "share of children", "pct", False),
]
MODEL_BLUE, MODEL_LIGHT, COUNCIL, COUNCIL_LIGHT = "#1f4e79", "#6fa8dc", "#c55a11", "#f4b183"
FILES = [
    ("report.md", "this report as Markdown"),
    ("report.html", "this report as one self-contained web page (charts inside; opens offline)"),
    ("roi_profile.csv", "per scenario and financial year: baseline and scenario cost, gross saving with its 95% "
                        "interval, investment, net saving, cumulative net saving (£)"),
    ("business_case_summary.csv", "per scenario: 4- and 8-year gross saving, investment, net saving, return on "
                                  "investment, NPV at the discount rate, year-8 saving with interval, replications "
                                  "needed for a ±10% interval"),
    ("lever_effects.csv", "per scenario, financial year and measure: the operational volumes the levers move "
                          "(baseline, scenario, paired difference with 95% interval)"),
    ("outcomes.csv", "per scenario, financial year and measure: outcomes for children, same columns"),
    ("business_case_comparison.csv", "the council's figures beside the model's, per lever (kind = lever) and per "
                                     "year of the benefit profile (kind = profile)"),
    ("lever_interaction.csv", "per financial year: the sum of each lever alone, all levers together, and the "
                              "difference (interaction)"),
    ("lever_intensities.csv", "each lever's mechanism intensity; for targets, the value found by the search, "
                              "what it achieved with its interval, and the search steps"),
    ("summary_by_scenario.csv", "every measure per scenario, replication and financial year (the raw results)"),
    ("stocks_by_scenario_month.csv", "children at each stage and placement type at each month end, per scenario "
                                     "and replication"),
    ("manifest.json", "what was run: command, files and their hashes, seed, replications, code version, timings"),
]


def money(x: float, dp: Optional[int] = None) -> str:
    """£ with m or k: £11.24m, £640k, £500; minus signs kept."""
    if x is None or not np.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1e6:
        return f"{sign}£{a / 1e6:.{2 if dp is None else dp}f}m"
    if a >= 1e3:
        return f"{sign}£{a / 1e3:.0f}k"
    return f"{sign}£{a:.0f}"


def money_ci(x: float, lo: float, hi: float) -> str:
    return f"{money(x)} ({money(lo)} to {money(hi)})"


def ratio(x: float) -> str:
    return f"{x:.1f}:1" if x is not None and np.isfinite(x) else "n/a"


def num(x: float, how: str = "1dp") -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if how == "int":
        return f"{x:,.0f}"
    if how == "pct":
        return f"{100 * x:.1f}%"
    if how == "2dp":
        return f"{x:.2f}"
    return f"{x:,.1f}"


def signed(x: float, how: str = "1dp") -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if how == "pct":
        return f"{100 * x:+.1f} pts"
    s = num(abs(x), how)
    return ("-" if x < 0 and s.strip("0.,") else "+") + s


def date_words(d) -> str:
    return f"{d.day} {d:%B %Y}" if d is not None else ""


def lever_words(lv) -> str:
    """One lever in plain words: what it changes, when, how hard."""
    name = lever_label(lv.lever)
    spec = LEVERS.get(lv.lever, {"mechanism": {}, "target": {}})
    when = f"from {date_words(lv.start)}"
    when += f", full effect after {lv.ramp_months:g} months (linear ramp)" if lv.ramp_months else ", full effect at once"
    if lv.end is not None:
        when += f", switched off on {date_words(lv.end)}"
    if lv.target:
        what = "; ".join(f"target {v:g}: {spec['target'].get(k, k)}" + (f" (in {lv.target_year})" if lv.target_year else "")
                         for k, v in lv.target.items())
    else:
        what = "; ".join(f"{k} = {v:g}: {spec['mechanism'].get(k, k)}" for k, v in lv.mechanism.items())
    if lv.placement_type:
        what += f" (placement type {lv.placement_type})"
    rc = getattr(lv, "running_cost", None)
    if rc is not None:
        parts = [f"{money(rc.per_year)} a year" if rc.per_year else "",
                 f"{money(rc.per_intensity)} a year per unit of {lv.spec.search_key.name}" if rc.per_intensity else "",
                 f"{money(rc.per_volume)} per unit of its volume" if rc.per_volume else ""]
        what += "; running cost " + ", ".join(x for x in parts if x) + (f" ({rc.source})" if rc.source else "")
    if getattr(lv, "investment", None):
        what += f"; its own investment {money(sum(lv.investment.values()))}"
    return f"{name} {when}; {what}."


# ----------------------------------------------------------------------------------- the document
@dataclass
class Doc:
    blocks: list = field(default_factory=list)

    def h(self, level: int, text: str):
        self.blocks.append(("h", level, text))

    def p(self, text: str):
        self.blocks.append(("p", text))

    def ul(self, items: list[str]):
        if items:
            self.blocks.append(("ul", list(items)))

    def table(self, headers: list[str], rows: list[list[str]], note: str = ""):
        self.blocks.append(("table", headers, rows, note))

    def fig(self, path: Path, alt: str, caption: str):
        self.blocks.append(("fig", path, alt, caption))


# The council paper the shipped figures come from, in words: the scenario and parameter files
# cite it by its number among the project's source papers, which a reader of the report cannot see.
COUNCIL_PAPER = ("Nottingham City Council, Children and Young People Scrutiny Committee, 26 January 2023: the "
                 "children's services transformation programme and its business case (a public committee paper)")
_PAPER_NUMBER = re.compile(r"(?<![\d,.£])003(?![\d,.]\d)")


def readable(text: str) -> str:
    """Text as a reader of the report can follow it: the council paper's number ("003", "seed
    003", "council paper 003") in words."""
    t = re.sub(r"\s*\((?:seed|council paper) 003\)", "", str(text))
    t = re.sub(r"(?:council paper |seed )?003's\b", "the council paper's", t)
    t = re.sub(r"(?:council paper |seed )(?=003)", "", t)
    return _PAPER_NUMBER.sub("the council paper", t)


def _inline_md(text: str) -> str:
    return readable(text)


def _inline_html(text: str) -> str:
    t = html.escape(readable(text), quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`(.+?)`", r"<code>\1</code>", t)
    return t


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Doc) -> str:
    out = []
    for b in doc.blocks:
        kind = b[0]
        if kind == "h":
            out.append("#" * b[1] + " " + b[2])
        elif kind == "p":
            out.append(_inline_md(b[1]))
        elif kind == "ul":
            out.append("\n".join(f"- {_inline_md(i)}" for i in b[1]))
        elif kind == "table":
            _, headers, rows, note = b
            lines = ["| " + " | ".join(_md_cell(readable(h)) for h in headers) + " |",
                     "|" + "|".join("---" if i == 0 else "--:" for i in range(len(headers))) + "|"]
            lines += ["| " + " | ".join(_md_cell(readable(c)) for c in r) + " |" for r in rows]
            if note:
                lines.append("\n" + readable(note))
            out.append("\n".join(lines))
        elif kind == "fig":
            _, path, alt, caption = b
            out.append(f"![{alt}]({path.name})\n\n*{readable(caption)}*")
    return "\n\n".join(out) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;max-width:70rem;margin:2rem auto;
padding:0 1.2rem;color:#1a1a1a;line-height:1.45}
h1{color:#1f4e79;border-bottom:3px solid #1f4e79;padding-bottom:.3rem}
h2{color:#1f4e79;border-bottom:1px solid #bbb;margin-top:2.2rem}
h3{color:#333;margin-top:1.6rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.84rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .45rem;vertical-align:top;overflow-wrap:break-word}
th{background:#eef3f8;text-align:left}
td.n{text-align:right}
tr:nth-child(even) td{background:#fafafa}
figure{margin:1.2rem 0}
figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.9rem;color:#444;margin-top:.3rem}
.note{font-size:.85rem;color:#555}
code{background:#f3f3f3;padding:0 .2rem;overflow-wrap:anywhere}
@page{size:A4 portrait;margin:12mm}
@media print{
body{max-width:none;margin:0;padding:0;font-size:9pt;line-height:1.35}
table{font-size:7pt;page-break-inside:auto}
th,td{padding:.15rem .25rem}
tr,figure,img{break-inside:avoid}
h2,h3{break-after:avoid}
figure img{max-height:230mm;width:auto;max-width:100%}
}
"""


def _numeric_cell(s: str) -> bool:
    """A number (with £, m, k, an interval or 'pts'), right-aligned; words are left-aligned."""
    t = str(s).strip()
    return bool(t) and bool(re.match(r"^[-+£(]?[-£\d.,]", t)) and sum(c.isalpha() for c in t) <= 12


def to_html(doc: Doc, title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title>", f"<style>{CSS}</style>", "</head><body>"]
    for b in doc.blocks:
        kind = b[0]
        if kind == "h":
            out.append(f"<h{b[1]}>{_inline_html(b[2])}</h{b[1]}>")
        elif kind == "p":
            out.append(f"<p>{_inline_html(b[1])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            _, headers, rows, note = b
            t = ['<div class="wrap"><table><thead><tr>' + "".join(f"<th>{_inline_html(h)}</th>" for h in headers)
                 + "</tr></thead><tbody>"]
            for r in rows:
                cells = []
                for i, c in enumerate(r):
                    cls = ' class="n"' if i > 0 and _numeric_cell(c) else ""
                    cells.append(f"<td{cls}>{_inline_html(str(c))}</td>")
                t.append("<tr>" + "".join(cells) + "</tr>")
            t.append("</tbody></table></div>")
            if note:
                t.append(f'<p class="note">{_inline_html(note)}</p>')
            out.append("".join(t))
        elif kind == "fig":
            _, path, alt, caption = b
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            out.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
                       f"<figcaption>{_inline_html(caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------- helpers
def _months(index) -> pd.DatetimeIndex:
    return pd.to_datetime([f"{m}-01" for m in index]) + pd.offsets.MonthEnd(0)


def _fy_axis(ax, span_years: float = 0.0):
    """April ticks: every year, or every other year on long horizons."""
    if span_years > 5:
        ax.xaxis.set_major_locator(mdates.YearLocator(2, month=4))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=4))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("Apr\n%Y"))


def _millions(ax, axis="y"):
    def f(v, _):
        a = abs(v) / 1e6
        txt = f"£{a:.0f}m" if a >= 1 or a == 0 else f"£{a:.1f}m"
        return ("-" if v < 0 else "") + txt
    fmt = matplotlib.ticker.FuncFormatter(f)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _label(name: str, sset) -> str:
    if name == BASELINE:
        return "Baseline"
    sc = next((s for s in sset.scenarios if s.name == name), None)
    if sc is not None and len(sc.levers) == 1:
        return LEVER_NAMES.get(sc.levers[0].lever, name.replace("_", " "))
    return name.replace("_", " ").capitalize()


def _singles(sset) -> list[str]:
    """Scenarios with exactly one lever (as `business_case.interaction` counts them)."""
    return [s.name for s in sset.scenarios if len(s.levers) == 1]


def _all_levers_name(sset, profile: pd.DataFrame) -> Optional[str]:
    name = sset.council.all_levers_scenario if sset.council and sset.council.all_levers_scenario else "all_levers"
    return name if name in set(profile["scenario"]) else None


def _paired_total(summary: pd.DataFrame, scenario: str, measure: str, years: list[str], sign: float = 1.0):
    """Mean and 95% interval of a measure summed over `years`, scenario minus baseline, paired by replication."""
    s = summary[(summary["measure"] == measure) & summary["financial_year"].isin(years)]
    b = s[s["scenario"] == BASELINE].groupby("replication")["value"].sum()
    x = s[s["scenario"] == scenario].groupby("replication")["value"].sum()
    d = (x - b).dropna() * sign
    if d.empty:
        return float("nan"), float("nan"), float("nan")
    return _mean_ci(d.to_numpy())


# --------------------------------------------------------------------------------------- charts
def chart_roi_profile(profile, sset, all_name, years, summary=None, risk=None, size=(10, 5.2), title=""):
    """The savings chart (experiments/papers.py): both bands when draws were run."""
    return papers.chart_savings(profile, summary, sset, all_name, years, risk=risk, size=size,
                                title=title or f"Savings by financial year: {_label(all_name, sset).lower()} (model) "
                                               "and the council's business case")


def chart_fan(stocks, sset):
    """Children in care per scenario: small multiples, each with the baseline in grey."""
    s = stocks[stocks["measure"] == "care"]
    g = s.groupby(["scenario", "month"])["value"]
    mean, lo, hi = g.mean(), g.quantile(0.025), g.quantile(0.975)
    names = [BASELINE] + [sc.name for sc in sset.scenarios if sc.name in set(s["scenario"])]
    n = len(names)
    cols = 3 if n > 4 else min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.1 * cols, 2.9 * rows), sharex=True, sharey=True, squeeze=False)
    bx = _months(mean.loc[BASELINE].index)
    for i, name in enumerate(names):
        ax = axes[i // cols][i % cols]
        x = _months(mean.loc[name].index)
        if name != BASELINE:
            ax.plot(bx, mean.loc[BASELINE].to_numpy(), color="#777777", lw=1.2, label="Baseline")
        colour = "#555555" if name == BASELINE else MODEL_BLUE
        ax.fill_between(x, lo.loc[name].to_numpy(), hi.loc[name].to_numpy(), color=colour, alpha=0.25,
                        label="95% of replications")
        ax.plot(x, mean.loc[name].to_numpy(), color=colour, lw=1.8, label="Mean" if name == BASELINE else "Scenario mean")
        ax.set_title(_label(name, sset), fontsize=10)
        ax.grid(alpha=0.3)
        _fy_axis(ax)
        ax.xaxis.set_major_locator(mdates.YearLocator(2, month=4))
        ax.tick_params(labelsize=8)
        if i % cols == 0:
            ax.set_ylabel("children in care")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
        above = axes[j // cols - 1][j % cols]
        above.xaxis.set_tick_params(labelbottom=True)
    h, lbl = axes[0][min(1, n - 1) if n > 1 else 0].get_legend_handles_labels()
    fig.legend(h, lbl, loc="upper center", ncol=3, bbox_to_anchor=(0.5, 1.0), fontsize=9, frameon=False)
    nrep = s["replication"].nunique()
    fig.suptitle(f"Children in care at each month end: mean and range holding 95% of {nrep} replications",
                 y=1.03, fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


# Placement groups for the mix chart: finer than the published groups where the levers act
# (in-house against agency fostering; in-house, block and spot homes). The bands and their types
# are sim/placements.py's `mix`; children awaiting a placement join the "other" band. Colours by band.
MIX_COLOURS = {
    "Kinship carers": "#4e9a06", "In-house foster carers": "#204a87", "Agency foster carers (IFA)": "#729fcf",
    "In-house children's homes": "#a40000", "Block children's homes": "#ef2929", "Spot children's homes": "#f7a1a1",
    "Semi-independent (16-17)": "#f57900", "Placed with parents": "#75507b", "Other or awaiting a placement": "#888a85",
}
_SPARE_COLOURS = ("#c4a000", "#5c3566", "#2e3436", "#8ae234", "#fcaf3e")
MIX_GROUPS = [
    (band, types + ((AWAITING,) if band == AWAITING_MIX else ()),
     MIX_COLOURS.get(band, _SPARE_COLOURS[i % len(_SPARE_COLOURS)]))
    for i, (band, types) in enumerate(groups_of("mix").items())
]


def _groups(stocks: pd.DataFrame, scenario: str) -> pd.DataFrame:
    s = stocks[(stocks["scenario"] == scenario) & stocks["measure"].str.startswith("care_")]
    mean = s.groupby(["month", "measure"])["value"].mean().unstack("measure")
    out = pd.DataFrame(index=mean.index)
    for label, types, _ in MIX_GROUPS:
        cols = [f"care_{t}" for t in types if f"care_{t}" in mean.columns]
        out[label] = mean[cols].fillna(0.0).sum(axis=1) if cols else 0.0
    return out


def chart_placement_mix(stocks, sset, all_name):
    base, scen = _groups(stocks, BASELINE), _groups(stocks, all_name)
    keep = [(lab, col) for lab, _, col in MIX_GROUPS if base[lab].max() > 0 or scen[lab].max() > 0]
    labels, colours = [k for k, _ in keep], [c for _, c in keep]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    top = max(base[labels].sum(axis=1).max(), scen[labels].sum(axis=1).max()) * 1.05
    for ax, frame, title in ((axes[0], base, "Baseline"), (axes[1], scen, _label(all_name, sset))):
        x = _months(frame.index)
        ax.stackplot(x, [frame[g].to_numpy() for g in labels], labels=labels, colors=colours, alpha=0.9)
        ax.set_title(title)
        ax.set_ylim(0, top)
        ax.set_ylabel("children in care (month end, mean)")
        _fy_axis(ax, len(frame) / 12)
        ax.grid(alpha=0.3)
    diff = scen[labels] - base[labels]
    x = _months(diff.index)
    for g, col in keep:
        axes[2].plot(x, diff[g].rolling(3, min_periods=1).mean().to_numpy(), color=col, lw=1.8, label=g)
    axes[2].axhline(0, color="black", lw=0.8)
    axes[2].set_title(f"Difference: {_label(all_name, sset).lower()} minus baseline")
    axes[2].set_ylabel("children (3-month rolling mean)")
    _fy_axis(axes[2], len(diff) / 12)
    axes[2].grid(alpha=0.3)
    h, lbl = axes[0].get_legend_handles_labels()
    fig.legend(h, lbl, loc="lower center", ncol=5, bbox_to_anchor=(0.5, -0.12), fontsize=9, frameon=False)
    fig.suptitle("Placement mix over time (mean of replications)", fontsize=12)
    fig.tight_layout()
    return fig


def chart_waterfall(profile, sset, all_name, year):
    singles = _singles(sset)
    p = profile[profile["financial_year"] == year].set_index("scenario")
    vals = [float(p.loc[n, "gross_saving"]) for n in singles]
    lows = [float(p.loc[n, "gross_saving_low"]) for n in singles]
    highs = [float(p.loc[n, "gross_saving_high"]) for n in singles]
    labels = [_label(n, sset) for n in singles]
    fig, ax = plt.subplots(figsize=(max(8, 1.05 * (len(singles) + 3)), 5.6))
    run = 0.0
    for i, v in enumerate(vals):
        colour = "#2e7d32" if v >= 0 else "#c62828"
        ax.bar(i, v, bottom=run, color=colour, width=0.65)
        ax.errorbar(i, run + v, yerr=[[v - lows[i]], [highs[i] - v]], color="black", capsize=3, lw=1)
        if i < len(vals) - 1:
            ax.plot([i + 0.33, i + 0.67], [run + v, run + v], color="#555555", lw=0.8)
        run += v
    k = len(vals)
    ax.bar(k, run, color=MODEL_LIGHT, width=0.65, edgecolor=MODEL_BLUE)
    ticks, names = list(range(k + 1)), labels + ["Sum of levers\nalone"]
    if all_name is not None and all_name in p.index:
        t = p.loc[all_name]
        ax.bar(k + 1, t["gross_saving"], color=MODEL_BLUE, width=0.65)
        ax.errorbar(k + 1, t["gross_saving"], yerr=[[t["gross_saving"] - t["gross_saving_low"]],
                                                     [t["gross_saving_high"] - t["gross_saving"]]],
                    color="black", capsize=3, lw=1)
        ticks.append(k + 1)
        names.append(f"{_label(all_name, sset)}\ntogether")
    c = sset.council
    if c and c.levers:
        cl = {x.scenario: x.saving_m * 1e6 for x in c.levers}
        cum, first = 0.0, True
        for i, n in enumerate(singles):
            if n in cl:
                ax.plot([i - 0.32, i + 0.32], [cum + cl[n]] * 2, color=COUNCIL, lw=2.2,
                        label="Council: cumulative £ at full benefit" if first else None)
                cum += cl[n]
                first = False
        ax.plot([k - 0.32, k + 0.32], [cum] * 2, color=COUNCIL, lw=2.2)
    ax.set_xticks(ticks, names, rotation=30, ha="right", fontsize=9)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(f"gross saving in {year}")
    _millions(ax)
    ax.set_title(f"Where the {year} saving comes from: each lever alone (95% intervals), their sum, and all together")
    ax.grid(axis="y", alpha=0.3)
    if c and c.levers:
        ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def chart_interaction(interaction):
    it = interaction
    x = np.arange(len(it))
    fig, ax = plt.subplots(figsize=(10, 4.8))
    ax.bar(x - 0.2, it["sum_of_levers_alone"], width=0.4, color=MODEL_LIGHT, label="Sum of each lever alone")
    ax.bar(x + 0.2, it["all_levers_together"], width=0.4, color=MODEL_BLUE, label="All levers together")
    ax.plot(x, it["interaction"], "-D", color="#7b1fa2", lw=1.8, label="Interaction (together minus sum)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, it["financial_year"])
    ax.set_xlabel("Financial year")
    ax.set_ylabel("gross saving, £ a year")
    _millions(ax)
    ax.set_title("Levers together against the sum of each alone")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    return fig


def chart_lever_comparison(comparison, sset):
    lv = comparison[comparison["kind"] == "lever"].reset_index(drop=True)
    y = np.arange(len(lv))[::-1]
    fig, ax = plt.subplots(figsize=(9.5, 0.55 * len(lv) + 1.8))
    ax.barh(y + 0.18, lv["council_saving_m"] * 1e6, height=0.36, color=COUNCIL_LIGHT, edgecolor=COUNCIL,
            label="Council (£ a year at full benefit)")
    m = lv["model_saving_m"] * 1e6
    ax.barh(y - 0.18, m, height=0.36, color=MODEL_LIGHT, edgecolor=MODEL_BLUE,
            label=f"Model ({lv['financial_year'].iloc[0]} gross saving, 95% interval)")
    ax.errorbar(m, y - 0.18, xerr=[m - lv["model_saving_low_m"] * 1e6, lv["model_saving_high_m"] * 1e6 - m],
                fmt="none", color="black", capsize=3, lw=1)
    ax.set_yticks(y, [_label(n, sset) for n in lv["scenario"]])
    ax.axvline(0, color="black", lw=0.8)
    _millions(ax, "x")
    ax.set_xlabel("£ a year")
    ax.set_title("Each lever alone: the council's estimate and the model's")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig


# -------------------------------------------------------------------------------------- sections
def _what_was_run(doc, sset, scenario_path, summary_table, intensities, seed, params_hash, years):
    doc.h(2, "What was run")
    doc.p(f"Scenario set **{sset.name}** (file `{Path(scenario_path).name}`). {sset.description}".strip())
    reps = int(summary_table["replications"].iloc[0]) if len(summary_table) else 0
    items = [
        f"Business case years: {years[0]} to {years[-1]} ({len(years)} financial years, April to March); "
        f"full benefit is measured in {years[-1]}.",
        f"Replications: {reps} per scenario, all sharing common random numbers with the baseline "
        f"(the same children, arrivals and chance events unless a lever changes them).",
        f"Base random seed: {seed}. Baseline parameters: `{sset.baseline}`, parameters' hash `{params_hash}`.",
        f"Target searches used {sset.search_replications} replications per step. "
        f"Discount rate for net present value: {100 * sset.discount_rate:.1f}%.",
    ]
    need = summary_table[["scenario", "replications_for_10pct_precision"]] if len(summary_table) else None
    if need is not None and len(need):
        worst = need.sort_values("replications_for_10pct_precision").iloc[-1]
        enough = need[need["replications_for_10pct_precision"] <= reps]["scenario"].tolist()
        items.append(
            f"Precision: for a 95% interval of the {years[-1]} gross saving within ±10% of its value, the scenarios "
            + (f"need between {int(need['replications_for_10pct_precision'].min())} and "
               if need['replications_for_10pct_precision'].nunique() > 1 else "need up to ")
            + f"{int(worst['replications_for_10pct_precision'])} replications ({_label(worst['scenario'], sset)} needs the most); "
            f"{len(enough)} of {len(need)} scenarios have enough with {reps}: "
            + "; ".join(f"{_label(r['scenario'], sset)} {int(r['replications_for_10pct_precision'])}"
                        for _, r in need.iterrows())
            + " (`business_case_summary.csv`, column `replications_for_10pct_precision`). A saving near zero, "
              "such as a lever that barely changes cost, needs very many.")
    doc.ul(items)
    doc.h(3, "Scenarios and their levers")
    for sc in sset.scenarios:
        inv = sset.investment_of(sc)
        inv_words = (f" Investment: {money(sum(inv.values()))} in all ("
                     + ", ".join(f"{k} {money(v)}" for k, v in sorted(inv.items())) + ").") if inv else ""
        doc.p(f"**{_label(sc.name, sset)}** (`{sc.name}`): {sc.description or 'no description'}.{inv_words}".replace("..", "."))
        doc.ul([lever_words(lv) for lv in sc.levers] or ["No levers."])
    if intensities is not None and len(intensities) and (intensities["stated_as"] == "target").any():
        doc.h(3, "Intensities found for the targets")
        doc.p("A lever stated as a target volume is turned into a mechanism intensity by a short search: each step "
              "runs the lever at one intensity over the search replications, measures the volume against the "
              "baseline in the target year, and moves by the secant rule until the mean lands within "
              "max(5% of the target, 1 unit). The same intensity is then used wherever that lever appears.")
        t = intensities[intensities["stated_as"] == "target"].drop_duplicates(subset=["lever", "target", "target_value"])
        rows = []
        for _, r in t.iterrows():
            try:
                steps = json.loads(r["search_steps"]) if r["search_steps"] else []
            except (TypeError, ValueError):
                steps = []
            steps_txt = "; ".join(f"{a:.4g} gave {b:.1f}" for a, b in steps)
            rows.append([LEVER_NAMES.get(r["lever"], r["lever"]), f"{r['target'].replace('_', ' ')} = {r['target_value']:g}",
                         f"{r['mechanism']} = {r['intensity']:.4g}",
                         f"{r['achieved']:.1f} ({r['achieved_low']:.1f} to {r['achieved_high']:.1f})",
                         str(r["financial_year"]), steps_txt + (f". {r['note']}" if r.get("note") else "")])
        doc.table(["Lever", "Target", "Intensity used", "Achieved (95% interval)", "In year", "Search steps (intensity gave volume)"],
                  rows)


def _flag_words(summary_row) -> str:
    f = summary_row.get("flags", "") if hasattr(summary_row, "get") else ""
    if not (isinstance(f, str) and f):
        return "none"
    for name, lab in LEVER_NAMES.items():   # the lever's label, not its catalogue name
        f = f.replace(f"{name}:", f"{lab}:")
    return f


def _headline(doc, sset, summary_table, all_name, years, flags=None, profile=None):
    doc.h(2, "Headline: savings and return on investment")
    doc.p(f"Gross saving is the baseline's cost minus the scenario's cost (placements, social work, allowances "
          f"and fixed costs: block and in-house beds paid for when empty, the retainer for empty in-house foster "
          f"places; £ nominal, prices growing by placement type). Net saving takes off the investment declared in "
          f"the scenario file (or its levers' own) and the levers' running costs (the services they need, as "
          f"declared). Return on investment (ROI) is gross saving ÷ investment, as the council states it; NPV is "
          f"the net present value of the net savings at {100 * sset.discount_rate:.1f}% (HM Treasury Green Book). "
          f"Intervals are 95% confidence intervals of the mean paired difference against the baseline. "
          f"Flags: a lever short of its target, not sustainable, at its bound, or a saving measured too "
          f"imprecisely for the replications run (reasons below the table).")
    rows = []
    for _, r in summary_table.iterrows():
        rows.append([_label(r["scenario"], sset),
                     money_ci(r["year8_gross_saving"], r["year8_gross_saving_low"], r["year8_gross_saving_high"]),
                     money(r["year8_net_saving"]) if "year8_net_saving" in r else "",
                     money_ci(r["gross_saving_8y"], r["gross_saving_8y_low"], r["gross_saving_8y_high"]),
                     money(r["investment_8y"]) if r["investment_8y"] > 0 else "none declared",
                     money(r.get("running_cost_8y", 0.0)),
                     money(r["net_saving_8y"]), ratio(r["roi_4y"]), ratio(r["roi_8y"]), money(r["npv_net_saving"]),
                     _flag_words(r)])
    c = sset.council
    if c and c.gross_profile_m and all_name is not None:
        g = [c.gross_profile_m.get(y, np.nan) * 1e6 for y in years]
        n = [c.net_profile_m.get(y, np.nan) * 1e6 for y in years] if c.net_profile_m else [np.nan] * len(years)
        sc = next(s for s in sset.scenarios if s.name == all_name)
        inv = sset.investment_of(sc)
        i8, i4 = sum(inv.get(y, 0.0) for y in years), sum(inv.get(y, 0.0) for y in years[:4])
        rows.append(["Council's business case (Table 1)", money(g[-1]) + " (no interval)", money(n[-1]) + " (Table 1 net)",
                     money(np.nansum(g)), money(i8) if i8 else "n/a", "not stated", money(np.nansum(n)) + " (Table 1 net)",
                     ratio(np.nansum(g[:4]) / i4) if i4 else "n/a", ratio(np.nansum(g) / i8) if i8 else "n/a",
                     money(sum(v / (1 + sset.discount_rate) ** t for t, v in enumerate(n) if np.isfinite(v))),
                     f"its net deducts: {c.profile_net_deducts}" if c.profile_net_deducts else ""])
    y8 = years[-1]
    doc.table(["Scenario", f"Gross saving {y8} (95% interval)", f"Net saving {y8}", f"Gross saving {years[0]} to {y8} (95% interval)",
               "Investment", "Running costs, all years", "Net saving, all years", f"ROI over {len(years[:4])} years",
               f"ROI over {len(years)} years", f"NPV of net saving at {100 * sset.discount_rate:.1f}%", "Flags"], rows,
              note="ROI is shown only where the scenario, or its levers, declare an investment. The council's ROI here is "
                   "recomputed from Table 1's gross savings and the same investment; it reports 7.1:1 over 8 years and "
                   "2.3:1 over 4. The model's net deducts investment and running costs; Table 1's net deducts what the "
                   "last column says.")
    if flags is not None and len(flags):
        doc.p("**Flags, with their reasons** (`headline_flags.csv`):")
        def who(f) -> str:   # the scenario, and the lever when it is not the scenario's only one
            sc, lv = _label(f["scenario"], sset), LEVER_NAMES.get(f["lever"], f["lever"]) if isinstance(f["lever"], str) else ""
            return sc if not lv or lv == sc else f"{sc} — {lv}"
        doc.ul([f"{who(f)}: {f['reason'] or f['flag']}" for _, f in flags.iterrows()])
    elif flags is not None:
        doc.p("**Flags:** none: every target was reached and sustained within its bounds, and every year-8 saving is "
              "measured within ±10% with the replications run.")
    if profile is not None and "gross_saving_real" in profile and all_name is not None:
        pr = profile[(profile["scenario"] == all_name) & (profile["financial_year"] == y8)]
        if len(pr):
            r = pr.iloc[0]
            doc.p(f"In real terms ({years[0]} prices), {_label(all_name, sset).lower()} saves "
                  f"{money(r['gross_saving_real'])} gross and {money(r['net_saving_real'])} net in {y8} "
                  f"({money(r['gross_saving'])} and {money(r['net_saving'])} nominal).")


def _volumes_by_year(doc, sset, volumes, years):
    """Each target lever's volume by year (lever_volumes_by_year.csv), alone and together."""
    if volumes is None or not len(volumes):
        return
    doc.h(3, "Target volumes achieved, year by year")
    doc.p(f"A target means that volume in the target year ({years[-1]}), sustained. The volume each lever's target "
          "names, scenario against baseline over the scenario's replications, by financial year (95% interval); "
          "from `lever_volumes_by_year.csv`.")
    shown = [y for y in years if y in set(volumes["financial_year"])]
    rows = []
    for (sc, lever), g in volumes.groupby(["scenario", "lever"], sort=False):
        g = g.set_index("financial_year")
        rows.append([_label(sc, sset), LEVER_NAMES.get(lever, lever), f"{g['target'].iloc[0]:g}"]
                    + [f"{g.loc[y, 'achieved']:.1f}" if y in g.index else "" for y in shown])
    doc.table(["Scenario", "Lever", "Target"] + shown, rows)


def _comparison(doc, sset, comparison, profile, summary, effects, summary_table, interaction, intensities, all_name, years):
    c = sset.council
    doc.h(2, "Comparison with the council's business case")
    if c is None or comparison is None or comparison.empty:
        doc.p("This scenario set has no `council` section, so there is nothing to compare against.")
        return
    if c.source:
        doc.p(f"Source of the council's figures: {c.source}.")
    lv = comparison[comparison["kind"] == "lever"]
    y8 = years[-1]
    if len(lv):
        doc.h(3, "Each lever at full benefit")
        rows = []
        basis = getattr(c, "lever_savings_basis", "gross")
        # like for like: the council's figures beside the model's on the same basis
        model_col = "model_net_m" if basis == "net" and "model_net_m" in lv else "model_saving_m"
        for _, r in lv.iterrows():
            vol = (f"{r['model_volume']:.1f} ({r['model_volume_low']:.1f} to {r['model_volume_high']:.1f}) "
                   f"{r['model_volume_means']}") if np.isfinite(r["model_volume"]) else "n/a"
            m = r[model_col]
            rows.append([_label(r["scenario"], sset), r["council_target_volume"], money(r["council_saving_m"] * 1e6),
                         vol, money_ci(r["model_saving_m"] * 1e6, r["model_saving_low_m"] * 1e6, r["model_saving_high_m"] * 1e6),
                         money(m * 1e6), f"{m / r['council_saving_m']:.2f}" if r["council_saving_m"] else "n/a"])
        tc, tg, tm = lv["council_saving_m"].sum(), lv["model_saving_m"].sum(), lv[model_col].sum()
        rows.append(["Sum of the levers", "", money(tc * 1e6), "", money(tg * 1e6), money(tm * 1e6),
                     f"{tm / tc:.2f}" if tc else "n/a"])
        deducts = getattr(c, "lever_net_deducts", "")
        words = (f"The council's lever figures are **net** ({deducts}); they are set beside the model's net saving "
                 f"(gross minus {MODEL_NET_DEDUCTS})." if basis == "net" else
                 "The council's lever figures are gross; they are set beside the model's gross saving.")
        doc.table(["Lever", "Council's target volume", f"Council £ a year at full benefit ({basis})",
                   f"Model's volume in {y8} (95% interval)", f"Model's gross saving in {y8} (95% interval)",
                   f"Model's net saving in {y8}", f"Model {basis} ÷ council {basis}"], rows,
                  note=words + " Each lever is run alone against the baseline. For foster carers the model's volume is the gap "
                       f"in approved carers at the end of {y8}, which builds up year by year.")
    pr = comparison[comparison["kind"] == "profile"]
    if len(pr):
        doc.h(3, "Benefit profile beside Table 1")
        rows = []
        real = "model_saving_real_m" in pr
        for _, r in pr.iterrows():
            rows.append([r["financial_year"], money(r["council_saving_m"] * 1e6),
                         money_ci(r["model_saving_m"] * 1e6, r["model_saving_low_m"] * 1e6, r["model_saving_high_m"] * 1e6),
                         money(r["model_saving_real_m"] * 1e6) if real else "",
                         money(r["council_net_m"] * 1e6), money(r["model_net_m"] * 1e6),
                         money(r["model_net_real_m"] * 1e6) if real else ""])
        rows.append(["Total", money(pr["council_saving_m"].sum() * 1e6), money(pr["model_saving_m"].sum() * 1e6),
                     money(pr["model_saving_real_m"].sum() * 1e6) if real else "",
                     money(pr["council_net_m"].sum() * 1e6), money(pr["model_net_m"].sum() * 1e6),
                     money(pr["model_net_real_m"].sum() * 1e6) if real else ""])
        prices = getattr(c, "prices", "nominal")
        doc.table(["Financial year", "Council gross (Table 1)", f"Model gross, {_label(pr['scenario'].iloc[0], sset).lower()} (95% interval)",
                   f"Model gross, real ({years[0]} prices)", "Council net (Table 1)", "Model net", "Model net, real"], rows,
                  note=f"Gross beside gross, net beside net. Table 1's net deducts "
                       f"{getattr(c, 'profile_net_deducts', '') or 'what the council paper says'}; the model's net deducts "
                       f"{MODEL_NET_DEDUCTS}. The council's figures read as {prices} prices"
                       + (", so compare them with the model's real columns." if prices == "constant" else "."))
    _by_year_tables(doc, sset, effects, years)
    _explain(doc, sset, comparison, profile, summary, effects, interaction, intensities, all_name, years)


def _by_year_tables(doc, sset, effects, years):
    """What each lever alone delivers year by year, and where its last-year saving comes from."""
    if effects is None or effects.empty:
        return
    y8 = years[-1]
    singles = [s for s in sset.scenarios if len(s.levers) == 1]
    rows = []
    for sc in singles:
        measure, sign, words = LEVER_VOLUME.get(sc.levers[0].lever, ("", 1, ""))
        e = effects[(effects["scenario"] == sc.name) & (effects["measure"] == measure)].set_index("financial_year")
        if e.empty:
            continue
        rows.append([_label(sc.name, sset), words] + [num(sign * e.loc[y, "difference"], "1dp") if y in e.index else ""
                                                     for y in years])
    if rows:
        doc.h(3, "What each lever alone delivers, year by year")
        doc.p("The volume each lever moves against the baseline in each financial year (mean of the paired "
              "differences). A programme target is a volume a year at full effect; a lever that works through a "
              "stock of children (such as kinship placements) can deliver far more in its early years than later.")
        doc.table(["Lever", "Volume"] + years, rows)
    rows = []
    for sc in singles:
        e = effects[(effects["scenario"] == sc.name) & (effects["financial_year"] == y8)].set_index("measure")
        if "cost_total" not in e.index:
            continue
        get = lambda m: -e.loc[m, "difference"] if m in e.index else float("nan")  # noqa: E731, B023 - used at once
        cic = e.loc["cic_average", "difference"] if "cic_average" in e.index else float("nan")
        rows.append([_label(sc.name, sset), money(get("cost_placements")), money(get("cost_social_work")),
                     money(get("cost_allowances")), money(get("cost_total")), signed(cic, "int")])
    if rows:
        doc.h(3, f"Where each lever's {y8} saving comes from")
        doc.p("Savings (baseline minus scenario, mean over replications) by kind of cost; a negative figure is a "
              "cost that rises. The last column is the change in the average number of children in care.")
        doc.table(["Lever", "Placements", "Social work", "Allowances (SGO, adoption)", "Total", "Children in care"], rows)


def _months_words(m: float) -> str:
    return "a month" if m < 1.5 else f"{m:.0f} months"


def _eff(effects, scenario, measure, year):
    e = effects[(effects["scenario"] == scenario) & (effects["measure"] == measure) & (effects["financial_year"] == year)]
    return e.iloc[0] if len(e) else None


def _explain(doc, sset, comparison, profile, summary, effects, interaction, intensities, all_name, years):
    doc.h(3, "Explaining the differences")
    y8 = years[-1]
    lv = comparison[comparison["kind"] == "lever"]
    said = []
    if len(lv):
        higher, lower, similar = [], [], []
        for _, r in lv.iterrows():
            cm, mm, lo, hi = r["council_saving_m"], r["model_saving_m"], r["model_saving_low_m"], r["model_saving_high_m"]
            name = _label(r["scenario"], sset)
            if lo <= cm <= hi:
                similar.append(f"{name} ({money(mm * 1e6)} against {money(cm * 1e6)})")
            elif mm > cm:
                higher.append(f"{name} ({money(mm * 1e6)} against {money(cm * 1e6)}, "
                              + (f"{mm / cm:.1f} times" if cm > 0 else "more") + ")")
            else:
                lower.append(f"{name} ({money(mm * 1e6)} against {money(cm * 1e6)}"
                             + (f", {100 * mm / cm:.0f}% of it" if cm > 0 and mm > 0 else "") + ")")
        tc, tm = lv["council_saving_m"].sum(), lv["model_saving_m"].sum()
        said.append(f"Taken one at a time, the levers save {money(tm * 1e6)} a year by {y8} in the model against "
                    f"{money(tc * 1e6)} in the council's case ({100 * tm / tc:.0f}% of it)." if tc else "")
        if higher:
            said.append("The model values these levers **higher** than the council, beyond its 95% interval: "
                        + "; ".join(higher) + ".")
        if lower:
            said.append("The model values these levers **lower** than the council, beyond its 95% interval: "
                        + "; ".join(lower) + ".")
        if similar:
            said.append("For these the council's figure lies inside the model's 95% interval: " + "; ".join(similar) + ".")
    pr = comparison[comparison["kind"] == "profile"]
    if len(pr):
        cg, mg = pr["council_saving_m"].sum(), pr["model_saving_m"].sum()
        first = pr.iloc[0]
        said.append(f"Over {pr['financial_year'].iloc[0]} to {pr['financial_year'].iloc[-1]} all levers together save "
                    f"{money(mg * 1e6)} gross in the model against the council's {money(cg * 1e6)}. In the first year "
                    f"({first['financial_year']}) the model has {money(first['model_saving_m'] * 1e6)} against "
                    f"{money(first['council_saving_m'] * 1e6)}; in {y8}, "
                    f"{money(pr.iloc[-1]['model_saving_m'] * 1e6)} against {money(pr.iloc[-1]['council_saving_m'] * 1e6)}.")
        half = pr[pr["model_saving_m"] >= 0.5 * pr["model_saving_m"].iloc[-1]]
        chalf = pr[pr["council_saving_m"] >= 0.5 * pr["council_saving_m"].iloc[-1]]
        if len(half) and len(chalf) and pr["model_saving_m"].iloc[-1] > 0:
            said.append(f"The model's savings reach half their {y8} level in {half['financial_year'].iloc[0]}; "
                        f"the council's in {chalf['financial_year'].iloc[0]}.")
        c = sset.council
        if c.gross_profile_m and c.net_profile_m:
            gap = {y: c.gross_profile_m.get(y, np.nan) - c.net_profile_m.get(y, np.nan) for y in years}
            ded = sum(v for v in gap.values() if np.isfinite(v))
            sc = next((s for s in sset.scenarios if s.name == all_name), None)
            inv = sum(sset.investment_of(sc).values()) if sc else 0.0
            yrs = [y for y, v in gap.items() if np.isfinite(v) and v > 1e-9]
            if yrs:
                span = yrs[0] if len(yrs) == 1 else f"{yrs[0]} to {yrs[-1]}"
                said.append(f"Table 1's net figures take {money(ded * 1e6)} off the gross in all, in "
                            f"{span}, whereas the investment declared for the scenario is "
                            f"{money(inv)} (spread as in the scenario file); the model's net saving uses the "
                            "declared investment, so the two net lines differ by construction as well as by estimate.")
    if interaction is not None and len(interaction):
        last = interaction.iloc[-1]
        share = last["interaction"] / last["sum_of_levers_alone"] if last["sum_of_levers_alone"] else np.nan
        said.append(f"Together the levers save {money(last['all_levers_together'])} in {y8} against "
                    f"{money(last['sum_of_levers_alone'])} for the sum of each alone: an interaction of "
                    f"{money(last['interaction'])} ({100 * share:+.0f}%). "
                    + ("Levers overlap: a child kept out of care cannot also be reunified or moved to an SGO, and "
                       "fewer children in care need fewer foster and block places."
                       if last["interaction"] < 0 else
                       "The levers reinforce each other here (for example, freed in-house capacity goes to "
                       "children who would otherwise go to agencies)."))
    # lever-specific sentences from the effects
    if effects is not None and len(effects):
        e_in = _eff(effects, "edge_of_care", "care_entries", y8)
        e_cic = _eff(effects, "edge_of_care", "cic_average", y8)
        if e_in is not None and e_cic is not None and e_in["difference"] < -0.5 and e_cic["difference"] < -0.5:
            yrs = e_cic["difference"] / e_in["difference"]
            said.append(f"Edge of care: in {y8} the model has {-e_in['difference']:.0f} fewer entries to care "
                        f"({-e_in['high']:.0f} to {-e_in['low']:.0f}) and {-e_cic['difference']:.0f} fewer children in care "
                        f"on average ({-e_cic['high']:.0f} to {-e_cic['low']:.0f}): about {yrs:.1f} children fewer in care "
                        "for each entry a year avoided, because children kept out in earlier years would still be in care.")
        fi = _eff(effects, "foster_carers", "foster_carers_at_year_end", y8)
        fin = _eff(effects, "foster_carers", "cic_foster_inhouse_average", y8)
        fifa = _eff(effects, "foster_carers", "cic_foster_ifa_average", y8)
        if fi is not None and fin is not None and fifa is not None and abs(fi["difference"]) >= 0.5:
            said.append(f"Foster carers: by the end of {y8} the model has {fi['difference']:.0f} more in-house carers "
                        f"than the baseline; {fin['difference']:+.0f} children with in-house carers and "
                        f"{fifa['difference']:+.0f} with agencies (IFA) on average. A new carer saves money only when "
                        "a child would otherwise go to an agency or a children's home, that is, when in-house places are full.")
        bb = _eff(effects, "block_beds", "cic_residential_block_average", y8)
        bs = _eff(effects, "block_beds", "cic_residential_spot_average", y8)
        if bb is not None and bs is not None and abs(bb["difference"]) >= 0.05:
            said.append(f"Block beds: {bb['difference']:+.1f} children in block homes and {bs['difference']:+.1f} in spot "
                        f"homes on average in {y8}. The saving is the spot price less the block price for each bed filled.")
        ks = _eff(effects, "kinship_to_sgo", "care_exits_sgo", y8)
        ka = _eff(effects, "kinship_to_sgo", "cost_allowances", y8)
        kp = _eff(effects, "kinship_to_sgo", "cost_placements", y8)
        if ks is not None and ka is not None and kp is not None and abs(ks["difference"]) >= 0.5:
            said.append(f"Kinship to SGO: {ks['difference']:+.0f} SGOs in {y8}; placement costs fall by "
                        f"{money(-kp['difference'])} but allowances rise by {money(ka['difference'])}, so part of "
                        "the kinship allowance continues as an SGO allowance.")
        # levers that run down a stock: early years far above the last
        for sc in [s for s in sset.scenarios if len(s.levers) == 1]:
            measure, sign, words = LEVER_VOLUME.get(sc.levers[0].lever, ("", 1, ""))
            if measure not in ("care_entries", "care_exits_sgo", "care_exits_reunification", "repeat_plans"):
                continue
            e = effects[(effects["scenario"] == sc.name) & (effects["measure"] == measure)].set_index("financial_year")
            e = e.reindex([y for y in years if y in e.index])
            if e.empty or y8 not in e.index:
                continue
            v = sign * e["difference"]
            peak_year = v.idxmax()
            if peak_year != y8 and v.max() > 1.5 * max(v.loc[y8], 1.0):
                said.append(f"{_label(sc.name, sset)}: the volume peaks at {v.max():.0f} {words} in {peak_year}, "
                            f"against {v.loc[y8]:.0f} in {y8}; over {years[0]} to {y8} it adds up to {v.sum():.0f}. "
                            "The lever works through a stock of children it runs down, so a target met in the last "
                            "year means much more in the early years than the council's volume a year.")
        b = _eff(effects, effects["scenario"].iloc[0], "cost_placements", y8)
        n = _eff(effects, effects["scenario"].iloc[0], "cic_average", y8)
        if b is not None and n is not None and n["baseline"] > 0:
            said.append(f"For scale: in the model's baseline a child in care costs on average "
                        f"{money(b['baseline'] / n['baseline'])} a year in placements in {y8} "
                        f"({n['baseline']:.0f} children in care on average, {money(b['baseline'])} placements in all), "
                        "so every child fewer in care for a whole year is worth about that much.")
    # what the target searches say about feasibility
    if intensities is not None and len(intensities) and (intensities["stated_as"] == "target").any():
        t = intensities[intensities["stated_as"] == "target"].drop_duplicates(subset=["lever", "target", "target_value"])
        for _, r in t.iterrows():
            name = LEVER_NAMES.get(r["lever"], r["lever"])
            if isinstance(r.get("note"), str) and r["note"]:
                said.append(f"{name}: the target of {r['target_value']:g} ({r['target'].replace('_', ' ')}) was not "
                            f"reached; the search's best was {r['achieved']:.1f} at {r['mechanism']} = {r['intensity']:.4g}. "
                            "The model cannot deliver this volume through this mechanism alone, so its saving is for "
                            f"the smaller volume ({r['note']}).")
            if str(r["mechanism"]).endswith("_rate_per_year") and r["intensity"] > 1.0:
                said.append(f"{name}: reaching {r['target_value']:g} ({r['target'].replace('_', ' ')}) in "
                            f"{r['financial_year']} needed an extra rate of {r['intensity']:.2f} a year, so an eligible "
                            f"child would leave on this route within about {_months_words(12 / r['intensity'])} on average: "
                            "the pool of eligible children, not the will to act, limits this lever.")
            if r["mechanism"] in ("divert_share", "repeat_plan_reduction", "sgo_share") and r["intensity"] >= 0.99:
                said.append(f"{name}: the search needed {r['mechanism']} at its limit of 1 (every eligible child).")
    said = [s for s in said if s]
    doc.ul(said)
    doc.p("Standing differences of method, which apply whatever the numbers:")
    doc.ul([
        "The council's savings are estimates of unit cost × volume for each lever. The model's come from simulated "
        "children: each child has an age and a placement, capacity binds (in-house foster carers and block beds are "
        "finite; when none is free a child goes to an agency or a spot home), and savings appear only as children "
        "actually move.",
        "Prices in the model are nominal and grow 3.1% a year (the council's medium-term plan), so a saving in a later "
        "year is worth more pounds than the same change in 2022/23.",
        "Leaving care is not the end of cost: SGOs and adoptions carry allowances in the model, so moving a kinship "
        "child to an SGO saves the difference, not the whole placement.",
        "Children take time to leave care. A lever that changes who enters or leaves builds up its effect on the "
        "number in care over years, after its ramp: edge-of-care savings accumulate as children who would have "
        "stayed years in care never enter.",
        "Levers interact: run together they act on the same children, so their total is not the sum of each alone.",
        "Foster carer savings depend on in-house capacity being full; extra block beds save only when a child would "
        "otherwise be placed in a dearer spot home.",
        "This is an independent estimate. No parameter was tuned to match the council's figures; the levers are "
        "set at the council's stated volumes, and the target search only finds the intensity that delivers each volume.",
    ])


def _outcomes(doc, sset, outcomes, summary, years):
    doc.h(2, "Outcomes for children")
    y8 = years[-1]
    if outcomes is None or outcomes.empty:
        doc.p("No outcome measures were produced.")
        return
    o = outcomes[outcomes["financial_year"] == y8]
    present = [x for x in OUTCOMES if x[0] in set(o["measure"])]
    doc.p(f"In {y8}: the baseline's level in the first row, then each scenario's change against the baseline with "
          "its 95% interval. Family-based placements are kinship and foster carers (in-house and agency); changes in the "
          "share are in percentage points.")
    headers = ["Scenario"] + [f"{h} ({u})" for _, h, u, _, _ in present]
    first = o[o["scenario"] == o["scenario"].iloc[0]].set_index("measure") if len(o) else None
    rows = [["Baseline (level)"] + [
        (f"0 (baseline has {num(-first.loc[m, 'baseline'], 'int')} care entries)" if m == "children_kept_out_of_care"
         else num(first.loc[m, "baseline"], how)) for m, _, _, how, _ in present]]
    for sc in sset.scenarios:
        s = o[o["scenario"] == sc.name].set_index("measure")
        if s.empty:
            continue
        rows.append([_label(sc.name, sset)] + [
            f"{signed(s.loc[m, 'difference'], how)} ({signed(s.loc[m, 'low'], how)} to {signed(s.loc[m, 'high'], how)})"
            for m, _, _, how, _ in present])
    doc.table(headers, rows)
    from .business_case import OUTCOME_DEFINITIONS
    doc.p("What the measures count:")
    doc.ul([f"{h}: {OUTCOME_DEFINITIONS[m]}" for m, h, _, _, _ in present if m in OUTCOME_DEFINITIONS])
    if summary is not None and len(summary):
        items = []
        for sc in sset.scenarios:
            m, lo, hi = _paired_total(summary, sc.name, "care_entries", years, sign=-1.0)
            if np.isfinite(m):
                items.append(f"{_label(sc.name, sset)}: {m:,.0f} ({lo:,.0f} to {hi:,.0f})")
        if items:
            doc.p(f"Children kept out of care over {years[0]} to {y8} in all (fewer entries to care than the baseline, "
                  "95% interval):")
            doc.ul(items)


def _assumptions(doc, sset, years, risk=None):
    doc.h(2, "Assumptions and caveats")
    doc.ul([
        "The baseline is a Nottingham-like council built from public figures and stated assumptions "
        "(see the baseline parameter file and docs/model.md); replace it with your own calibration (carepath calibrate).",
        "Costs are placements, social work time and allowances in nominal £ with price growth; overheads, "
        "legal costs and the cost of leaving care after 18 are not counted.",
        ("Intervals and the blue band describe simulation uncertainty (the chance in a given set of parameters); "
         "the draws' ranges and probabilities add the uncertainty in the inputs declared in the scenario file's "
         "`uncertainty` section, and only those." if papers.frame(risk, "draws") is not None or
         papers.frame(risk, "risk") is not None else
         "Intervals describe simulation uncertainty (the chance in a given set of parameters), not uncertainty in "
         "the parameters themselves; the real uncertainty is wider (run with --draws to estimate it)."),
        "With few replications the intervals are wide and themselves uncertain; see the replications needed above.",
        "A lever's effect is the change in the model's mechanism; whether a service can deliver that change is a "
        "judgement the model cannot make.",
        f"Year {len(years)} ({years[-1]}) is the last year simulated: savings that would continue after it are not counted.",
    ])


def _risk(doc, sset, risk, summary_table, all_name, years, writer, out, charts):
    """How likely the case is to pay back, and what drives the risk, from the parameter draws."""
    y8 = years[-1]
    doc.h(2, "Risk: how likely it is to pay back, and what drives it")
    probs, table = papers.frame(risk, "probabilities"), papers.frame(risk, "risk")
    if probs is None and table is None:
        doc.p("**Parameter uncertainty: not estimated.** Every range in this report is simulation noise only (the chance "
              "in which children arrive and what happens to them), with every input (how well each lever is "
              "delivered, price growth, demand growth, calibrated durations) held at its central value. Run "
              "`carepath experiment FILE --draws N` with an `uncertainty` section in the scenario file to draw them: "
              "the chance of a 3:1 return by year 4, the ranges with parameter uncertainty and what drives them "
              "then appear here.")
        return
    n = getattr(risk, "n_draws", None)
    doc.p(f"From {n} draws of the uncertain inputs declared in the scenario file's `uncertainty` section, each run "
          "with the baseline and every scenario sharing the parameters and the random numbers (so each draw gives a "
          "paired saving). The Monte Carlo error beside each chance is its standard error from the number of draws.")
    if probs is not None:
        rows = []
        pay = probs["measure"].astype(str).str.contains("payback")
        for _, r in probs[~pay].iterrows():
            e = float(r.get("mc_error", np.nan))
            rows.append([_label(r["scenario"], sset), papers.probability_words(r["measure"], r["threshold"]),
                         f"{100 * float(r['probability']):.0f}%", f"± {100 * e:.1f} points" if np.isfinite(e) else "n/a"])
        doc.table(["Scenario", "The chance that", "Chance", "Monte Carlo error"], rows)
        if pay.any():
            pb = probs[pay]
            cols = list(dict.fromkeys(pb["threshold"].astype(str)))
            rows = []
            for name, g in pb.groupby("scenario", sort=False):
                g = g.assign(threshold=g["threshold"].astype(str)).set_index("threshold")
                rows.append([_label(name, sset)] + [f"{100 * float(g.loc[c, 'probability']):.0f}%" if c in g.index else ""
                                                    for c in cols])
            doc.p("When the cumulative net saving first turns positive: the share of draws in each financial year "
                  "(each with a Monte Carlo error of at most ± "
                  f"{100 * float(pd.to_numeric(pb['mc_error'], errors='coerce').max()):.1f} points).")
            doc.table(["Scenario"] + cols, rows)
        p = pd.to_numeric(probs["probability"], errors="coerce").clip(0, 1)
        worst = float((p * (1 - p)).max()) if len(p) else 0.0
        if n and worst > 0:
            e_now = 100 * math.sqrt(worst / n)
            # the risk engine's rule where it gives one (RiskResult.draws_for_precision), else the same formula
            rule = getattr(risk, "draws_for_precision", None)
            need = int(rule()) if callable(rule) else int(math.ceil(1.96 ** 2 * worst / 0.05 ** 2))
            doc.p(f"With {n} draws the largest Monte Carlo error (one standard error) is ± {e_now:.1f} points, so "
                  f"a 95% interval of ± {1.96 * e_now:.1f}. For every chance in a committee paper to be known within "
                  f"± 5 points (a 95% interval), use at least **{need} draws** (1.96² × p(1 - p) ÷ 0.05², for the "
                  "chance nearest one half).")
    if table is not None:
        keep = ["year8_gross_saving", "gross_saving_8y", "net_saving_8y", "npv_net_saving", "roi_4y", "roi_8y"]
        words = {"year8_gross_saving": f"Gross saving {y8}", "gross_saving_8y": "Gross saving, all years",
                 "net_saving_8y": "Net saving, all years", "npv_net_saving": "NPV of net saving",
                 "roi_4y": "ROI over 4 years", "roi_8y": f"ROI over {len(years)} years"}
        rows = []
        for _, r in table[table["measure"].isin(keep)].iterrows():
            f = ratio if str(r["measure"]).startswith("roi") else money
            rows.append([_label(r["scenario"], sset), words[r["measure"]], f(r["mean"]), f(r["p05"]), f(r["p50"]),
                         f(r["p95"])])
        if rows:
            doc.table(["Scenario", "Measure", "Mean", "5%", "Median", "95%"], rows,
                      note="Over the draws: 5% of draws fall below the 5% point and 5% above the 95% point. "
                           "`business_case_risk.csv` also has the cumulative net saving by year.")
    drivers = papers.drivers_for(risk, all_name)
    if drivers is not None and len(drivers):
        label = _label(all_name, sset).lower() if all_name else ""
        p = writer.figure(papers.chart_tornado(drivers, y8, label), out / "chart_uncertainty_drivers.png")
        charts.append((p, "the share of the variance of the last year's saving each uncertain input explains"))
        doc.fig(p, "What drives the uncertainty", f"What drives the uncertainty in the {y8} saving of {label}: the "
                "share of its variance across the draws that each uncertain input explains (`uncertainty_drivers.csv`).")
    doc.ul(papers.risk_sentences(risk, all_name, _label(all_name, sset).lower() if all_name else "", y8, summary_table))


def _envelope(doc, sset, envelope, years):
    """Each lever's back-of-envelope check beside the model's saving (experiments/envelope.py)."""
    if envelope is None or not len(envelope):
        return
    y8 = years[-1]
    doc.h(2, "A back-of-envelope check of each lever")
    doc.p(f"The way a council's business case costs a lever: the number of children it moves (children fewer in care, "
          f"on plans, or with in-house rather than agency carers) times what each costs a year, from this run's own "
          f"{y8} figures (the baseline's average placement cost per child in care; the parameters' weekly prices and "
          f"social work costs at {y8} prices). Set beside the model's gross saving; where the gap is more than a "
          f"quarter of it, the reason the simulation gives (from the costs it moves that the envelope leaves out). "
          "Written to `back_of_envelope.csv`.")
    rows = []
    for _, r in envelope.iterrows():
        gap = f"{money(r['gap'])} ({100 * r['gap_share']:+.0f}%)" if np.isfinite(r["gap"]) else "n/a"
        rows.append([_label(r["scenario"], sset), r["working"], money(r["envelope_saving"]),
                     money(r["model_gross_saving"]), gap, r["reason"] or ("within a quarter" if r["working"] else "")])
    doc.table(["Lever", f"Back of the envelope, {y8}", "Envelope", "Model's gross saving", "Gap (model minus envelope)",
               "Why, where the gap is large"], rows)


def _sources(doc, sset, scenario_path):
    """Where the figures come from, readable from the repository or described in words."""
    doc.h(2, "Sources")
    base = Path(sset.baseline)
    items = [f"**The council paper**: {COUNCIL_PAPER}. Its figures as used here (the eight levers' target volumes and "
             "savings, the benefit profile of its Table 1, the investment, the medium-term financial plan's price and "
             "demand growth) are written out with their place in the paper in the scenario file "
             f"(`{Path(scenario_path).name}`, its `council`, `investments` and `assumptions` sections) and in "
             "docs/business_case.md.",
             f"**The baseline**: the parameter file `{base.name}` (in the shipped package, experiments/baseline.yaml) "
             "names the source of every value beside it: the council paper, a published England statistic (DfE: "
             "children in need, children looked after, the children's social work workforce), or \"assumption\". "
             "docs/model.md (section 3) lists them.",
             "**Running costs of the levers**: the scenario file's `running_costs` section, each with its own source "
             "or labelled an assumption.",
             "**Everything else** (volumes, costs, intervals, the back-of-envelope checks) is computed by this run "
             "from the files listed below."]
    doc.ul(items)


RISK_FILES = [
    ("business_case_risk.csv", "per scenario and measure: mean, 5%, 50% and 95% points over the parameter draws"),
    ("business_case_probabilities.csv", "per scenario: the chance of each threshold (ROI 3:1 over 4 years and more), "
                                        "with its Monte Carlo error"),
    ("uncertainty_drivers.csv", "the share of the variance of the last year's saving each uncertain input explains"),
    ("business_case_draws.csv", "per draw, scenario and financial year: gross, net and cumulative net saving"),
]
PAPER_FILES = [
    ("summary.html", "the business case on one A4 page for a committee (prints as one page)"),
    ("business_case.xlsx", "the tables as a workbook, financial years as columns, £ to the nearest thousand, and "
                           "a sheet saying what was run"),
    ("headline_flags.csv", "per scenario and lever: a target not reached, not sustainable, at its bound, or a saving "
                           "measured too imprecisely, with the reason"),
    ("lever_volumes_by_year.csv", "each target lever's volume by financial year with its 95% interval"),
]


def _files(doc, out: Path, charts: list[tuple[Path, str]], risk=None, envelope=None):
    doc.h(2, "Files in this folder")
    items = [f"`{n}`: {what}" for n, what in FILES + PAPER_FILES]
    if envelope is not None:
        items.append("`back_of_envelope.csv`: each lever's back-of-envelope check (stock × unit cost) beside the "
                     "model's saving, the gap and its reason")
    if risk is not None:
        items += [f"`{n}`: {what}" for n, what in RISK_FILES]
    items += [f"`{p.name}`: chart, {what}" for p, what in charts]
    doc.ul(items)
    doc.p("docs/business_case.md explains every column and how to write your own scenario file.")


# ---------------------------------------------------------------------------------------- entry
def write_report(out: Path, sset, scenario_path, *, summary, stocks, profile, summary_table, effects, outcomes,
                 comparison, interaction, intensities, years, seed: Optional[int] = None,
                 params_hash: Optional[str] = None, writer, flags=None, volumes=None,
                 deflator: Optional[float] = None, risk=None, envelope: Optional[pd.DataFrame] = None) -> list[Path]:
    """Write the charts, report.md, report.html and the one-page summary.html into `out` with
    `writer` (the application's: `figure(fig, path)` and `text(text, path)`); return the paths
    written. `risk`: the parameter draws' result (`carepath experiment --draws N`: attributes
    `risk, probabilities, drivers, draws, inputs, n_draws`) or None (simulation noise only, said
    so); `envelope`: the back-of-envelope checks (experiments/envelope.py) or None."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if seed is None:
        seed = sset.seed
    if params_hash is None:
        params_hash = _params_hash(sset, scenario_path)
    all_name = _all_levers_name(sset, profile)
    y8 = years[-1]
    written: list[Path] = []
    charts: list[tuple[Path, str]] = []

    doc = Doc()
    doc.h(1, f"Business case: {sset.name}")
    real_words = (f" Real terms are at {years[0]} prices: each year's £ divided by (1 + {100 * deflator:.1f}%) for "
                  "each year after the first (the set's `assumptions.deflator_per_year`, else the baseline's general "
                  "price growth)." if deflator is not None else "")
    doc.p(f"Made by carepath on {dt.date.today():%d %B %Y} from a simulation of children's social care. "
          f"Money is in £ (m = million, k = thousand), by financial year (April to March), nominal unless "
          f"marked real.{real_words}")

    # headline first: what a committee reads
    _headline(doc, sset, summary_table, all_name, years, flags, profile)

    if all_name is not None:
        p = writer.figure(chart_roi_profile(profile, sset, all_name, years, summary=summary, risk=risk),
                          out / "chart_roi_profile.png")
        charts.append((p, "gross and net saving by financial year beside the council's Table 1"))
        bands = ("two shaded bands: the range holding 90% of replications (simulation noise alone, blue) and the "
                 f"range holding 90% of the {getattr(risk, 'n_draws', '')} parameter draws (noise plus uncertainty in "
                 "the inputs, orange)" if papers.frame(risk, "draws") is not None else
                 "the range holding 90% of replications shaded (simulation noise alone; parameter uncertainty was "
                 "not estimated: run with --draws)")
        doc.fig(p, "Savings by financial year",
                f"Savings by financial year for {_label(all_name, sset).lower()}: the model's mean gross saving with "
                f"{bands}, the model's net saving, the investment, and the council's Table 1.")
    else:
        doc.p("There is no all-levers scenario in this set, so the savings profile chart is left out.")

    _risk(doc, sset, risk, summary_table, all_name, years, writer, out, charts)

    _what_was_run(doc, sset, scenario_path, summary_table, intensities, seed, params_hash, years)
    _volumes_by_year(doc, sset, volumes, years)

    doc.h(2, "Charts")
    if stocks is not None and len(stocks) and (stocks["measure"] == "care").any():
        p = writer.figure(chart_fan(stocks, sset), out / "chart_children_in_care.png")
        charts.append((p, "children in care per scenario, month by month, with 95% bands"))
        doc.fig(p, "Children in care per scenario",
                "Children in care at each month end, per scenario (blue: mean; shaded: the range holding 95% of "
                "replications) with the baseline's mean in grey.")
    if all_name is not None and stocks is not None and len(stocks):
        p = writer.figure(chart_placement_mix(stocks, sset, all_name), out / "chart_placement_mix.png")
        charts.append((p, "placement mix over time, baseline and all levers"))
        doc.fig(p, "Placement mix over time",
                f"Children in care by placement group at each month end: baseline, {_label(all_name, sset).lower()}, "
                "and the difference between them.")
    singles = _singles(sset)
    if singles:
        p = writer.figure(chart_waterfall(profile, sset, all_name, y8), out / "chart_waterfall.png")
        charts.append((p, f"waterfall of {y8} gross savings by lever"))
        doc.fig(p, "Waterfall of savings by lever",
                f"Gross saving in {y8} from each lever run alone (green; black bars are 95% intervals), their sum, and "
                "all levers run together; orange ticks mark the council's cumulative figures.")
    else:
        doc.p("No scenario has a single lever, so there is no waterfall by lever.")
    doc.h(3, "Interaction between levers")
    if interaction is not None and len(interaction):
        p = writer.figure(chart_interaction(interaction), out / "chart_interaction.png")
        charts.append((p, "all levers together against the sum of each alone, by year"))
        doc.fig(p, "Interaction between levers", "Gross saving of each lever alone summed, and of all levers together, "
                "by financial year; the line is the difference.")
        doc.table(["Financial year", "Sum of each lever alone", "All levers together", "Interaction"],
                  [[r["financial_year"], money(r["sum_of_levers_alone"]), money(r["all_levers_together"]),
                    money(r["interaction"])] for _, r in interaction.iterrows()])
    else:
        doc.p("There is no all-levers scenario in this set, so the interaction between levers is not measured.")

    _comparison(doc, sset, comparison, profile, summary, effects, summary_table, interaction, intensities, all_name, years)
    if comparison is not None and len(comparison) and (comparison["kind"] == "lever").any():
        p = writer.figure(chart_lever_comparison(comparison, sset), out / "chart_lever_comparison.png")
        charts.append((p, "each lever's saving, council and model"))
        # place the figure right after the lever table
        idx = next(i for i, b in enumerate(doc.blocks) if b[0] == "h" and b[2] == "Each lever at full benefit") + 2
        doc.blocks.insert(idx, ("fig", p, "Each lever, council and model",
                                f"Each lever alone: the council's £ a year at full benefit and the model's {y8} gross "
                                "saving with its 95% interval."))

    _envelope(doc, sset, envelope, years)
    _outcomes(doc, sset, outcomes, summary, years)
    _assumptions(doc, sset, years, risk)
    _sources(doc, sset, scenario_path)
    _files(doc, out, charts, risk, envelope)

    written += [p for p, _ in charts]
    written.append(writer.text(to_markdown(doc), out / "report.md"))
    written.append(writer.text(to_html(doc, f"Business case: {sset.name}"), out / "report.html"))
    page = summary_page(sset, scenario_path, summary_table=summary_table, profile=profile, summary=summary,
                        flags=flags, years=years, all_name=all_name, risk=risk, seed=seed, params_hash=params_hash)
    written.append(writer.text(page, out / "summary.html"))
    return written


def summary_page(sset, scenario_path, *, summary_table, profile, summary, flags, years, all_name, risk=None,
                 seed=None, params_hash: str = "") -> str:
    """The one-page committee summary (experiments/papers.py) as finished HTML."""
    small = chart_roi_profile(profile, sset, all_name, years, summary=summary, risk=risk, size=(9.2, 3.0),
                              title=" ") if all_name is not None else None
    png = _png_bytes(small) if small is not None else None
    reps = int(summary_table["replications"].iloc[0]) if len(summary_table) else None
    page = papers.summary_html(sset=sset, scenario_path=scenario_path, summary_table=summary_table, profile=profile,
                               summary=summary, flags=flags, years=years, all_name=all_name,
                               label=lambda n: _label(n, sset), lever_label=lever_label, chart_png=png, risk=risk,
                               seed=seed if seed is not None else sset.seed, params_hash=params_hash,
                               replications=reps)
    return readable_html(page)


def readable_html(page: str) -> str:
    """The council paper's number in words in a finished page (text only, not the inline images)."""
    def words(m) -> str:   # only text that names the paper changes (styles and the rest stay as written)
        text = html.unescape(m.group(1))
        new = readable(text)
        return m.group(0) if new == text else ">" + html.escape(new, quote=False) + "<"
    return re.sub(r">([^<]+)<", words, page)


def _png_bytes(fig) -> bytes:
    import io
    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=150, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()


def _params_hash(sset, scenario_path) -> str:
    try:
        from sim.params import load_params
        p = Path(sset.baseline)
        if not p.is_absolute():
            p = Path(scenario_path).parent / p
        return load_params(p).digest()
    except Exception:  # the report must not fail for want of a hash
        return "unknown"
