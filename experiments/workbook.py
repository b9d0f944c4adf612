"""`business_case.xlsx`: the business case's tables as a workbook a finance team can work in: one
sheet per table, financial years as columns, £ rounded to the nearest thousand (shown with a £
format; the CSVs keep full precision), and a sheet "What was run" with the manifest in words.
Written with openpyxl (a maintained library, read by Excel and LibreOffice). Pure: builds the
workbook from the experiment's frames; the application writes it (carepath/outputs.py).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .papers import frame, probability_words

MONEY = '"£"#,##0;-"£"#,##0'
RATIO = '0.0"x"'
SHARE = "0%"
HEAD = PatternFill("solid", fgColor="EEF3F8")

# roi_profile.csv's money columns, in words, in the order of the sheet's rows per scenario
PROFILE_ROWS = [
    ("baseline_cost", "Baseline cost"), ("scenario_cost", "Scenario cost"), ("gross_saving", "Gross saving"),
    ("gross_saving_low", "Gross saving, 95% interval low"), ("gross_saving_high", "Gross saving, 95% interval high"),
    ("investment", "Investment"), ("running_cost", "Running costs"), ("net_saving", "Net saving"),
    ("cumulative_net_saving", "Cumulative net saving"), ("gross_saving_real", "Gross saving, real terms"),
    ("net_saving_real", "Net saving, real terms"),
]
SUMMARY_COLUMNS = [
    ("year8_gross_saving", "Gross saving, last year", MONEY), ("year8_gross_saving_low", "its 95% interval, low", MONEY),
    ("year8_gross_saving_high", "its 95% interval, high", MONEY), ("year8_net_saving", "Net saving, last year", MONEY),
    ("gross_saving_4y", "Gross saving, first 4 years", MONEY), ("gross_saving_8y", "Gross saving, all years", MONEY),
    ("investment_4y", "Investment, first 4 years", MONEY), ("investment_8y", "Investment, all years", MONEY),
    ("running_cost_8y", "Running costs, all years", MONEY), ("net_saving_8y", "Net saving, all years", MONEY),
    ("roi_4y", "Return on investment, 4 years", RATIO), ("roi_8y", "Return on investment, all years", RATIO),
    ("npv_net_saving", "NPV of net saving", MONEY), ("replications", "Replications", "0"),
    ("replications_for_10pct_precision", "Replications for ±10%", "0"), ("flags", "Flags", None),
]


def thousand(x) -> Optional[float]:
    """£ to the nearest thousand; None (an empty cell) for a missing value."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return float(np.round(v / 1000.0) * 1000.0) if np.isfinite(v) else None


def _value(x, fmt):
    if fmt == MONEY:
        return thousand(x)
    if isinstance(x, (float, np.floating)) and not np.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return x.item()
    return x if x is None or isinstance(x, (int, float, str)) else str(x)


def _sheet(wb: Workbook, title: str, headers: list[str], rows: list[list], formats: list, note: str = ""):
    """A sheet: an optional note in A1, the headers in bold, the rows with each column's number format."""
    ws = wb.create_sheet(title[:31])
    r0 = 1
    if note:
        ws.cell(row=1, column=1, value=note).font = Font(italic=True)
        r0 = 3
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=r0, column=j, value=h)
        c.font, c.fill, c.alignment = Font(bold=True), HEAD, Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(rows, start=r0 + 1):
        for j, (v, fmt) in enumerate(zip(row, formats), start=1):
            c = ws.cell(row=i, column=j, value=_value(v, fmt))
            if fmt:
                c.number_format = fmt
    for j, h in enumerate(headers, start=1):
        width = max([len(str(h))] + [len(str(r[j - 1])) if not isinstance(r[j - 1], float) else 12 for r in rows[:50]])
        ws.column_dimensions[get_column_letter(j)].width = min(max(10, width + 2), 60)
    ws.freeze_panes = ws.cell(row=r0 + 1, column=2)
    return ws


def _by_year(df: pd.DataFrame, keys: list[str], value: str, years: list[str]) -> list[list]:
    """Rows of `keys` then one value per financial year (wide), in the frame's order."""
    out = []
    for k, g in df.groupby(keys, sort=False):
        k = k if isinstance(k, tuple) else (k,)
        g = g.set_index("financial_year")[value]
        out.append(list(k) + [g.get(y, None) for y in years])
    return out


def business_case_workbook(*, years: list[str], profile: pd.DataFrame, summary_table: pd.DataFrame,
                           run: list[tuple[str, str]], label: Callable[[str], str] = str,
                           volumes: Optional[pd.DataFrame] = None, comparison: Optional[pd.DataFrame] = None,
                           interaction: Optional[pd.DataFrame] = None, flags: Optional[pd.DataFrame] = None,
                           envelope: Optional[pd.DataFrame] = None, risk=None) -> Workbook:
    """The workbook. `run`: (what, in words) pairs for the "What was run" sheet; `label`: a
    scenario's name for people; `risk`: the draws' result or None (the sheet says so)."""
    wb = Workbook()
    wb.remove(wb.active)
    ny = len(years)
    # the headline, one row per scenario
    heads = ["Scenario"] + [h for _, h, _ in SUMMARY_COLUMNS]
    rows = [[label(r["scenario"])] + [r.get(c, None) for c, _, _ in SUMMARY_COLUMNS] for _, r in summary_table.iterrows()]
    _sheet(wb, "Headline", heads, rows, [None] + [f for _, _, f in SUMMARY_COLUMNS],
           note=f"£ nominal, rounded to the nearest thousand; years {years[0]} to {years[-1]}. From "
                "business_case_summary.csv.")
    # savings by year: each scenario's money rows, financial years as columns
    rows = []
    for name, g in profile.groupby("scenario", sort=False):
        g = g.set_index("financial_year")
        for col, words in PROFILE_ROWS:
            if col in g:
                rows.append([label(name), words] + [g[col].get(y, None) for y in years])
    _sheet(wb, "Savings by year", ["Scenario", "Measure"] + years, rows, [None, None] + [MONEY] * ny,
           note="£ by financial year (April to March), rounded to the nearest thousand. From roi_profile.csv.")
    if volumes is not None and len(volumes):
        v = volumes.assign(scenario=volumes["scenario"].map(label))
        rows = _by_year(v, ["scenario", "lever", "target_name", "target"], "achieved", years)
        _sheet(wb, "Target volumes", ["Scenario", "Lever", "Target", "Target volume"] + years, rows,
               [None, None, None, "0.0"] + ["0.0"] * ny,
               note="Each target lever's volume achieved by financial year (mean over replications). From "
                    "lever_volumes_by_year.csv.")
    if comparison is not None and len(comparison) and (comparison["kind"] == "profile").any():
        pr = comparison[comparison["kind"] == "profile"].set_index("financial_year")
        rows = [[words] + [pr[col].get(y, np.nan) * 1e6 for y in years] for col, words in (
            ("council_gross_m", "Council gross (its Table 1)"), ("council_net_m", "Council net (its Table 1)"),
            ("model_saving_m", "Model gross saving"), ("model_net_m", "Model net saving"),
            ("model_saving_real_m", "Model gross saving, real terms"))]
        _sheet(wb, "Council profile", ["Measure"] + years, rows, [None] + [MONEY] * ny,
               note="The council's benefit profile beside the model's, £ by financial year. From "
                    "business_case_comparison.csv (kind = profile).")
    if comparison is not None and len(comparison) and (comparison["kind"] == "lever").any():
        lv = comparison[comparison["kind"] == "lever"]
        rows = [[label(r["scenario"]), r["council_target_volume"], r["council_saving_m"] * 1e6, r["model_volume"],
                 r["model_volume_means"], r["model_saving_m"] * 1e6, r["model_net_m"] * 1e6] for _, r in lv.iterrows()]
        _sheet(wb, "Council levers", ["Lever", "Council's target volume", "Council £ a year", "Model's volume",
                                      "Model's volume means", f"Model gross saving {years[-1]}",
                                      f"Model net saving {years[-1]}"],
               rows, [None, None, MONEY, "0.0", None, MONEY, MONEY],
               note="Each lever alone beside the council's figure. From business_case_comparison.csv (kind = lever).")
    if interaction is not None and len(interaction):
        it = interaction.set_index("financial_year")
        rows = [[words] + [it[col].get(y, None) for y in years] for col, words in (
            ("sum_of_levers_alone", "Sum of each lever alone"), ("all_levers_together", "All levers together"),
            ("interaction", "Interaction (together minus the sum)"))]
        _sheet(wb, "Interaction", ["Measure"] + years, rows, [None] + [MONEY] * ny,
               note="Gross saving by financial year. From lever_interaction.csv.")
    if flags is not None:
        rows = [[label(f["scenario"]), f["lever"] if isinstance(f["lever"], str) else "", f["flag"], f["reason"]]
                for _, f in flags.iterrows()]
        _sheet(wb, "Flags", ["Scenario", "Lever", "Flag", "Reason"], rows, [None] * 4,
               note="From headline_flags.csv." if rows else "No flags: every target reached and every saving precise.")
    if envelope is not None and len(envelope):
        rows = [[label(r["scenario"]), r["working"], r["envelope_saving"], r["model_gross_saving"], r["gap"],
                 r["gap_share"], r["reason"]] for _, r in envelope.iterrows()]
        _sheet(wb, "Back of envelope", ["Lever", "Working", "Envelope", "Model gross saving", "Gap", "Gap share",
                                        "Why (gaps over a quarter)"], rows,
               [None, None, MONEY, MONEY, MONEY, SHARE, None],
               note=f"{years[-1]}: stock moved × unit cost a year beside the model. From back_of_envelope.csv.")
    _risk_sheets(wb, risk, years, label)
    ws = _sheet(wb, "What was run", ["What", "Value"], [[k, v] for k, v in run], [None, None])
    ws.column_dimensions["B"].width = 90
    return wb


def _risk_sheets(wb: Workbook, risk, years: list[str], label) -> None:
    table, probs = frame(risk, "risk"), frame(risk, "probabilities")
    drivers, draws = frame(risk, "drivers"), frame(risk, "draws")
    if table is None and probs is None:
        _sheet(wb, "Risk", ["Parameter uncertainty"], [["not estimated: run carepath experiment with --draws N"]],
               [None], note="Every range in this workbook is simulation noise only.")
        return
    if table is not None:
        rows = [[label(r["scenario"]), r["measure"], r["mean"], r["p05"], r["p50"], r["p95"]] for _, r in table.iterrows()]
        fmts = [None, None, "#,##0.##", "#,##0.##", "#,##0.##", "#,##0.##"]
        # money measures rounded to the thousand, ratios as they are
        rows = [[a, m] + ([thousand(x) for x in xs] if not str(m).startswith("roi") else list(xs))
                for a, m, *xs in rows]
        _sheet(wb, "Risk", ["Scenario", "Measure", "Mean", "5%", "Median", "95%"], rows, fmts,
               note="Over the parameter draws (£ rounded to the nearest thousand; ROI as a ratio). From "
                    "business_case_risk.csv.")
    if probs is not None:
        rows = [[label(r["scenario"]), probability_words(r["measure"], r["threshold"]), r["probability"],
                 r.get("mc_error", None)] for _, r in probs.iterrows()]
        _sheet(wb, "Probabilities", ["Scenario", "The chance that", "Chance", "Monte Carlo error"], rows,
               [None, None, "0.0%", "0.0%"], note="From business_case_probabilities.csv.")
    if drivers is not None:
        from .papers import drivers_for
        d = drivers_for(risk, None)
        _sheet(wb, "Uncertainty drivers", ["Input", "Share of variance"], d[["input", "share"]].values.tolist(),
               [None, SHARE], note="From uncertainty_drivers.csv.")
    if draws is not None:
        rows = []
        for name, g in draws.groupby("scenario", sort=False):
            q = g.groupby("financial_year")["cumulative_net_saving"]
            for words, f in (("5%", lambda s: s.quantile(0.05)), ("Median", lambda s: s.quantile(0.5)),
                             ("95%", lambda s: s.quantile(0.95))):
                v = q.apply(f)
                rows.append([label(name), f"Cumulative net saving, {words} of draws"] + [v.get(y, None) for y in years])
        _sheet(wb, "Cumulative net (draws)", ["Scenario", "Measure"] + years, rows, [None, None] + [MONEY] * len(years),
               note="From business_case_draws.csv.")


def manifest_words(manifest: dict, risk=None) -> list[tuple[str, str]]:
    """The manifest (`manifest.json`) in words for the "What was run" sheet."""
    m = manifest
    draws = m.get("draws") or getattr(risk, "n_draws", None)
    per = m.get("replications_per_draw")
    rows = [
        ("Scenario file", f"{m.get('scenario_file', '')} (its hash {m.get('scenario_file_hash', '')})"),
        ("Baseline parameters", f"{m.get('params_file', '')}; parameters' hash {m.get('params_hash', '')}"),
        ("Starting caseload", f"{m.get('snapshot_file') or 'none (a cold start)'}"
                              + (f" (its hash {m['snapshot_hash']})" if m.get("snapshot_hash") else "")),
        ("Random seed", str(m.get("seed", ""))),
        ("Replications", f"{m.get('replications', '')} per scenario, with common random numbers against the baseline; "
                         f"target searches used {m.get('search_replications', '')} per step"),
        ("Parameter draws", f"{draws} draws of the uncertain inputs" + (f", {per} replication(s) each" if per else "")
         if draws else "none: every range is simulation noise only (run with --draws N to add parameter uncertainty)"),
        ("Scenarios", ", ".join(m.get("scenarios") or [])),
        ("Code version", _version_words(m.get("code_version", ""))),
        ("Python", str(m.get("python", ""))),
        ("Made on", str(m.get("created", ""))),
        ("Where it ran", f"{m.get('backend', '')}, {m.get('workers', '')} worker(s)"),
        ("Command", str(m.get("command", ""))),
    ]
    return rows


def _version_words(v) -> str:
    """The manifest's code version in words: "carepath 0.1.0, git commit 829695a (uncommitted changes too), ..."."""
    if not isinstance(v, dict):
        return str(v)
    parts = [f"carepath {v.get('carepath', '')}".strip()]
    if v.get("git_commit"):
        parts.append(f"git commit {str(v['git_commit'])[:12]}" + (" with uncommitted changes" if v.get("git_dirty") else ""))
    if v.get("model_core"):
        parts.append(f"model core: {'compiled' if v['model_core'] != 'python' else 'Python source'}")
    return ", ".join(parts)
