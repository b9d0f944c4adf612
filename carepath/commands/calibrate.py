"""`carepath calibrate`: activity data in, a checked parameter set and a report out.

    carepath calibrate --ssda903 DIR_OR_FILE [--cin FILE] [--contacts FILE] [--costs FILE]
                       --extract-date DATE --out DIR [--template PARAMS.yaml] [--no-backcast]
                       [--exact-dates-of-birth]

Writes into --out: params.yaml (valid for `carepath run`, checked by loading it back),
snapshot.csv (the caseload open at the extract date; months of birth unless asked for exact
dates), calibration_summary.csv, data_quality.csv,
rows_set_aside.csv, calibration_report.html and manifest.json (inputs and their hashes, the
parameters' hash, the code version). Every file is written to a temporary name in
the folder and renamed into place, with the permissions the user's umask gives. Bad input
ends with one plain line on stderr and status 2.
"""
from __future__ import annotations

from pathlib import Path

from calibration.records import DataError, as_timestamp

from ..options import default_params
from ..outputs import atomic_write, file_sha256, manifest, output_folder, write_csv, write_json, write_text

DEFAULT_TEMPLATE = default_params()


def calibrate(ssda903, cin=None, contacts=None, costs=None, extract_date=None, out_dir="calibration_out",
              template_path=None, backcast: bool = True, backcast_replications: int = 3, council=None,
              exact_dates_of_birth: bool = False) -> dict:
    """Load, fit, check and write everything; returns {name: path}. Raises DataError,
    ParamsError or SnapshotError (one-line messages) for input that cannot be used.
    `council`: a `calibration.council.CouncilInputs` laid over the fitted parameters.
    snapshot.csv holds months of birth (yyyy-mm) unless `exact_dates_of_birth`."""
    from calibration.cin_census import load_cin_census
    from calibration.contacts import load_contacts
    from calibration.fit import fit_parameters, load_costs
    from calibration.report import backcast as run_backcast
    from calibration.report import build_report
    from calibration.ssda903 import load_ssda903
    from calibration.summary import data_quality_table, summary_table
    from sim.initial import with_month_of_birth
    from sim.inputs import read_snapshot
    from sim.params import load_params, params_yaml

    if extract_date is None:
        raise DataError("an extract date is needed (--extract-date dd/mm/yyyy or yyyy-mm-dd)")
    extract = as_timestamp(extract_date)
    if isinstance(extract_date, str) and len(extract_date.strip()) < 8:
        raise DataError(f"extract date '{extract_date}' is not a date (use dd/mm/yyyy or yyyy-mm-dd)")
    template_path = Path(template_path) if template_path else DEFAULT_TEMPLATE
    template = load_params(template_path)
    for label, p in (("--cin", cin), ("--contacts", contacts), ("--costs", costs)):
        if p is not None and not Path(p).exists():
            raise DataError(f"{label}: {p} does not exist")
    s = load_ssda903(Path(ssda903), extract)
    c = load_cin_census(Path(cin), extract) if cin else None
    k = load_contacts(Path(contacts), extract) if contacts else None
    cost_table = load_costs(costs) if costs else None
    result = fit_parameters(s, c, k, cost_table, extract_date=extract, template=template)
    if council is not None:
        from calibration.council import apply_council

        result.params = apply_council(result.params, council)

    out = Path(out_dir)
    paths = {}
    birth = "exact date of birth" if exact_dates_of_birth else "month of birth"
    child_level = {"snapshot.csv": "the caseload open at the extract date: one row per child (pseudonymous number, "
                                   f"{birth}, stage, placement, dates)",
                   "rows_set_aside.csv": "the input rows set aside, with the council's child identifiers and the "
                                         "reason (no dates of birth)"}
    snapshot = result.snapshot if exact_dates_of_birth else with_month_of_birth(result.snapshot)
    with output_folder(out, child_level) as stage:  # written whole or not at all
        ids = result.supply.get("synthetic_child_ids")
        if ids:  # no CIN census: the front door's open cases come from a warm-up run (calibration.supply)
            label = (f"# child_id {ids[0]} to {ids[1]}: SYNTHETIC front-door cases (contacts, assessments, S47, CIN and CP "
                     "plans, recently closed cases) from a warm-up run of the template's front door, as no CIN census was "
                     "given; the other rows are from the data. See calibration_summary.csv.\n")
            paths["snapshot"] = atomic_write(stage / "snapshot.csv", lambda p: p.write_text(
                label + snapshot.to_csv(index=False), encoding="utf-8"))
        else:
            paths["snapshot"] = write_csv(snapshot, stage / "snapshot.csv")
        header = (f"# Fitted by carepath calibrate from data extracted on {extract:%Y-%m-%d}\n"
                  f"# template: {template_path}\n# what came from the data and what from the template: calibration_summary.csv\n")
        text = header + params_yaml(result.params)
        paths["params"] = write_text(text, stage / "params.yaml")
        # prove the files can be used: load them back as `carepath run` would
        loaded = load_params(paths["params"])
        read_snapshot(paths["snapshot"], loaded)
        summary = summary_table(result)
        paths["summary"] = write_csv(summary, stage / "calibration_summary.csv")
        import yaml

        from calibration.summary import calibrated_intervals
        intervals = calibrated_intervals(summary, f"{extract:%Y-%m-%d}")
        paths["intervals"] = write_text(yaml.safe_dump(intervals, sort_keys=False, allow_unicode=True),
                                        stage / "calibrated_intervals.yaml")
        dq = data_quality_table(result.quality)
        paths["data_quality"] = write_csv(dq, stage / "data_quality.csv")
        paths["rows_set_aside"] = write_csv(result.quality.rows_set_aside, stage / "rows_set_aside.csv")
        if getattr(result, "exit_hazards", None) is not None:   # every cell of care.exit_hazards, with intervals
            paths["exit_hazards"] = write_csv(result.exit_hazards, stage / "exit_hazards.csv")
        back = None
        if backcast:
            try:
                back = run_backcast(s, c, k, cost_table, extract, template, replications=backcast_replications)
            except Exception as exc:  # noqa: BLE001 - the back-cast is a check, not an output: report and go on
                back = {"message": f"the back-cast failed ({type(exc).__name__}: {exc})"}
            if "table" in back:
                paths["backcast"] = write_csv(back["table"], stage / "backcast.csv")
        html_text = build_report(result, summary, dq, back, {"SSDA903": ssda903, "CIN census": cin,
                                                             "contacts": contacts, "costs": costs,
                                                             "template": template_path})
        paths["report"] = write_text(html_text, stage / "calibration_report.html")
        inputs = {"ssda903": ssda903, "cin": cin, "contacts": contacts, "costs": costs, "template": template_path,
                  "council": council.path if council is not None else None}
        paths["manifest"] = write_json(manifest(
            "carepath calibrate", extract_date=f"{extract:%Y-%m-%d}",
            inputs={k: {"path": str(v), "hash": file_sha256(v)} for k, v in inputs.items() if v is not None},
            params_hash=loaded.digest(), backcast=bool(backcast),
            snapshot_dates_of_birth="exact" if exact_dates_of_birth else "month"), stage / "manifest.json")
    return {name: out / p.name for name, p in paths.items()}


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit parameters to the council's activity data (SSDA903, CIN census, contacts)",
        description="Fit the model's parameters and starting caseload to a council's activity data and write "
                    "params.yaml, snapshot.csv, calibration_summary.csv, calibrated_intervals.yaml, data_quality.csv, rows_set_aside.csv, "
                    "calibration_report.html and manifest.json into --out.")
    p.add_argument("--ssda903", required=True, metavar="DIR_OR_FILE",
                   help="SSDA903: a folder of year folders, a folder with header.csv and episodes.csv, or episodes.csv")
    p.add_argument("--cin", default=None, metavar="FILE", help="CIN census (XML or flattened CSV, or a folder of them)")
    p.add_argument("--contacts", default=None, metavar="FILE", help="contacts extract (CSV: child_id, contact_date, outcome[, dob])")
    p.add_argument("--costs", default=None, metavar="FILE", help="placement costs (CSV: placement_type, weekly_cost)")
    p.add_argument("--extract-date", required=True, metavar="DATE", help="date the data were extracted (dd/mm/yyyy or yyyy-mm-dd)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--template", default=None, metavar="PARAMS.yaml",
                   help="parameter set to start from; values the data cannot give are kept (default: the shipped baseline)")
    p.add_argument("--no-backcast", action="store_true", help="skip the back-cast check in the report (faster)")
    p.add_argument("--exact-dates-of-birth", action="store_true",
                   help="write exact dates of birth into snapshot.csv (default: the month of birth, yyyy-mm, "
                        "as exact dates with the rest of a record can identify a child)")
    p.set_defaults(handler=run_calibrate)


def run_calibrate(args) -> int:
    paths = calibrate(args.ssda903, args.cin, args.contacts, args.costs, args.extract_date, args.out,
                      args.template, backcast=not args.no_backcast, exact_dates_of_birth=args.exact_dates_of_birth)
    print(f"Wrote {len(paths)} files to {args.out}/ ({', '.join(Path(p).name for p in paths.values())})")
    return 0
