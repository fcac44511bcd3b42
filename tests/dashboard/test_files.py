"""Finding a run's files in this project's folders, whoever wrote its record."""

from nbsteps.dashboard.files import (
    find_missing_inputs,
    find_upstream_steps,
    html_url,
    output_url,
    read_run_log,
)
from nbsteps.project import load_project
from nbsteps.records import RunRecord, write_record
from tests.conftest import REPO


def project_in(tmp_path):
    return load_project(REPO, tmp_path / "data", tmp_path / "outputs", tmp_path / "logs")


def container_record(run_id: str) -> RunRecord:
    """A record written in the model container: its paths are the container's."""
    return RunRecord(step="model", run_id=run_id, status="succeeded", started="2026-11-26T15:00",
                     parameters={"k": 100}, notebook=f"/outputs/model/{run_id}.ipynb",
                     html=f"/outputs/model/{run_id}.html", log=f"/logs/model/{run_id}.log",
                     outputs=[{"path": f"model/{run_id}/coordinates.csv", "size": 1,
                               "sha256": "0"}])


def test_a_record_from_a_container_links_the_local_copy(tmp_path):
    project = project_in(tmp_path)
    record = container_record("model_a")
    assert html_url(project, record) is None  # no HTML here yet: no link
    (tmp_path / "outputs" / "model").mkdir(parents=True)
    (tmp_path / "outputs" / "model" / "model_a.html").write_text("<html>")
    assert html_url(project, record).endswith("/outputs/model/model_a.html")
    assert output_url(project, record, "model/{run_id}/coordinates.csv").endswith(
        "/data/model/model_a/coordinates.csv")
    assert output_url(project, record, "model/{run_id}/plot.png") is None
    assert output_url(project, record, "coordinates.csv") is None  # a declared path only


def test_the_model_needs_what_ingest_and_preprocess_make(tmp_path):
    project = project_in(tmp_path)
    assert find_upstream_steps(project, "model") == ["ingest", "preprocess"]
    assert find_upstream_steps(project, "ingest") == []
    assert find_missing_inputs(project, "model") == ["processed/posts.parquet"]
    (tmp_path / "data" / "processed").mkdir(parents=True)
    (tmp_path / "data" / "processed" / "posts.parquet").write_bytes(b"x")
    assert find_missing_inputs(project, "model") == []


def test_the_log_tail_is_the_last_non_blank_lines(tmp_path):
    project = project_in(tmp_path)
    record = container_record("model_b")
    record.log = str(tmp_path / "logs" / "model" / "model_b.log")
    write_record(project.folders.outputs, record)
    (tmp_path / "logs" / "model").mkdir(parents=True)
    (tmp_path / "logs" / "model" / "model_b.log").write_text(
        "".join(f"line {i}\n\n" for i in range(20)))
    assert read_run_log(project, "model", "model_b", 3) == ["line 17", "line 18", "line 19"]
    assert read_run_log(project, "model", "no_such_run", 3) == []
