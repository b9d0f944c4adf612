"""The Dask backend: the same replications give the same numbers as the local backend, whatever
the number of workers; a worker lost mid-run loses nothing and counts nothing twice; a scheduler
that cannot be reached ends in one line and exit status 2.

Replications run over one financial year (2021/22) from the shipped snapshot, on LocalClusters of
2 single-threaded worker processes."""
from __future__ import annotations

import copy
import os
import socket
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install \"dask[distributed]\")")

import experiments.run as run_mod  # noqa: E402
from experiments.run import BASELINE, Cache, Context, run_many  # noqa: E402
from sim.backends import DaskBackend  # noqa: E402
from sim.batch import run_replications  # noqa: E402
from sim.cli import main  # noqa: E402
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


def test_carepath_run_against_a_running_scheduler_writes_the_same_tables(cluster, tmp_path, repo):
    address = cluster.cluster.scheduler_address
    common = ["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--years", "1",
              "--replications", "2", "--seed", str(SEED), "--quiet", "--event-log", "none"]
    assert main(common + ["--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    assert main(common + ["--out", str(tmp_path / "dask"), "--scheduler", address]) == 0
    for name in ("summary_by_fy.csv", "stocks_by_month.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
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
    assert len(list((tmp_path / "dask" / ".cache").glob("*.pkl"))) == 4   # (baseline + 1 scenario) x 2


def _crash_once(flag: str, crash_rep: int):
    """`replicate`, except that the first attempt at replication `crash_rep` while `flag` exists
    kills its worker process outright (as a machine lost mid-run would)."""
    real = run_mod.replicate

    def replicate(params, snapshot, seed, rep, levers, stocks):
        if rep == crash_rep:
            try:
                os.remove(flag)          # exactly one attempt can remove it
            except FileNotFoundError:
                pass
            else:
                os._exit(1)
        return real(params, snapshot, seed, rep, levers, stocks)
    return replicate


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
    monkeypatch.setattr(run_mod, "replicate", _crash_once(str(flag), crash_rep=2))
    cache = _CountingCache(tmp_path / "cache")
    workers_before = set(cluster.client.scheduler_info()["workers"])
    ctx = Context(one_year, snapshot, SEED, "worker-loss", cache, workers=2, progress=False, backend=cluster)
    res = run_many(ctx, [(BASELINE, [], r) for r in range(REPS)], stocks=True)
    assert not flag.exists()                 # a worker really did die ...
    cluster.client.wait_for_workers(2, timeout=30)
    assert set(cluster.client.scheduler_info()["workers"]) != workers_before   # ... and its nanny started another
    assert sorted(res) == [(BASELINE, r) for r in range(REPS)]
    assert len(cache.puts) == len(set(cache.puts)) == REPS
    assert len(list((tmp_path / "cache").glob("*.pkl"))) == REPS
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
