"""Runs that die, disks that fill, files that lie: a killed runner's record reads "died" and
the next run cleans what it left; only a gone writer's temporary files are removed; a record
that cannot be written fails the run in one line and moves no `latest`; a record that does
not fit the schema is skipped with a warning naming it; a local file's bytes are never
quoted in an error."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import Workspace
from tests.test_lifecycle import write_notebook

PIPELINE = """steps:
  slow:
    notebook: notebooks/slow.ipynb
    outputs: ["shared/out.txt", "slow/{run_id}/result.txt"]
  crash:
    notebook: notebooks/crash.ipynb
    outputs: ["shared/crash.txt"]
  fill:
    notebook: notebooks/fill.ipynb
    outputs: ["fill/{run_id}/result.txt"]
"""
SLOW = [
    'data_dir = "."\nrun_id = "manual"\nseconds = 60.0  # how long to work [0..3600]',
    "import os, socket, time\nfrom pathlib import Path\ndata = Path(data_dir)\n"
    "(data / 'slow' / run_id).mkdir(parents=True)\n(data / 'shared').mkdir(exist_ok=True)\n"
    "host = socket.gethostname().replace('.', '_')\n"
    "part = data / 'shared' / f'.out.txt.nbsteps-{os.getpid()}@{host}.abc.tmp'\n"
    "part.write_text('half')\ntime.sleep(seconds)",
    "(data / 'slow' / run_id / 'result.txt').write_text('done')\n"
    "(data / 'shared' / 'out.txt').write_text('done')\npart.unlink()",
]
CRASH = [
    'data_dir = "."',
    "raise RuntimeError('this step fails')",
]
FILL = [
    'data_dir = "."\nrun_id = "manual"',
    "from pathlib import Path\nout = Path(data_dir) / 'fill' / run_id\nout.mkdir(parents=True)\n"
    "(out / 'result.txt').write_text('done')\n"
    "try:\n    with open(Path(data_dir) / 'filler', 'wb') as f:\n"
    "        while True:\n            f.write(b'x' * 65536)\nexcept OSError:\n    pass",
]


@pytest.fixture
def project(tmp_path) -> Workspace:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pipeline.yaml").write_text(PIPELINE)
    for name, cells in (("slow", SLOW), ("crash", CRASH), ("fill", FILL)):
        write_notebook(root / "notebooks" / f"{name}.ipynb", cells)
    return Workspace(root=root, base=tmp_path)


def latest(space, step):
    return json.loads((space.outputs / step / "latest.json").read_text())


def start_slow(space) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "nbsteps", "run", "slow"],
                               env=space.env(), cwd=space.base, stderr=subprocess.PIPE,
                               text=True)
    for line in process.stderr:
        if "slow: cell 3/" in line:  # the cell that writes its temporary file, then sleeps
            break
    deadline = time.monotonic() + 60
    while not list((space.data / "shared").glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def foreign_temporary(space) -> "os.PathLike":
    """A temporary file of a live writer (this test process), which no run may remove."""
    host = socket.gethostname().replace(".", "_")
    path = space.data / "shared" / f".out.txt.nbsteps-{os.getpid()}@{host}.xyz.tmp"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("another run's half-written file")
    return path


def test_a_killed_runner_reads_died_and_the_next_run_cleans_what_it_left(project):
    process = start_slow(project)
    leftover = next((project.data / "shared").glob(".*.tmp"))
    run_folder = next((project.data / "slow").iterdir())
    process.kill()  # kill -9 of the runner; its kernel notices its parent is gone and exits
    process.wait(timeout=10)
    kernel_pid = int(leftover.name.split("nbsteps-")[1].split("@")[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(kernel_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    status = project.run("status")
    assert status.returncode == 0
    assert "died" in [line.split()[1] for line in status.stdout.splitlines() if
                      line.startswith("slow")]
    assert json.loads(project.run("status", "--json").stdout)["slow"]["status"] == "died"
    keep = foreign_temporary(project)
    result = project.run("run", "slow", "-p", "seconds=0")
    assert result.returncode == 0, result.stderr
    assert "died" in result.stderr and str(leftover) in result.stderr
    assert not leftover.exists() and not run_folder.exists()
    assert keep.exists()


def test_a_failing_run_removes_only_temporary_files_whose_writer_is_gone(project):
    keep = foreign_temporary(project)
    host = socket.gethostname().replace(".", "_")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = keep.with_name(f".crash.txt.nbsteps-{dead}@{host}.q.tmp")
    orphan.write_text("left by a gone writer")
    result = project.run("run", "crash")
    assert result.returncode == 1
    assert keep.exists(), "a healthy run's temporary file was removed"
    assert not orphan.exists()


def test_a_healthy_run_keeps_its_file_while_a_failing_run_of_the_step_ends(project):
    process = start_slow(project)
    try:
        theirs = next((project.data / "shared").glob(".*.tmp"))
        crash = project.run("run", "crash")  # writes to the same folder, fails
        assert crash.returncode == 1
        assert theirs.exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def record_like(space, step, **changes) -> dict:
    record = latest(space, step) | changes
    return record


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"started": 123}, "`started` is int"),
        ({"outputs": [{"path": 5, "sha256": "x", "size": 1}]}, "an entry of `outputs`"),
        ({"status": "weird"}, "unknown status"),
        ({"parameters": []}, "`parameters` is list"),
        ({"started": "yesterday"}, "`started` is not an ISO date"),
    ],
)
def test_a_record_that_does_not_fit_is_skipped_with_a_warning(project, changes, reason):
    assert project.run("run", "slow", "-p", "seconds=0").returncode == 0
    bad = project.outputs / "slow" / "slow_2000-01-01_00-00-00_dead.json"
    bad.write_text(json.dumps(record_like(project, "slow", run_id=bad.stem, **changes)))
    result = project.run("run", "slow", "-p", "seconds=0")
    assert result.returncode == 0, result.stderr
    assert f"skipping the run record {bad}: {reason}" in result.stderr
    assert "Traceback" not in result.stderr
    link = project.outputs / "slow" / "latest.json"
    link.unlink()
    link.symlink_to(bad.name)  # `status` reads the latest record only
    result = project.run("status")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert f"skipping the run record {link}: {reason}" in result.stderr


def test_latest_pointing_at_a_truncated_record_is_skipped(project):
    assert project.run("run", "slow", "-p", "seconds=0").returncode == 0
    good = latest(project, "slow")
    cut = project.outputs / "slow" / "slow_2999-01-01_00-00-00_beef.json"
    cut.write_text(json.dumps(good | {"run_id": cut.stem})[:40])
    link = project.outputs / "slow" / "latest.json"
    link.unlink()
    link.symlink_to(cut.name)
    result = project.run("status")
    assert result.returncode == 0, result.stderr
    assert f"skipping the run record {link}" in result.stderr
    assert good["run_id"] in result.stdout


def test_an_outputs_folder_that_cannot_be_written_fails_in_one_line(project):
    project.outputs.mkdir(parents=True)
    (project.outputs / "slow").write_text("a file where the step's folder should be")
    result = project.run("run", "slow", "-p", "seconds=0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_logs_folder_that_cannot_be_written_fails_in_one_line(project):
    project.logs.parent.mkdir(parents=True, exist_ok=True)
    project.logs.write_text("a file where the logs folder should be")
    result = project.run("run", "slow", "-p", "seconds=0")
    assert result.returncode == 1
    assert "cannot write the run log" in result.stderr and "Traceback" not in result.stderr
    assert not (project.data / "shared" / "out.txt").exists()


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.fail("needs root to mount a small tmpfs (the development machines run as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_during_the_run_fails_it_cleanly_and_latest_stays(project,
                                                                           small_disk):
    space = Workspace(root=project.root, base=small_disk)
    result = space.run("run", "fill")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr.strip().splitlines()[-1]
    assert not (space.data / "fill" / "latest").exists()
    assert not any(p.is_dir() for p in (space.data / "fill").iterdir())
