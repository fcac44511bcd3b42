"""Every notebook runs top to bottom under nbval, as a data scientist would run it in Jupyter.

nbval runs the notebooks with their own defaults (`data_dir = "../data"`), so they run from a
copy of the project in a temporary folder whose data root is prepared with a generated
corpus: offline (ingest finds a valid copy and skips the download), and nothing is written
into the working tree.
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
    write_corpus(project / "data" / "raw" / "posts.json")
    (project / "pytest.ini").write_text("[pytest]\n")  # keep the repo's pytest settings out
    repo_data_before = sorted(p.name for p in (REPO / "data").iterdir())
    notebooks = [str(project / "notebooks" / name) for name in NOTEBOOKS]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q",
         "--rootdir", str(project), "-c", str(project / "pytest.ini"), *notebooks],
        cwd=project, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert (project / "data" / "processed" / "posts.parquet").is_file()
    assert (project / "data" / "model" / "manual" / "plot.png").is_file()
    assert sorted(p.name for p in (REPO / "data").iterdir()) == repo_data_before
    assert all(not nbformat.read(n, as_version=4).cells[1].get("outputs") for n in notebooks)
    shutil.rmtree(project)
