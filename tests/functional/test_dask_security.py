"""Dask without exposure: carepath's own cluster listens on this machine only (dashboard too),
and a scheduler can be reached over TLS with certificates, giving the same numbers."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("distributed")
from distributed import LocalCluster  # noqa: E402
from distributed.security import Security  # noqa: E402

from carepath.cli import main  # noqa: E402
from sim.backends import DaskBackend  # noqa: E402


def _listening(proc) -> set[tuple[str, int]]:
    import psutil

    out = set()
    for p in [proc, *proc.children(recursive=True)]:
        try:
            out |= {(c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            pass
    return out


def test_the_embedded_cluster_and_its_dashboard_listen_on_the_loopback_address_only():
    import psutil

    me = psutil.Process()
    before = _listening(me)
    backend = DaskBackend(workers=1)
    try:
        opened = _listening(me) - before
        dashboard_port = int(backend.cluster.dashboard_link.split(":")[2].split("/")[0])
        assert dashboard_port in {port for _, port in opened}      # the dashboard is among them ...
        assert {ip for ip, _ in opened} == {"127.0.0.1"}, opened  # ... and nothing listens beyond this machine
        assert backend.cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    finally:
        backend.close()


def _certificates(folder: Path) -> dict[str, Path]:
    """A throwaway certificate authority and one certificate it signed for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make test certificates")
    f = {k: folder / n for k, n in (("ca", "ca.pem"), ("ca_key", "ca.key"), ("cert", "cert.pem"),
                                      ("key", "key.pem"), ("csr", "req.csr"), ("ext", "ext.cnf"))}
    f["ext"].write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *a: subprocess.run([openssl, *a], check=True, capture_output=True, timeout=60)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(f["ca_key"]), "-out", str(f["ca"]),
        "-days", "2", "-subj", "/CN=carepath-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(f["key"]), "-out", str(f["csr"]),
        "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(f["csr"]), "-CA", str(f["ca"]), "-CAkey", str(f["ca_key"]), "-CAcreateserial",
        "-out", str(f["cert"]), "-days", "2", "-extfile", str(f["ext"]))
    return f


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    f = _certificates(tmp_path_factory.mktemp("certs"))
    sec = Security(tls_ca_file=str(f["ca"]), tls_scheduler_cert=str(f["cert"]), tls_scheduler_key=str(f["key"]),
                   tls_worker_cert=str(f["cert"]), tls_worker_key=str(f["key"]),
                   tls_client_cert=str(f["cert"]), tls_client_key=str(f["key"]), require_encryption=True)
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls://", host="127.0.0.1",
                           security=sec, dashboard_address=None, silence_logs=40)
    try:
        yield cluster, f
    finally:
        cluster.close()


def _args(repo, out) -> list[str]:
    return ["run", "--params", str(repo / "experiments" / "baseline.yaml"), "--years", "1", "--replications", "2",
            "--seed", "31", "--quiet", "--event-log", "none", "--out", str(out)]


def test_a_tls_scheduler_with_certificates_gives_the_local_numbers(tls_cluster, tmp_path, repo):
    cluster, f = tls_cluster
    assert cluster.scheduler_address.startswith("tls://")
    assert main(_args(repo, tmp_path / "local") + ["--workers", "1"]) == 0
    assert main(_args(repo, tmp_path / "tls") + ["--scheduler", cluster.scheduler_address, "--tls-ca-file", str(f["ca"]),
                                               "--tls-cert", str(f["cert"]), "--tls-key", str(f["key"])]) == 0
    for name in ("summary_by_fy.csv", "stocks_by_month.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "tls" / name).read_bytes()


@pytest.mark.parametrize("extra, words", [
    (["--tls-ca-file", "nowhere/ca.pem", "--tls-cert", "x", "--tls-key", "y"], "certificate file not found"),
    (["--tls-ca-file", "ca.pem"], "go with a tls:// --scheduler"),
])
def test_bad_tls_settings_are_one_line_and_exit_2(extra, words, tmp_path, repo, capsys, tls_cluster):
    cluster, _ = tls_cluster
    args = _args(repo, tmp_path / "o") + extra
    if "nowhere/ca.pem" in extra:
        args += ["--scheduler", cluster.scheduler_address]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_certificates_with_a_plain_tcp_address_are_refused(tmp_path, repo, capsys, tls_cluster):
    _, f = tls_cluster
    args = _args(repo, tmp_path / "o") + ["--scheduler", "tcp://127.0.0.1:1", "--tls-ca-file", str(f["ca"]),
                                         "--tls-cert", str(f["cert"]), "--tls-key", str(f["key"])]
    assert main(args) == 2
    assert "must start with tls://" in capsys.readouterr().err
