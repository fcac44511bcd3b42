"""How the dashboard is served: one notebook, a serving root that holds what the page links
to, and an allowlist that lets through exactly those files."""

import re
import shutil
from pathlib import Path

import pytest

from nbsteps.dashboard.config import read_dashboard_config
from nbsteps.dashboard.server import (
    PACKAGED_NOTEBOOK,
    build_allowlist,
    build_denylist,
    build_voila_config,
    file_url,
    find_serving_root,
)
from nbsteps.errors import UsageError
from nbsteps.project import load_project
from tests.conftest import REPO, copy_project

RUN = "model_2026-11-26_14-58-51_d7fd"


def default_project():
    """The repository's project with its own folders, whatever NBSTEPS_* say."""
    return load_project(REPO, REPO / "data", REPO / "outputs", REPO / "logs")


def allowed(project, path: str) -> bool:
    """What Voila's AllowListFileHandler decides for a /voila/files/<path> request."""
    flags = re.IGNORECASE
    config = read_dashboard_config(project)
    return any(re.fullmatch(p, path, flags) for p in build_allowlist(project, config)) and not any(
        re.fullmatch(p, path, flags) for p in build_denylist(project, config))


def own_page(root: Path) -> Path:
    """The project gets a page of its own in notebooks/ (`dashboard: notebook:`)."""
    shutil.copyfile(PACKAGED_NOTEBOOK, root / "notebooks" / "page.ipynb")
    text = (root / "pipeline.yaml").read_text()
    (root / "pipeline.yaml").write_text(
        text.replace("dashboard:\n", "dashboard:\n  notebook: notebooks/page.ipynb\n"))
    return root


def test_with_a_page_of_its_own_the_root_is_the_project(tmp_path):
    root = own_page(copy_project(tmp_path / "project"))
    project = load_project(root, root / "data", root / "outputs", root / "logs")
    assert find_serving_root(project, read_dashboard_config(project)) == root.resolve()
    assert file_url(project, "outputs", f"model/{RUN}.html") == (
        f"voila/files/outputs/model/{RUN}.html")
    assert file_url(project, "data", f"model/{RUN}/coordinates.csv") == (
        f"voila/files/data/model/{RUN}/coordinates.csv")


def test_the_packaged_page_is_served_from_the_common_folder(tmp_path):
    project = load_project(REPO, tmp_path / "d", tmp_path / "o", tmp_path / "l")
    root = find_serving_root(project, read_dashboard_config(project))
    assert PACKAGED_NOTEBOOK.is_relative_to(root)
    assert (tmp_path / "o").resolve().is_relative_to(root)
    url = file_url(project, "outputs", "model/x.html")
    assert url == "voila/files/" + str((tmp_path / "o").resolve().relative_to(root)) + (
        "/model/x.html")


@pytest.mark.parametrize("path", [
    f"outputs/model/{RUN}.html",
    "outputs/ingest/ingest_2026-11-26_14-58-46_0d35.html",
    "outputs/preprocess/latest.html",
    f"data/model/{RUN}/coordinates.csv",
])
def test_the_linked_files_are_allowed(path):
    assert allowed(default_project(), path)


@pytest.mark.parametrize("path", [
    "dashboard.ipynb",
    "notebooks/dashboard.ipynb",
    "notebooks/authorship.py",
    "params/model.yaml",
    "pipeline.yaml",
    f"outputs/model/{RUN}.ipynb",
    f"outputs/model/{RUN}.json",
    "outputs/model/latest.json",
    f"outputs/model/.{RUN}.html.1234.tmp",
    "outputs/model/../../pipeline.yaml",
    "outputs/model/../model/x.html",
    "outputs/model/sub/x.html",
    "outputs/other/x.html",
    "logs/model/x.log",
    f"data/model/{RUN}/summary.json",
    f"data/model/{RUN}/plot.png",
    f"data/model/{RUN}/../../processed/posts.parquet",
    "data/processed/posts.parquet",
    "data/raw/posts.json",
    "data/model/coordinates.csv",
    "src/nbsteps/dashboard/page.py",
    "src/nbsteps/dashboard/dashboard.ipynb",
])
def test_everything_else_is_refused(path):
    assert not allowed(default_project(), path)


def test_voila_gets_the_allowlist_and_no_tracebacks(tmp_path):
    project = load_project(REPO, tmp_path / "d", tmp_path / "o", tmp_path / "l")
    dashboard = read_dashboard_config(project)
    config = build_voila_config(project, dashboard, "0.0.0.0", 8866, open_browser=False)
    assert config.Voila.ip == "0.0.0.0" and config.Voila.port == 8866
    assert config.Voila.port_retries == 0
    assert config.Voila.root_dir == str(find_serving_root(project, dashboard))
    assert config.VoilaConfiguration.file_allowlist == build_allowlist(project, dashboard)
    assert config.VoilaConfiguration.show_tracebacks is False


def test_a_bad_dashboard_section_stops_the_project_from_loading(tmp_path):
    root = own_page(copy_project(tmp_path / "project"))
    (root / "notebooks" / "page.ipynb").unlink()
    text = (root / "pipeline.yaml").read_text().replace("images: [plot.png]", "images: [x.png]")
    (root / "pipeline.yaml").write_text(text)
    with pytest.raises(UsageError) as refused:
        load_project(root, tmp_path / "d", tmp_path / "o", tmp_path / "l")
    assert str(refused.value).splitlines()[1:] == [
        f"  pipeline.yaml: dashboard.notebook: no file notebooks/page.ipynb in {root}",
        "  pipeline.yaml: dashboard.steps.model.images: 'x.png' is not an output of the step; "
        "its outputs are: model/{run_id}/coordinates.csv, model/{run_id}/plot.png, "
        "model/{run_id}/summary.json"]


def test_the_packaged_page_is_small_and_has_no_outputs():
    import nbformat

    notebook = nbformat.read(PACKAGED_NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert 1 <= len(code) <= 2
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "build_dashboard()" in code[-1].source
    namespace: dict = {}
    exec("\n".join(line for line in code[-1].source.splitlines()  # noqa: S102 (our notebook)
                   if line.startswith(("from ", "import "))), namespace)
    assert callable(namespace["build_dashboard"]), "the notebook's import must name a function"
