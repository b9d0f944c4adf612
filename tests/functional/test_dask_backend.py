"""The Dask backend: the same replications give the same numbers as the local backend, whatever
the number of workers; a worker lost mid-run loses nothing and counts nothing twice; a scheduler
that cannot be reached ends in one line and exit status 2.

Replications run over one financial year (2021/22) from the shipped snapshot, on LocalClusters of
2 single-threaded worker processes, and once on a cluster set up as docs/scaling.md describes for
several machines: `dask scheduler` and `dask worker` processes started from the command line, over
TCP on this machine, with `carepath run` a process of its own. A worker that cannot import carepath,
or that runs other model code, is refused in one line before any task reaches it."""
from __future__ import annotations

import copy
import json
import os
import re
import signal
import site
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install \"dask[distributed]\")")

from sim import replications  # noqa: E402
from carepath.cache import Cache  # noqa: E402
from experiments.run import BASELINE, Context, run_many  # noqa: E402
from sim.backends import DaskBackend  # noqa: E402
from sim.replications import run_replications  # noqa: E402
from carepath.cli import main  # noqa: E402
from sim.params import params_from_dict  # noqa: E402

SEED = 4242
REPS = 4


@pytest.fixture(scope="module")
def one_year(_baseline_dict_master):
    d = copy.deepcopy(_baseline_dict_master)
    d["initial_caseload"] = None
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2022-03-31"}
    return params_from_dict(d)


@pytest.fixture(scope="module")
def local_outs(one_year, snapshot):
    return run_replications(one_year, SEED, REPS, snapshot, workers=1, progress=False)


@pytest.fixture(scope="module")
def cluster():
    backend = DaskBackend(workers=2)
    try:
        yield backend
    finally:
        backend.close()


def _same(a, b):
    assert [o.replication for o in a] == [o.replication for o in b] == list(range(REPS))
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x.summary, y.summary)
        pd.testing.assert_frame_equal(x.stocks, y.stocks)
        assert (x.events is None) == (y.events is None)
        if x.events is not None:
            pd.testing.assert_frame_equal(x.events, y.events)
        assert x.sim_events == y.sim_events


def test_replications_on_two_dask_workers_equal_the_local_ones(cluster, one_year, snapshot, local_outs):
    assert len(cluster.client.scheduler_info()["workers"]) == 2
    _same(run_replications(one_year, SEED, REPS, snapshot, backend=cluster, progress=False), local_outs)


def _run_args(repo: Path) -> list[str]:
    return ["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--years", "1",
            "--replications", "2", "--seed", str(SEED), "--quiet", "--event-log", "none"]


RUN_TABLES = ("summary_by_fy.csv", "stocks_by_month.csv")


@pytest.fixture(scope="module")
def local_run(repo, tmp_path_factory) -> Path:
    """`carepath run` (one year, 2 replications) on the local backend: the reference."""
    out = tmp_path_factory.mktemp("local_run")
    assert main(_run_args(repo) + ["--out", str(out), "--workers", "1"]) == 0
    return out


def test_carepath_run_against_a_running_scheduler_writes_the_same_tables(cluster, tmp_path, repo, local_run):
    address = cluster.cluster.scheduler_address
    assert main(_run_args(repo) + ["--out", str(tmp_path / "dask"), "--scheduler", address]) == 0
    for name in RUN_TABLES:
        assert (local_run / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    manifest = yaml.safe_load((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["backend"] == f"dask ({address})"


def _write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_an_experiment_on_dask_writes_the_same_files_as_a_local_one(cluster, tmp_path, _baseline_dict_master, repo):
    params = copy.deepcopy(_baseline_dict_master)
    params["horizon"]["end_date"] = "2022-03-31"
    params["initial_caseload"] = str(repo / "experiments" / "snapshot_2021-04-01.csv")
    sset = _write_yaml(tmp_path / "scenarios.yaml", {
        "name": "tiny set", "baseline": str(_write_yaml(tmp_path / "params.yaml", params)),
        "replications": 2, "seed": 7, "first_year": "2021/22", "search_replications": 2,
        "scenarios": [{"name": "entries", "levers": [{"lever": "edge_of_care", "start": "2021-07-01",
                                                     "ramp_months": 6, "mechanism": {"divert_share": 0.5}}]}],
    })
    args = ["experiment", str(sset), "--quiet"]
    assert main(args + ["--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    address = cluster.cluster.scheduler_address
    assert main(args + ["--out", str(tmp_path / "dask"), "--backend", "dask", "--scheduler", address]) == 0
    local = {p.name: p.read_bytes() for p in sorted((tmp_path / "local").glob("*.csv"))}
    dask = {p.name: p.read_bytes() for p in sorted((tmp_path / "dask").glob("*.csv"))}
    assert local.keys() == dask.keys() and len(local) >= 9
    assert [n for n in local if local[n] != dask[n]] == []
    assert len(list((tmp_path / "dask" / ".cache").glob("*.npz"))) == 4   # (baseline + 1 scenario) x 2


def _crash_once(flag: str, crash_rep: int):
    """`sim.replications.run_group`, except that the first attempt at replication `crash_rep` while
    `flag` exists kills its worker process outright (as a machine lost mid-run would)."""
    real = replications.run_group

    def run_group(params, seed, snapshot, jobs):
        if jobs[0].replication == crash_rep:
            try:
                os.remove(flag)          # exactly one attempt can remove it
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        return real(params, seed, snapshot, jobs)
    return run_group


class _CountingCache(Cache):
    def __init__(self, folder):
        super().__init__(folder)
        self.puts = []

    def put(self, key, value):
        self.puts.append(key)
        super().put(key, value)


def test_a_worker_lost_mid_run_loses_nothing_and_counts_nothing_twice(cluster, one_year, snapshot, local_outs,
                                                                     tmp_path, monkeypatch):
    flag = tmp_path / "crash-once"
    flag.write_text("")
    monkeypatch.setattr(replications, "run_group", _crash_once(str(flag), crash_rep=2))
    cache = _CountingCache(tmp_path / "cache")
    workers_before = set(cluster.client.scheduler_info()["workers"])
    ctx = Context(one_year, snapshot, SEED, "worker-loss", cache, workers=2, progress=False, backend=cluster)
    res = run_many(ctx, [(BASELINE, [], r) for r in range(REPS)], stocks=True)
    assert not flag.exists()                 # a worker really did die ...
    cluster.client.wait_for_workers(2, timeout=30)
    assert set(cluster.client.scheduler_info()["workers"]) != workers_before   # ... and its nanny started another
    assert sorted(res) == [(BASELINE, r) for r in range(REPS)]
    assert len(cache.puts) == len(set(cache.puts)) == REPS
    assert len(list((tmp_path / "cache").glob("*.npz"))) == REPS
    for r in range(REPS):
        pd.testing.assert_frame_equal(res[(BASELINE, r)]["summary"], local_outs[r].summary)
        pd.testing.assert_frame_equal(res[(BASELINE, r)]["stocks"], local_outs[r].stocks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "tcp://host:port", "nonsense::::"])
def test_a_bad_scheduler_address_exits_2_with_one_line(address, tmp_path, repo, capsys, monkeypatch):
    monkeypatch.setattr("sim.backends.CONNECT_TIMEOUT", "1s")
    address = address.format(port=_free_port())
    rc = main(["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--years", "1", "--replications", "2",
               "--out", str(tmp_path / "out"), "--quiet", "--backend", "dask", "--scheduler", address])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and address in err, err
    assert not (tmp_path / "out").exists()


def test_a_scheduler_with_the_local_backend_is_refused(tmp_path, repo, capsys):
    rc = main(["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--out", str(tmp_path / "out"),
               "--backend", "local", "--scheduler", "tcp://127.0.0.1:8786"])
    assert rc == 2 and "--scheduler needs --backend dask" in capsys.readouterr().err


# ------------------------------------------------- a scheduler and workers as separate processes
# As docs/scaling.md sets up several machines, but on this one, over TCP: `dask scheduler` and
# `dask worker` from the command line, the workers started in another folder with no PYTHONPATH
# (as on a machine where carepath is only installed, not the current folder), and `carepath run`
# as a process of its own.
BIN = Path(sys.executable).parent


@pytest.fixture
def processes(tmp_path):
    """start(name, argv, cwd, env) -> Popen, each in a process group of its own (with the
    processes it starts, e.g. a `dask worker`'s worker processes); every group is ended at teardown."""
    missing = [n for n in ("dask", "carepath") if not (BIN / n).exists()]
    if missing:
        pytest.skip(f"no {' or '.join(missing)} command next to {sys.executable} (run the tests from the .venv)")
    started = []

    def start(name, argv, cwd, env=None):
        log = open(tmp_path / f"{name}.log", "wb")
        p = subprocess.Popen([str(a) for a in argv], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        log.close()
        started.append(p)
        return p

    try:
        yield start
    finally:
        for p in reversed(started):
            _end_group(p, signal.SIGTERM)
        for p in reversed(started):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            _end_group(p, signal.SIGKILL)      # what did not stop on SIGTERM
            p.wait()


def _end_group(p: subprocess.Popen, sig) -> None:
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def _env_without_pythonpath() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _scheduler(start, tmp_path) -> str:
    address = f"tcp://127.0.0.1:{_free_port()}"
    start("scheduler", [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                        "--no-dashboard"], cwd=tmp_path, env=_env_without_pythonpath())
    return address


def _wait_for_workers(address: str, n: int, tmp_path) -> None:
    from distributed import Client

    try:
        with Client(address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(n, timeout=90)
            assert len(client.ncores()) == n
    except Exception:
        raise AssertionError(f"{n} workers did not join {address}:\n{_logs(tmp_path)}") from None


def _logs(tmp_path) -> str:
    return "\n".join(f"--- {f.name}\n" + "\n".join(f.read_text(errors="replace").splitlines()[-25:])
                     for f in sorted(tmp_path.glob("*.log")))


def test_separate_scheduler_and_worker_processes_give_the_same_tables(processes, tmp_path, repo, local_run,
                                                                      monkeypatch, capsys):
    address = _scheduler(processes, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    processes("workers", [BIN / "dask", "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
              cwd=elsewhere, env=_env_without_pythonpath())
    _wait_for_workers(address, 2, tmp_path)
    out = tmp_path / "out"
    done = subprocess.run([BIN / "carepath", *_run_args(repo), "--out", out, "--scheduler", address],
                          cwd=tmp_path, env=_env_without_pythonpath(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{done.stderr}\n{_logs(tmp_path)}"
    for name in RUN_TABLES:
        assert (local_run / name).read_bytes() == (out / name).read_bytes(), name
    assert json.loads((out / "manifest.json").read_text())["backend"] == f"dask ({address})"
    # the same workers, but this process hashes its model code differently (as another commit would)
    monkeypatch.setattr("sim.version._MODEL_DIGEST", "0" * 12)
    assert main(_run_args(repo) + ["--out", str(tmp_path / "refused"), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "2 workers" in err and "other model code" in err, err
    assert not (tmp_path / "refused").exists()


def test_a_worker_that_cannot_import_carepath_is_refused_in_one_line(processes, tmp_path, repo):
    """Such a worker would die on its first task and leave the run waiting for ever."""
    address = _scheduler(processes, tmp_path)
    env = _env_without_pythonpath() | {"PYTHONPATH": os.pathsep.join(site.getsitepackages())}
    # -S: the dependencies are on PYTHONPATH, but the site-packages .pth files, among them the
    # editable install of carepath, are not read; `-c` puts the (empty) current folder first
    processes("worker", [sys.executable, "-S", "-c", "import sys; from dask.__main__ import main; sys.exit(main())",
                         "worker", address, "--nthreads", "1", "--no-dashboard"], cwd=tmp_path, env=env)
    _wait_for_workers(address, 1, tmp_path)
    err = _refused_in_one_line(address, tmp_path, repo)
    assert "cannot import carepath" in err and "No module named 'sim'" in err, err


def test_validate_on_dask_writes_the_same_table_as_locally(cluster, tmp_path, _baseline_dict_master, repo):
    """`carepath validate --scheduler` (one year, 2 replications) writes byte for byte the table the
    local backend writes; years the run does not reach say so in words, not 'nan'."""
    d = copy.deepcopy(_baseline_dict_master)
    d["horizon"] = {"start_date": "2021-04-01", "end_date": "2022-03-31"}
    d["initial_caseload"] = str(repo / "experiments" / d["initial_caseload"])
    params = _write_yaml(tmp_path / "one_year.yaml", d)
    args = ["validate", "--params", str(params), "--replications", "2", "--quiet"]
    assert main(args + ["--workers", "1", "--out", str(tmp_path / "local.md")]) == 0
    assert main(args + ["--scheduler", cluster.cluster.scheduler_address, "--out", str(tmp_path / "dask.md")]) == 0
    local = (tmp_path / "local.md").read_text(encoding="utf-8")
    assert local == (tmp_path / "dask.md").read_text(encoding="utf-8")
    assert not re.search(r"\bnan\b", local) and "not in this run" in local


def _refused_in_one_line(address: str, tmp_path, repo) -> str:
    """`carepath run --scheduler address` ends with exit 2 and one line on stderr (returned),
    writing nothing. A process of its own, so that a regression (a run waiting for ever) fails
    here rather than hanging the tests."""
    try:
        done = subprocess.run([BIN / "carepath", *_run_args(repo), "--out", tmp_path / "out", "--scheduler", address],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"carepath run still waiting after 60 s\n{_logs(tmp_path)}") from None
    err = done.stderr
    assert done.returncode == 2, f"{err}\n{_logs(tmp_path)}"
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()
    return err


def test_a_worker_the_scheduler_cannot_reach_is_refused_in_one_line(processes, tmp_path, repo):
    """A worker announcing an address nobody can connect to joins and is given work, but its results
    can never be collected: the run waited for ever. The scheduler's connect time-out is cut to 2 s."""
    port, closed = _free_port(), _free_port()
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = os.environ | {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    processes("scheduler", [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                            "--no-dashboard"], cwd=tmp_path, env=env)
    processes("worker", [BIN / "dask", "worker", address, "--nthreads", "1", "--no-dashboard",
                         "--listen-address", f"tcp://127.0.0.1:{port}", "--contact-address", f"tcp://127.0.0.1:{closed}"],
              cwd=tmp_path, env=env)
    _wait_for_workers(address, 1, tmp_path)
    err = _refused_in_one_line(address, tmp_path, repo)
    assert f"cannot connect to the worker at tcp://127.0.0.1:{closed}" in err, err


def test_a_badly_set_up_worker_joining_mid_run_ends_the_run_in_one_line(processes, tmp_path, repo):
    """A worker that joins while a batch runs is checked too, not only before the next batch. One good
    worker runs 8 full-horizon replications (about 45 s on its own); once the first has started, a
    worker announcing an address nobody can connect to joins. Unchecked, it is given some of the
    replications and the run waits for ever for their results (or, given none, ends with exit 0
    after the good worker has done them all). The scheduler's connect time-out is cut to 2 s."""
    from distributed import Client

    port, closed = _free_port(), _free_port()
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = os.environ | {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    processes("scheduler", [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                            "--no-dashboard"], cwd=tmp_path, env=env)
    processes("good_worker", [BIN / "dask", "worker", address, "--nthreads", "1", "--no-dashboard"],
              cwd=tmp_path, env=env)
    _wait_for_workers(address, 1, tmp_path)
    out = tmp_path / "out"
    run = processes("run", [BIN / "carepath", "run", "--params", repo / "experiments" / "baseline.yaml",
                            "--replications", "8", "--seed", SEED, "--quiet", "--event-log", "none",
                            "--out", out, "--scheduler", address], cwd=tmp_path, env=env)
    with Client(address, timeout="30s", set_as_default=False) as client:   # wait for the batch to start
        deadline = time.monotonic() + 60
        while not any(client.processing().values()):
            assert run.poll() is None and time.monotonic() < deadline, f"no replication started\n{_logs(tmp_path)}"
            time.sleep(0.2)
    processes("bad_worker", [BIN / "dask", "worker", address, "--nthreads", "1", "--no-dashboard",
                             "--listen-address", f"tcp://127.0.0.1:{port}",
                             "--contact-address", f"tcp://127.0.0.1:{closed}"], cwd=tmp_path, env=env)
    try:
        rc = run.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"carepath run still waiting 30 s after the bad worker started\n{_logs(tmp_path)}") from None
    err = (tmp_path / "run.log").read_text(errors="replace")
    assert rc == 2, f"{err}\n{_logs(tmp_path)}"
    assert len(err.strip().splitlines()) == 1, err
    assert f"cannot connect to the worker at tcp://127.0.0.1:{closed}" in err, err
    assert not out.exists()
