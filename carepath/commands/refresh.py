"""`carepath refresh`: a council's new returns to its updated forecast and business case in one
command, and `carepath init-council`: the council inputs file to start from.

    carepath refresh --ssda903 DIR [--cin PATH] [--contacts FILE] --council FILE
                     --extract-date DATE [--scenarios FILE] [--previous DIR] --out DIR

writes into --out: `calibration/` (the fitted parameters with the council's own figures laid
over them, the starting caseload, the calibration report), `forecast/` (the baseline from the
day after the extract), `business_case/` (the council's scenario file, or its levers, or a
default set, on the refreshed parameters), `provenance.csv` (every parameter value: fitted from
the data, given by the council, or inherited from the template) and `index.html` linking them,
with what changed since `--previous` (last year's refresh folder).
"""
from __future__ import annotations

import argparse
import html
import time
from pathlib import Path

import pandas as pd
import yaml

from calibration.council import CouncilError, load_council, provenance, template_text
from calibration.summary import kept_from_template
from sim.backends import default_workers
from sim.calendar import FinancialYear
from sim.params import load_params

from ..options import add_backend_arguments, default_params, positive_int, seed
from ..outputs import file_sha256, manifest, output_folder, write_csv, write_json, write_text
from .calibrate import calibrate
from .run import collect_and_write_forecast

# the levers a business case runs when the council names none: each stated by its mechanism
# (no target search), at a modest, plainly stated intensity
DEFAULT_LEVERS = (
    {"lever": "edge_of_care", "ramp_months": 24, "mechanism": {"divert_share": 0.1}},
    {"lever": "foster_carers", "ramp_months": 24, "mechanism": {"extra_joiners_per_year": 5}},
    {"lever": "reunification", "ramp_months": 24, "mechanism": {"reunification_rate_per_year": 0.02}},
    {"lever": "carer_retention", "ramp_months": 12, "mechanism": {"leaving_reduction": 0.2}},
)


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "refresh", help="the annual refresh: new returns to an updated forecast and business case",
        description="Calibrate to a council's new activity data (SSDA903, and the CIN census and contacts "
                    "if given), lay the council's own figures (--council) over the fitted parameters, run "
                    "the forecast from the day after the extract and the business case on the refreshed "
                    "parameters, and write them into --out with an index.html that says what came from the "
                    "data, from the council file and from the template.")
    p.add_argument("--ssda903", required=True, metavar="DIR_OR_FILE", help="SSDA903 returns (a folder of year folders)")
    p.add_argument("--cin", default=None, metavar="PATH", help="CIN census (XML or CSV, or a folder of them)")
    p.add_argument("--contacts", default=None, metavar="FILE", help="contacts extract (CSV)")
    p.add_argument("--council", required=True, metavar="FILE",
                   help="the council's own inputs (YAML; `carepath init-council --out FILE` writes a template)")
    p.add_argument("--extract-date", required=True, metavar="DATE", help="date the data were extracted")
    p.add_argument("--scenarios", default=None, metavar="FILE",
                   help="the council's scenario set (YAML); its baseline is replaced by the refreshed parameters "
                        "(default: the council file's levers, or a default set of levers)")
    p.add_argument("--previous", default=None, metavar="DIR", help="last year's refresh folder, to show what changed")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--template", default=None, metavar="PARAMS.yaml",
                   help="parameter set for what neither the data nor the council file give (default: the shipped baseline)")
    p.add_argument("--replications", type=positive_int, default=8, metavar="R",
                   help="replications of the forecast and of each scenario (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=12345, metavar="S")
    p.add_argument("--workers", type=positive_int, default=None, metavar="W")
    p.add_argument("--no-backcast", action="store_true", help="skip the calibration's back-cast check (faster)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_backend_arguments(p)
    p.set_defaults(handler=cmd_refresh)

    init = sub.add_parser("init-council", help="write a commented council inputs file to fill in",
                          description="Write a council inputs file (YAML) with every field explained: the "
                                      "values your council must give, and the template's values for the rest, "
                                      "commented out.")
    init.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    init.add_argument("--template", default=None, metavar="PARAMS.yaml", help="parameter set to show (default: the shipped baseline)")
    init.set_defaults(handler=cmd_init_council)


def cmd_init_council(args) -> int:
    out = Path(args.out)
    if out.exists():
        raise CouncilError(f"{out}: already exists; carepath does not overwrite a council's file (choose another name)")
    template = load_params(Path(args.template) if args.template else default_params())
    write_text(template_text(template), out)
    print(f"Wrote {out}: fill in the values marked REQUIRED, and any others your council knows; "
          "what you leave commented out is taken from the template and listed by `carepath refresh`.")
    return 0


def _provenance_table(summary: pd.DataFrame, template, council) -> pd.DataFrame:
    """Every parameter value and where it came from: the data, the council file or the template."""
    rows = []
    fitted = summary[summary["measure"].str.startswith("parameter:")]
    # the council-owned sections are listed value by value below, not as the fit's whole sections
    owned = ("costs", "capacity", "edge_of_care")
    fitted = fitted[~fitted["measure"].str.removeprefix("parameter:").str.split(" ").str[0].isin(owned)]
    for r in fitted.itertuples():
        rows.append({"parameter": r.measure.removeprefix("parameter:"),
                     "source": "data" if r.source == "data" else "template",
                     "note": r.note if isinstance(r.note, str) else ""})
    prov = provenance(template, council)
    rows += [{"parameter": p, "source": "council file", "note": str(council.path)} for p in prov["council"]]
    rows += [{"parameter": p, "source": "template", "note": "not in the council file: the template's value"}
             for p in prov["inherited"]]
    return pd.DataFrame(rows, columns=["parameter", "source", "note"])


def _scenario_set(council, scenarios_file, params_rel: str, start, replications: int, seed_: int) -> dict:
    """The business case to run: the council's scenario file on the refreshed parameters, or its
    levers (each alone and all together), or the default set."""
    first_label = FinancialYear.of(start).label
    target = FinancialYear(FinancialYear.parse(first_label).start_year + 7).label
    if scenarios_file:
        data = yaml.safe_load(Path(scenarios_file).read_text(encoding="utf-8")) or {}
        data["baseline"] = params_rel
        return data
    lever_start = f"{start.year if start.month < 10 else start.year + 1}-{'10' if start.month < 10 else '04'}-01"
    levers = council.levers or [{**lv, "start": lever_start} for lv in DEFAULT_LEVERS]
    scen = [{"name": str(lv["lever"]), "description": f"{lv['lever']} alone", "levers": [lv]} for lv in levers]
    if len(levers) > 1:
        scen.append({"name": "all_levers", "description": "every lever together", "levers": list(levers)})
    out = {"name": f"{council.name}: business case", "baseline": params_rel, "replications": max(2, replications),
           "seed": seed_, "first_year": first_label, "target_year": target, "search_replications": 4,
           "scenarios": scen}
    if council.investment:
        out["investments"] = {"programme": council.investment}
    return out


def _experiment_defaults(file: str) -> argparse.Namespace:
    """The experiment command's options at their defaults, read from its own parser, so an option it gains
    (such as --draws) has its default here too."""
    from . import experiment as experiment_cmd

    parser = argparse.ArgumentParser(add_help=False)
    experiment_cmd.add_parsers(parser.add_subparsers())
    return parser.parse_args(["experiment", file])


def _changes(previous: Path, summary: pd.DataFrame, forecast: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What moved since last year's refresh: fitted measures outside last year's interval, and the
    forecast by financial year, then and now."""
    moved = pd.DataFrame()
    prev_sum = previous / "calibration" / "calibration_summary.csv"
    if prev_sum.exists():
        old = pd.read_csv(prev_sum)
        old = old[~old["measure"].str.startswith("parameter:")][["measure", "value", "low", "high"]]
        new = summary[~summary["measure"].str.startswith("parameter:")][["measure", "value", "low", "high"]]
        both = old.merge(new, on="measure", suffixes=("_last_year", "_now"))
        out_of = (both["value_now"] < both["low_last_year"]) | (both["value_now"] > both["high_last_year"])
        moved = both[out_of].reset_index(drop=True)
    revisions = pd.DataFrame()
    prev_fc = previous / "forecast" / "summary_by_fy.csv"
    if prev_fc.exists():
        keys = ["cic_average", "care_entries", "cost_total"]
        old = pd.read_csv(prev_fc)
        a = old[old["measure"].isin(keys)].groupby(["financial_year", "measure"])["value"].mean().rename("last_year")
        b = forecast[forecast["measure"].isin(keys)].groupby(["financial_year", "measure"])["value"].mean().rename("now")
        revisions = pd.concat([a, b], axis=1).dropna().reset_index()
        revisions["revision"] = revisions["now"] - revisions["last_year"]
    return moved, revisions


def _table(df: pd.DataFrame, money: tuple[str, ...] = ()) -> str:
    if df is None or not len(df):
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, float):
                v = f"£{v:,.0f}" if c in money or r.get("measure") == "cost_total" else f"{v:,.2f}"
            cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _forecast_table(forecast: pd.DataFrame) -> pd.DataFrame:
    keys = {"cic_average": "children in care (average)", "care_entries": "entries into care",
            "cost_placements": "placements (£)", "cost_total": "total cost (£)"}
    m = forecast[forecast["measure"].isin(keys)].groupby(["financial_year", "measure"])["value"].mean().unstack()
    m = m[[k for k in keys if k in m.columns]].rename(columns=keys).reset_index()
    for c in ("placements (£)", "total cost (£)"):
        if c in m:
            m[c] = m[c].map(lambda v: f"£{v / 1e6:,.1f}m")
    for c in ("children in care (average)", "entries into care"):
        if c in m:
            m[c] = m[c].map(lambda v: f"{v:,.0f}")
    return m.rename(columns={"financial_year": "financial year"})


def _index(council, prov: pd.DataFrame, moved, revisions, extract, params, forecast: pd.DataFrame) -> str:
    counts = prov["source"].value_counts()
    inherited = prov[prov["source"] == "template"]
    style = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
             "table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"
             ".warn{background:#fff3cd;border:1px solid #e0c060;padding:.5rem 1rem}")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(council.name)}: refresh</title>"
             f"<style>{style}</style></head><body>",
             f"<h1>{html.escape(council.name)}: the annual refresh</h1>",
             f"<p>From data extracted on {extract:%d %B %Y}. The forecast starts on "
             f"{params.horizon.start_date:%d %B %Y}, the day after the extract, and runs to "
             f"{params.horizon.end_date:%d %B %Y}.</p>",
             "<ul><li><a href='calibration/calibration_report.html'>Calibration report</a>: what was fitted from the data, "
             "data quality, rows set aside</li>"
             "<li><a href='forecast/summary_by_fy.csv'>Forecast</a> (tables and charts in <code>forecast/</code>)</li>"
             "<li><a href='business_case/report.html'>Business case</a></li>"
             "<li><a href='provenance.csv'>Where every parameter came from</a> (provenance.csv)</li></ul>",
             "<h2>The forecast (mean of the replications)</h2>", _table(_forecast_table(forecast)),
             "<h2>Where the parameters came from</h2>",
             f"<p>Fitted from the data: {counts.get('data', 0)}. Given in the council file: {counts.get('council file', 0)}. "
             f"<strong>Inherited from the template (the Nottingham-like baseline, another council's figures): "
             f"{counts.get('template', 0)}</strong>.</p>"]
    if len(inherited):
        parts.append("<div class='warn'><p><strong>These values are not your council's: they come from the template.</strong> "
                     "Give them in the council file where your council knows them.</p>"
                     + _table(inherited[["parameter", "note"]]) + "</div>")
    if moved is not None or revisions is not None:
        parts.append("<h2>What changed since last year</h2>")
        parts.append("<h3>Fitted values outside last year's interval</h3>" + _table(moved))
        parts.append("<h3>Forecast revisions by financial year (means over replications)</h3>"
                     + _table(revisions, money=("last_year", "now", "revision")))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def cmd_refresh(args) -> int:
    from . import experiment as experiment_cmd

    t0 = time.perf_counter()
    council = load_council(args.council)
    out = Path(args.out)
    template_path = Path(args.template) if args.template else default_params()
    template = load_params(template_path)
    out.mkdir(parents=True, exist_ok=True)
    print(f"carepath refresh for {council.name}: calibrating to the data extracted on {args.extract_date}")
    paths = calibrate(args.ssda903, args.cin, args.contacts, None, args.extract_date, out / "calibration",
                      template_path, backcast=not args.no_backcast, council=council)
    params_path = paths["params"]
    params = load_params(params_path)
    summary = pd.read_csv(paths["summary"])
    prov = _provenance_table(summary, template, council)

    print(f"carepath refresh: the forecast from {params.horizon.start_date} ({args.replications} replications)")
    workers = args.workers or default_workers()
    forecast = collect_and_write_forecast(params, params_path, paths["snapshot"], out / "forecast", args.seed,
                                          args.replications, workers, args, event_log="none")

    print("carepath refresh: the business case on the refreshed parameters")
    sset = _scenario_set(council, args.scenarios, "calibration/params.yaml", params.horizon.start_date,
                         args.replications, args.seed)
    scen_path = out / "business_case_scenarios.yaml"
    write_text("# the business case `carepath refresh` ran (its baseline: the refreshed parameters)\n"
               + yaml.safe_dump(sset, sort_keys=False), scen_path)
    bc_args = _experiment_defaults(str(scen_path))  # every option the experiment command knows, at its default
    for k, v in dict(workers=args.workers, out=str(out / "business_case"), quiet=args.quiet, backend=args.backend,
                     scheduler=args.scheduler, tls_ca_file=args.tls_ca_file, tls_cert=args.tls_cert,
                     tls_key=args.tls_key).items():
        setattr(bc_args, k, v)
    experiment_cmd.run_experiment_command(bc_args)

    moved = revisions = None
    if args.previous:
        moved, revisions = _changes(Path(args.previous), summary, forecast)
    with output_folder(out) as stage:
        write_csv(prov, stage / "provenance.csv")
        write_text(_index(council, prov, moved, revisions, pd.Timestamp(args.extract_date), params, forecast), stage / "index.html")
        if moved is not None:
            write_csv(moved, stage / "changes_fitted_values.csv")
            write_csv(revisions, stage / "changes_forecast.csv")
        write_json(manifest("carepath refresh", parameters=params, params_path=params_path,
                            snapshot_path=paths["snapshot"], seed=args.seed, replications=args.replications,
                            workers=workers, wall=time.perf_counter() - t0,
                            council_file=str(council.path), council_file_hash=file_sha256(council.path),
                            extract_date=str(args.extract_date), previous=args.previous,
                            folders=["calibration", "forecast", "business_case"]), stage / "manifest.json")
    inherited = prov[prov["source"] == "template"]["parameter"].tolist()
    counts = prov["source"].value_counts()
    print(f"carepath refresh: {counts.get('data', 0)} values fitted from the data, {counts.get('council file', 0)} "
          f"from {council.path}, {len(inherited)} INHERITED FROM THE TEMPLATE (another council's figures):")
    for p in inherited:
        print(f"  - {p}")
    kept = kept_from_template(summary)
    if kept:
        print(f"  ({len(kept)} of them are fitted values the data could not give; the rest the council file leaves out)")
    print(f"Open {out / 'index.html'}")
    return 0
