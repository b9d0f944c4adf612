"""Forecast accuracy: carepath's two-year forecast of children in care, back-tested on several
synthetic councils and on the third-party sample, beside cs-demand-model and a flat forecast.

SYNTHETIC DATA ONLY (the project's generator, calibration/synthetic.py, and the published
cs-demand-model sample): no real child.

For each source the SSDA903 (and the CIN census and contacts, where the source has them) is cut
back to the cut-off date as it would have been extracted then (benchmarks/peer_cs_demand_model.py
does the cutting, fitting and running); each model forecasts the two years after it from the cut
files only, and is scored against the children in care counted at each month end from the full
files:
- carepath fitted on SSDA903 only (`carepath calibrate --ssda903`), on SSDA903 + the CIN census
  (`--cin`), and on SSDA903 + CIN census + contacts; the mean of R replications;
- cs-demand-model 0.5.1 (its own environment, benchmarks/.venv) with reference periods of 6 (its
  command line's default), 12 and 24 months;
- the flat forecast: the cut-off's count, from the cut files, held for 24 months.
Scores (benchmarks/forecast_scoring.py): MAPE and bias (mean percentage error) over the 24 month
ends, for the total and for four placement groups; per source and averaged over the synthetic
seeds. The aim (issue 15): carepath's average MAPE on the total half the peer's or less.

The synthetic seeds are draws of one truth (a growing Nottingham-like council); the sample is
uniformly random fake data, whose entries into care collapse after 2017 (see
docs/peer_comparison.md): it is scored as files a council could hand over, not as a realistic test.

Usage (from the repository root, with the project's venv; set up the peer once as
peer_cs_demand_model.py says):
    nice .venv/bin/python benchmarks/forecast_accuracy.py [--seeds 1 2 3 4 5] [--scale F]
        [--replications R] [--workers W] [--cutoff YYYY-MM-DD] [--no-sample] [--no-contacts]
        [--carepath-only] [--peer-python PATH] [--out DIR]
Writes OUT/results.csv (every source, model and series), OUT/summary.csv (averaged over the
seeds), OUT/flows.csv (entries into care and exits by reason over the two years: observed and
carepath's, to see where a level error comes from), OUT/results.md (the tables in docs/peer_comparison.md) and each source's monthly figures
in OUT/<source>/monthly.csv.
"""
from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(HERE), str(ROOT)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import peer_cs_demand_model as harness  # noqa: E402
from forecast_scoring import flat_forecast, months_after, score  # noqa: E402

SAMPLE = Path("/work/shared/data/ssda903_sample")
SERIES = ("total",) + harness.GROUPS
CAREPATH = {  # label: (CIN census, contacts)
    "carepath, SSDA903 only": (False, False),
    "carepath, SSDA903 + CIN census": (True, False),
    "carepath, SSDA903 + CIN census + contacts": (True, True),
}
PEER = {m: f"cs-demand-model, {m}-month reference{' (its default)' if m == 6 else ''}"
        for m in harness.PEER_REFERENCE_MONTHS}
FLAT = "flat: the cut-off's count held"
PEER_DEFAULT = PEER[6]


def git_state(given: str | None = None) -> str:
    """The commit the run used, and whether the model's code had uncommitted edits (`given`: the
    commit of an exported copy, which has no git history)."""
    if given:
        return f"{given} (an exported copy of that commit, no uncommitted edits)"

    def git(*args):
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "sim", "calibration", "carepath", "experiments")
    n = len([x for x in dirty.splitlines() if x.strip()])
    return commit + (f" (with {n} uncommitted file(s) in sim/, calibration/, carepath/ or experiments/)" if n else "")


def back_test(name: str, ssda903: Path, extract: dt.date, cutoff: dt.date, out: Path, a, peer_python,
              pathway_data: Path | None, sim_seed: int) -> tuple[list[dict], list[dict]]:
    """One source: cut, fit and forecast every model, score it. Returns rows of scores, and rows of
    entries into care and exits by reason over the two years (observed, and each carepath fit's)."""
    import numpy as np
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    cut = harness.cut_ssda903(ssda903, out / "cut" / "ssda903", cutoff)
    last = harness.latest_date(cut)
    if last > pd.Timestamp(cutoff):
        raise RuntimeError(f"leak: a date {last.date()} after the cut-off in {cut}")
    months = months_after(cutoff)
    horizon_end = (pd.Timestamp(cutoff) + pd.DateOffset(years=2)).date()
    obs = harness.observed(ssda903, extract, months)
    # the flat forecast holds what the forecaster could count on the cut-off, from the cut files
    start = harness.observed(cut, cutoff, [pd.Timestamp(cutoff).strftime("%Y-%m")]).iloc[0]
    print(f"[{name}] children in care at the cut-off {start['total']:.0f}, observed at 24 months "
          f"{obs['total'].iloc[-1]:.0f}", flush=True)
    rows, monthly = [], [obs.add_prefix("observed_")]
    flow_rows = [{"source": name, "model": "observed", **harness.observed_flows(ssda903, extract, cutoff, horizon_end)}]

    def add(model, pred, extra=None):
        for s in SERIES:
            rows.append({"source": name, "model": model, "series": s, **score(pred[s], obs[s]),
                         "start": float(start[s]), **(extra or {})})

    def failed(model, exc):
        print(f"[{name}] {model}: failed ({type(exc).__name__}: {exc})", flush=True)
        for s in SERIES:
            rows.append({"source": name, "model": model, "series": s, "start": float(start[s]),
                         "obs24": float(obs[s].iloc[-1]), "note": f"failed: {type(exc).__name__}: {exc}"})

    variants = [(label, cin, k) for label, (cin, k) in CAREPATH.items()
                if (not cin or pathway_data is not None) and (not k or not a.no_contacts)]
    for label, cin, k in variants:
        t0 = time.perf_counter()
        try:
            sims, ct = harness.run_carepath(cut, cutoff, horizon_end, out, a.replications, a.workers, sim_seed,
                                            pathway_data if cin else None, extract, contacts=k)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports a model that fails and goes on
            failed(label, exc)
            continue
        mean, lo, hi = harness.band(sims, months)
        inside = float(((obs["total"] >= lo["total"]) & (obs["total"] <= hi["total"])).mean() * 100)
        # the MAPE a forecast that knew the process exactly would score against one draw of it: the
        # mean absolute deviation of a normal variable, sqrt(2/pi) x the replications' spread
        tot = sims[sims["group"] == "total"].pivot_table(index="month", columns="replication", values="value")
        floor = float((np.sqrt(2 / np.pi) * tot.std(axis=1, ddof=1) / tot.mean(axis=1) * 100).mean())
        key = "carepath" + ("_cin" if cin else "") + ("_contacts" if k else "")
        monthly += [mean.add_prefix(f"{key}_mean_"), lo.add_prefix(f"{key}_low_"), hi.add_prefix(f"{key}_high_")]
        add(label, mean, {"inside_band_pct": inside, "noise_floor_mape": floor, "seconds": time.perf_counter() - t0})
        flow_rows.append({"source": name, "model": label, **ct["flows"]})
        e = rows[-len(SERIES)]
        print(f"[{name}] {label}: MAPE {e['mape']:.1f}%, bias {e['bias']:+.1f}% "
              f"({time.perf_counter() - t0:.0f}s)", flush=True)
    if peer_python:
        t0 = time.perf_counter()
        try:
            pm, _ = harness.run_peer(peer_python, cut, cutoff, horizon_end, out)
        except Exception as exc:  # noqa: BLE001 - as above
            for label in PEER.values():
                failed(label, exc)
        else:
            for m, label in PEER.items():
                p = harness.peer_forecast(pm, m, months)
                monthly.append(p.add_prefix(f"peer_ref{m}_"))
                add(label, p, {"seconds": time.perf_counter() - t0})
            e = rows[-len(SERIES) * len(PEER)]
            print(f"[{name}] {PEER_DEFAULT}: MAPE {e['mape']:.1f}%, bias {e['bias']:+.1f}%", flush=True)
    flat = pd.DataFrame({s: flat_forecast(start[s], len(months)) for s in SERIES}, index=months)
    add(FLAT, flat)
    monthly.append(flat.add_prefix("flat_"))
    pd.concat(monthly, axis=1).rename_axis("month").to_csv(out / "monthly.csv")
    for r in rows:
        r.setdefault("inside_band_pct", np.nan)
        r.setdefault("noise_floor_mape", np.nan)
        r.setdefault("note", "")
    return rows, flow_rows


def summarise(table):
    """Average over the synthetic seeds, by model and series."""
    syn = table[table["source"].str.startswith("seed ")]
    g = syn.groupby(["model", "series"], sort=False)
    return g.agg(seeds=("mape", "size"), mape=("mape", "mean"), mape_min=("mape", "min"), mape_max=("mape", "max"),
                 bias=("bias", "mean"), bias_min=("bias", "min"), bias_max=("bias", "max"),
                 err24=("err24", "mean"), inside_band_pct=("inside_band_pct", "mean"),
                 noise_floor_mape=("noise_floor_mape", "mean")).reset_index()


def markdown(table, summary, flow_table, a, when: str, state: str, seconds: float) -> str:
    import pandas as pd

    models = list(dict.fromkeys(table["model"]))
    seeds = [s for s in dict.fromkeys(table["source"]) if s.startswith("seed ")]
    tot = table[table["series"] == "total"].set_index(["model", "source"])
    md = [f"Run {when} on {harness.machine()}; code at commit {state}; {len(seeds)} synthetic seeds at scale "
          f"{a.scale:g}, {a.replications} carepath replications, cut-off {a.cutoff}, forecast to "
          f"{(pd.Timestamp(a.cutoff) + pd.DateOffset(years=2)).date()}; whole run {seconds / 60:.0f} min.", "",
          "Children in care, total: MAPE (%) and, in brackets, bias (mean % error) over the 24 month ends.", "",
          "| model | " + " | ".join(seeds) + " | average over the seeds |",
          "|---|" + "---|" * (len(seeds) + 1)]
    s_tot = summary[summary["series"] == "total"].set_index("model")
    for m in models:
        if m not in s_tot.index:
            continue
        cells = [f"{tot.loc[(m, s), 'mape']:.1f} ({tot.loc[(m, s), 'bias']:+.1f})" if (m, s) in tot.index else "–"
                 for s in seeds]
        md.append(f"| {m} | " + " | ".join(cells) + f" | **{s_tot.loc[m, 'mape']:.1f}** ({s_tot.loc[m, 'bias']:+.1f}) |")
    starts = [f"{s} {tot.loc[(models[0], s), 'start']:.0f} -> {tot.loc[(models[0], s), 'obs24']:.0f}" for s in seeds]
    md += ["", "Observed children in care at the cut-off -> 24 months later: " + "; ".join(starts) + ".", ""]
    md += ["By placement group, averaged over the seeds: MAPE (%) and (bias).", "",
           "| model | " + " | ".join(harness.GROUPS) + " |", "|---|" + "---|" * len(harness.GROUPS)]
    sg = summary.set_index(["model", "series"])
    for m in models:
        if (m, "total") not in sg.index:
            continue
        md.append(f"| {m} | " + " | ".join(f"{sg.loc[(m, g), 'mape']:.1f} ({sg.loc[(m, g), 'bias']:+.1f})"
                                           for g in harness.GROUPS) + " |")
    for m in models:
        if m.startswith("carepath") and m in s_tot.index:
            md.append(f"\n{m}: the observed total is inside the 95% band of the replications in "
                      f"{s_tot.loc[m, 'inside_band_pct']:.0f}% of months, on average over the seeds. The "
                      f"replications' own spread puts the MAPE of a forecast that knew the process exactly, scored "
                      f"against one draw of it, at about {s_tot.loc[m, 'noise_floor_mape']:.1f}%.")
    if PEER_DEFAULT in s_tot.index:
        peer = s_tot.loc[PEER_DEFAULT, "mape"]
        md += ["", f"The aim: carepath's average MAPE at most half the peer's ({peer:.1f}% with its default "
                   f"reference period, so {peer / 2:.1f}%)."]
        for m in CAREPATH:
            if m in s_tot.index:
                r = s_tot.loc[m, "mape"] / peer
                md.append(f"- {m}: {s_tot.loc[m, 'mape']:.1f}%, {r:.2f} times the peer's: "
                          f"{'aim met' if r <= 0.5 else 'aim not met'}.")
    fl = flow_table[flow_table["source"].str.startswith("seed ")]
    if len(fl):
        fm = fl.groupby("model", sort=False)[list(harness.FLOWS)].mean()
        md += ["", "Entries into care and exits by reason over the two years, children, averaged over the seeds "
                   "(observed in the full data; carepath's the mean of its replications):", "",
               "| | " + " | ".join(fm.index) + " |", "|---|" + "---|" * len(fm.index)]
        for f in harness.FLOWS:
            md.append(f"| {f.replace('_', ' ')} | " + " | ".join(f"{v:.0f}" for v in fm[f]) + " |")
    other = [s for s in dict.fromkeys(table["source"]) if not s.startswith("seed ")]
    for s in other:
        t = table[(table["source"] == s)]
        md += ["", f"{s}: children in care {t['start'].iloc[0]:.0f} at the cut-off, {t['obs24'].iloc[0]:.0f} "
                   "24 months later. Total MAPE (bias), %:", ""]
        md += [f"- {m}: {r['mape']:.1f} ({r['bias']:+.1f}); at 24 months {r['pred24']:.0f}"
               for m, r in t[t["series"] == "total"].set_index("model").iterrows()]
    return "\n".join(md) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Back-test of the two-year forecast of children in care: carepath, "
                                             "cs-demand-model and a flat forecast on several synthetic councils "
                                             "and the third-party sample.")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5],
                    help="seeds of the synthetic generator, one council each (default 1 2 3 4 5)")
    ap.add_argument("--scale", type=float, default=1.0, help="synthetic council size (1 = Nottingham; default 1)")
    ap.add_argument("--replications", type=int, default=10, help="carepath replications per forecast (default 10)")
    ap.add_argument("--workers", type=int, default=1, help="processes for carepath's replications (default 1)")
    ap.add_argument("--cutoff", type=dt.date.fromisoformat, default=dt.date(2020, 3, 31),
                    help="data cut-off, the forecast's start (default 2020-03-31)")
    ap.add_argument("--sample", type=Path, default=SAMPLE,
                    help=f"the third-party SSDA903 sample (default {SAMPLE})")
    ap.add_argument("--no-sample", action="store_true", help="leave out the third-party sample")
    ap.add_argument("--no-contacts", action="store_true", help="leave out carepath fitted with the contacts file too")
    ap.add_argument("--carepath-only", action="store_true", help="skip the peer")
    ap.add_argument("--peer-python", default=None, help="a Python with cs-demand-model 0.5.1 (default benchmarks/.venv/bin/python)")
    ap.add_argument("--commit", default=None,
                    help="the commit the code is at, when it runs from an exported copy rather than a git checkout")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "forecast_accuracy",
                    help="work folder (default results/forecast_accuracy)")
    a = ap.parse_args(argv)
    import pandas as pd

    from calibration.synthetic import SyntheticTruth

    peer_python = None
    if not a.carepath_only:
        peer_python = harness.find_peer_python(a.peer_python)
        if peer_python is None:
            print(harness.INSTALL_HINT, file=sys.stderr)
            return 2
    extract = SyntheticTruth().extract_date
    if (pd.Timestamp(a.cutoff) + pd.DateOffset(years=2)).date() > extract:
        print(f"--cutoff: must be at least two years before the synthetic extract date {extract}", file=sys.stderr)
        return 2
    if not a.no_sample and not a.sample.is_dir():
        print(f"--sample: {a.sample} is not a folder (or give --no-sample)", file=sys.stderr)
        return 2
    t0, when, state = time.perf_counter(), dt.datetime.now(dt.timezone.utc).strftime("%d %B %Y %H:%M UTC"), git_state(a.commit)
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"code at commit {state}", flush=True)
    rows, flow_rows = [], []

    def write():  # after every source, so a run cut short keeps what it finished
        table, flow_table = pd.DataFrame(rows), pd.DataFrame(flow_rows)
        summary = summarise(table)
        table.to_csv(a.out / "results.csv", index=False)
        summary.to_csv(a.out / "summary.csv", index=False)
        flow_table.to_csv(a.out / "flows.csv", index=False)
        text = markdown(table, summary, flow_table, a, when, state, time.perf_counter() - t0)
        (a.out / "results.md").write_text(text)
        return text

    for seed in a.seeds:
        data = harness.make_data(a.out, seed, a.scale)
        r, f = back_test(f"seed {seed}", data / "ssda903", extract, a.cutoff, a.out / f"seed{seed}", a,
                         peer_python, data, seed)
        rows, flow_rows = rows + r, flow_rows + f
        write()
    if not a.no_sample:
        sample_end = harness.latest_date(a.sample)
        end = pd.Timestamp(sample_end.year if sample_end.month <= 3 else sample_end.year + 1, 3, 31).date()
        r, f = back_test("third-party sample", a.sample, end, a.cutoff, a.out / "sample", a, peer_python, None,
                         a.seeds[0])
        rows, flow_rows = rows + r, flow_rows + f
    print("\n" + write())
    print(f"tables: {a.out / 'results.md'}, {a.out / 'results.csv'}, {a.out / 'summary.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
