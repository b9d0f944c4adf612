"""`carepath validate`: the baseline beside the council's published figures, as Markdown."""
from __future__ import annotations

import time
from pathlib import Path

from experiments.validation import keep_written_by_hand, validation_report
from sim.backends import default_workers

from ..options import add_backend_arguments, make_backend, positive_int, seed
from ..outputs import write_text
from .run import load, starting_caseload


def add_parsers(sub) -> None:
    val = sub.add_parser("validate", help="compare the baseline with the council's published figures",
                         description="Run the baseline and write a table of model against published figures "
                                     "(target, model mean, 95% interval) as Markdown.")
    val.add_argument("--params", default=None, metavar="FILE",
                     help="parameter file (YAML); default: the shipped baseline")
    val.add_argument("--replications", type=positive_int, default=20, metavar="R")
    val.add_argument("--seed", type=seed, default=12345, metavar="S")
    val.add_argument("--workers", type=positive_int, default=None, metavar="W")
    val.add_argument("--out", default="validation.md", metavar="FILE",
                     help="Markdown file to write (default: %(default)s in the current folder)")
    val.add_argument("--targets", default=None, metavar="FILE",
                     help="published figures to compare with (YAML); default: the shipped ones")
    val.add_argument("--quiet", action="store_true")
    add_backend_arguments(val)
    val.set_defaults(handler=cmd_validate)


def cmd_validate(args) -> int:
    params_path, params = load(args.params)
    _, snapshot = starting_caseload(params, params_path)
    workers = args.workers or default_workers()
    backend, _ = make_backend(args.backend, args.scheduler, workers, args)
    t0 = time.perf_counter()
    try:
        text = validation_report(params, snapshot, args.seed, args.replications, workers, progress=not args.quiet,
                                 params_path=params_path, backend=backend, targets_file=args.targets)
    finally:
        if backend is not None:
            backend.close()
    path = write_text(keep_written_by_hand(text, Path(args.out)), Path(args.out))
    print(f"Wrote the validation table to {path} ({time.perf_counter() - t0:.0f} s)")
    return 0
