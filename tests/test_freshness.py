"""Skipping what is up to date, and never hiding a change: each kind of change reruns."""

import json

import nbformat
import pytest

from tests.conftest import Workspace, example_steps
from tests.corpus_factory import make_posts, write_corpus


def statuses(space: Workspace) -> dict[str, tuple[str, str]]:
    latest = {}
    for step in example_steps():
        record = json.loads((space.outputs / step / "latest.json").read_text())
        latest[step] = (record["status"], record["reason"])
    return latest


@pytest.fixture
def ran_once(project_copy):
    corpus = write_corpus(project_copy.base / "corpus" / "posts.json")
    (project_copy.root / "params" / "ingest.yaml").write_text(f"source: {corpus}\n")
    (project_copy.root / "params" / "model.yaml").write_text("k: 20\n")
    result = project_copy.run("run", "all")
    assert result.returncode == 0, result.stderr
    return project_copy, corpus


def run_all(space, *args):
    result = space.run("run", "all", *args)
    assert result.returncode == 0, result.stderr
    return statuses(space)


def test_nothing_changed_skips_every_step_and_points_at_the_run_that_made_the_outputs(ran_once):
    space, _ = ran_once
    first = {s: json.loads((space.outputs / s / "latest.json").read_text())["run_id"]
             for s in example_steps()}
    result = space.run("run", "all")
    assert result.returncode == 0
    for step, run_id in first.items():
        record = json.loads((space.outputs / step / "latest.json").read_text())
        assert record["status"] == "skipped" and record["reused_run"] == run_id
        assert f"{step} skipped: up to date (outputs of {run_id})" in result.stderr
    assert "skipped" in space.run("status").stdout


def test_a_model_parameter_change_reruns_only_the_model(ran_once):
    space, _ = ran_once
    assert run_all(space, "-p", "model.k=21") == {
        "ingest": ("skipped", "up to date: outputs of " + reused(space, "ingest")),
        "preprocess": ("skipped", "up to date: outputs of " + reused(space, "preprocess")),
        "model": ("succeeded", "parameter k changed"),
    }


def reused(space, step):
    return json.loads((space.outputs / step / "latest.json").read_text())["reused_run"]


def test_editing_the_preprocess_notebook_reruns_preprocess_and_model(ran_once):
    space, _ = ran_once
    path = space.root / "notebooks" / "2.preprocess.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A note added by a data scientist."))
    nbformat.write(nb, path)
    result = run_all(space)
    assert result["ingest"][0] == "skipped"
    assert result["preprocess"] == ("succeeded", "notebook changed")
    assert result["model"] == ("succeeded", "upstream step changed")


def test_editing_an_imported_module_reruns_its_step(ran_once):
    space, _ = ran_once
    module = space.root / "notebooks" / "authorship.py"
    module.write_text(module.read_text() + "\n# a comment is a change too\n")
    assert run_all(space)["model"] == ("succeeded", "imported module changed")


def test_a_changed_local_source_file_reruns_ingest_and_what_follows(ran_once):
    space, corpus = ran_once
    write_corpus(corpus, make_posts(250, seed=3))
    result = space.run("run", "all")
    assert result.returncode == 0
    status = statuses(space)
    assert status["ingest"][0] == "succeeded" and "changed" in status["ingest"][1]
    assert status["preprocess"] == ("succeeded", "input changed, upstream step changed")
    assert status["model"][0] == "succeeded"


def test_a_damaged_output_reruns_its_step(ran_once):
    space, _ = ran_once
    (space.data / "processed" / "posts.parquet").write_bytes(b"not parquet")
    result = run_all(space)
    reason = "output processed/posts.parquet is missing or changed"
    assert result["preprocess"] == ("succeeded", reason)


def test_force_reruns_everything(ran_once):
    space, _ = ran_once
    assert {s: r[0] for s, r in run_all(space, "--force").items()} == dict.fromkeys(
        example_steps(), "succeeded")
