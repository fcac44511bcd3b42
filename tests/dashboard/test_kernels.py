"""Kernels started ahead (kernels.py): started, with the notebook's imports done and the
project's warm-up run, and a namespace as clean as a fresh kernel's; the dashboard's pool."""

import json
import os
import signal
import time
from pathlib import Path

import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_core.utils import run_sync

from nbsteps.kernels import (
    KernelPool,
    KernelStartError,
    WarmUpError,
    discard_kernel,
    start_kernel,
)
from nbsteps.notebook import read_notebook
from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
MODEL = NOTEBOOKS / "3.model.ipynb"
PROBE = """\
import sys
names = sorted(n for n in globals() if not n.startswith("_") and n not in {probe_names})
print(names, "pandas" in sys.modules, "sklearn.manifold" in sys.modules,
      "authorship" in sys.modules)
"""


def execute(km, code: str) -> tuple[str, int]:
    """(stdout, execution count) of running `code` in the kernel."""
    client = BlockingKernelClient(parent=km, **km.get_connection_info(session=True))
    client.start_channels(hb=False)
    output = []
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            code, timeout=60,
            output_hook=lambda msg: output.append(msg["content"].get("text", "")))
    finally:
        client.stop_channels()
    return "".join(output), reply["content"]["execution_count"]


@pytest.fixture
def pool():
    pool = KernelPool(MODEL)
    yield pool
    pool.close()


def test_a_taken_kernel_is_warm_clean_and_in_the_notebooks_folder(pool):
    km = pool.take(timeout=120)
    try:
        assert km is not None and run_sync(km.is_alive)()
        builtins = "{'In', 'Out', 'exit', 'quit', 'get_ipython', 'open', 'sys', 'names'}"
        text, count = execute(km, PROBE.format(probe_names=builtins))
        # The first cell a notebook runs is In [1], as in a fresh kernel.
        assert count == 1
        assert text.strip() == "[] True True False"
        cwd, _ = execute(km, "import os; print(os.getcwd())")
        assert Path(cwd.strip()) == NOTEBOOKS
    finally:
        discard_kernel(km)
    assert not km.has_kernel


def test_take_starts_the_next_kernel_and_close_stops_it(pool):
    first = pool.take(timeout=120)
    discard_kernel(first)
    second = pool.take(timeout=120)
    assert second is not None and second is not first
    discard_kernel(second)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.take()


def test_the_imports_are_the_notebooks_and_its_local_modules_full_names():
    modules = read_notebook(MODEL).imports
    assert {"pandas", "sklearn.manifold", "matplotlib.pyplot"} <= set(modules)
    assert "authorship" not in modules and "json" not in modules  # local, standard library


def test_a_failed_warm_up_leaves_a_cold_start_to_the_caller():
    pool = KernelPool(MODEL, warm_up="import no_such_module_for_nbsteps")
    try:
        assert pool.take(timeout=120) is None
    finally:
        pool.close()


def test_warm_up_errors_name_the_failure(tmp_path):
    with pytest.raises(WarmUpError, match="no_such_module_for_nbsteps"):
        start_kernel(read_notebook(MODEL), warm_up="import no_such_module_for_nbsteps")


def test_warm_up_code_runs_apart_from_the_notebooks_namespace(tmp_path):
    notebook = tmp_path / "step.ipynb"
    notebook.write_text(json.dumps({"cells": [{
        "cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "n = 1  # n",
        "outputs": [], "execution_count": None}], "metadata": {}, "nbformat": 4,
        "nbformat_minor": 5}))
    marker = tmp_path / "warmed"
    warm_up = f"import pathlib\nx = 1\npathlib.Path({str(marker)!r}).write_text('yes')"
    km = start_kernel(read_notebook(notebook), warm_up=warm_up)
    try:
        text, _ = execute(km, "print('x' in globals(), 'pathlib' in globals())")
        assert text.strip() == "False False" and marker.read_text() == "yes"
    finally:
        discard_kernel(km)


def test_a_kernel_that_dies_while_starting_is_noticed_at_once_and_tried_again(monkeypatch):
    """Killed right after its launch, as a port taken between being picked and bound does."""
    from nbsteps import kernels

    launched = []

    def launch_and_kill(*args):
        km = launch(*args)
        launched.append(km)
        os.kill(km.provisioner.pid, signal.SIGKILL)
        return km

    launch = kernels.launch_kernel
    monkeypatch.setattr(kernels, "launch_kernel", launch_and_kill)
    started = time.monotonic()
    with pytest.raises(KernelStartError, match="ended before it answered"):
        start_kernel(read_notebook(MODEL))
    assert len(launched) == kernels.START_ATTEMPTS
    assert time.monotonic() - started < 30  # not the whole start-up timeout
