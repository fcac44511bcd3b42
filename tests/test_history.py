"""history, show, metrics and per-cell figures on real runs of a tiny two-step project."""

import json

import pytest

from tests.history_project import make_history_project


def run_ok(space, *args):
    result = space.run(*args)
    assert result.returncode == 0, result.stderr
    return result


def latest(space, step):
    return json.loads((space.outputs / step / "latest.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """first: count + score; second: score with other parameters and 150 MB held; third:
    both skipped; fourth: score failing. Returns the workspace and the run ids."""
    space = make_history_project(tmp_path_factory.mktemp("history"))
    ids = {}
    run_ok(space, "run", "all")
    ids["count"], ids["first"] = latest(space, "count")["run_id"], latest(space, "score")["run_id"]
    run_ok(space, "run", "score", "-p", "scale=2.5", "-p", "megabytes=150")
    ids["second"] = latest(space, "score")["run_id"]
    run_ok(space, "run", "all", "-p", "score.scale=2.5", "-p", "score.megabytes=150")
    ids["skip"] = latest(space, "score")["run_id"]
    assert space.run("run", "score", "-p", "fail=true").returncode == 1
    ids["failed"] = latest(space, "score")["run_id"]
    return space, ids


def test_metrics_are_the_scalars_of_the_declared_json(runs):
    space, ids = runs
    record = json.loads((space.outputs / "score" / f"{ids['second']}.json").read_text())
    # nested objects become dotted names; the list `numbers` is data, left out
    assert record["metrics"] == {"total": 112.5, "count": 10, "detail.mean": 11.25,
                                 "label": "run"}
    skipped = json.loads((space.outputs / "score" / f"{ids['skip']}.json").read_text())
    assert skipped["metrics"] == record["metrics"]  # a skip shows the figures it reuses


def test_each_code_cell_has_its_time_and_the_kernels_peak_memory(runs):
    space, ids = runs
    first = json.loads((space.outputs / "score" / f"{ids['first']}.json").read_text())
    second = json.loads((space.outputs / "score" / f"{ids['second']}.json").read_text())
    notebook = json.loads((space.outputs / "score" / f"{ids['second']}.ipynb").read_text())
    code = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]
    assert [cell["index"] for cell in second["cells"]] == code  # the injected cell too
    by_source = {"".join(notebook["cells"][c["index"]]["source"]).split("\n")[0]: c
                 for c in second["cells"]}
    holding = by_source["block = bytearray(megabytes * 2**20)"]
    assert holding["seconds"] >= 0.3  # it sleeps 0.3 s
    others = [c["peak_rss_mb"] for c in second["cells"] if c is not holding]
    assert holding["peak_rss_mb"] > max(others) + 120  # 150 MB touched page by page
    assert second["peak_rss_mb"] >= holding["peak_rss_mb"]
    assert first["peak_rss_mb"] < second["peak_rss_mb"] - 120  # megabytes=0 there
    assert all(c["seconds"] >= 0 and c["peak_rss_mb"] > 10 for c in second["cells"])


def test_history_lists_runs_newest_first_with_why_and_figures(runs):
    space, ids = runs
    text = run_ok(space, "history").stdout
    order = [ids["failed"], ids["skip"], ids["second"], ids["first"], ids["count"]]
    positions = [text.index(run_id + " ") for run_id in order]
    assert positions == sorted(positions)
    assert f"up to date: outputs of {ids['second']}" in text
    assert "parameters megabytes, scale changed" in text
    assert "parameters: scale=2.5 megabytes=150 fail=False" in text
    assert "metrics: total=112.5 count=10 detail.mean=11.25 label=run" in text
    assert "error: score failed at In [" in text and "ValueError: asked to fail" in text


def test_history_filters_by_step_status_and_limit(runs):
    space, ids = runs
    text = run_ok(space, "history", "score", "--status", "succeeded").stdout
    assert ids["first"] in text and ids["second"] in text
    assert ids["count"] not in text and ids["skip"] not in text and ids["failed"] not in text
    limited = json.loads(run_ok(space, "history", "score", "--limit", "2", "--json").stdout)
    assert [r["run_id"] for r in limited] == [ids["failed"], ids["skip"]]
    assert limited[1]["reused_run"] == ids["second"]


def test_history_refuses_an_unknown_step_or_status_in_one_line(runs):
    space, _ = runs
    for args, words in ((["history", "nope"], "unknown step 'nope'; the steps are: count, score"),
                        (["history", "--status", "done"], "unknown status 'done'")):
        result = space.run(*args)
        assert result.returncode == 2
        assert words in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_show_gives_the_record_files_log_tail_and_slowest_cells(runs):
    space, ids = runs
    text = run_ok(space, "show", ids["second"]).stdout
    assert "status     succeeded" in text and "parameters megabytes, scale changed" in text
    assert str(space.outputs / "score" / f"{ids['second']}.ipynb") in text
    assert str(space.data / "scores" / ids["second"]) in text and "(missing)" not in text
    slowest = text.split("slowest cells:\n")[1].splitlines()[0]
    assert "block = bytearray(megabytes * 2**20)" in slowest
    assert "score succeeded in" in text.split("log (last")[1]
    details = json.loads(run_ok(space, "show", ids["second"], "--json").stdout)
    assert details["files"]["notebook"]["exists"] is True
    assert details["slowest_cells"][0]["source"].startswith("block = bytearray")


def test_show_of_a_skip_points_at_the_notebook_it_reused(runs):
    space, ids = runs
    text = run_ok(space, "show", ids["skip"]).stdout
    assert f"up to date: outputs of {ids['second']}" in text
    assert str(space.outputs / "score" / f"{ids['second']}.ipynb") in text


def test_show_of_an_unknown_run_says_so_in_one_line(runs):
    space, _ = runs
    result = space.run("show", "score_1999-01-01_00-00-00_beef")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no run 'score_1999-01-01_00-00-00_beef'" in result.stderr


def test_a_metrics_entry_that_is_not_an_output_is_refused(tmp_path):
    space = make_history_project(tmp_path)
    pipeline = space.root / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace(
        'metrics: "scores/{run_id}/scores.json"', "metrics: scores.json"))
    result = space.run("run", "all")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "step 'score' has metrics: 'scores.json', which is not one of its outputs" in (
        result.stderr)
    assert not space.outputs.exists()  # nothing ran


def test_a_metrics_file_that_is_not_a_json_object_fails_the_step(tmp_path):
    space = make_history_project(tmp_path)
    notebook = space.root / "notebooks" / "score.ipynb"
    notebook.write_text(notebook.read_text().replace(
        "json.dumps(scores)", "json.dumps(list(scores))"))
    result = space.run("run", "all")
    assert result.returncode == 1
    assert "score wrote a metrics file nbsteps cannot read" in result.stderr
    assert "holds a JSON list, not an object of metrics" in result.stderr
    assert latest(space, "score")["status"] == "failed"
    assert not list((space.data / "scores").glob("score_*"))  # nothing half-kept
