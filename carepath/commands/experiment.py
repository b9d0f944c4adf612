"""`carepath experiment FILE`: a scenario set against the baseline, and the business case."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from experiments import business_case as bc
from experiments.envelope import back_of_envelope, unit_costs
from experiments.run import Context, run_experiment
from experiments.scenarios import ScenarioError, apply_assumptions, load_scenarios
from sim.backends import default_workers
from sim.calendar import fy_edges
from sim.inputs import read_snapshot, resolve_snapshot
from sim.params import load_params

from ..options import (UsageError, add_backend_arguments, default_business_case, make_backend, positive_int, seed,
                       whole_number)
from ..cache import Cache
from ..outputs import Writer, file_sha256, manifest, output_folder, write_csv, write_json, write_workbook


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "experiment", help="run scenarios against the baseline and write the business case",
        description="Run a scenario set (a baseline plus named scenarios, each a list of levers) with common "
                    "random numbers, and write savings by financial year with 95% intervals, return on "
                    "investment, lever effects, outcomes and a report into --out. Finished replications are "
                    "kept in --out/.cache, so an interrupted run resumes where it stopped.")
    p.add_argument("file", metavar="FILE", nargs="?", default=None,
                   help="scenario set (YAML); default: the shipped business case of the Nottingham-like council")
    p.add_argument("--replications", type=positive_int, default=None, metavar="R",
                   help="replications per scenario (default: the file's); with draws, replications per draw "
                        "(default: the uncertainty section's replications_per_draw, 1)")
    p.add_argument("--draws", type=whole_number(0), default=None, metavar="N",
                   help="parameter draws for the risk analysis, from the file's uncertainty section "
                        "(default: the file's draws, 0 for none)")
    p.add_argument("--seed", type=seed, default=None, metavar="S", help="base random seed (default: the file's)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="W",
                   help="parallel processes (default: the number of cores)")
    p.add_argument("--out", default="results/business_case", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--no-cache", action="store_true", help="run everything again, ignoring finished replications")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(p)
    p.set_defaults(handler=run_experiment_command)


def run_experiment_command(args) -> int:
    t0 = time.perf_counter()
    path = Path(args.file) if args.file else default_business_case()
    sset = load_scenarios(path)
    params_path = (path.parent / sset.baseline) if not Path(sset.baseline).is_absolute() else Path(sset.baseline)
    params = apply_assumptions(load_params(params_path), sset.assumptions, f"{path}: assumptions applied to {params_path}")
    snap_path = resolve_snapshot(params, params_path)
    snapshot = read_snapshot(snap_path, params) if snap_path else None
    n_draws = sset.draws if args.draws is None else args.draws
    if n_draws and sset.uncertainty is None:
        raise UsageError(f"{path}: {n_draws} parameter draws asked for, but the file has no uncertainty section")
    try:
        from experiments.uncertainty import UncertaintyError, drawn_scenarios, prepare
        plan = prepare(sset.uncertainty, params, path)   # bad specs fail here, before anything runs
        if plan is not None:
            drawn_scenarios(sset.uncertainty, sset, path)
    except UncertaintyError as exc:
        raise ScenarioError(str(exc)) from None
    per_draw = 1
    if n_draws:   # --replications is then per draw; the noise-only replications are the file's
        per_draw = args.replications or sset.uncertainty.replications_per_draw
        reps = sset.replications
    else:
        reps = args.replications or sset.replications
    if reps < 2:
        raise UsageError("an experiment needs at least 2 replications for its intervals")
    seed = sset.seed if args.seed is None else args.seed
    workers = args.workers or default_workers()
    out = Path(args.out)
    identity = params.digest() + "-" + (file_sha256(snap_path) if snap_path else "cold")
    ctx = Context(params, snapshot, seed, identity, Cache(None if args.no_cache else out / ".cache"),
                  workers=workers, progress=not args.quiet)
    labels = [label for label, _, _ in fy_edges(params.horizon.start_date, params.horizon.days)]
    _, last, years = sset.business_case_years(labels, str(path))  # years outside the forecast: refused
    for warning in sset.lever_date_warnings(params.horizon.start_date, params.horizon.end_date, labels, last, str(path)):
        print(f"carepath: warning: {warning}", file=sys.stderr)
    for sc in sset.scenarios:
        outside = sorted(set(sset.investment_of(sc)) - set(years))
        if outside:
            raise UsageError(f"{path}: scenario {sc.name!r} declares investment in {', '.join(outside)}, "
                             f"outside the business case years {years[0]} to {years[-1]}")

    ctx.backend, where = make_backend(args.backend, args.scheduler, args.workers, args)
    risk = None
    try:
        result = run_experiment(ctx, sset.scenarios, reps, sset.search_replications, last)
        if n_draws:
            from experiments.risk import run_risk
            try:
                risk = run_risk(ctx, plan, result, sset, years, n_draws, per_draw)   # also result.risk
            except UncertaintyError as exc:
                raise ScenarioError(str(exc)) from None
    finally:
        ctx.close()
    summary = bc.with_derived(result.summary)
    profile = bc.roi_profile(summary, sset, years, result.levers, params)
    bsum = bc.business_case_summary(summary, profile, sset, years)
    flags = bc.headline_flags(bsum, result.intensities)
    bsum = bc.with_flags(bsum, flags)
    volumes = bc.lever_volumes_by_year(summary, sset, years, result.levers)
    effects = bc.lever_effects(summary, sset, years)
    outs = bc.outcomes(summary, sset, years)
    comp = bc.comparison(summary, profile, sset, years, result.intensities)
    inter = bc.interaction(profile, sset, years, sset.council.all_levers_scenario if sset.council else "all_levers")
    envelope = back_of_envelope(summary, sset, years[-1], unit_costs(params, years[-1]))

    with output_folder(out) as stage:  # written whole or not at all (the cache stays in out/.cache)
        written = [
            write_csv(profile, stage / "roi_profile.csv"),
            write_csv(bsum, stage / "business_case_summary.csv"),
            write_csv(effects, stage / "lever_effects.csv"),
            write_csv(outs, stage / "outcomes.csv"),
            write_csv(comp, stage / "business_case_comparison.csv"),
            write_csv(inter, stage / "lever_interaction.csv"),
            write_csv(result.intensities, stage / "lever_intensities.csv"),
            write_csv(volumes, stage / "lever_volumes_by_year.csv"),
            write_csv(flags, stage / "headline_flags.csv"),
            write_csv(envelope, stage / "back_of_envelope.csv"),
            write_csv(summary, stage / "summary_by_scenario.csv"),
            write_csv(result.stocks, stage / "stocks_by_scenario_month.csv"),
        ]
        if risk is not None:
            written += [
                write_csv(risk.risk, stage / "business_case_risk.csv"),
                write_csv(risk.probabilities, stage / "business_case_probabilities.csv"),
                write_csv(risk.drivers, stage / "uncertainty_drivers.csv"),
                write_csv(risk.draws, stage / "business_case_draws.csv"),
                write_csv(risk.inputs, stage / "draw_inputs.csv"),
            ]
        from experiments.report import write_report

        written += write_report(stage, sset, path, summary=summary, stocks=result.stocks, profile=profile,
                                summary_table=bsum, effects=effects, outcomes=outs, comparison=comp,
                                interaction=inter, intensities=result.intensities, years=years,
                                flags=flags, volumes=volumes, deflator=bc.deflator_rate(sset, params),
                                seed=seed, params_hash=params.digest(), writer=Writer(dpi=110), envelope=envelope,
                                risk=risk)
        wall = time.perf_counter() - t0
        about = manifest(
            "carepath experiment", scenario_file=str(path), scenario_file_hash=file_sha256(path),
            params_file=str(params_path), params_hash=params.digest(),
            snapshot_file=str(snap_path) if snap_path else None,
            snapshot_hash=file_sha256(snap_path) if snap_path else None,
            seed=seed, replications=reps, search_replications=sset.search_replications,
            workers=workers, backend=where, scenarios=[s.name for s in sset.scenarios],
            wall=wall, simulation_events=result.sim_events,
            mean_replication_seconds=round(result.replication_seconds, 2),
            levers_used={k: [lv.model_dump(mode="json") for lv in v] for k, v in result.levers.items()},
            draws=n_draws, replications_per_draw=per_draw if n_draws else None,
            uncertain_inputs=[i.model_dump(mode="json", exclude_none=True) for i in sset.uncertainty.inputs]
            if sset.uncertainty is not None else [],
        )
        from experiments.report import _label
        from experiments.workbook import business_case_workbook, manifest_words

        written.append(write_workbook(business_case_workbook(   # the tables as a workbook, beside report.html
            years=years, profile=profile, summary_table=bsum, run=manifest_words(about, risk), volumes=volumes,
            comparison=comp, interaction=inter, flags=flags, envelope=envelope, risk=risk,
            label=lambda n: _label(n, sset)), stage / "business_case.xlsx"))
        written.append(write_json(about, stage / "manifest.json"))
    s = bsum.set_index("scenario")
    print(f"carepath: {len(sset.scenarios)} scenarios x {reps} replications against the baseline in {wall:.0f} s")
    for name in s.index:
        r = s.loc[name]
        line = (f"  {name}: {years[-1]} gross saving £{r['year8_gross_saving'] / 1e6:.2f}m "
                f"(95% interval £{r['year8_gross_saving_low'] / 1e6:.2f}m to £{r['year8_gross_saving_high'] / 1e6:.2f}m)")
        line += f"; net £{r['year8_net_saving'] / 1e6:.2f}m"
        if r["investment_8y"] > 0:
            line += f"; return on investment {r['roi_8y']:.1f}:1 over {len(years)} years"
        if r["flags"]:
            line += f"; flags: {r['flags']}"
        print(line)
    if risk is not None:
        print(f"Risk over {risk.n_draws} parameter draws ({per_draw} replication{'s' if per_draw > 1 else ''} each; "
              f"90% ranges; chances with their Monte Carlo error):")
        rk = risk.risk.set_index(["scenario", "measure"])
        pr = risk.probabilities
        for name in s.index:
            if (name, "year8_gross_saving") not in rk.index:
                continue
            r = rk.loc[(name, "year8_gross_saving")]
            line = f"  {name}: {years[-1]} gross saving £{r['p05'] / 1e6:.2f}m to £{r['p95'] / 1e6:.2f}m"
            q = pr[(pr["scenario"] == name) & (pr["measure"] == "roi_4y")]
            if len(q):
                line += (f"; chance of {q.iloc[0]['threshold']:g}:1 over 4 years {q.iloc[0]['probability']:.0%} "
                         f"(± {q.iloc[0]['mc_error']:.0%})")
            print(line)
    print(f"Wrote {len(written)} files to {out}/")
    return 0
