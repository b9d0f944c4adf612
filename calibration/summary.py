"""The calibration summary: headline measures of the data, each with an interval, and which
parameters came from the data and which were kept from the template.

`calibration_summary.csv` has the columns `measure, value, low, high, source, note`. The first
rows are the measures below (names relied on by users: keep them); then one row per parameter
group, named `parameter:<path>`, whose `source` says `data` or `template` and whose `value` is
the number of cases behind the fit. Intervals are 95%: exact Poisson for yearly counts, exact
binomial (Clopper-Pearson) for shares of entries and re-referrals, delta method for medians of
fitted distributions, percentile bootstrap for Aalen-Johansen exit shares, Greenwood for the
Kaplan-Meier re-entry share.

`cin_plan_median_days` and `cp_plan_median_days` are the medians of the plan route models as the
model draws them (route probability times the route's duration), with the Kaplan-Meier median's
Greenwood interval; the median of one family fitted to all plans follows among the other
measures as `cin_plan_median_days_single_family` / `cp_plan_median_days_single_family`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.placements import groups_of

MEASURES = (
    "referrals_per_year",
    "care_entries_per_year",
    "cin_plan_median_days",
    "cp_plan_median_days",
    "care_period_median_days",
    "exit_share_reunification",
    "exit_share_sgo",
    "exit_share_adoption",
    "exit_share_age18",
    "exit_share_other",
    # the first-placement shares, by sim/placements.py's `share_group`
    *(f"placement_share_{g}" for g in groups_of("share_group")),
    "reentry_within_12_months",
    "rereferral_within_12_months",
)
COLUMNS = ("measure", "value", "low", "high", "source", "note")


def summary_table(result) -> pd.DataFrame:
    """The summary of a `calibration.fit.FitResult`: required measures first (NaN where the data
    could not give them), then other measures, then the parameter log."""
    s = result.summary.copy()
    have = set(s["measure"])
    missing = [m for m in MEASURES if m not in have]
    if missing:
        s = pd.concat([s, pd.DataFrame({"measure": missing, "value": np.nan, "low": np.nan, "high": np.nan,
                                        "source": "not estimable", "note": "not in the data given"})],
                      ignore_index=True)
    order = {m: i for i, m in enumerate(MEASURES)}
    s["_o"] = s["measure"].map(order).fillna(len(MEASURES))
    s = s.sort_values("_o", kind="stable").drop(columns="_o")
    log = result.log
    params = pd.DataFrame({
        "measure": "parameter:" + log["parameter"].astype(str),
        "value": log["n"].astype(float), "low": np.nan, "high": np.nan,
        "source": log["source"], "note": log["note"],
    })
    out = pd.concat([s, params], ignore_index=True)
    return out[list(COLUMNS)]


def calibrated_intervals(summary: pd.DataFrame, extract_date: str) -> dict:
    """The measures of the summary that have a 95% interval, as a scenario set's uncertainty
    section reads them (`calibrated: {file: calibrated_intervals.yaml, measure: ...}`, see
    experiments/uncertainty.py): {measure: {value, low, high, note}}."""
    rows = summary[~summary["measure"].str.startswith("parameter:")]
    measures = {}
    for _, r in rows.iterrows():
        v, lo, hi = (float(r[k]) for k in ("value", "low", "high"))
        if all(np.isfinite([v, lo, hi])):
            measures[str(r["measure"])] = {"value": v, "low": lo, "high": hi, "note": str(r["note"])}
    return {"extract_date": extract_date, "level": 0.95,
            "about": "95% intervals of the fitted measures (calibration_summary.csv); a scenario set's uncertainty "
                     "section can draw a parameter from one (calibrated: {file: ..., measure: ...})",
            "measures": measures}


def kept_from_template(summary: pd.DataFrame) -> list[str]:
    """Parameter paths the summary says were kept from the template."""
    rows = summary[summary["measure"].str.startswith("parameter:") & (summary["source"] == "template")]
    return [m.removeprefix("parameter:") for m in rows["measure"]]


def data_quality_table(quality) -> pd.DataFrame:
    """Rows read, kept and set aside per file, with the main reasons in words."""
    dq = quality.data_quality.copy()
    aside = quality.rows_set_aside
    reasons = []
    for f in dq["file"]:
        r = aside.loc[aside["file"] == f, "reason"].astype(str)
        general = r.str.replace(r"'[^']*'", "'…'", regex=True).str.replace(r"\b(row|in) \d+\b", r"\1 N", regex=True)
        general = general.str.replace(r"\d{2}/\d{2}/\d{4}", "<date>", regex=True)
        vc = general.value_counts()
        reasons.append("; ".join(f"{n} {k}" for k, n in vc.head(5).items()))
    dq["main_reasons"] = reasons
    notes = quality.notes
    dq["notes"] = [" / ".join(notes.loc[notes["file"] == f, "note"]) for f in dq["file"]]
    return dq
