"""`nbsteps prune` and the `retention:` section on real runs, partial and corrupted ones too."""

import json
import shutil

import pytest

from tests.conftest import Workspace
from tests.history_project import latest_run_id, make_history_project, run_ok


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """count1+score1; a failed score; score5 and score2 (other scales); a skip reusing
    score1; then count2 and count3 (other n). Kept by --keep 1: count3 (newest), count1
    (wrote score1's and score2's input), the skip (newest score), score2 (latest success),
    score1 (the skip reuses it). Removable: the failed run, score5, count2."""
    space = make_history_project(tmp_path_factory.mktemp("prune"))
    ids = {}
    run_ok(space, "run", "all")
    ids["count1"], ids["score1"] = latest_run_id(space, "count"), latest_run_id(space, "score")
    assert space.run("run", "score", "-p", "fail=true").returncode == 1
    ids["failed"] = latest_run_id(space, "score")
    for name, scale in (("score5", "5.0"), ("score2", "2.0")):
        run_ok(space, "run", "score", "-p", f"scale={scale}")
        ids[name] = latest_run_id(space, "score")
    run_ok(space, "run", "score")
    ids["skip"] = latest_run_id(space, "score")
    for name, n in (("count2", "20"), ("count3", "30")):
        run_ok(space, "run", "count", "-p", f"n={n}")
        ids[name] = latest_run_id(space, "count")
    return space, ids


@pytest.fixture
def copy(history, tmp_path):
    """The history in a folder of its own, for a test to prune or damage."""
    space, ids = history
    shutil.copytree(space.base, tmp_path / "copy", symlinks=True)
    return Workspace(root=tmp_path / "copy" / "project", base=tmp_path / "copy"), ids


def run_files(space, step, run_id):
    return [space.outputs / step / f"{run_id}.{suffix}" for suffix in ("json", "ipynb", "html")
            ] + [space.logs / step / f"{run_id}.log"]


def all_files(space):
    return sorted(p for p in space.base.rglob("*") if p.is_file())


REMOVED = ("failed", "score5", "count2")
KEPT = ("count1", "score1", "score2", "skip", "count3")


def test_dry_run_lists_what_would_go_and_removes_nothing(copy):
    space, ids = copy
    before = all_files(space)
    text = run_ok(space, "prune", "--keep", "1", "--dry-run").stdout
    assert all_files(space) == before
    for name in REMOVED:
        assert f"would remove {ids[name]} (" in text
    for name in KEPT:
        assert f"would remove {ids[name]}" not in text
    assert "would remove 3 run(s) and free " in text and "; 5 kept" in text


def test_prune_keeps_latest_upstream_and_reused_runs_and_removes_the_rest(copy):
    space, ids = copy
    text = run_ok(space, "prune", "--keep", "1").stdout
    assert "removed 3 run(s) freed " in text
    for name in REMOVED:
        step = "count" if name.startswith("count") else "score"
        assert not any(path.exists() for path in run_files(space, step, ids[name])), name
    assert not (space.data / "scores" / ids["score5"]).exists()
    for name in ("score1", "score2"):
        assert all(path.exists() for path in run_files(space, "score", ids[name]))
        assert (space.data / "scores" / ids[name] / "scores.json").is_file()
    assert (space.outputs / "count" / f"{ids['count1']}.ipynb").is_file()
    # the history, the latest links and a rerun still work
    listed = json.loads(run_ok(space, "history", "--json").stdout)
    assert {r["run_id"] for r in listed} == {ids[name] for name in KEPT}
    assert json.loads((space.outputs / "score" / "latest.json").read_text())["run_id"] == (
        ids["skip"])
    run_ok(space, "diff", ids["score1"], ids["score2"])


def test_a_run_removed_in_part_by_hand_is_reported_not_crashed_on(copy):
    space, ids = copy
    shutil.rmtree(space.data / "scores" / ids["score5"])
    (space.outputs / "count" / f"{ids['count2']}.ipynb").unlink()
    result = run_ok(space, "prune", "--keep", "1")
    blocks = result.stdout.split("removed ")
    score5 = next(block for block in blocks if block.startswith(ids["score5"]))
    count2 = next(block for block in blocks if block.startswith(ids["count2"]))
    assert f"already gone: data folder {ids['score5']}" in score5
    assert "already gone: notebook" in count2
    failed = next(block for block in blocks if block.startswith(ids["failed"]))
    assert "already gone" not in failed  # a failed run never keeps a data folder
    assert not (space.outputs / "count" / f"{ids['count2']}.json").exists()


def test_corrupted_and_partial_records_are_reported_and_left_alone(copy):
    space, ids = copy
    garbage = space.outputs / "score" / "score_2026-01-01_00-00-00_dead.json"
    garbage.write_text('{"step": "score", "run_id": ')
    partial = space.outputs / "score" / "score_2026-01-01_00-00-00_beef.json"
    partial.write_text(json.dumps({"step": "score", "run_id": partial.stem}))
    history = space.run("history", "score")
    assert history.returncode == 0 and "Traceback" not in history.stderr
    assert f"warning: {garbage} is not a readable run record (not JSON" in history.stderr
    assert f"warning: {partial} is not a readable run record (no `status`" in history.stderr
    assert ids["score2"] in history.stdout
    pruned = run_ok(space, "prune", "--keep", "1")
    assert str(garbage) in pruned.stderr and garbage.exists() and partial.exists()
    shown = space.run("show", partial.stem)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert f"{partial} is not a readable run record" in shown.stderr


def test_older_than_removes_only_old_runs_and_never_a_run_in_progress(copy):
    space, ids = copy
    for name, status in (("score5", None), ("failed", "running")):
        path = space.outputs / "score" / f"{ids[name]}.json"
        record = json.loads(path.read_text())
        record["started"] = "2026-01-01T00:00:00.000+00:00"
        record["status"] = status or record["status"]
        if status == "running":  # in progress on another machine sharing the folders
            record["host"] = "another-host"
        path.write_text(json.dumps(record))
    text = run_ok(space, "prune", "--older-than", "30").stdout
    assert f"removed {ids['score5']}" in text and "removed 1 run(s)" in text
    assert (space.outputs / "score" / f"{ids['failed']}.json").exists()  # "running"


def test_retention_in_pipeline_yaml_applies_after_each_run(copy):
    space, ids = copy
    pipeline = space.root / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text() + "retention: {keep: 1}\n")
    result = run_ok(space, "run", "count", "-p", "n=40")
    assert "retention: removed 4 old run(s)" in result.stderr  # count3 is old now too
    for name in (*REMOVED, "count3"):
        step = "count" if name.startswith("count") else "score"
        assert not (space.outputs / step / f"{ids[name]}.json").exists()
    assert "removed 0 run(s)" in run_ok(space, "prune").stdout  # the section is the default


def test_bad_retention_or_no_policy_is_one_line_exit_2(copy):
    space, _ = copy
    result = space.run("prune")
    assert result.returncode == 2 and "say what to keep: --keep N" in result.stderr
    negative = space.run("prune", "--keep", "-1")
    assert negative.returncode == 2 and "--keep must be a whole number" in negative.stderr
    pipeline = space.root / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text() + "retention: {keep: many}\n")
    for args in (("history",), ("run", "count")):
        bad = space.run(*args)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr
        assert bad.stderr.strip() == (f"nbsteps: error: {pipeline}: retention: keep must be a "
                                      "whole number of runs, 0 or more (got 'many')")
