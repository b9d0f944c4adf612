"""What the app shows of a finished run, read from the files `carepath experiment` wrote (only
aggregate tables: the experiment writes no child-level records), and the comparisons between
runs. Charts are Plotly figures (hover values, series switched on and off from the legend).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from experiments.intervals import mean_ci
from experiments.report import MIX_GROUPS, OUTCOMES, lever_label
from experiments.report import money as report_money
from experiments.report import num as report_num
from sim.levers import CATALOGUE

BASELINE = "baseline"
COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#843c0c", "#375623")
# files the app explains when a run holds them (others are listed by name)
FILE_WORDS = {
    "summary.html": "the committee's one-page summary (prints on one A4 page)",
    "business_case.xlsx": "the business case workbook (one sheet a table)",
    "report.html": "the full report, one web page with its charts",
    "report.md": "the full report as Markdown",
    "roi_profile.csv": "savings, investment and net saving by scenario and financial year (£)",
    "business_case_summary.csv": "the headline table: savings, investment, return on investment, flags",
    "lever_effects.csv": "the volumes the levers move, by financial year",
    "outcomes.csv": "outcomes for children, by financial year",
    "summary_by_scenario.csv": "every measure, by scenario, replication and financial year",
    "stocks_by_scenario_month.csv": "children at each stage and placement at each month end",
    "lever_intensities.csv": "each lever's intensity (for a target: what the search found)",
    "headline_flags.csv": "the flags on the headline and why",
    "business_case_risk.csv": "with parameter uncertainty: each result's mean and 5%-95% range over the draws",
    "business_case_probabilities.csv": "with parameter uncertainty: the chance of each threshold",
    "uncertainty_drivers.csv": "with parameter uncertainty: what drives the risk",
    "manifest.json": "what made the outputs (parameters, seed, replications, code version)",
}
FRONT_DOOR = [
    ("contacts", "Contacts"), ("referrals", "Referrals"), ("assessments", "Assessments"),
    ("s47_enquiries", "Section 47 enquiries"), ("cin_plan_starts", "CIN plans started"),
    ("cp_plan_starts", "CP plans started"), ("cin_at_year_end", "Children on CIN plans at year end"),
    ("cp_at_year_end", "Children on CP plans at year end"), ("care_entries", "Entries into care"),
    ("cic_at_year_end", "Children in care at year end"),
]


def money(x, dp: int = 2) -> str:
    """The report's £ format (£11.24m, £640k), with a dash for a missing value."""
    return "–" if x is None or not np.isfinite(x) else report_money(x, dp)


def num(x, how: str = "1dp") -> str:
    return "–" if x is None or not np.isfinite(x) else report_num(x, how)


def scenario_label(name: str) -> str:
    return "Baseline" if name == BASELINE else name


@dataclass
class Run:
    """A finished run's folder, read."""

    folder: Path
    manifest: dict
    tables: dict = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> Optional["Run"]:
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(folder, manifest)

    @property
    def files(self) -> list[str]:
        """The files the run may serve: those its manifest lists, never one it marks as child-level."""
        child = set(self.manifest.get("child_level_files") or [])
        return [f for f in self.manifest.get("files", []) if f not in child and (self.folder / f).is_file()]

    def table(self, name: str) -> Optional[pd.DataFrame]:
        if name not in self.tables:
            p = self.folder / name
            self.tables[name] = pd.read_csv(p) if name in self.files else None
        return self.tables[name]

    @property
    def scenarios(self) -> list[str]:
        return list(self.manifest.get("scenarios", []))

    @property
    def years(self) -> list[str]:
        p = self.table("roi_profile.csv")
        return sorted(p["financial_year"].unique()) if p is not None else []

    @property
    def last_year(self) -> str:
        return self.years[-1] if self.years else ""


# ------------------------------------------------------------------------------ tables
def headline(run: Run) -> list[dict]:
    """The headline table's rows: per scenario, the saving in the last year and over the years,
    investment, running cost, net saving, return on investment, and the flags."""
    s = run.table("business_case_summary.csv")
    if s is None:
        return []
    rows = []
    for _, r in s.iterrows():
        rows.append({
            "scenario": r["scenario"],
            "year_saving": r["year8_gross_saving"], "year_low": r["year8_gross_saving_low"],
            "year_high": r["year8_gross_saving_high"],
            "total": r["gross_saving_8y"], "total_low": r["gross_saving_8y_low"], "total_high": r["gross_saving_8y_high"],
            "investment": r["investment_8y"], "running_cost": r.get("running_cost_8y", np.nan),
            "net": r["net_saving_8y"], "roi": r["roi_8y"], "replications": int(r["replications"]),
            "flags": "" if pd.isna(r.get("flags")) else str(r.get("flags")),
            "years": f"{r['first_year']} to {r['last_year']}",
        })
    return rows


def flag_reasons(run: Run) -> list[dict]:
    f = run.table("headline_flags.csv")
    if f is None:
        return []
    def text(v) -> str:
        return "" if pd.isna(v) else str(v)

    return [{"scenario": text(r["scenario"]), "lever": lever_label(text(r["lever"])) if text(r["lever"]) else "",
             "flag": text(r["flag"]), "reason": text(r["reason"])} for _, r in f.iterrows()]


def lever_rows(run: Run) -> list[dict]:
    """Each lever of each scenario with the intensity it ran at (a target's: found by the search)."""
    t = run.table("lever_intensities.csv")
    if t is None:
        return []
    rows = []
    for _, r in t.iterrows():
        spec = CATALOGUE.get(r["lever"])
        unit = spec.key(r["mechanism"]).unit if spec and r["mechanism"] in {k.name for k in spec.keys} else ""
        target = "" if pd.isna(r.get("target")) or not r.get("target") else (
            f"{r['target_value']:g} ({str(r['target']).replace('_', ' ')}); achieved {r['achieved']:.1f} "
            f"({r['achieved_low']:.1f} to {r['achieved_high']:.1f})")
        rows.append({"scenario": r["scenario"], "lever": lever_label(r["lever"]),
                     "mechanism": str(r["mechanism"]).replace("_", " "), "intensity": f"{r['intensity']:.4g} {unit}".strip(),
                     "target": target, "note": "" if pd.isna(r.get("note")) else r["note"]})
    return rows


def outcomes_rows(run: Run, scenario: str) -> list[dict]:
    o = run.table("outcomes.csv")
    if o is None:
        return []
    o = o[(o["scenario"] == scenario) & (o["financial_year"] == run.last_year)].set_index("measure")
    rows = []
    for measure, heading, unit, how, more_better in OUTCOMES:
        if measure not in o.index:
            continue
        r = o.loc[measure]
        d = r["difference"]
        better = (d > 0) == more_better if abs(d) > 1e-12 else None
        counted = measure != "children_kept_out_of_care"  # a difference only: its levels are minus the entries
        rows.append({"heading": heading, "unit": unit, "baseline": num(r["baseline"], how) if counted else "",
                     "scenario": num(r["scenario_value"], how) if counted else "", "difference": num(d, how),
                     "interval": f"{num(r['low'], how)} to {num(r['high'], how)}",
                     "better": better})
    return rows


def front_door_rows(run: Run, scenario: str) -> list[dict]:
    s = run.table("summary_by_scenario.csv")
    if s is None:
        return []
    s = s[s["financial_year"] == run.last_year]
    rows = []
    for measure, words in FRONT_DOOR:
        b = s[(s["scenario"] == BASELINE) & (s["measure"] == measure)].set_index("replication")["value"]
        x = s[(s["scenario"] == scenario) & (s["measure"] == measure)].set_index("replication")["value"]
        both = pd.DataFrame({"b": b, "x": x}).dropna()
        if both.empty:
            continue
        d, lo, hi = mean_ci((both["x"] - both["b"]).to_numpy())
        rows.append({"heading": words, "baseline": num(both["b"].mean(), "int"), "scenario": num(both["x"].mean(), "int"),
                     "difference": num(d, "1dp"), "interval": f"{num(lo, '1dp')} to {num(hi, '1dp')}"})
    return rows


def attribution(run: Run, scenario: str) -> Optional[dict]:
    """Each lever alone against the scenario's levers together in the last year (when the run
    holds the levers alone): {'rows': [(label, saving, low, high)], 'together', 'interaction'}."""
    p = run.table("roi_profile.csv")
    if p is None:
        return None
    p = p[p["financial_year"] == run.last_year].set_index("scenario")
    prefix = f"{scenario} ["
    alone = [n for n in run.scenarios if n.startswith(prefix) and n.endswith(" alone]")]
    if not alone or scenario not in p.index:
        return None
    rows = [(n[len(prefix):-len(" alone]")], float(p.loc[n, "gross_saving"]), float(p.loc[n, "gross_saving_low"]),
             float(p.loc[n, "gross_saving_high"])) for n in alone]
    together = float(p.loc[scenario, "gross_saving"])
    return {"rows": rows, "together": together, "interaction": together - sum(r[1] for r in rows)}


def risk_tables(run: Run) -> list[tuple[str, str, pd.DataFrame]]:
    """Parameter uncertainty's tables, when the run had draws: (file, words, table)."""
    out = []
    for name in ("business_case_risk.csv", "business_case_probabilities.csv", "uncertainty_drivers.csv"):
        t = run.table(name)
        if t is not None:
            out.append((name, FILE_WORDS[name], t))
    return out


# ------------------------------------------------------------------------------ charts
def _layout(fig: go.Figure, title: str, y: str, x: str = "Financial year (April to March)") -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=15)), template="plotly_white", height=380,
                      margin=dict(l=60, r=20, t=50, b=40), yaxis_title=y, xaxis_title=x,
                      legend=dict(orientation="h", yanchor="top", y=-0.22, x=0), hovermode="x unified")
    fig.update_layout(height=380 + 22 * max(0, (len([t for t in fig.data if t.showlegend is not False]) - 1) // 3))
    return fig


def _band(fig: go.Figure, x, mid, lo, hi, name: str, colour: str, dash: str = "solid") -> None:
    fig.add_trace(go.Scatter(x=list(x) + list(x)[::-1], y=list(hi) + list(lo)[::-1], fill="toself", mode="lines", line=dict(width=0),
                             fillcolor=_rgba(colour, 0.18), hoverinfo="skip", showlegend=False, legendgroup=name))
    fig.add_trace(go.Scatter(x=list(x), y=list(mid), name=name, legendgroup=name, mode="lines+markers",
                             line=dict(color=colour, dash=dash, width=2.4),
                             customdata=np.column_stack([lo, hi]),
                             hovertemplate="%{y:,.0f} (95% interval %{customdata[0]:,.0f} to %{customdata[1]:,.0f})"))


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def savings_figure(items: list[tuple[str, pd.DataFrame]], title: str) -> Optional[go.Figure]:
    """Gross saving by financial year with its 95% interval, one line per (label, roi_profile rows)."""
    if not items:
        return None
    fig = go.Figure()
    for i, (label, p) in enumerate(items):
        p = p.sort_values("financial_year")
        _band(fig, p["financial_year"], p["gross_saving"], p["gross_saving_low"], p["gross_saving_high"], label,
              COLOURS[i % len(COLOURS)])
    fig.add_hline(y=0, line=dict(color="#999", width=1))
    return _layout(fig, title, "£ a year (nominal), against the baseline")


def run_savings_figure(run: Run, scenarios: list[str]) -> Optional[go.Figure]:
    p = run.table("roi_profile.csv")
    if p is None:
        return None
    items = [(n, p[p["scenario"] == n]) for n in scenarios if (p["scenario"] == n).any()]
    fig = savings_figure(items, "Gross saving by financial year, with 95% intervals (simulation noise)")
    risk = run.table("business_case_risk.csv")
    if fig is not None and risk is not None:  # with draws: the cumulative net saving's 5%-95% range too
        _risk_band(fig, risk, scenarios)
    return fig


def _risk_band(fig: go.Figure, risk: pd.DataFrame, scenarios: list[str]) -> None:
    """Where the risk table gives a measure by financial year (its name ending in a year like
    2029/30), its 5%-95% range as a dotted band."""
    for i, name in enumerate(scenarios):
        r = risk[(risk["scenario"] == name) & risk["measure"].astype(str).str.match(r"^gross_saving_\d{4}/\d{2}$")]
        if r.empty:
            continue
        years = r["measure"].str[-7:]
        fig.add_trace(go.Scatter(x=list(years), y=list(r["p95"]), mode="lines", line=dict(dash="dot", color=COLOURS[i % len(COLOURS)]),
                                 name=f"{name}: 5%-95% with parameter uncertainty", legendgroup=f"risk{i}"))
        fig.add_trace(go.Scatter(x=list(years), y=list(r["p05"]), mode="lines", line=dict(dash="dot", color=COLOURS[i % len(COLOURS)]),
                                 showlegend=False, legendgroup=f"risk{i}"))


def placement_figure(run: Run, scenario: str) -> Optional[go.Figure]:
    """Children in care by placement type at each month end (mean over replications): the
    scenario stacked, the baseline's total as a dashed line."""
    st = run.table("stocks_by_scenario_month.csv")
    if st is None:
        return None
    st = st[st["measure"].astype(str).str.startswith("care_")]

    def groups(name: str) -> pd.DataFrame:
        s = st[st["scenario"] == name]
        mean = s.groupby(["month", "measure"])["value"].mean().unstack("measure")
        out = pd.DataFrame(index=mean.index)
        for label, types, _ in MIX_GROUPS:
            cols = [f"care_{t}" for t in types if f"care_{t}" in mean.columns]
            out[label] = mean[cols].fillna(0.0).sum(axis=1) if cols else 0.0
        return out

    scen, base = groups(scenario), groups(BASELINE)
    if scen.empty:
        return None
    fig = go.Figure()
    for label, _, colour in MIX_GROUPS:
        if scen[label].abs().sum() == 0:
            continue
        fig.add_trace(go.Scatter(x=list(scen.index), y=list(scen[label]), name=label, stackgroup="care",
                                 line=dict(width=0.5, color=colour), hovertemplate="%{y:.0f}"))
    fig.add_trace(go.Scatter(x=list(base.index), y=list(base.sum(axis=1)), name="Baseline: all children in care",
                             line=dict(color="#222", dash="dash", width=2), hovertemplate="%{y:.0f}"))
    return _layout(fig, f"Children in care by placement type: {scenario_label(scenario)}", "children in care (month end)",
                   "Month")


def attribution_figure(att: dict, year: str) -> go.Figure:
    labels = [r[0] for r in att["rows"]] + ["Together, beyond the sum (interaction)", "All levers together"]
    values = [r[1] for r in att["rows"]] + [att["interaction"], att["together"]]
    measure = ["relative"] * (len(att["rows"]) + 1) + ["total"]
    fig = go.Figure(go.Waterfall(x=labels, y=values, measure=measure, text=[money(v) for v in values],
                                 textposition="outside", connector=dict(line=dict(color="#bbb")),
                                 increasing=dict(marker=dict(color="#548235")), decreasing=dict(marker=dict(color="#c00000")),
                                 totals=dict(marker=dict(color="#1f4e79"))))
    return _layout(fig, f"Saving in {year} by lever: each alone, and together", "£ in the year", "")


def front_door_figure(run: Run, scenario: str) -> Optional[go.Figure]:
    s = run.table("summary_by_scenario.csv")
    if s is None:
        return None
    fig = go.Figure()
    for i, (measure, words) in enumerate([("cin_at_year_end", "CIN plans"), ("cp_at_year_end", "CP plans"),
                                          ("cic_at_year_end", "Children in care")]):
        for name, dash in ((BASELINE, "dash"), (scenario, "solid")):
            m = s[(s["scenario"] == name) & (s["measure"] == measure)].groupby("financial_year")["value"].mean()
            if m.empty:
                continue
            fig.add_trace(go.Scatter(x=list(m.index), y=list(m.values), name=f"{words}: {scenario_label(name)}",
                                     line=dict(color=COLOURS[i], dash=dash, width=2), hovertemplate="%{y:.0f}"))
    return _layout(fig, "Children on plans and in care at each year end (31 March)", "children")


def figure_json(fig: Optional[go.Figure]) -> Optional[str]:
    """The figure as JSON safe inside a <script> element (no '<' to close it early)."""
    return None if fig is None else fig.to_json().replace("<", "\\u003c")


# ------------------------------------------------------------------------------ compare
@dataclass
class Item:
    """One scenario (or a baseline) of one run, to compare."""

    run_id: int
    run_title: str
    scenario: str
    run: Run

    @property
    def label(self) -> str:
        if self.run_title == self.scenario:
            return f"{self.scenario} (run {self.run_id})"
        return f"{scenario_label(self.scenario)} (run {self.run_id}: {self.run_title})"


def _per_replication(item: Item, year: str) -> dict[str, pd.Series]:
    """Per replication in `year`: the saving against its baseline, total cost, children in care."""
    s = item.run.table("summary_by_scenario.csv")
    s = s[s["financial_year"] == year]

    def series(name: str, measure: str) -> pd.Series:
        return s[(s["scenario"] == name) & (s["measure"] == measure)].set_index("replication")["value"]

    cost, base = series(item.scenario, "cost_total"), series(BASELINE, "cost_total")
    return {"saving": (base - cost).dropna(), "cost": cost, "cic": series(item.scenario, "cic_at_year_end")}


COMPARED = [("saving", "Gross saving against its baseline", "money"), ("cost", "Total cost of children's social care", "money"),
            ("cic", "Children in care at year end", "1dp")]


def paired(a: Item, b: Item) -> bool:
    """Replication r of both drew from the same named random streams (the same seed): the pairs
    are independent of each other across replications, so the paired interval holds, and it is
    narrow where the two share most of what happens to children (common random numbers, as a
    scenario and its baseline do). Different seeds: independent runs."""
    sa, sb = a.run.manifest.get("seed"), b.run.manifest.get("seed")
    return sa is not None and sa == sb


def compare(items: list[Item]) -> dict:
    """Side by side in the financial year all items share last, each against the first: the
    difference and its 95% interval (paired by replication where the runs share their random
    numbers, else Welch's interval for independent runs)."""
    from scipy import stats

    years = sorted(set.intersection(*[set(i.run.years) for i in items])) if items else []
    if not years:
        return {"year": "", "rows": [], "note": "the runs share no financial year"}
    year = years[-1]
    per = [_per_replication(i, year) for i in items]
    rows = []
    for key, words, how in COMPARED:
        fmt = money if how == "money" else (lambda v, how=how: num(v, how))
        cells = []
        for j, (item, p) in enumerate(zip(items, per)):
            m, lo, hi = mean_ci(p[key].to_numpy())
            cell = {"value": fmt(m), "interval": f"{fmt(lo)} to {fmt(hi)}", "difference": "", "method": ""}
            if j > 0:
                a, b = per[0][key], p[key]
                if paired(items[0], item):
                    both = pd.DataFrame({"a": a, "b": b}).dropna()
                    d, dlo, dhi = mean_ci((both["b"] - both["a"]).to_numpy())
                    cell["method"] = "paired by replication"
                else:
                    d = float(b.mean() - a.mean())
                    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
                    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else 1
                    h = float(stats.t.ppf(0.975, dof) * np.sqrt(va + vb))
                    dlo, dhi = d - h, d + h
                    cell["method"] = "independent runs"
                cell["difference"] = f"{fmt(d)} ({fmt(dlo)} to {fmt(dhi)})"
            cells.append(cell)
        rows.append({"words": words, "cells": cells})
    return {"year": year, "rows": rows, "note": ""}


def compare_figure(items: list[Item]) -> Optional[go.Figure]:
    series = []
    for it in items:
        p = it.run.table("roi_profile.csv")
        if p is not None and it.scenario != BASELINE:
            series.append((it.label, p[p["scenario"] == it.scenario]))
    return savings_figure(series, "Gross saving by financial year, with 95% intervals")


# ------------------------------------------------------------------------------ workbook
WORKBOOK_SHEETS = [("Headline", "business_case_summary.csv"), ("Savings by year", "roi_profile.csv"),
                   ("Flags", "headline_flags.csv"), ("Levers", "lever_intensities.csv"),
                   ("Lever effects", "lever_effects.csv"), ("Outcomes", "outcomes.csv"),
                   ("Risk", "business_case_risk.csv"), ("Probabilities", "business_case_probabilities.csv"),
                   ("Risk drivers", "uncertainty_drivers.csv")]


def write_workbook(run: Run, path: Path) -> Path:
    """A workbook of the run's tables, one sheet each (for a run whose experiment wrote none)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    about = wb.active
    about.title = "About"
    m = run.manifest
    for row in (["What was run", "carepath experiment (made into a workbook by carepath app)"],
                ["Scenarios", ", ".join(run.scenarios)], ["Replications", m.get("replications")],
                ["Seed", m.get("seed")], ["Parameters' hash", m.get("params_hash")],
                ["Code version", m.get("code_version")], ["Created", m.get("created")],
                ["Money", "£, nominal (prices of each year)"]):
        about.append(row)
    about["A1"].font = Font(bold=True)
    for title, name in WORKBOOK_SHEETS:
        t = run.table(name)
        if t is None:
            continue
        ws = wb.create_sheet(title)
        ws.append(list(t.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for rec in t.itertuples(index=False):
            ws.append([None if (isinstance(v, float) and not np.isfinite(v)) else (v.item() if hasattr(v, "item") else v)
                       for v in rec])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    return path
