"""Every notebook runs top to bottom under nbval, as a data scientist would run it in Jupyter.

nbval runs the notebooks with their own defaults (`data_dir = "../data"`), so they run from a
copy of the project in a temporary folder, offline: the copy's ingest notebook takes a
generated corpus beside it as its default `source` (a relative path, resolved from the
notebooks folder as in Jupyter), and nothing is written into the working tree.
"""

import shutil
import subprocess
import sys

import nbformat

from tests.conftest import REPO, copy_project
from tests.corpus_factory import write_corpus

NOTEBOOKS = ("1.ingest.ipynb", "2.preprocess.ipynb", "3.model.ipynb")


def test_every_notebook_runs_under_nbval(tmp_path):
    project = copy_project(tmp_path / "project")
    write_corpus(project / "corpus" / "posts.json")
    use_local_source(project / "notebooks" / "1.ingest.ipynb", "../corpus/posts.json")
    (project / "pytest.ini").write_text("[pytest]\n")  # keep the repo's pytest settings out
    repo_data_before = sorted(p.name for p in (REPO / "data").iterdir())
    notebooks = [str(project / "notebooks" / name) for name in NOTEBOOKS]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(project), "-c", str(project / "pytest.ini"), *notebooks],
        cwd=project, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # nbval reports each code cell as one test: every cell of every notebook ran and passed.
    cells = sum(1 for n in notebooks for c in nbformat.read(n, as_version=4).cells
                if c.cell_type == "code")
    assert f"{cells} passed" in result.stdout, result.stdout[-2000:]
    assert "failed" not in result.stdout and "skipped" not in result.stdout
    assert (project / "data" / "processed" / "posts.parquet").is_file()
    assert (project / "data" / "model" / "manual" / "plot.png").is_file()
    assert sorted(p.name for p in (REPO / "data").iterdir()) == repo_data_before
    assert all(not nbformat.read(n, as_version=4).cells[1].get("outputs") for n in notebooks)
    shutil.rmtree(project)


def use_local_source(path, source: str) -> None:
    """Make `source` the default of the notebook's `source` parameter (offline runs)."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("source"))
    lines[index] = f"source = {source!r}  # a generated corpus beside the project"
    cell.source = "\n".join(lines)
    nbformat.write(notebook, path)
