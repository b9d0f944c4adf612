"""The `carepath` command line: every sub-command, and one place that turns problems with the
inputs into one plain line on stderr and exit status 2 (never a traceback for bad input)."""
from __future__ import annotations

import argparse
import sys

from . import __version__, check_own_packages

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit status 2 with one line, as argparse does, but plainer
        words = self.prog.split()
        hint = f"carepath {words[-1]} --help" if len(words) > 1 else "carepath --help"
        self.exit(EXIT_BAD_INPUT, f"carepath: {message} (see '{hint}')\n")


def _version() -> str:
    import sim.core as core

    return f"carepath {__version__} (model core: {core.kind()}, {core.reason()})"


def build_parser() -> argparse.ArgumentParser:
    from .commands import app, calibrate, experiment, refresh, run, sensitivity, validate

    parser = _Parser(
        prog="carepath",
        description="Simulate a council's children's social care pathway: children, placements, "
                    "capacity and cost by financial year (April-March).",
    )
    parser.add_argument("--version", action="version", version=_version(),
                        help="print carepath's version and which build of the model core runs, then stop")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run.add_parsers(sub)
    validate.add_parsers(sub)
    experiment.add_parsers(sub)
    sensitivity.add_parsers(sub)
    calibrate.add_parsers(sub)
    refresh.add_parsers(sub)
    app.add_parsers(sub)
    return parser


def _note_model_core() -> None:
    """Say so when the model core was not compiled at install (a stale build says so itself):
    the results are the same, but every run takes about three times as long."""
    import sim.core as core

    if core.kind() == "python" and core.reason().startswith("the compiled core is not built"):
        print("carepath: the model core runs from its Python source (it was not compiled at install: "
              "no C compiler?). Results are the same; runs take about three times as long. "
              "With a C compiler, `make setup` (or `pip install -e .`) compiles it.", file=sys.stderr)


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean 'this input cannot be used': each carries a one-line message."""
    from calibration.council import CouncilError
    from calibration.records import DataError
    from experiments.scenarios import ScenarioError
    from experiments.sensitivity import SensitivityError
    from experiments.validation import TargetsError
    from sim.backends import BackendError
    from sim.initial import SnapshotError
    from sim.levers import LeverError
    from sim.params import ParamsError

    from .options import UsageError

    return (ParamsError, SnapshotError, UsageError, ScenarioError, LeverError, BackendError, DataError, TargetsError,
            SensitivityError, CouncilError)


def main(argv=None) -> int:
    problem = check_own_packages()
    if problem:
        print(f"carepath: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    _note_model_core()
    bad_input = _bad_input_errors()
    try:
        return args.handler(args)
    except bad_input as exc:
        print(f"carepath: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a file that cannot be read or written: name it
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"carepath: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("carepath: interrupted; finished outputs were written whole, unfinished ones not at all", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
