"""The calibration report: one self-contained HTML page for a council analyst.

Sections: data quality; fitted durations (Kaplan-Meier against the fitted curves); arrivals
against fitted rates; the summary table; a back-cast (the model run from the caseload a year
before the extract date, with parameters fitted on the data up to then, against what the data
show). Charts are PNGs drawn with matplotlib (Agg) and embedded as base64.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calibration.fit import as_of, build_snapshot, fit_parameters  # noqa: E402
from sim.placements import groups_of  # noqa: E402

GROUPS = groups_of("backcast_group")  # the back-cast's placement series (sim/placements.py)
SERIES = ("cin", "cp", "care") + tuple(f"care_{g}" for g in GROUPS)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _table(df: pd.DataFrame, floatfmt="{:,.3g}") -> str:
    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else floatfmt.format(v)
        return html.escape(str(v))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ------------------------------------------------------------------------------ back-cast
def observed_stocks(ssda903, cin, months: list[pd.Timestamp]) -> pd.DataFrame:
    """Children open at each month end, counted as the snapshot counts them."""
    rows = []
    for m in months:
        snap = build_snapshot(ssda903, cin, m)
        counts = snap["state"].value_counts()
        row = {"month": m.strftime("%Y-%m"), "cin": counts.get("cin", 0), "cp": counts.get("cp", 0),
               "care": counts.get("care", 0)}
        pl = snap.loc[snap["state"] == "care", "placement"]
        for g, types in GROUPS.items():
            row[f"care_{g}"] = int(pl.isin(types).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def backcast(ssda903, cin, contacts, costs, extract, template, years: int = 1, replications: int = 3,
             seed: int = 4242) -> dict:
    """Fit on the data up to (extract - years), start from that date's caseload, simulate to the
    extract date and compare monthly stocks with the data. Returns a dict with `table` (month,
    series, observed, simulated mean/low/high), `mape` (series -> mean absolute % error over the
    months after the first, see `backcast_mape`), `scored_months` and
    `message` (why not, if it could not run)."""
    from sim.initial import cases_from_frame
    from sim.measures import stocks_by_month
    from sim.runner import run_replication

    t0 = time.perf_counter()
    extract = pd.Timestamp(extract)
    start = extract - pd.DateOffset(years=years)
    s0, c0, k0 = as_of(ssda903, cin, contacts, start)
    try:
        fitted = fit_parameters(s0, c0, k0, costs, extract_date=start, template=template)
    except Exception as exc:  # noqa: BLE001 - the report says why and carries on
        return {"message": f"could not fit the data up to {start:%d/%m/%Y}: {exc}"}
    p = fitted.params.model_copy(deep=True)
    p.horizon = p.horizon.model_copy(update={"start_date": start.date(), "end_date": extract.date()})
    cases = cases_from_frame(fitted.snapshot, start.date(), "back-cast snapshot")
    sims = []
    for rep in range(replications):
        res = run_replication(p, seed, rep, snapshot=cases)
        st = stocks_by_month(res)
        wide = st.pivot_table(index="month", columns="measure", values="value", aggfunc="first")
        for g, types in GROUPS.items():
            wide[f"care_{g}"] = sum(wide[f"care_{t}"] for t in types if f"care_{t}" in wide)
        wide["replication"] = rep
        sims.append(wide.reset_index())
    sim = pd.concat(sims, ignore_index=True)
    months = sorted(set(sim["month"]))
    ends = [pd.Period(m, freq="M").to_timestamp(how="end").normalize() for m in months]
    obs = observed_stocks(ssda903, cin, ends)
    rows = []
    has_cin = cin is not None
    for srs in SERIES:
        if srs in ("cin", "cp") and not has_cin:
            continue
        g = sim.groupby("month")[srs]
        o = obs.set_index("month")[srs].reindex(months).astype(float)
        part = pd.DataFrame({"month": months, "series": srs, "observed": o.to_numpy(),
                             "simulated": g.mean().reindex(months).to_numpy(),
                             "low": g.min().reindex(months).to_numpy(), "high": g.max().reindex(months).to_numpy()})
        rows.append(part)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    mape, scored = backcast_mape(table, start)
    return {"table": table, "mape": mape, "scored_months": scored,
            "start": start, "replications": replications, "seconds": time.perf_counter() - t0,
            "kept": fitted.kept_from_template()}


def backcast_mape(table: pd.DataFrame, start) -> tuple[dict, list]:
    """Mean absolute percentage error of the model's mean against the data, by series, over the
    months after the one holding `start`. That first month is the starting caseload itself (the
    model starts from the data's snapshot), so it scores about 0% and would flatter the rest.
    Months where the data show 0 are left out too (no percentage). Returns (series -> MAPE,
    the months scored)."""
    if not len(table):
        return {}, []
    first = pd.Period(pd.Timestamp(start), freq="M")
    months = sorted(set(table["month"]))
    scored = [m for m in months if pd.Period(m, freq="M") > first]
    mape = {}
    for srs, part in table.groupby("series", sort=False):
        part = part[part["month"].isin(scored) & (part["observed"] > 0)]
        err = (part["simulated"] - part["observed"]).abs() / part["observed"]
        mape[srs] = float(err.mean() * 100) if len(part) else float("nan")
    return mape, scored


# --------------------------------------------------------------------------------- charts
def _km_chart(curve: dict) -> str:
    km, fit = curve["km"], curve["fit"]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    if len(km.times):
        t = np.concatenate([[0], km.times])
        ax.step(t, np.concatenate([[1], km.survival]), where="post", label="Kaplan-Meier (data)", color="k")
        ax.fill_between(t, np.concatenate([[1], km.lower]), np.concatenate([[1], km.upper]), step="post",
                        alpha=0.2, color="grey", label="95% interval")
        x = np.linspace(0, km.times.max(), 300)
        if curve.get("routes"):
            parts = curve["routes"]
            tot = sum(p for p, _ in parts)
            model = [sum(p * d.sf(float(v)) for p, d in parts) / tot for v in x]
            ax.plot(x, model, color="C0", label="route model (what the model draws)")
        if fit is not None:
            ax.plot(x, fit.sf(x), color="C1", ls="--" if curve.get("routes") else "-",
                    label=(f"one {fit.family} fitted to all (reference)" if curve.get("routes") else f"fitted {fit.family}"))
    ax.set_xlabel("days")
    ax.set_ylabel("share still open")
    ax.set_ylim(0, 1.02)
    ax.set_title(curve["label"])
    ax.legend(fontsize=8)
    return _png(fig)


def _rate_chart(name: str, tab: pd.DataFrame) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    per_day = tab["count"] / tab["days"] * 30.4375
    ax.plot(tab["month"], per_day, "o-", ms=3, label="data (a month, adjusted for part months)", color="k")
    if "fitted" in tab:
        ax.plot(tab["month"], tab["fitted"] / tab["days"] * 30.4375, color="C1", label="fitted rate")
    ax.set_title(name.replace("_", " "))
    ax.set_ylabel("a month")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    return _png(fig)


def _backcast_chart(part: pd.DataFrame, srs: str, mape: float) -> str:
    fig, ax = plt.subplots(figsize=(5, 3))
    x = pd.to_datetime(part["month"])
    ax.plot(x, part["observed"], "o-", ms=3, color="k", label="data")
    ax.plot(x, part["simulated"], color="C0", label="model (mean)")
    ax.fill_between(x, part["low"], part["high"], color="C0", alpha=0.2, label="model (range)")
    ax.set_title(f"{srs.replace('_', ' ')} — MAPE {mape:.1f}%")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return _png(fig)


# --------------------------------------------------------------------------------- report
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:0.85em;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#f0f0f0}img{margin:4px}.note{color:#555;font-size:0.9em}"""


def build_report(result, summary: pd.DataFrame, dq: pd.DataFrame, back: dict | None, sources: dict) -> str:
    ex = result.extract_date
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Calibration report</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>Calibration report</h1><p>Data extracted on {ex:%d %B %Y}. Files: "
             + ", ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in sources.items() if v)
             + f". Written {dt.datetime.now():%d/%m/%Y %H:%M}.</p>"]
    kept = result.kept_from_template()
    parts.append(f"<p>{len(result.log) - len(kept)} parameter groups were fitted from the data; {len(kept)} were "
                 "kept from the template because the data do not hold them or hold too few cases "
                 "(listed at the end of the summary table).</p>")
    parts.append("<h2>1. Data quality</h2><p>Every row read is either kept or set aside with a reason "
                 "(rows_set_aside.csv lists each one with its file and row number).</p>" + _table(dq))
    parts.append("<h2>2. How long things last: data against the fitted curves</h2><p class='note'>Black: the "
                 "Kaplan–Meier estimate, which counts cases still open at the extract date as 'at least this "
                 "long'. Orange: the fitted distribution (censored maximum likelihood, family chosen by AIC) "
                 "that the model uses. They should lie close together. CIN and CP plans end by routes (step-down, "
                 "closure, care…), each with its own probability and duration: for them the model draws from the "
                 "blue curve, the route model, and the orange dashed curve is one family fitted to all plans, for "
                 "reference only. The summary's <code>cin_plan_median_days</code> and "
                 "<code>cp_plan_median_days</code> are the route model's medians; the single family's are "
                 "<code>…_median_days_single_family</code>.</p>")
    for key in ("cin_plan", "cp_plan", "care_period", "assessment", "s47", "reentry"):
        if key in result.curves:
            parts.append(_km_chart(result.curves[key]))
    parts.append("<h2>3. Arrivals against fitted rates</h2><p class='note'>Monthly counts and the Poisson "
                 "log-linear fit (trend, and seasonality when there are two years or more of busy months).</p>")
    for key in ("referrals", "contacts", "new_contacts", "care_entries", "first_care_entries", "direct_care_entries"):
        if key in result.monthly:
            parts.append(_rate_chart(key, result.monthly[key]))
    parts.append("<h2>4. Summary</h2>" + _table(summary))
    parts.append("<h2>5. Back-cast: the model against what happened</h2>")
    if back is None:
        parts.append("<p>Not run (--no-backcast).</p>")
    elif "message" in back:
        parts.append(f"<p>Not run: {html.escape(back['message'])}.</p>")
    else:
        parts.append(f"<p>Parameters fitted on the data up to {back['start']:%d/%m/%Y} only; the model started "
                     f"from the caseload open on that date and ran to the extract date ({back['replications']} "
                     f"runs, {back['seconds']:.0f} s). Monthly stocks against the data, with the mean absolute "
                     "percentage error (MAPE) of the model's mean"
                     + (f" over the {len(back['scored_months'])} months from {back['scored_months'][0]} to "
                        f"{back['scored_months'][-1]}" if back.get("scored_months") else "")
                     + f". The first month ({back['start']:%Y-%m}) is left out of the MAPE: it is the starting "
                     "caseload itself, where model and data agree by construction (it is still charted and in "
                     "backcast.csv). "
                     + ("With no CIN census, the starting caseload's contacts, assessments, CIN and CP plans come "
                        "from a warm-up of the fitted front door (synthetic cases), with the recent care leavers "
                        "the SSDA903 shows; early months of CIN and CP show the warm-up, not the council.</p>"
                        if not sources.get("CIN census") else
                        "The starting caseload holds the open cases and the children closed in the last two years "
                        "who may come back (care leavers, closed CIN episodes and contacts); contacts still in "
                        "screening are not in it.</p>"))
        mape = pd.DataFrame({"series": list(back["mape"]), "MAPE %": list(back["mape"].values())})
        parts.append(_table(mape, "{:.1f}"))
        for srs, part in back["table"].groupby("series", sort=False):
            parts.append(_backcast_chart(part, srs, back["mape"][srs]))
    parts.append("</body></html>")
    return "\n".join(parts)
