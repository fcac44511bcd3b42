"""The executed notebook on disk while a run goes on, and after it stops: what someone opening
it (or reading it after the runner was killed) sees. nbsteps writes it once per code cell
(papermill_engine.py), so these pin what those writes must still show."""

import subprocess
import sys
import time

import nbformat
from nbformat.v4 import new_markdown_cell

from tests.small_project import make_project, write_notebook

PIPELINE = """\
steps:
  wait:
    notebook: notebooks/wait.ipynb
"""
WAIT_FOR_FLAG = (
    "from pathlib import Path\nimport time\n"
    "while not Path(flag).exists():\n    time.sleep(0.05)\nprint('flag seen')"
)


def waiting_project(tmp_path, *after: str):
    """A step that prints, has some markdown, then waits in a cell until `flag` exists, then
    runs the cells `after`."""
    space = make_project(tmp_path, PIPELINE)
    path = write_notebook(space.root / "notebooks" / "wait.ipynb", "flag = ''",
                          "print('before')", WAIT_FOR_FLAG, *after)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(3, new_markdown_cell("While the flag is missing, this step waits."))
    nbformat.write(notebook, path)
    return space


def start_run(space, flag):
    return subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "run", "wait", "-p", f"flag={flag}"],
        env=space.env(), cwd=space.base, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def read_executed(space) -> nbformat.NotebookNode | None:
    found = [p for p in (space.outputs / "wait").glob("wait_*.ipynb")]
    if not found:
        return None
    try:
        return nbformat.read(found[0], as_version=4)
    except Exception:  # replaced while read: read it again
        return None


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def wait_for_running_cell(space, source: str, timeout: float = 120):
    """The executed notebook as soon as it shows the cell with `source` running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notebook = read_executed(space)
        if notebook is not None:
            for cell in code_cells(notebook):
                if cell.source == source and cell.metadata.papermill["status"] == "running":
                    return notebook
        time.sleep(0.1)
    raise AssertionError(f"the executed notebook never showed {source!r} running")


def test_while_a_cell_runs_the_file_shows_it_running_and_every_cell_before_it_done(tmp_path):
    space = waiting_project(tmp_path, "print('after')")
    flag = tmp_path / "flag"
    run = start_run(space, flag)
    try:
        notebook = wait_for_running_cell(space, WAIT_FOR_FLAG)
        cells = notebook.cells
        waiting = next(i for i, cell in enumerate(cells) if cell.source == WAIT_FOR_FLAG)
        for cell in cells[:waiting]:
            assert cell.metadata.papermill["status"] == "completed", cell.source
        printed = next(cell for cell in cells if cell.source == "print('before')")
        assert printed.outputs[0]["text"] == "before\n"
        assert cells[waiting - 1].cell_type == "markdown"  # done, though never saved alone
        assert [cell.metadata.papermill["status"] for cell in cells[waiting + 1:]] == \
            ["pending"]
        flag.touch()
        assert run.wait(timeout=120) == 0, run.stderr.read()
    finally:
        run.kill()
        run.wait()
    notebook = read_executed(space)
    assert {cell.metadata.papermill["status"] for cell in notebook.cells} == {"completed"}
    assert code_cells(notebook)[-1].outputs[0]["text"] == "after\n"
    assert notebook.metadata.papermill["end_time"] is not None


def test_a_failed_run_leaves_the_file_showing_the_failed_cell_and_the_rest_not_run(tmp_path):
    space = waiting_project(tmp_path, "raise ValueError('broken on purpose')", "print('never')")
    flag = tmp_path / "flag"
    flag.touch()
    result = space.run("run", "wait", "-p", f"flag={flag}")
    assert result.returncode == 1
    notebook = read_executed(space)
    cells = code_cells(notebook)
    failed = next(cell for cell in cells if "broken on purpose" in cell.source)
    assert failed.metadata.papermill["status"] == "failed"
    assert any(output.get("ename") == "ValueError" for output in failed.outputs)
    assert cells[-1].metadata.papermill["status"] == "pending"
    assert cells[-1].outputs == []
    assert notebook.metadata.papermill["exception"] is True
