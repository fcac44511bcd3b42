"""A sweep over TLS: a scheduler that accepts only TLS, an `nbsteps worker` and the sweep
driver each with the certificates passed through --tls-ca-file/--tls-cert/--tls-key."""

import subprocess
import sys

import pytest

from tests.dask_cluster import DASK, LoopbackCluster, wait_for
from tests.sweep_project import make_sweep_project, sweep_record


def make_certificates(folder) -> dict[str, str]:
    """A CA of our own and one certificate it signed for 127.0.0.1 (openssl)."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "node.key", "-out", "node.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-extfile", "san.cnf", "-out", "node.pem")
    return {"--tls-ca-file": str(folder / "ca.pem"), "--tls-cert": str(folder / "node.pem"),
            "--tls-key": str(folder / "node.key")}


@pytest.fixture
def tls_cluster(tmp_path):
    space = make_sweep_project(tmp_path)
    tls = make_certificates(tmp_path)
    cluster = LoopbackCluster(space, tmp_path)
    flags = [part for pair in tls.items() for part in pair]
    try:
        cluster.processes["scheduler"] = cluster._spawn("scheduler", [
            str(DASK), "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", "0",
            "--scheduler-file", str(cluster.scheduler_file), "--no-dashboard", *flags])
        wait_for(cluster.scheduler_file.is_file, "the scheduler file")
        assert cluster.address.startswith("tls://")
        cluster.processes["w1"] = cluster._spawn("w1", [
            sys.executable, "-m", "nbsteps", "worker", "--step", "square",
            "--scheduler", cluster.address, "--name", "w1", *flags])
        yield cluster, flags
    finally:
        cluster.stop()


def test_a_sweep_runs_over_tls_and_plain_tcp_is_refused(tls_cluster):
    cluster, flags = tls_cluster
    space = cluster.space
    result = space.run("sweep", "square", "--grid", "x=3,4", "--engine", "dask",
                       "--scheduler", cluster.address, *flags, timeout=600)
    assert result.returncode == 0, result.stderr
    assert [p["status"] for p in sweep_record(space)["points"]] == ["succeeded"] * 2

    plain = space.run("sweep", "square", "--grid", "x=5", "--engine", "dask",
                      "--scheduler", cluster.address.replace("tls://", "tcp://"), timeout=120)
    assert plain.returncode == 2
    assert "cannot reach the Dask scheduler" in plain.stderr

    half = space.run("sweep", "square", "--grid", "x=5", "--engine", "dask",
                     "--scheduler", cluster.address, "--tls-ca-file", flags[1])
    assert half.returncode == 2 and "needs all three" in half.stderr
