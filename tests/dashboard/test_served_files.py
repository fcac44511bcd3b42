"""What the running dashboard serves besides the page: the HTML of executed notebooks and a
model run's coordinates, and nothing else (403 or 404) - whatever a visitor asks for."""

import pytest

from nbsteps.dashboard.server import FILES_URL, PACKAGED_NOTEBOOK, file_url, serving_root
from nbsteps.project import load_project

pytestmark = pytest.mark.browser  # needs the real server, like the browser tests


@pytest.fixture(scope="module")
def run_id(served):
    """A model run from the command line in the served folders."""
    result = served.space.run("run", "model", "-p", "k=40", "--force")
    assert result.returncode == 0, result.stderr
    return (served.space.outputs / "model" / "latest.json").resolve().stem


@pytest.fixture(scope="module")
def project(served):
    return load_project(served.space.root, served.space.data, served.space.outputs,
                        served.space.logs)


def test_the_linked_files_are_served(served, project, run_id):
    for step in ("model", "ingest", "preprocess"):
        latest = (served.space.outputs / step / "latest.html").resolve().name
        assert served.status(file_url(project, "outputs", f"{step}/{latest}")) == 200
    coordinates = file_url(project, "data", f"model/{run_id}/coordinates.csv")
    assert served.fetch(coordinates).startswith(b"part,x,y,label,site")


def forbidden_paths(project, run_id: str) -> list[str]:
    def outputs(relative: str) -> str:
        return file_url(project, "outputs", relative)

    def data(relative: str) -> str:
        return file_url(project, "data", relative)

    # The project's own files, as the file handler would name them if it served them.
    root = project.root.relative_to(serving_root(project)).as_posix()
    page = PACKAGED_NOTEBOOK.relative_to(serving_root(project)).as_posix()
    return [
        # executed notebooks, records, logs
        outputs(f"model/{run_id}.ipynb"),
        outputs(f"model/{run_id}.json"),
        outputs("model/latest.json"),
        outputs("model/latest.ipynb"),
        # data other than the coordinates
        data("processed/posts.parquet"),
        data("raw/posts.json"),
        data(f"model/{run_id}/summary.json"),
        data(f"model/{run_id}/plot.png"),
        # the notebooks, their code, the parameters, the runner (wherever they are)
        f"{FILES_URL}/{root}/notebooks/dashboard.ipynb",
        f"{FILES_URL}/{root}/notebooks/3.model.ipynb",
        f"{FILES_URL}/{root}/notebooks/authorship.py",
        f"{FILES_URL}/{root}/params/model.yaml",
        f"{FILES_URL}/{root}/pipeline.yaml",
        f"{FILES_URL}/{page}",
        f"{FILES_URL}/{page.replace('dashboard.ipynb', 'page.py')}",
        f"{FILES_URL}/dashboard.ipynb",
        "dashboard.ipynb",
        # climbing out, encoded or not, and an HTML name outside outputs/<step>/
        outputs(f"model/../../{root}/notebooks/dashboard.ipynb"),
        outputs("model/%2e%2e/%2e%2e/etc/passwd"),
        f"{FILES_URL}/..%2f..%2fetc%2fpasswd",
        outputs(f"model/{run_id}/../latest.json"),
        f"{FILES_URL}/{root}/outputs/../notebooks/dashboard.ipynb",
        # directory mode and the Jupyter APIs that could list or run notebooks
        "voila/tree",
        "voila/render/dashboard.ipynb",
        "api/contents",
        "tree",
        "notebooks/3.model.ipynb",
    ]


def test_nothing_else_is_reachable(served, project, run_id):
    served_ok = []
    for path in forbidden_paths(project, run_id):
        status = served.status(path)
        if status not in (403, 404):
            served_ok.append((path, status))
    assert served_ok == []
