"""What every sub-command shares: plain-words usage errors, argument types, the packaged
defaults, and where replications run (--backend, --scheduler)."""
from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import Optional

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """A command-line value that cannot be used."""


def whole_number(least: int):
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


positive_int = whole_number(1)
seed = whole_number(0)


def packaged(package: str, *parts: str) -> Path:
    """A file shipped inside one of carepath's packages, wherever it is installed (so every
    command works from any folder, and from a plain `pip install`)."""
    return Path(str(resources.files(package).joinpath(*parts)))


def default_params() -> Path:
    """The shipped Nottingham-like baseline parameters."""
    return packaged("experiments", "baseline.yaml")


def default_business_case() -> Path:
    return packaged("experiments", "business_case.yaml")


def example_data() -> Path:
    """The shipped synthetic activity data (SSDA903, CIN census, contacts)."""
    return packaged("calibration", "example_data")


def add_backend_arguments(parser) -> None:
    """--backend and --scheduler: where the replications run (see docs/scaling.md)."""
    parser.add_argument("--backend", choices=("local", "dask"), default=None,
                        help="where replications run: 'local' processes (default) or a Dask cluster")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="address of a running Dask scheduler, e.g. tcp://host:8786 (implies --backend dask; "
                             "without it, --backend dask starts a local cluster of --workers processes, "
                             "reachable from this machine only)")
    parser.add_argument("--tls-ca-file", default=None, metavar="FILE",
                        help="with a tls:// --scheduler: the certificate authority that signed the cluster's certificates")
    parser.add_argument("--tls-cert", default=None, metavar="FILE", help="with a tls:// --scheduler: this client's certificate")
    parser.add_argument("--tls-key", default=None, metavar="FILE", help="with a tls:// --scheduler: this client's private key")


def make_backend(kind: Optional[str], scheduler: Optional[str], workers: Optional[int], args=None):
    """The Backend asked for, or None for the plain local process pool; and its description
    for the manifest. `args`: the command's arguments, for the TLS certificates if any."""
    tls = {k: getattr(args, f"tls_{k}", None) for k in ("ca_file", "cert", "key")} if args is not None else None
    if (kind or "local") == "local" and not scheduler:
        if tls and any(tls.values()):
            raise UsageError("--tls-ca-file, --tls-cert and --tls-key go with a tls:// --scheduler")
        return None, "local"
    from sim.backends import make_backend as make

    backend = make(kind, workers, scheduler, tls=tls)
    return backend, backend.describe()
