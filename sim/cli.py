"""The `carepath` command line. Every problem with the inputs ends in one plain line on stderr
and exit status 2; nothing here prints a traceback for bad input."""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from experiments.scenarios import ScenarioError

from .initial import SnapshotError
from .levers import LeverError
from .backends import BackendError
from .params import ParamsError, load_params

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """A command-line value that cannot be used."""


def _whole_number(least: int):
    """An argparse type: a whole number of at least `least`."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more, got {v}")
        return v
    return parse


_positive_int = _whole_number(1)
_seed = _whole_number(0)


def add_backend_arguments(parser) -> None:
    """--backend and --scheduler: where the replications run (see docs/scaling.md)."""
    parser.add_argument("--backend", choices=("local", "dask"), default=None,
                        help="where replications run: 'local' processes (default) or a Dask cluster")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="address of a running Dask scheduler, e.g. tcp://host:8786 (implies --backend dask; "
                             "without it, --backend dask starts a local cluster of --workers processes)")


def backend_from_args(args, workers):
    """The Backend the command line asks for, or None for the plain local process pool."""
    if (args.backend or "local") == "local" and not args.scheduler:
        args.backend_used = "local"
        return None
    from .backends import make_backend

    backend = make_backend(args.backend, workers, args.scheduler)
    args.backend_used = backend.describe()
    return backend


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit status 2 with one line, as argparse does, but plainer
        self.exit(EXIT_BAD_INPUT, f"carepath: {message} (see 'carepath {self.prog.split()[-1]} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="carepath",
        description="Simulate a council's children's social care pathway: children, placements, "
                    "capacity and cost by financial year (April-March).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="forecast the baseline: stocks, flows and costs by financial year",
                         description="Run the pathway model from the start date's caseload and write "
                                     "tables and charts by financial year into --out.")
    run.add_argument("--params", default="experiments/baseline.yaml", metavar="FILE",
                     help="parameter file (YAML); default: %(default)s")
    run.add_argument("--replications", type=_positive_int, default=20, metavar="R",
                     help="independent runs, for uncertainty bands (default: %(default)s)")
    run.add_argument("--seed", type=_seed, default=12345, metavar="S",
                     help="base random seed; the same seed gives identical results (default: %(default)s)")
    run.add_argument("--years", type=_positive_int, default=None, metavar="N",
                     help="forecast N financial years from the start date instead of the file's horizon")
    run.add_argument("--out", default="results/baseline", metavar="DIR", help="output folder (default: %(default)s)")
    run.add_argument("--snapshot", default=None, metavar="FILE",
                     help="caseload at the start date (CSV); default: the file named in the parameters")
    run.add_argument("--cold-start", action="store_true", help="start with nobody open (for checks, not forecasts)")
    run.add_argument("--workers", type=_positive_int, default=None, metavar="W",
                     help="parallel processes (default: the number of cores)")
    run.add_argument("--event-log", choices=("first", "all", "none"), default="first",
                     help="which replications' event logs to write (default: %(default)s)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(run)

    snap = sub.add_parser("snapshot", help="make a synthetic starting caseload by running the model for decades",
                          description="Write a synthetic caseload snapshot (children open at each stage at "
                                      "the start date) made by a long warm-up run of the model.")
    snap.add_argument("--params", default="experiments/baseline.yaml", metavar="FILE")
    snap.add_argument("--out", required=True, metavar="FILE", help="snapshot CSV to write")
    snap.add_argument("--seed", type=_seed, default=20210401, metavar="S")
    snap.add_argument("--years", type=_positive_int, default=30, metavar="N", help="warm-up years (default: %(default)s)")

    val = sub.add_parser("validate", help="compare the baseline with the council's published figures",
                         description="Run the baseline and write a table of model against published figures "
                                     "(target, model mean, 95% interval) as Markdown.")
    val.add_argument("--params", default="experiments/baseline.yaml", metavar="FILE")
    val.add_argument("--replications", type=_positive_int, default=20, metavar="R")
    val.add_argument("--seed", type=_seed, default=12345, metavar="S")
    val.add_argument("--workers", type=_positive_int, default=None, metavar="W")
    val.add_argument("--out", default="docs/validation.md", metavar="FILE")
    val.add_argument("--quiet", action="store_true")
    add_backend_arguments(val)

    from experiments.command import add_experiment_parser

    add_experiment_parser(sub)
    from experiments.sensitivity_command import add_sensitivity_parser

    add_sensitivity_parser(sub)
    try:  # calibration registers its own sub-command
        from calibration.command import add_calibrate_parser
    except ImportError:
        pass
    else:
        add_calibrate_parser(sub)
    return parser


def _load(args):
    params_path = Path(args.params)
    params = load_params(params_path)
    if getattr(args, "years", None) and args.command == "run":
        start = params.horizon.start_date
        end = dt.date(start.year + args.years, start.month, start.day) - dt.timedelta(days=1)
        params = params.model_copy(update={"horizon": params.horizon.model_copy(update={"end_date": end})})
    return params_path, params


def _snapshot(args, params, params_path):
    from .files import read_snapshot, resolve_snapshot

    if getattr(args, "cold_start", False):
        return None, None
    path = Path(args.snapshot) if getattr(args, "snapshot", None) else resolve_snapshot(params, params_path)
    if path is None:
        return None, None
    return path, read_snapshot(path, params)


def cmd_run(args) -> int:
    from .batch import default_workers
    from .outputs import write_run_outputs, run_and_collect

    params_path, params = _load(args)
    snap_path, snapshot = _snapshot(args, params, params_path)
    given_workers = args.workers
    workers = args.workers = args.workers or default_workers()
    t0 = time.perf_counter()
    backend = backend_from_args(args, given_workers)
    try:
        collected = run_and_collect(params, args.seed, args.replications, snapshot, workers, args.event_log,
                                    progress=not args.quiet, backend=backend)
    finally:
        if backend is not None:
            backend.close()
    out = Path(args.out)
    paths = write_run_outputs(collected, params, params_path, snap_path, args, out, time.perf_counter() - t0)
    from .outputs import headline

    print(headline(collected.summary, params))
    print(f"Wrote {len(paths)} files to {out}/ ({', '.join(p.name for p in paths)})")
    return 0


def cmd_snapshot(args) -> int:
    from .files import write_snapshot
    from .warmup import warmup_snapshot

    params_path, params = _load(args)
    t0 = time.perf_counter()
    cases = warmup_snapshot(params, seed=args.seed, years=args.years)
    write_snapshot(cases, params, Path(args.out))
    counts = {}
    for c in cases:
        counts[c.state] = counts.get(c.state, 0) + 1
    closed = counts.pop("closed", 0)
    parts = ", ".join(f"{k} {v}" for k, v in counts.items())
    print(f"Wrote a synthetic caseload for {params.horizon.start_date} to {args.out}: "
          f"{sum(counts.values())} children open ({parts}) and {closed} closed in the last two years "
          f"who may come back; {time.perf_counter() - t0:.0f} s")
    return 0


def cmd_validate(args) -> int:
    from .batch import default_workers
    from .validation import write_validation

    params_path, params = _load(args)
    snap_path, snapshot = _snapshot(args, params, params_path)
    workers = args.workers or default_workers()
    backend = backend_from_args(args, workers)
    try:
        path = write_validation(params, snapshot, args.seed, args.replications, workers, Path(args.out),
                                progress=not args.quiet, params_path=params_path, backend=backend)
    finally:
        if backend is not None:
            backend.close()
    print(f"Wrote the validation table to {path}")
    return 0


COMMANDS = {"run": cmd_run, "snapshot": cmd_snapshot, "validate": cmd_validate}


def _note_model_core() -> None:
    """Say so when the model core was not compiled at install (a stale build says so itself):
    the results are the same, but every run takes about three times as long."""
    from . import core
    if core.kind() == "python" and core.reason().startswith("the compiled core is not built"):
        print("carepath: the model core runs from its Python source (it was not compiled at install: "
              "no C compiler?). Results are the same; runs take about three times as long. "
              "With a C compiler, `make setup` (or `pip install -e .`) compiles it.", file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    handler = COMMANDS.get(args.command) or getattr(args, "handler", None)
    _note_model_core()
    try:
        return handler(args)
    except (ParamsError, SnapshotError, UsageError, ScenarioError, LeverError, BackendError) as exc:
        print(f"carepath: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # data errors from calibration and file system problems
        name = type(exc).__name__
        if name in ("DataError",) or isinstance(exc, (OSError,)):
            print(f"carepath: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        raise
    except KeyboardInterrupt:
        print("carepath: interrupted; finished outputs were written whole, unfinished ones not at all", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
