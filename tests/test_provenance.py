"""`nbsteps which PATH`: the run that first wrote a file, back to the source."""

import pytest

from tests.history_project import latest_run_id, make_history_project, run_ok


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """count, score; then both again unchanged (skipped); then score with another scale."""
    space = make_history_project(tmp_path_factory.mktemp("which"))
    run_ok(space, "run", "all", "-p", "count.n=20")
    ids = {"count": latest_run_id(space, "count"), "score": latest_run_id(space, "score")}
    run_ok(space, "run", "all", "-p", "count.n=20")
    ids["count_skip"], ids["score_skip"] = (latest_run_id(space, s) for s in ("count", "score"))
    run_ok(space, "run", "score", "-p", "scale=4.0")
    ids["score2"] = latest_run_id(space, "score")
    return space, ids


def test_which_names_the_run_that_first_wrote_the_file_not_the_skips(chain):
    space, ids = chain
    text = run_ok(space, "which", str(space.data / "numbers" / "numbers.json")).stdout
    assert f"written by {ids['count']} (count, succeeded" in text
    assert "parameters: n=20" in text
    assert f"reused by 1 skipped run(s), the latest {ids['count_skip']}" in text
    assert "no inputs: the source" in text


def test_which_follows_the_inputs_back_to_the_source(chain):
    space, ids = chain
    scores = space.data / "scores" / ids["score"] / "scores.json"
    text = run_ok(space, "which", str(scores)).stdout
    lines = text.splitlines()
    assert lines[1].startswith(f"  written by {ids['score']} (score, succeeded")
    assert "  parameters: scale=1.0 megabytes=0 fail=False" in lines
    upstream = text.split("  input:\n")[1]
    assert upstream.startswith("    numbers/numbers.json (sha256 ")
    assert f"written by {ids['count']}" in upstream and "no inputs: the source" in upstream


def test_which_of_a_relative_path_from_the_workspace(chain):
    space, ids = chain
    # Workspace.run works in space.base, where data/ is
    text = run_ok(space, "which", f"data/scores/{ids['score2']}/report.txt").stdout
    assert f"written by {ids['score2']}" in text and "scale=4.0" in text


def test_which_of_an_executed_notebook_names_its_run(chain):
    space, ids = chain
    text = run_ok(space, "which", str(space.outputs / "score" / f"{ids['score2']}.ipynb")).stdout
    assert f"a file of run {ids['score2']}" in text and f"written by {ids['count']}" in text


def test_a_file_no_run_wrote_says_so(chain):
    space, _ = chain
    stray = space.data / "numbers" / "notes.txt"
    stray.write_text("by hand\n")
    result = space.run("which", str(stray))
    assert result.returncode == 1 and f"no run wrote {stray} as it is now" in result.stdout


def test_a_file_changed_since_its_run_says_who_wrote_it_last(chain):
    space, ids = chain
    report = space.data / "scores" / ids["score"] / "report.txt"
    saved = report.read_bytes()
    report.write_text("edited\n")
    try:
        result = space.run("which", str(report))
    finally:
        report.write_bytes(saved)
    assert result.returncode == 1
    assert f"{ids['score']} wrote this path last, with other content" in result.stdout


def test_which_outside_the_data_folder_is_refused_in_one_line(chain):
    space, _ = chain
    result = space.run("which", str(space.root / "pipeline.yaml"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not under the data folder" in result.stderr
    missing = space.run("which", str(space.data / "nothing.json"))
    assert missing.returncode == 2 and "no file" in missing.stderr
