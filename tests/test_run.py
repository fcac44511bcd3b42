"""The `nbsteps` command end to end on a small generated corpus: real papermill runs.

Every bad input is checked for the exit code, the one readable line, that no partial file
is left, and that the good outputs of an earlier run are unchanged.
"""

import json
from pathlib import Path

import nbformat
import pytest

from tests.conftest import Workspace, example_steps
from tests.corpus_factory import expected_kept, make_posts, write_corpus


def latest_record(space: Workspace, step: str) -> dict:
    return json.loads((space.outputs / step / "latest.json").read_text())


def record_file(value: str, folder) -> "Path":
    """A path a record names: absolute, or relative to its folder (outputs/ or logs/)."""
    path = Path(value)
    return path if path.is_absolute() else folder / path


def error_outputs(notebook_path) -> list:
    nb = nbformat.read(notebook_path, as_version=4)
    return [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_whole_pipeline_runs_and_records_every_step(good_run):
    space, result = good_run
    assert result.returncode == 0, result.stderr
    for step in example_steps():
        record = latest_record(space, step)
        assert record["status"] == "succeeded" and record["exit_code"] == 0
        assert record["run_id"].startswith(f"{step}_20")
        assert record["ended"] >= record["started"] and record["duration_s"] > 0
        for key, folder in (("notebook", space.outputs), ("html", space.outputs),
                            ("log", space.logs)):
            path = record_file(record[key], folder)
            assert path.is_file() and path.stat().st_size > 0, (key, record[key])
        assert "succeeded" in record_file(record["log"], space.logs).read_text()
        assert not error_outputs(record["notebook"])
        assert all(len(o["sha256"]) == 64 and o["size"] > 0 for o in record["outputs"])
    model = latest_record(space, "model")
    assert model["parameters"] == {"k": 20, "method": "PCA", "seed": 0}
    assert [i["path"] for i in model["inputs"]] == ["processed/posts.parquet"]
    run_folder = space.data / "model" / model["run_id"]
    assert {p.name for p in run_folder.iterdir()} == {"coordinates.csv", "plot.png", "summary.json"}
    assert (space.data / "model" / "latest").resolve() == run_folder.resolve()
    assert (run_folder / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["k"] == 20 and sum(summary["counts_per_label"].values()) == 20
    assert "cell 1/" in result.stderr  # progress on the terminal
    # Only nbsteps' own lines: no kernel-client noise (tornado's "DELIM not in msg_list").
    noise = [line for line in result.stderr.splitlines()
             if "ERROR" in line or "DELIM" in line or "Traceback" in line]
    assert noise == [], noise


def test_processed_table_keeps_the_posts_with_text_longer_than_min_size(good_run):
    import pandas as pd

    space, _ = good_run
    table = pd.read_parquet(space.data / "processed" / "posts.parquet")
    assert len(table) == expected_kept(make_posts())
    log = (space.base / latest_record(space, "preprocess")["log"]).read_text()
    assert "30 without text" in log


def test_status_shows_the_latest_record_of_each_step(good_run):
    space, _ = good_run
    result = space.run("status", "--json")
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert {step: r["status"] for step, r in status.items()} == {
        "ingest": "succeeded", "preprocess": "succeeded", "model": "succeeded"}
    assert "succeeded" in space.run("status").stdout


def test_params_lists_names_types_and_defaults(workspace):
    result = workspace.run("params", "model")
    assert result.returncode == 0
    assert "k " in result.stdout and "int in [2..10000]" in result.stdout
    assert "one of PCA, t-SNE" in result.stdout and "run_id" not in result.stdout
    listed = json.loads(workspace.run("params", "model", "--json").stdout)
    assert [p["name"] for p in listed] == ["k", "method", "seed"]


def assert_failed_cleanly(space, result, before, step, exit_code, message):
    assert result.returncode == exit_code, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert message in last_line, last_line
    assert space.files() == before, "a failed run changed or added files in data/"
    if exit_code in (1, 4):
        record = latest_record(space, step)
        assert record["status"] == "failed" and message in record["error"]
        assert error_outputs(record["notebook"]) or exit_code == 4
        assert (space.base / record["html"]).is_file()


@pytest.mark.parametrize(
    ("route", "body", "message"),
    [
        ("bad.json", b'{"posts": [{"text": ', "is not valid JSON"),
        ("bad.json", b'{"messages": []}', 'no "posts" list'),
        ("bad.json", b'{"posts": []}', "empty posts list"),
        ("missing", None, "HTTP 404"),
        ("page.html", None, "page.html is not valid JSON"),
        ("stall", None, "stalled: no data for timeout_s=1 s"),
    ],
)
def test_bad_downloads_fail_ingest_and_keep_the_good_copy(
    space, corpus_server, route, body, message
):
    if body is not None:
        (corpus_server.root / route).write_bytes(body)
    before = space.files()
    result = space.run("run", "ingest", "-p", f"source={corpus_server.url}/{route}",
                       "-p", "timeout_s=1")
    assert_failed_cleanly(space, result, before, "ingest", 1, message)
    assert "ingest failed at In [" in result.stderr.strip().splitlines()[-1]


def test_malformed_raw_file_fails_preprocess_and_keeps_the_processed_table(space):
    (space.data / "raw" / "posts.json").write_text('{"posts": [1, 2')
    before = space.files()
    result = space.run("run", "preprocess")
    assert_failed_cleanly(space, result, before, "preprocess", 1, "is not valid JSON")


def test_posts_without_text_are_dropped_and_a_corpus_of_only_those_fails_plainly(space):
    posts = make_posts(30)
    for post in posts:
        post.pop("text", None)
    write_corpus(space.data / "raw" / "posts.json", posts)
    before = space.files()
    result = space.run("run", "preprocess")
    assert_failed_cleanly(space, result, before, "preprocess", 1, "no post has more than")


def test_k_too_large_for_the_text_fails_the_model_saying_which_k_fits(space):
    tiny = make_posts(8)
    write_corpus(space.data / "raw" / "posts.json", tiny)
    assert space.run("run", "preprocess").returncode == 0
    before = space.files()
    result = space.run("run", "model", "-p", "k=5000")
    assert_failed_cleanly(space, result, before, "model", 1, "is too large for")
    assert "choose k <=" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "-p", "kk=3"], "unknown parameter 'kk' (-p); valid names: k, method, seed"),
        (["model", "-p", "k=ten"], "parameter 'k' expects int in [2..10000], got 'ten'"),
        (["model", "-p", "k=1"], "parameter 'k' must be in [2..10000]; got 1"),
        (["model", "-p", "method=UMAP"], "parameter 'method' must be one of PCA, t-SNE"),
        (["model", "-p", "data_dir=/tmp"], "is set by nbsteps"),
        (["model", "-p", "k;rm=1"], "not a valid parameter name"),
        (["all", "-p", "k=5"], "qualify the name with its step"),
        (["all", "-p", "nosuch.k=5"], "'nosuch' is not one of the steps run"),
        (["nosuch"], "unknown step 'nosuch'"),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(space, args, message):
    before = space.files()
    records_before = sorted(space.outputs.rglob("*.json"))
    result = space.run("run", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert space.files() == before and sorted(space.outputs.rglob("*.json")) == records_before


def test_a_params_file_value_of_the_wrong_type_is_refused(project_copy):
    (project_copy.root / "params" / "model.yaml").write_text("k: many\n")
    result = project_copy.run("run", "model")
    assert result.returncode == 2 and "parameter 'k' expects int" in result.stderr


def test_missing_input_names_the_file_and_the_step_that_makes_it(workspace):
    result = workspace.run("run", "model")
    assert result.returncode == 3
    assert "processed/posts.parquet is missing; run `nbsteps run preprocess` first" in result.stderr
    assert not workspace.data.exists() or not any(workspace.data.rglob("*"))


def test_qualified_parameters_reach_their_step_only(space):
    result = space.run("run", "preprocess", "model", "-p", "model.k=7", "--force")
    assert result.returncode == 0, result.stderr
    assert latest_record(space, "model")["parameters"]["k"] == 7
    assert latest_record(space, "preprocess")["parameters"] == {"min_size": 50}


def test_every_run_keeps_its_own_executed_notebook(space):
    first = latest_record(space, "model")
    assert space.run("run", "model", "-p", "k=9").returncode == 0
    second = latest_record(space, "model")
    assert first["run_id"] != second["run_id"]
    for record in (first, second):
        assert (space.outputs / "model" / f"{record['run_id']}.ipynb").is_file()
        assert (space.outputs / "model" / f"{record['run_id']}.html").is_file()
        assert (space.data / "model" / record["run_id"] / "plot.png").is_file()
    assert (space.outputs / "model" / "latest.html").resolve().name == f"{second['run_id']}.html"
