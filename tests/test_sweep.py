"""`nbsteps sweep` on this machine: real papermill runs of a small generated notebook."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from nbsteps.errors import EXIT_CANCELLED, EXIT_FAILED, EXIT_KERNEL_DIED, ParameterError
from nbsteps.sweep.points import expand_grid, split_top_level
from nbsteps.sweep.record import worst_exit_code
from tests.sweep_project import check_run_layout, make_sweep_project, run_records, sweep_record


@pytest.fixture
def space(tmp_path):
    return make_sweep_project(tmp_path)


def test_grid_splits_at_top_level_commas_only():
    assert split_top_level("100, 200,500") == ["100", "200", "500"]
    assert split_top_level("[1,2],[3]") == ["[1,2]", "[3]"]


def test_grid_expands_to_every_combination_and_refuses_an_empty_list():
    points = expand_grid({"k": [1, 2], "method": ["a", "b", "c"]})
    assert len(points) == 6 and points[1] == {"k": 1, "method": "b"}
    with pytest.raises(ParameterError, match="'k' has no values"):
        expand_grid({"k": []})


def test_the_worst_exit_code_wins():
    assert worst_exit_code([0, 0]) == 0
    assert worst_exit_code([0, EXIT_FAILED, EXIT_KERNEL_DIED]) == EXIT_KERNEL_DIED
    assert worst_exit_code([EXIT_KERNEL_DIED, EXIT_CANCELLED, EXIT_FAILED]) == EXIT_CANCELLED


def test_sweep_runs_each_point_as_an_ordinary_run_then_skips_them_all(space):
    result = space.run("sweep", "square", "--grid", "x=2,3", "--grid", "mode=ok", "-j", "2",
                       "-p", "seconds=0.1")
    assert result.returncode == 0, result.stderr
    sweep = sweep_record(space)
    assert sweep["status"] == "succeeded" and sweep["exit_code"] == 0
    assert [p["given"] for p in sweep["points"]] == [{"x": "2", "mode": "ok"},
                                                     {"x": "3", "mode": "ok"}]
    records = {r["run_id"]: r for r in run_records(space)}
    assert len(records) == 2
    for point in sweep["points"]:
        record = records[point["run_id"]]
        assert record["status"] == point["status"] == "succeeded"
        assert record["parameters"] == {"x": point["parameters"]["x"], "mode": "ok",
                                        "seconds": 0.1}
        check_run_layout(space, record)
        result_file = space.data / "square" / record["run_id"] / "result.json"
        assert json.loads(result_file.read_text())["square"] == record["parameters"]["x"] ** 2

    again = space.run("sweep", "square", "--grid", "x=2,3", "--grid", "mode=ok",
                      "-p", "seconds=0.1")
    assert again.returncode == 0, again.stderr
    rerun = sweep_record(space)
    assert rerun["sweep_id"] != sweep["sweep_id"]
    assert [p["status"] for p in rerun["points"]] == ["skipped", "skipped"]
    assert {p["reused_run"] for p in rerun["points"]} == set(records)
    run_folders = [p for p in (space.data / "square").iterdir() if p.name != "latest"]
    assert len(run_folders) == 2  # nothing ran again


def test_points_come_from_the_sweep_file_grid_and_list(space):
    (space.root / "params" / "square.sweep.yaml").write_text(
        "grid:\n  x: [4, 5]\npoints:\n  - {x: 9, seconds: 0}\n")
    result = space.run("sweep", "square", "-j", "1")
    assert result.returncode == 0, result.stderr
    xs = [p["parameters"]["x"] for p in sweep_record(space)["points"]]
    assert xs == [4, 5, 9]


def test_a_bad_point_stops_the_sweep_before_anything_runs(space):
    result = space.run("sweep", "square", "--grid", "x=1,500,2")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nbsteps: error: point 2 of 3 (x=500) from --grid: parameter 'x' must be in [0..100]; "
        "got 500"]
    assert not space.outputs.exists() and not space.data.exists()


def test_a_bad_sweep_file_is_one_line_and_exit_2(space):
    (space.root / "params" / "square.sweep.yaml").write_text("grid: [1, 2]\n")
    result = space.run("sweep", "square")
    assert result.returncode == 2
    assert "must map parameter names to lists of values" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_step_whose_outputs_are_shared_by_every_run_cannot_be_swept(space):
    (space.root / "pipeline.yaml").write_text(
        "steps:\n  square:\n    notebook: notebooks/square.ipynb\n"
        "    outputs: [square/result.json]\n")
    result = space.run("sweep", "square", "--grid", "x=1,2")
    assert result.returncode == 2 and "{run_id}" in result.stderr


def test_a_failing_point_keeps_its_notebook_and_fails_the_sweep(space):
    result = space.run("sweep", "square", "--grid", "x=6", "--grid", "mode=ok,fail", "-j", "2")
    assert result.returncode == EXIT_FAILED, result.stderr
    sweep = sweep_record(space)
    assert sweep["status"] == "failed" and sweep["exit_code"] == EXIT_FAILED
    ok, failed = sweep["points"]
    assert ok["status"] == "succeeded" and failed["status"] == "failed"
    assert "asked to fail at x=6" in failed["error"]
    assert "point 2/2 (x=6, mode=fail): failed" in result.stderr
    record = json.loads((space.outputs / "square" / f"{failed['run_id']}.json").read_text())
    notebook = nbformat.read(record["notebook"], as_version=4)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0]["ename"] == "ValueError"
    assert not (space.data / "square" / failed["run_id"]).exists()


def test_a_dead_kernel_outranks_a_failure(space):
    result = space.run("sweep", "square", "--grid", "mode=fail,crash", "-j", "2")
    assert result.returncode == EXIT_KERNEL_DIED, result.stderr
    assert [p["exit_code"] for p in sweep_record(space)["points"]] == [1, 4]


def test_ctrl_c_cancels_running_points_and_starts_no_more(space):
    process = subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "sweep", "square", "--grid", "x=1,2,3,4,5,6",
         "-p", "seconds=60", "-j", "2"],
        env=space.env(), cwd=space.base, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: sum(r["status"] == "running" for r in run_records(space)) == 2)
    time.sleep(1.5)  # the kernels are in the sleeping cell
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == EXIT_CANCELLED, stderr
    sweep = sweep_record(space)
    assert sweep["status"] == "cancelled"
    statuses = [p["status"] for p in sweep["points"]]
    assert statuses == ["cancelled"] * 6
    ran = [p for p in sweep["points"] if p["run_id"]]
    assert len(ran) == 2  # no point started after the cancel
    for record in run_records(space):
        assert record["status"] == "cancelled" and record["exit_code"] == EXIT_CANCELLED
        check_run_layout(space, record)
    leftovers = space.data / "square"
    assert not leftovers.exists() or not [p for p in leftovers.iterdir() if p.name != "latest"]


def wait_until(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_sweep_leaves_no_kernel_behind(space):
    result = space.run("sweep", "square", "--grid", "x=1,2,3", "-j", "2")
    assert result.returncode == 0, result.stderr
    time.sleep(1)
    assert kernels_working_in((space.root / "notebooks").resolve()) == []


def kernels_working_in(folder: Path) -> list[int]:
    """Kernel processes of this virtual environment working in `folder` (a test project's
    notebooks): ipykernel launched by jupyter_client, or a kernel fork server and the
    kernels forked from it. (By folder, not by start time: psutil's start times can read a
    second early.)"""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "cwd", "status"]):
        cmdline = process.info["cmdline"] or []
        kernel = ("ipykernel_launcher" in cmdline[1:3]
                  or any(arg.endswith("kernel_forkserver.py") for arg in cmdline[1:2]))
        if (kernel and cmdline[0] == sys.executable and process.info["cwd"] == str(folder)
                and process.info["status"] != psutil.STATUS_ZOMBIE):
            found.append(process.pid)
    return found
