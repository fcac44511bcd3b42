"""Kernels forked from a warm process (forked_kernels.py, kernel_forkserver.py): each one as
fresh as a kernel started from scratch, only quicker; and nothing left behind."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from nbsteps.forked_kernels import KernelForker, forkable_python, open_forker
from nbsteps.kernels import discard_kernel, kernel_environment, launch_kernel, start_kernel
from nbsteps.notebook import read_notebook
from tests.dashboard.test_kernels import execute
from tests.sweep_project import make_sweep_project
from tests.test_sweep import kernels_working_in, wait_until

PROBE = """\
import os, sys
print(sorted(n for n in globals() if not n.startswith("_")
             and n not in {"In", "Out", "exit", "quit", "get_ipython", "open", "os", "sys"}))
print("numpy" in sys.modules, "fractions" in sys.modules)
print(os.getcwd(), os.getpgid(0) == os.getpid(), os.environ.get("NBSTEPS_PROBE"))
print(sys.path)
"""


@pytest.fixture
def notebook(tmp_path):
    """A notebook that imports numpy and fractions, in a folder of its own."""
    path = tmp_path / "nb" / "step.ipynb"
    path.parent.mkdir()
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": "import numpy\nfrom fractions import Fraction"}]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    return read_notebook(path)


@pytest.fixture
def forker(notebook):
    forker = open_forker(notebook, "python3", env=os.environ | {"NBSTEPS_PROBE": "given"})
    assert forker is not None, "the venv's python3 kernel is a plain ipykernel"
    yield forker
    forker.close()


def test_a_forked_kernel_is_as_fresh_as_a_started_one_with_the_imports_loaded(notebook, forker):
    forked = start_kernel(notebook, forker=forker)
    started = launch_kernel(notebook.path.parent)
    try:
        text, count = execute(forked, PROBE)
        names, modules, where, path = text.strip().splitlines()
        assert count == 1  # the notebook's first cell is In [1]
        assert names == "[]"
        assert modules == "True False"  # preloaded: numpy (third party); not the stdlib's
        folder, own_group, probe = where.split()
        assert Path(folder) == notebook.path.parent and own_group == "True"
        assert probe == "given"
        # The same import path as a kernel started by jupyter_client from its kernelspec.
        assert path == execute(started, "import sys; print(sys.path)")[0].strip()
    finally:
        discard_kernel(forked)
        discard_kernel(started)


def test_forked_kernels_do_not_share_numpys_random_numbers(notebook, forker):
    draws = []
    for _ in range(2):
        km = start_kernel(notebook, forker=forker)
        try:
            draws.append(execute(km, "import numpy; print(numpy.random.rand())")[0])
        finally:
            discard_kernel(km)
    assert draws[0] != draws[1]


def test_a_forked_kernel_is_shut_down_and_gone(notebook, forker):
    km = start_kernel(notebook, forker=forker)
    pid = km.provisioner.pid
    discard_kernel(km)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_kernelspec_that_is_not_a_plain_ipykernel_is_started_the_usual_way(tmp_path, monkeypatch,
                                                                            notebook):
    spec = tmp_path / "jupyter" / "kernels" / "wrapped"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "wrapped", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert forkable_python("wrapped") is None
    assert open_forker(notebook, "wrapped") is None
    assert forkable_python("python3") == sys.executable


def test_a_failed_warm_up_is_one_error_and_no_server(notebook):
    from nbsteps.forked_kernels import ForkServerError

    with pytest.raises(ForkServerError, match="ZeroDivisionError"):
        KernelForker(notebook, sys.executable, warm_up="1 / 0")


def test_side_by_side_kernels_share_the_cores(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
    cores = len(os.sched_getaffinity(0))
    env = kernel_environment(2)
    assert env["OPENBLAS_NUM_THREADS"] == str(max(1, cores // 2))
    assert env["OMP_NUM_THREADS"] == "3"


def start_long_sweep(space) -> subprocess.Popen:
    """Two points that each sleep two minutes, side by side."""
    return subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "sweep", "square", "--grid", "x=1,2", "-p",
         "seconds=120", "-j", "2"], env=space.env(), cwd=space.base,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_killed_sweep_runner_takes_its_fork_server_and_kernels_with_it(tmp_path):
    space = make_sweep_project(tmp_path)
    folder = (space.root / "notebooks").resolve()
    runner = start_long_sweep(space)
    try:
        wait_until(lambda: len(kernels_working_in(folder)) >= 3)  # server and 2 kernels
        wait_until(lambda: len(list((space.outputs / "square").glob("square_*.json"))) >= 2)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    wait_until(lambda: kernels_working_in(folder) == [], timeout=30)


def test_imports_that_start_threads_are_not_forked(notebook):
    from nbsteps.forked_kernels import ForkServerError

    warm_up = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), " \
              "name='pool-reader', daemon=True).start()"
    with pytest.raises(ForkServerError, match=r"started threads \(pool-reader\).*fork: false"):
        KernelForker(notebook, sys.executable, warm_up=warm_up)


def project_with_fork(tmp_path, value: str):
    """The sweep project, its `square` step given `fork: VALUE`."""
    space = make_sweep_project(tmp_path)
    pipeline = space.root / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace(
        "    notebook: notebooks/square.ipynb\n", "    notebook: notebooks/square.ipynb\n"
        f"    fork: {value}\n", 1))
    return space


def test_a_step_with_fork_false_starts_each_point_from_scratch(tmp_path):
    space = project_with_fork(tmp_path, "false")
    folder = (space.root / "notebooks").resolve()
    runner = start_long_sweep(space)
    try:
        wait_until(lambda: len(kernels_working_in(folder)) >= 2)
        commands = [psutil.Process(pid).cmdline() for pid in kernels_working_in(folder)]
        assert all("ipykernel_launcher" in command for command in commands), commands
    finally:
        runner.send_signal(signal.SIGINT)
        runner.wait(60)


def test_fork_must_be_true_or_false(tmp_path):
    space = project_with_fork(tmp_path, "sometimes")
    result = space.run("sweep", "square", "--grid", "x=1,2")
    assert result.returncode == 2
    assert "step 'square': `fork:` must be true or false" in result.stderr


def test_a_notebook_given_by_a_relative_path_gets_kernels_in_its_folder(notebook, monkeypatch):
    monkeypatch.chdir(notebook.path.parent.parent)
    relative = read_notebook(Path(notebook.path.parent.name) / notebook.path.name)
    forker = open_forker(relative, "python3")
    try:
        km = start_kernel(relative, forker=forker)
        try:
            where, _ = execute(km, "import os; print(os.getcwd())")
            assert Path(where.strip()) == notebook.path.parent
        finally:
            discard_kernel(km)
    finally:
        forker.close()
