"""Sweeps on a real Dask cluster: a scheduler and two `nbsteps worker`s on loopback, started
and stopped by process id; the runs are real papermill executions of a small notebook."""

import json
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from nbsteps.errors import EXIT_CANCELLED, EXIT_FAILED
from tests.dask_cluster import LoopbackCluster, wait_for
from tests.sweep_project import check_run_layout, make_sweep_project, run_records, sweep_record


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    space = make_sweep_project(tmp_path_factory.mktemp("dask"))
    cluster = LoopbackCluster(space, space.base)
    try:
        cluster.start_scheduler()
        cluster.start_worker("w1", "square")
        cluster.start_worker("w2", "square")
        cluster.start_worker("maker", "make")
        cluster.start_worker("adder", "total")
        cluster.wait_for_workers(4)
        yield cluster
    finally:
        cluster.stop()


def sweep(cluster, *args: str) -> subprocess.CompletedProcess:
    return cluster.space.run("sweep", "square", "--engine", "dask", "--scheduler",
                             cluster.address, *args, timeout=600)


def records_of(cluster, sweep_doc: dict) -> list[dict]:
    folder = cluster.space.outputs / "square"
    return [json.loads((folder / f"{p['run_id']}.json").read_text()) for p in sweep_doc["points"]]


def test_eight_points_give_eight_runs_laid_out_as_local_runs_and_a_rerun_skips(cluster):
    result = sweep(cluster, "--grid", "x=1,2,3,4,5,6,7,8")
    assert result.returncode == 0, result.stderr
    doc = sweep_record(cluster.space)
    assert doc["engine"] == "dask" and doc["status"] == "succeeded"
    records = records_of(cluster, doc)
    assert [r["parameters"]["x"] for r in records] == list(range(1, 9))
    for record in records:
        assert record["status"] == "succeeded"
        check_run_layout(cluster.space, record)
        output = cluster.space.data / "square" / record["run_id"] / "result.json"
        assert json.loads(output.read_text())["square"] == record["parameters"]["x"] ** 2
    assert {p["worker"].split()[-1] for p in doc["points"]} == {"w1", "w2"}

    again = sweep(cluster, "--grid", "x=1,2,3,4,5,6,7,8")
    assert again.returncode == 0, again.stderr
    rerun = sweep_record(cluster.space)
    assert [p["status"] for p in rerun["points"]] == ["skipped"] * 8
    assert [p["reused_run"] for p in rerun["points"]] == [r["run_id"] for r in records]


def test_a_failing_point_keeps_its_notebook_and_fails_the_sweep(cluster):
    result = sweep(cluster, "--grid", "x=11", "--grid", "mode=ok,fail")
    assert result.returncode == EXIT_FAILED, result.stderr
    ok, failed = records_of(cluster, sweep_record(cluster.space))
    assert ok["status"] == "succeeded" and failed["status"] == "failed"
    notebook = nbformat.read(failed["notebook"], as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors[0]["evalue"] == "asked to fail at x=11"


def test_a_bad_point_stops_everything_before_it_starts(cluster):
    before = run_records(cluster.space)
    result = sweep(cluster, "--grid", "x=12,999")
    assert result.returncode == 2
    assert "point 2 of 2 (x=999)" in result.stderr
    assert run_records(cluster.space) == before


def test_a_worker_killed_mid_sweep_still_leaves_every_point_with_a_record(cluster):
    space = cluster.space
    before = {r["run_id"] for r in run_records(space)}
    driver = subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "sweep", "square", "--engine", "dask",
         "--scheduler", cluster.address, "--grid", "x=21,22,23,24,25,26", "-p", "seconds=4"],
        env=space.env(), cwd=space.base, stderr=subprocess.PIPE, text=True)
    running = lambda: [r for r in run_records(space)  # noqa: E731
                       if r["status"] == "running" and r["run_id"] not in before]
    wait_for(lambda: len(running()) == 2, "two points running", timeout=120)
    time.sleep(1.0)
    cluster.worker_process("w1").kill()  # SIGKILL: no chance to write anything
    _, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr
    doc = sweep_record(space)
    assert [p["status"] for p in doc["points"]] == ["succeeded"] * 6
    new = [r for r in run_records(space) if r["run_id"] not in before]
    assert not [r for r in new if r["status"] == "running"]
    lost = [r for r in new if r["status"] == "failed"]
    assert len(lost) == 1 and "worker running it was lost" in lost[0]["error"]
    assert not (space.data / "square" / lost[0]["run_id"]).exists()
    cluster.wait_for_workers(4)  # the nanny brought the worker back


def test_ctrl_c_leaves_cancelled_records(cluster):
    space = cluster.space
    before = {r["run_id"] for r in run_records(space)}
    driver = subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "sweep", "square", "--engine", "dask",
         "--scheduler", cluster.address, "--grid", "x=31,32,33,34,35", "-p", "seconds=120"],
        env=space.env(), cwd=space.base, stderr=subprocess.PIPE, text=True)
    running = lambda: [r for r in run_records(space)  # noqa: E731
                       if r["status"] == "running" and r["run_id"] not in before]
    wait_for(lambda: len(running()) == 2, "two points running", timeout=120)
    time.sleep(1.5)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=120)
    assert driver.returncode == EXIT_CANCELLED, stderr
    doc = sweep_record(space)
    assert [p["status"] for p in doc["points"]] == ["cancelled"] * 5
    new = [r for r in run_records(space) if r["run_id"] not in before]
    assert len(new) == 2 and {r["status"] for r in new} == {"cancelled"}
    for record in new:
        check_run_layout(space, record)


def test_run_all_sends_each_step_to_its_own_workers_in_graph_order(cluster):
    space = cluster.space
    result = space.run("run", "make", "total", "-p", "make.n=5", "--engine", "dask",
                       "--scheduler", cluster.address, timeout=600)
    assert result.returncode == 0, result.stderr
    made = json.loads((space.outputs / "make" / "latest.json").read_text())
    total = json.loads((space.outputs / "total" / "latest.json").read_text())
    assert made["status"] == total["status"] == "succeeded"
    assert total["started"] > made["ended"]  # total waited for the table it reads
    check_run_layout(space, made)
    check_run_layout(space, total)
    assert json.loads((space.data / "total" / total["run_id"] / "sum.json").read_text()) == 10
    assert "make succeeded on" in result.stderr and "maker" in result.stderr
    assert "total succeeded on" in result.stderr and "adder" in result.stderr


def test_a_worker_killed_during_run_all_has_its_step_run_again_and_the_pipeline_go_on(cluster):
    space = cluster.space
    before = {r["run_id"] for r in run_records(space, "make")}
    driver = subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "run", "make", "total", "-p", "make.n=6",
         "-p", "make.seconds=4", "--engine", "dask", "--scheduler", cluster.address],
        env=space.env(), cwd=space.base, stderr=subprocess.PIPE, text=True)
    running = lambda: [r for r in run_records(space, "make")  # noqa: E731
                       if r["status"] == "running" and r["run_id"] not in before]
    wait_for(lambda: len(running()) == 1, "make running", timeout=120)
    time.sleep(1.0)
    cluster.worker_process("maker").kill()  # SIGKILL, mid-cell; its nanny starts another
    _, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr
    new = [r for r in run_records(space, "make") if r["run_id"] not in before]
    assert sorted(r["status"] for r in new) == ["failed", "succeeded"]
    lost = next(r for r in new if r["status"] == "failed")
    assert "worker running it was lost" in lost["error"]
    made = json.loads((space.outputs / "make" / "latest.json").read_text())
    total = json.loads((space.outputs / "total" / "latest.json").read_text())
    assert made["status"] == total["status"] == "succeeded"
    assert made["run_id"] != lost["run_id"] and total["started"] > made["ended"]
    check_run_layout(space, made)
    assert json.loads((space.data / "total" / total["run_id"] / "sum.json").read_text()) == 15
    cluster.wait_for_workers(4)


def test_a_step_without_workers_is_one_line_and_records_nothing(cluster):
    space = cluster.space
    env = space.env() | {"NBSTEPS_WORKER_WAIT_S": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "nbsteps", "sweep", "unserved", "--grid", "x=1", "--engine",
         "dask", "--scheduler", cluster.address], env=env, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "nbsteps: error: no worker for step unserved joined the cluster in 3 s; start one: "
        "nbsteps worker --step unserved --scheduler ADDRESS")
    assert not (space.outputs / "unserved").exists()
