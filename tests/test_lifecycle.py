"""A run that dies or is cancelled: the right exit code, an honest record, no partial output.

These use a throwaway project whose notebooks misbehave on purpose.
"""

import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import Workspace

PIPELINE = """steps:
  crash:
    notebook: notebooks/crash.ipynb
    outputs: ["crash/{run_id}/result.txt"]
  slow:
    notebook: notebooks/slow.ipynb
    outputs: ["slow/{run_id}/result.txt"]
"""

CRASH = [
    'data_dir = "."\nrun_id = "manual"',
    "import os, pathlib\nfolder = pathlib.Path(data_dir) / 'crash' / run_id\n"
    "folder.mkdir(parents=True)\n(folder / 'partial.txt').write_text('half')\n"
    "os._exit(9)  # the kernel process dies, as on an out-of-memory kill",
]
SLOW = [
    'data_dir = "."\nrun_id = "manual"\nseconds = 60.0  # how long to work [0..]',
    "from pathlib import Path\nfolder = Path(data_dir) / 'slow' / run_id\n"
    "folder.mkdir(parents=True)\n(folder / 'partial.txt').write_text('half')",
    "import time\ntime.sleep(seconds)",
    "(folder / 'result.txt').write_text('done')",
]


def write_notebook(path, sources):
    cells = [new_code_cell(source) for source in sources]
    cells[0].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def odd_project(tmp_path) -> Workspace:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pipeline.yaml").write_text(PIPELINE)
    write_notebook(root / "notebooks" / "crash.ipynb", CRASH)
    write_notebook(root / "notebooks" / "slow.ipynb", SLOW)
    return Workspace(root=root, base=tmp_path)


def latest(space, step):
    return json.loads((space.outputs / step / "latest.json").read_text())


def test_a_dead_kernel_has_its_own_exit_code_and_a_failed_record(odd_project):
    result = odd_project.run("run", "crash")
    assert result.returncode == 4, result.stderr
    assert "the kernel died" in result.stderr.strip().splitlines()[-1]
    record = latest(odd_project, "crash")
    assert record["status"] == "failed" and record["exit_code"] == 4
    # The kernel made the run's folder and wrote a partial result before it died (so
    # data/crash exists); the runner removed the run's folder.
    assert (odd_project.data / "crash").is_dir()
    assert list((odd_project.data / "crash").iterdir()) == []


def test_a_slow_step_runs_to_completion(odd_project):
    result = odd_project.run("run", "slow", "-p", "seconds=0")
    assert result.returncode == 0, result.stderr
    record = latest(odd_project, "slow")
    assert (odd_project.data / record["outputs"][0]["path"]).read_text() == "done"


@pytest.mark.parametrize(
    ("signum", "to_group"),
    [
        (signal.SIGTERM, False),  # docker stop, through the container's init
        (signal.SIGINT, False),
        (signal.SIGINT, True),  # Ctrl-C in a terminal: the whole foreground process group
    ],
)
def test_a_signal_cancels_the_run_promptly_and_removes_partial_output(
    odd_project, signum, to_group
):
    process = subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "run", "slow"], env=odd_project.env(),
        stderr=subprocess.PIPE, text=True, cwd=odd_project.base, start_new_session=True,
    )
    lines = []
    for line in process.stderr:  # wait until the long cell has started
        lines.append(line)
        if "slow: cell 4/" in line:  # parameters, injected parameters, partial write, sleep
            break
    partial = list((odd_project.data / "slow").glob("*/partial.txt"))
    assert partial, "the step should have written its partial file by now"
    sent = time.monotonic()
    if to_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    remaining = process.communicate(timeout=30)[1]
    elapsed = time.monotonic() - sent
    assert elapsed < 15, f"took {elapsed:.1f} s to stop"  # docker stop waits 10 s by default
    assert process.returncode == 130, "".join(lines) + remaining
    assert "cancelled" in remaining
    record = latest(odd_project, "slow")
    assert record["status"] == "cancelled" and record["exit_code"] == 130
    assert not partial[0].parent.exists(), "the cancelled run's folder must be gone"
    assert (odd_project.outputs / "slow" / f"{record['run_id']}.ipynb").is_file()
