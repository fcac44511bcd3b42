"""`nbsteps diff` on two real runs of one step (and a refusal for runs of two steps)."""

import json

import pytest

from tests.history_project import latest_run_id, make_history_project, run_ok


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    space = make_history_project(tmp_path_factory.mktemp("diff"))
    run_ok(space, "run", "all")
    a = latest_run_id(space, "score")
    run_ok(space, "run", "score", "-p", "scale=3.0", "-p", "megabytes=100")
    return space, a, latest_run_id(space, "score")


def test_diff_shows_parameters_outputs_metrics_cells_and_the_notebook_difference(two_runs):
    space, a, b = two_runs
    text = run_ok(space, "diff", a, b).stdout
    parameters = text.split("parameters that differ:\n")[1].split("inputs that differ")[0]
    assert "scale      1.0  ->  3.0" in parameters and "megabytes  0  ->  100" in parameters
    assert "fail" not in parameters  # unchanged parameters are left out
    assert text.split("inputs that differ (sha256):\n")[1].startswith("  none")
    outputs = text.split("outputs that differ (sha256):\n")[1].split("metrics:")[0]
    assert "scores/{run_id}/scores.json" in outputs and "scores/{run_id}/report.txt" in outputs
    metrics = text.split("metrics:\n")[1].split("cells")[0]
    assert " *total" in metrics and "45" in metrics and "135" in metrics
    assert "  count" in metrics  # unchanged metrics are listed too, unmarked
    assert "block = bytearray(megabytes * 2**20)" in text.split("cells (seconds")[1]
    # nbdime's cell-by-cell difference: the injected parameters and the printed total
    assert "-  scale = 1.0" in text and "+  scale = 3.0" in text
    lines = text.splitlines()
    assert "-  45.0" in lines and "+  135.0" in lines
    assert "papermill" not in text.split("cells (seconds")[1]  # timing metadata left out


def test_diff_json_is_the_comparison_as_data(two_runs):
    space, a, b = two_runs
    data = json.loads(run_ok(space, "diff", a, b, "--json").stdout)
    total = next(row for row in data["metrics"] if row["name"] == "total")
    assert total == {"name": "total", "a": 45.0, "b": 135.0, "changed": True}
    assert {row["name"] for row in data["parameters"]} == {"scale", "megabytes"}
    assert len(data["cells"]) == len(data["a"]["cells"])


def test_diff_html_writes_a_page_under_outputs_diffs(two_runs):
    space, a, b = two_runs
    text = run_ok(space, "diff", a, b, "--html").stdout
    page = space.outputs / "diffs" / f"{a}__{b}.html"
    assert f"written: {page}" in text
    html = page.read_text()
    assert "<h2>Parameters that differ</h2>" in html and "<th>scale</th>" in html
    assert "<span class='add'>+  scale = 3.0</span>" in html


def test_diff_of_runs_of_two_steps_is_refused_in_one_line(two_runs):
    space, a, _ = two_runs
    count = latest_run_id(space, "count")
    result = space.run("diff", a, count)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"nbsteps: error: {a} is a run of 'score' and {count} of 'count': "
        "diff compares two runs of the same step")


def test_diff_with_a_notebook_removed_by_hand_still_compares_the_records(two_runs, tmp_path):
    space, a, b = two_runs
    notebook = space.outputs / "score" / f"{a}.ipynb"
    saved = notebook.read_bytes()
    notebook.unlink()
    try:
        result = run_ok(space, "diff", a, b)
    finally:
        notebook.write_bytes(saved)
    assert f"(no notebook diff: {notebook} is missing)" in result.stdout
    assert "scale      1.0  ->  3.0" in result.stdout


def test_inputs_read_from_two_upstream_run_folders_are_one_row():
    from nbsteps.diff import digests, side_by_side
    from nbsteps.records import RunRecord

    def report(run_id, upstream, sha):
        return RunRecord(step="report", run_id=run_id, status="succeeded", started="",
                         parameters={}, notebook="", html="", log="",
                         inputs=[{"path": f"train/{upstream}/model.json", "sha256": sha}],
                         upstream={"train/{run_id}/model.json": upstream})

    a, b = report("report_a", "train_1", "aa"), report("report_b", "train_2", "bb")
    rows = side_by_side(digests(a.inputs, a), digests(b.inputs, b), only_changed=True)
    assert rows == [{"name": "train/{run_id}/model.json", "a": "aa", "b": "bb",
                     "changed": True}]
