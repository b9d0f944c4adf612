"""carepath side by side with the open peer cs-demand-model, on the same SSDA903 history.

SYNTHETIC DATA ONLY: the history is drawn by `calibration.synthetic` (no real child).

What it does:
1. Writes a Nottingham-scale synthetic history (SSDA903 one folder per collection year, 1 April
   2015 to the extract date 31 March 2022) with a fixed seed, clean (no injected mess, because
   the peer has no cleaning: an unparseable date stops it with a traceback).
2. Cuts the SSDA903 back to the cut-off date (default 31 March 2020), exactly as it would have
   been extracted then: collection years after it are left out; rows of a year that straddles
   it lose the episodes that start later, and end dates after it are blanked (with REC and
   REASON_PLACE_CHANGE). Both models read the same cut folder and nothing else.
3. carepath: `carepath.commands.calibrate.calibrate` on the cut SSDA903 only (no CIN census, no
   contacts, no back-cast), extract date = cut-off; then `sim.runner.run_replication` R times
   from the fitted snapshot for two years; mean and 95% band (2.5-97.5 percentiles) of children
   in care at each month end.
4. cs-demand-model (in its own Python environment, see below): `PopulationStats` on the cut
   folder, `ModelPredictor.from_model` with a reference period ending at the cut-off (6 months,
   the tool's command-line default, 12 and 24 months), daily steps for two years.
5. Observed: children in care at each month end of the two years after the cut-off, counted from
   the FULL data with carepath's loader (`calibration.report.observed_stocks`).
6. Prints a table (MAPE and bias over the 24 months, signed error at 12 and 24 months, run times) for the
   total and for four placement groups both models can tell apart, and writes the monthly
   figures to OUT/monthly.csv and the table to OUT/results.csv and OUT/results.md.

cs-demand-model 0.5.1 pins pandas < 2 and numpy < 2, and carepath needs pandas >= 2.1, so it
cannot share the project's environment (installing it there downgrades pandas and breaks
carepath). It runs in a separate environment, called as a subprocess of this script:

    python -m venv benchmarks/.venv
    benchmarks/.venv/bin/pip install -r benchmarks/requirements-peer.txt

Usage (from the repository root, with the project's venv):
    python benchmarks/peer_cs_demand_model.py [--seed S] [--replications R] [--workers W]
           [--scale F] [--cutoff YYYY-MM-DD] [--peer-python PATH] [--out DIR]
See docs/peer_comparison.md for the results and what they mean.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PEER_PYTHON = ROOT / "benchmarks" / ".venv" / "bin" / "python"
if str(Path(__file__).resolve().parent) not in sys.path:   # forecast_scoring, beside this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
INSTALL_HINT = (
    "cs-demand-model is not installed. It pins pandas<2 and numpy<2, which carepath cannot use, so give it\n"
    "its own environment (installing it into the project's venv would downgrade pandas and break carepath):\n"
    "    python -m venv benchmarks/.venv\n"
    "    benchmarks/.venv/bin/pip install -r benchmarks/requirements-peer.txt\n"
    "then run this script again (or point --peer-python at a Python that has cs-demand-model 0.5.1)."
)
GROUPS = ("fostering", "residential", "supported", "other")
# carepath placement types -> common groups (same SSDA903 codes as the peer's standard-v1 config:
# fostering U1-U6, residential K2 R1, supported H5 P2, other everything else)
CAREPATH_GROUPS = {
    "fostering": ("kinship", "foster_inhouse", "foster_ifa"),
    "residential": ("residential_inhouse", "residential_block", "residential_spot"),
    "supported": ("semi_independent_block", "semi_independent_spot"),
    "other": ("with_parents", "other"),
}
PEER_GROUPS = {"FOSTERING": "fostering", "RESIDENTIAL": "residential", "SUPPORTED": "supported", "OTHER": "other"}
PEER_REFERENCE_MONTHS = (6, 12, 24)


# ------------------------------------------------------------------------------- the peer
def peer_worker(argv: list[str]) -> int:
    """Runs inside the peer's environment (pandas 1.x): no carepath imports here.

    argv: SSDA903_DIR CUTOFF HORIZON_END OUT_CSV REF_MONTHS...  Writes month-end predictions
    (reference, month, group, value) and prints a JSON line with the timings."""
    import warnings

    warnings.simplefilter("ignore")
    import pandas as pd
    from dateutil.relativedelta import relativedelta

    from cs_demand_model import Config, DemandModellingDataContainer, ModelPredictor, PopulationStats, fs_datastore

    src, cutoff, horizon_end, out_csv = argv[0], pd.Timestamp(argv[1]), pd.Timestamp(argv[2]), argv[3]
    refs = [int(x) for x in argv[4:]]
    import cs_demand_model

    t0 = time.perf_counter()
    config = Config()
    dc = DemandModellingDataContainer(fs_datastore(str(Path(src).resolve())), config)
    stats = PopulationStats(dc.enriched_view, config)
    start_stock = stats.stock_at(cutoff)
    t_load = time.perf_counter() - t0
    rows, timings = [], {"load_seconds": t_load, "version": getattr(cs_demand_model, "__version__", "0.5.1"),
                         "data_end": str(dc.end_date.date()), "runs": {}}
    # the starting stock as the peer counts it, by group
    st = start_stock[[c for c in start_stock.index if c[1] != "NOT_IN_CARE"]]
    timings["start_stock"] = {g: float(st[[c for c in st.index if PEER_GROUPS.get(c[1]) == g]].sum()) for g in GROUPS}
    days = (horizon_end - cutoff).days
    for m in refs:
        t1 = time.perf_counter()
        ref_start = cutoff - relativedelta(months=m)
        predictor = ModelPredictor.from_model(stats, ref_start, cutoff, prediction_start=cutoff)
        t_fit = time.perf_counter() - t1
        pred = predictor.predict(days, step_days=1)
        t_pred = time.perf_counter() - t1 - t_fit
        # columns are (age band, placement category); (age band, NOT_IN_CARE) collects the children
        # who left, cumulatively: not part of the stock in care
        pred.index = pd.to_datetime(pred.index)
        month_end = pred[pred.index.is_month_end]
        for g in GROUPS:
            cols = [c for c in pred.columns if PEER_GROUPS.get(c[1]) == g]
            for d, v in month_end[cols].sum(axis=1).items():
                rows.append((m, d.strftime("%Y-%m"), g, float(v)))
        timings["runs"][m] = {"fit_seconds": t_fit + t_load, "forecast_seconds": t_pred,
                              "reference": f"{ref_start.date()} to {cutoff.date()}"}
    pd.DataFrame(rows, columns=["reference_months", "month", "group", "value"]).to_csv(out_csv, index=False)
    print(json.dumps(timings))
    return 0


def find_peer_python(given: str | None) -> str | None:
    """A Python that can import cs_demand_model: --peer-python, $CAREPATH_PEER_PYTHON, benchmarks/.venv,
    or this one."""
    candidates = [given, os.environ.get("CAREPATH_PEER_PYTHON"), str(DEFAULT_PEER_PYTHON), sys.executable]
    for c in candidates:
        if not c or not Path(c).exists():
            continue
        ok = subprocess.run([c, "-c", "import cs_demand_model"], capture_output=True).returncode == 0
        if ok:
            return c
        if c == given:
            print(f"{given}: cannot import cs_demand_model", file=sys.stderr)
    return None


def run_peer(python: str, ssda903_dir: Path, cutoff: dt.date, horizon_end: dt.date, out: Path):
    import pandas as pd

    csv = out / "peer_monthly.csv"
    t0 = time.perf_counter()
    r = subprocess.run([python, str(Path(__file__).resolve()), "--peer-worker", str(ssda903_dir), cutoff.isoformat(),
                        horizon_end.isoformat(), str(csv), *map(str, PEER_REFERENCE_MONTHS)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"cs-demand-model failed:\n{r.stderr[-3000:]}")
    timings = json.loads(r.stdout.strip().splitlines()[-1])
    timings["wall_seconds"] = time.perf_counter() - t0
    return pd.read_csv(csv, dtype={"month": str}), timings


def peer_forecast(pm, reference_months: int, months: list[str]):
    """The peer's month-end forecast for one reference period: a column per group and the total."""
    p = pm[pm["reference_months"] == reference_months].pivot_table(
        index="month", columns="group", values="value").reindex(months)
    p["total"] = p[list(GROUPS)].sum(axis=1)
    return p


# ----------------------------------------------------------------------------------- data
def make_data(out: Path, seed: int, scale: float) -> Path:
    """The synthetic history (clean), reused if already there and written by the same generator
    (a stamp of calibration/synthetic.py's text: a changed generator draws the data again)."""
    import hashlib

    import calibration.synthetic as synthetic
    from calibration.synthetic import SyntheticTruth, generate

    stamp = hashlib.sha256(Path(synthetic.__file__).read_bytes()).hexdigest()[:16]
    data = out / f"data_seed{seed}_scale{scale:g}"
    stamp_file = data / "generator.sha256"
    if not ((data / "truth.yaml").exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp):
        t0 = time.perf_counter()
        if data.exists():
            shutil.rmtree(data)
        generate(SyntheticTruth(scale=scale), seed, data, messy=False)
        stamp_file.write_text(stamp + "\n")
        print(f"wrote synthetic data to {data} in {time.perf_counter() - t0:.0f}s")
    return data


def cut_ssda903(src: Path, dest: Path, cutoff: dt.date) -> Path:
    """The SSDA903 year folders as they would have been extracted on `cutoff`: years collected
    after it left out, every kept year's episodes cut at it (`forecast_scoring.cut_episodes`), the
    header kept for the children still in it, other files copied as they are."""
    import pandas as pd

    from forecast_scoring import collection_year_end, cut_episodes

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    cut = pd.Timestamp(cutoff)
    for yd in sorted(p for p in src.iterdir() if p.is_dir()):
        eps = pd.read_csv(yd / "episodes.csv", dtype=str, keep_default_na=False)
        year_end = collection_year_end(yd.name, eps)
        if year_end - pd.DateOffset(years=1) + pd.Timedelta(days=1) > cut:
            continue                             # not collected yet at the cut-off
        (dest / yd.name).mkdir()
        eps = cut_episodes(eps, cut)             # a whole past year is unchanged (unless it has later dates)
        eps.to_csv(dest / yd.name / "episodes.csv", index=False)
        hdr = pd.read_csv(yd / "header.csv", dtype=str, keep_default_na=False)
        hdr[hdr["CHILD"].isin(eps["CHILD"])].to_csv(dest / yd.name / "header.csv", index=False)
        for other in yd.iterdir():
            if other.is_file() and other.name not in ("episodes.csv", "header.csv"):
                shutil.copy2(other, dest / yd.name / other.name)
    return dest


def latest_date(folder: Path):
    import pandas as pd

    last = pd.NaT
    for f in folder.glob("*/episodes.csv"):
        e = pd.read_csv(f, dtype=str, keep_default_na=False)
        for col in ("DECOM", "DEC"):
            d = pd.to_datetime(e[col], format="%d/%m/%Y", errors="coerce").max()
            last = d if pd.isna(last) or (pd.notna(d) and d > last) else last
    return last


# ------------------------------------------------------------------------------ carepath
def _carepath_rep(params, seed, rep, cases):
    from sim.measures import stocks_by_month
    from sim.runner import run_replication

    t0 = time.perf_counter()
    res = run_replication(params, seed, rep, snapshot=cases)
    st = stocks_by_month(res)
    wide = st.pivot_table(index="month", columns="measure", values="value", aggfunc="first")
    out = {"total": wide["care"]}
    for g, types in CAREPATH_GROUPS.items():
        out[g] = sum(wide[f"care_{t}"] for t in types if f"care_{t}" in wide)
    import pandas as pd

    frame = pd.DataFrame(out).reset_index().melt(id_vars="month", var_name="group", value_name="value")
    frame["replication"] = rep
    frame.attrs["flows"] = flows(res.events)
    return frame, time.perf_counter() - t0


FLOWS = ("entries", "exits") + tuple(f"exits_{r}" for r in ("reunification", "sgo", "cao", "adoption", "age18", "other"))


def flows(events) -> dict:
    """Entries into care (first entries and re-entries) and exits by reason over the whole forecast."""
    ev = events["event"].astype(str)
    exits = events.loc[ev == "care_exit", "detail"].astype(str)
    out = {"entries": int((ev == "care_entry").sum()), "exits": len(exits)}
    out.update({k: int((exits == k.removeprefix("exits_")).sum()) for k in FLOWS[2:]})
    return out


def observed_flows(full_ssda903: Path, extract: dt.date, cutoff: dt.date, horizon_end: dt.date) -> dict:
    """The same counts from the full data: periods of care starting, and ending by reason, after
    the cut-off up to the forecast's end."""
    import pandas as pd

    from calibration.ssda903 import load_ssda903

    p = load_ssda903(full_ssda903, pd.Timestamp(extract)).periods
    a, b = pd.Timestamp(cutoff), pd.Timestamp(horizon_end)
    ended = p[(p["end"] > a) & (p["end"] <= b)]
    out = {"entries": int(((p["start"] > a) & (p["start"] <= b)).sum()), "exits": len(ended)}
    out.update({k: int((ended["exit_reason"] == k.removeprefix("exits_")).sum()) for k in FLOWS[2:]})
    return out


def fit_full_pathway(ssda903_dir: Path, data: Path, cutoff: dt.date, extract: dt.date, out: Path,
                     contacts: bool = True):
    """carepath fitted on the cut SSDA903 plus the CIN census (and, with `contacts`, the contacts
    file) as they stood at the cut-off (`calibration.fit.as_of`: later records dropped, later end
    dates blanked), as `carepath calibrate --cin [--contacts]` fits them."""
    import pandas as pd
    import yaml

    from calibration.cin_census import load_cin_census
    from carepath.commands.calibrate import DEFAULT_TEMPLATE
    from calibration.contacts import load_contacts
    from calibration.fit import as_of, fit_parameters
    from calibration.ssda903 import load_ssda903
    from sim.params import load_params

    cut = pd.Timestamp(cutoff)
    s = load_ssda903(ssda903_dir, cut)
    c = load_cin_census(data / "cin_census" / "csv" / "cin_census.csv", pd.Timestamp(extract))
    k = load_contacts(data / "contacts" / "contacts.csv", pd.Timestamp(extract)) if contacts else None
    _, c, k = as_of(None, c, k, cut)
    res = fit_parameters(s, c, k, None, extract_date=cut, template=load_params(DEFAULT_TEMPLATE))
    snap = res.snapshot
    # a child open on the extract date who turns 18 the next day (the forecast's first day) is
    # refused by the model's snapshot check: leave such children out (see docs/peer_comparison.md)
    start = cut + pd.Timedelta(days=1)
    adult = pd.to_datetime(snap["dob"]) + pd.DateOffset(years=18) <= start
    if adult.any():
        print(f"carepath (full pathway): {int(adult.sum())} snapshot child(ren) 18 on the forecast's first day left out")
    fit_dir = out / ("carepath_fit_full" if contacts else "carepath_fit_cin")
    fit_dir.mkdir(parents=True, exist_ok=True)
    snap[~adult].to_csv(fit_dir / "snapshot.csv", index=False)
    (fit_dir / "params.yaml").write_text(yaml.safe_dump(res.params.model_dump(mode="json"), sort_keys=False))
    return {"params": fit_dir / "params.yaml", "snapshot": fit_dir / "snapshot.csv"}


def run_carepath(ssda903_dir: Path, cutoff: dt.date, horizon_end: dt.date, out: Path, replications: int,
                 workers: int, seed: int, full_pathway_data: Path | None = None, extract: dt.date | None = None,
                 contacts: bool = True):
    """Fit carepath on the cut data (SSDA903 only, or with `full_pathway_data` the CIN census and,
    with `contacts`, the contacts file too) and run `replications` two-year forecasts; returns the
    month-end stocks by replication and the timings."""
    import pandas as pd

    from carepath.commands.calibrate import calibrate
    from sim.inputs import read_snapshot
    from sim.params import load_params

    t0 = time.perf_counter()
    if full_pathway_data is None:
        paths = calibrate(ssda903_dir, extract_date=cutoff.isoformat(), out_dir=out / "carepath_fit", backcast=False)
    else:
        paths = fit_full_pathway(ssda903_dir, full_pathway_data, cutoff, extract, out, contacts=contacts)
    fit_seconds = time.perf_counter() - t0
    params = load_params(paths["params"])
    params = params.model_copy(deep=True)
    params.horizon = params.horizon.model_copy(update={"end_date": horizon_end})
    cases = read_snapshot(paths["snapshot"], params)
    t1 = time.perf_counter()
    frames, rep_seconds = [], []
    if workers <= 1 or replications <= 1:
        for rep in range(replications):
            f, s = _carepath_rep(params, seed, rep, cases)
            frames.append(f)
            rep_seconds.append(s)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, replications)) as pool:
            for f, s in pool.map(_carepath_rep, [params] * replications, [seed] * replications,
                                 range(replications), [cases] * replications):
                frames.append(f)
                rep_seconds.append(s)
    forecast_seconds = time.perf_counter() - t1
    mean_flows = pd.DataFrame([f.attrs["flows"] for f in frames]).mean().to_dict()
    sims = pd.concat(frames, ignore_index=True)
    in_care = sum(1 for c in cases if c.state == "care")
    return sims, {"fit_seconds": fit_seconds, "forecast_seconds": forecast_seconds,
                  "replication_seconds": sum(rep_seconds), "snapshot_children": len(cases), "in_care": in_care,
                  "flows": mean_flows}


def band(sims, months: list[str]):
    """carepath's mean and 2.5-97.5 percentile band over the replications, a column per series."""
    g = sims.groupby(["group", "month"])["value"]
    mean, lo, hi = g.mean().unstack(0), g.quantile(0.025).unstack(0), g.quantile(0.975).unstack(0)
    return tuple(x.reindex(months) for x in (mean, lo, hi))


# ------------------------------------------------------------------------------- scoring
def observed(full_ssda903: Path, extract: dt.date, months: list[str]):
    """Children in care at each month end, counted from the full data with carepath's loader."""
    import pandas as pd

    from calibration.report import observed_stocks
    from calibration.ssda903 import load_ssda903

    s = load_ssda903(full_ssda903, pd.Timestamp(extract))
    ends = [pd.Period(m, freq="M").to_timestamp(how="end").normalize() for m in months]
    obs = observed_stocks(s, None, ends)   # groups kinship, foster, residential, semi_independent, other
    return pd.DataFrame({"total": obs["care"], "fostering": obs["care_kinship"] + obs["care_foster"],
                         "residential": obs["care_residential"], "supported": obs["care_semi_independent"],
                         "other": obs["care_other"]}).astype(float).set_axis(months)


def errors(pred, obs) -> dict:
    """MAPE and bias (mean % error) over all months, signed % error at months 12 and 24 (or the last)."""
    from forecast_scoring import score

    return score(pred, obs)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="carepath against cs-demand-model on the same SSDA903 history (synthetic).")
    ap.add_argument("--seed", type=int, default=2022, help="seed of the synthetic history and of the simulation (default 2022)")
    ap.add_argument("--replications", type=int, default=10, help="carepath replications (default 10)")
    ap.add_argument("--workers", type=int, default=1, help="processes for carepath's replications (default 1: run time on one core)")
    ap.add_argument("--scale", type=float, default=1.0, help="synthetic council size (1 = Nottingham; default 1)")
    ap.add_argument("--cutoff", type=dt.date.fromisoformat, default=dt.date(2020, 3, 31),
                    help="data cut-off, the forecast's start (default 2020-03-31)")
    ap.add_argument("--peer-python", default=None, help="a Python with cs-demand-model 0.5.1 (default benchmarks/.venv/bin/python)")
    ap.add_argument("--no-full-pathway", action="store_true",
                    help="leave out the extra carepath row fitted on SSDA903 + CIN census + contacts")
    ap.add_argument("--carepath-only", action="store_true", help="skip the peer")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "peer_benchmark", help="work folder (default results/peer_benchmark)")
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--peer-worker":
        return peer_worker(argv[1:])
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import pandas as pd

    from calibration.synthetic import SyntheticTruth
    from forecast_scoring import months_after

    peer_python = None
    if not a.carepath_only:
        peer_python = find_peer_python(a.peer_python)
        if peer_python is None:
            print(INSTALL_HINT, file=sys.stderr)
            return 2
    extract = SyntheticTruth().extract_date
    horizon_end = (pd.Timestamp(a.cutoff) + pd.DateOffset(years=2)).date()
    if horizon_end > extract:
        print(f"the cut-off must be at least two years before the extract date {extract}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    data = make_data(a.out, a.seed, a.scale)
    cut = cut_ssda903(data / "ssda903", a.out / f"cut_{a.cutoff}" / "ssda903", a.cutoff)
    last = latest_date(cut)
    assert last <= pd.Timestamp(a.cutoff), f"leak: a date {last} after the cut-off in {cut}"
    print(f"data: {data} (seed {a.seed}, scale {a.scale:g}); cut to {a.cutoff} in {cut} (latest date in it {last.date()})")

    months = months_after(a.cutoff)
    both = observed(data / "ssda903", extract, [pd.Timestamp(a.cutoff).strftime("%Y-%m")] + months)
    start_obs, obs = both.iloc[0], both.iloc[1:]

    rows, monthly, inside = [], [obs.add_prefix("observed_")], {}
    variants = [("SSDA903 only", "carepath", None)]
    if not a.no_full_pathway:
        variants.append(("SSDA903 + CIN census + contacts", "carepath_full", data))
    for what, key, extra in variants:
        print(f"carepath ({what}): fit and {a.replications} replications ...", flush=True)
        sims, ct = run_carepath(cut, a.cutoff, horizon_end, a.out, a.replications, a.workers, a.seed, extra, extract)
        mean, lo, hi = band(sims, months)
        monthly += [mean.add_prefix(f"{key}_mean_"), lo.add_prefix(f"{key}_low_"), hi.add_prefix(f"{key}_high_")]
        label = f"carepath ({what}; {a.replications} replications)"
        inside[label] = float(((obs["total"] >= lo["total"]) & (obs["total"] <= hi["total"])).mean() * 100)
        for srs in ("total",) + GROUPS:
            e = errors(mean[srs], obs[srs])
            rows.append({"model": label, "series": srs, **e, "start": float(ct["in_care"]) if srs == "total" else np.nan,
                         "fit_s": ct["fit_seconds"], "forecast_s": ct["forecast_seconds"]})
        print(f"  fit {ct['fit_seconds']:.1f}s, forecast {ct['forecast_seconds']:.1f}s; starting caseload "
              f"{ct['snapshot_children']} children ({ct['in_care']} in care); observed total inside the 95% band "
              f"in {inside[label]:.0f}% of months")

    peer_t = None
    if peer_python:
        print(f"cs-demand-model: {peer_python} ...", flush=True)
        pm, peer_t = run_peer(peer_python, cut, a.cutoff, horizon_end, a.out)
        for m in PEER_REFERENCE_MONTHS:
            p = peer_forecast(pm, m, months)
            monthly.append(p.add_prefix(f"peer_ref{m}_"))
            t = peer_t["runs"][str(m)]
            lab = f"cs-demand-model {peer_t['version']} (reference {m} months{', its CLI default' if m == 6 else ''})"
            for srs in ("total",) + GROUPS:
                e = errors(p[srs], obs[srs])
                start = sum(peer_t["start_stock"].values()) if srs == "total" else np.nan
                rows.append({"model": lab, "series": srs, **e, "start": start,
                             "fit_s": t["fit_seconds"], "forecast_s": t["forecast_seconds"]})
    # the naive reference: the stock at the cut-off carried forward unchanged
    for srs in ("total",) + GROUPS:
        e = errors(np.full(len(months), float(start_obs[srs])), obs[srs])
        rows.append({"model": "naive: the cut-off's stock carried forward", "series": srs, **e,
                     "start": float(start_obs["total"]) if srs == "total" else np.nan, "fit_s": 0.0, "forecast_s": 0.0})
    table = pd.DataFrame(rows)
    pd.concat(monthly, axis=1).rename_axis("month").to_csv(a.out / "monthly.csv")
    table.to_csv(a.out / "results.csv", index=False)

    mach = machine()
    md = [f"Seed {a.seed}, scale {a.scale:g}, cut-off {a.cutoff}, forecast {months[0]} to {months[-1]}; "
          f"observed children in care at the cut-off {start_obs['total']:.0f}, at 12 months {obs['total'].iloc[11]:.0f}, "
          f"at 24 months {obs['total'].iloc[-1]:.0f}. Machine: {mach}.", "",
          "| model | MAPE, total (%) | bias, total (%) | error at 12 months (%) | error at 24 months (%) | "
          "forecast at 24 months | MAPE by group: fostering / residential / supported / other (%) | fit (s) | forecast (s) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for model, t in table.groupby("model", sort=False):
        tot = t[t["series"] == "total"].iloc[0]
        by = " / ".join(f"{t.loc[t['series'] == s, 'mape'].iloc[0]:.1f}" for s in GROUPS)
        md.append(f"| {model} | {tot['mape']:.1f} | {tot['bias']:+.1f} | {tot['err12']:+.1f} | {tot['err24']:+.1f} | {tot['pred24']:.0f} "
                  f"(observed {tot['obs24']:.0f}) | {by} | {tot['fit_s']:.1f} | {tot['forecast_s']:.1f} |")
    md.append("")
    for label, v in inside.items():
        md.append(f"{label}: the observed total is inside the 95% band (2.5-97.5 percentiles) in {v:.0f}% of the 24 months.")
    if peer_t:
        md.append(f"cs-demand-model: starting stock {sum(peer_t['start_stock'].values()):.0f} "
                  f"({', '.join(f'{k} {v:.0f}' for k, v in peer_t['start_stock'].items())}); observed at the cut-off "
                  f"{start_obs['total']:.0f} ({', '.join(f'{k} {start_obs[k]:.0f}' for k in GROUPS)}). "
                  f"Whole peer subprocess {peer_t['wall_seconds']:.1f}s.")
    text = "\n".join(md)
    (a.out / "results.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\nmonthly figures: {a.out / 'monthly.csv'}; table: {a.out / 'results.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
