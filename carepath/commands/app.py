"""`carepath app`: start the what-if web app on this machine."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..options import UsageError, positive_int, whole_number

DEFAULT_DATA = "carepath_app"


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "app", help="start the what-if web app (scenarios, runs, results, comparisons) in a browser",
        description="Start a local web app: build scenarios from the lever catalogue, run them in the background "
                    "against the baseline, read the results and compare runs. Saved scenarios and runs live in "
                    "--data. It listens on 127.0.0.1 (this machine only) unless --host says otherwise; any other "
                    "address needs a token in the environment variable CAREPATH_APP_TOKEN (docs/app.md).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=whole_number(0), default=8050, metavar="PORT",
                   help="port (default: %(default)s; 0: any free port, printed at start)")
    p.add_argument("--data", default=DEFAULT_DATA, metavar="DIR",
                   help="folder for the app's database and runs (default: ./%(default)s)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="W",
                   help="parallel processes for a run's replications (default: the number of cores)")
    p.set_defaults(handler=run_app)


def run_app(args) -> int:
    try:
        import uvicorn  # noqa: F401 - the app's optional part
        import fastapi  # noqa: F401
        import plotly  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"the app needs its optional packages ({exc.name} is missing): "
                         "pip install 'carepath[app]' (make setup installs them)") from None
    import socket

    import uvicorn

    from ..app.db import StoreError
    from ..app.security import TOKEN_ENV, token_problem
    from ..app.web import create_app

    token = os.environ.get(TOKEN_ENV) or None
    problem = token_problem(args.host, token)
    if problem:
        raise UsageError(problem)
    try:
        app = create_app(Path(args.data), token=token, workers=args.workers)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    try:  # bind first, so a port in use is one plain line and the address printed is the real one
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                         "choose another --port") from None
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"carepath app: open http://{host}:{port}/ in a browser (data in {Path(args.data).resolve()}); "
          "stop it with Ctrl+C", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
    return 0
