"""Steps form a graph: real papermill runs of small pipelines written in temporary folders.

The pipelines here share nothing with the authorship example: their steps are listed out
of order, branch and join, and read each other's per-run outputs.
"""

import json

import pytest

from tests.small_project import copy_step, make_project, write_notebook

PARAMETERS = "data_dir = '.'\nrun_id = 'manual'"

# make -> clean -> train -> report, listed backwards.
CHAIN = """\
steps:
  report:
    notebook: notebooks/report.ipynb
    inputs: [train/latest/model.txt]
  train:
    notebook: notebooks/train.ipynb
    inputs: [tables/clean.csv]
    outputs: ["train/{run_id}/model.txt"]
  clean:
    notebook: notebooks/clean.ipynb
    inputs: [raw/made.csv]
    outputs: [tables/clean.csv]
  make:
    notebook: notebooks/make.ipynb
    outputs: [raw/made.csv]
"""

# source -> left, right (independent, each a second of work) -> join
DIAMOND = """\
steps:
  join:
    notebook: notebooks/join.ipynb
    inputs: [left.txt, right.txt]
    outputs: [joined.txt]
  left:
    notebook: notebooks/left.ipynb
    inputs: [source.txt]
    outputs: [left.txt]
  right:
    notebook: notebooks/right.ipynb
    inputs: [source.txt]
    outputs: [right.txt]
  source:
    notebook: notebooks/source.ipynb
    outputs: [source.txt]
"""


def write_chain(tmp_path):
    space = make_project(tmp_path, CHAIN)
    notebooks = space.root / "notebooks"
    write_notebook(notebooks / "make.ipynb", PARAMETERS, *copy_step("make", None, "raw/made.csv"))
    write_notebook(notebooks / "clean.ipynb", PARAMETERS,
                   *copy_step("clean", "raw/made.csv", "tables/clean.csv"))
    write_notebook(notebooks / "train.ipynb", PARAMETERS,
                   *copy_step("train", "tables/clean.csv", "train/{run_id}/model.txt"))
    write_notebook(notebooks / "report.ipynb", PARAMETERS,
                   "from pathlib import Path",
                   "print((Path(data_dir) / 'train/latest/model.txt').read_text())")
    return space


def record(space, step: str) -> dict:
    return json.loads((space.outputs / step / "latest.json").read_text())


def records(space, step: str) -> list[dict]:
    """Every record of a step, oldest first."""
    found = [json.loads(p.read_text()) for p in (space.outputs / step).glob(f"{step}_*.json")]
    return sorted(found, key=lambda r: r["started"])


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """The chain pipeline, run once with `run all`."""
    space = write_chain(tmp_path_factory.mktemp("chain"))
    return space, space.run("run", "all")


def test_steps_listed_out_of_order_run_in_the_order_their_data_needs(chain):
    space, result = chain
    assert result.returncode == 0, result.stderr
    order = ["make", "clean", "train", "report"]
    runs = [record(space, step) for step in order]
    assert all(r["status"] == "succeeded" for r in runs)
    for before, after in zip(runs, runs[1:], strict=False):
        assert before["ended"] <= after["started"]
    model = space.data / "train" / runs[2]["run_id"] / "model.txt"
    assert model.read_text() == "make\nclean\ntrain\n"


def test_status_lists_the_steps_in_run_order(chain):
    space, _ = chain
    lines = space.run("status").stdout.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == [
        "make", "clean", "train", "report"]


def test_a_per_run_input_resolves_to_the_upstream_run_and_the_record_names_it(chain):
    space, _ = chain
    train, report = record(space, "train"), record(space, "report")
    assert report["upstream"] == {"train/latest/model.txt": train["run_id"]}
    assert [i["path"] for i in report["inputs"]] == [f"train/{train['run_id']}/model.txt"]
    assert record(space, "clean")["upstream"] == {"raw/made.csv": record(space, "make")["run_id"]}
    assert record(space, "make")["upstream"] == {}


def test_a_run_id_input_reads_the_newest_successful_run(chain, tmp_path):
    space, _ = chain
    pipeline = space.root / "pipeline.yaml"
    pipeline.write_text(CHAIN.replace("[train/latest/model.txt]", '["train/{run_id}/model.txt"]'))
    try:
        first = record(space, "train")["run_id"]
        rerun = space.run("run", "train", "--force")
        assert rerun.returncode == 0, rerun.stderr
        second = record(space, "train")["run_id"]
        assert second != first
        result = space.run("run", "report")
        assert result.returncode == 0, result.stderr
        report = record(space, "report")
        assert report["status"] == "succeeded"  # its input is another run's file now
        assert report["upstream"] == {"train/{run_id}/model.txt": second}
        assert [i["path"] for i in report["inputs"]] == [f"train/{second}/model.txt"]
    finally:
        pipeline.write_text(CHAIN)


def test_run_step_alone_needs_its_inputs_and_names_the_step_that_writes_them(tmp_path):
    space = write_chain(tmp_path)
    result = space.run("run", "report")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "nbsteps: error: report: input train/latest/model.txt comes from a run of train, which "
        "has no successful run yet; run `nbsteps run train` first"]
    result = space.run("run", "train")
    assert result.returncode == 3
    assert result.stderr.strip().endswith("tables/clean.csv is missing; run `nbsteps run clean` "
                                          "first")
    assert not space.outputs.exists()


def test_upstream_runs_what_a_step_depends_on_then_skips_it_when_up_to_date(tmp_path):
    space = write_chain(tmp_path)
    first = space.run("run", "train", "--upstream")
    assert first.returncode == 0, first.stderr
    assert {p.name for p in space.outputs.iterdir()} == {"make", "clean", "train"}  # not report
    again = space.run("run", "train", "--upstream")
    assert again.returncode == 0, again.stderr
    assert [record(space, s)["status"] for s in ("make", "clean", "train")] == ["skipped"] * 3
    assert "make skipped: up to date" in again.stderr


def write_diamond(tmp_path):
    space = make_project(tmp_path, DIAMOND)
    notebooks = space.root / "notebooks"
    write_notebook(notebooks / "source.ipynb", PARAMETERS,
                   *copy_step("source", None, "source.txt"))
    for side in ("left", "right"):
        write_notebook(notebooks / f"{side}.ipynb", PARAMETERS, "import time\ntime.sleep(2)",
                       *copy_step(side, "source.txt", f"{side}.txt"))
    write_notebook(notebooks / "join.ipynb", PARAMETERS,
                   "from pathlib import Path",
                   "text = (Path(data_dir) / 'left.txt').read_text() + "
                   "(Path(data_dir) / 'right.txt').read_text()",
                   "(Path(data_dir) / 'joined.txt').write_text(text)")
    return space


def test_independent_branches_run_side_by_side_and_the_join_waits_for_both(tmp_path):
    space = write_diamond(tmp_path)
    result = space.run("run", "all", "-j", "2")
    assert result.returncode == 0, result.stderr
    source, left, right, join = (record(space, s) for s in ("source", "left", "right", "join"))
    assert all(r["status"] == "succeeded" for r in (source, left, right, join))
    assert source["ended"] <= min(left["started"], right["started"])
    # Side by side: each branch started before the other ended.
    assert left["started"] < right["ended"] and right["started"] < left["ended"]
    assert join["started"] >= max(left["ended"], right["ended"])
    assert (space.data / "joined.txt").read_text() == "source\nleft\nsource\nright\n"
    for step in ("left", "right", "join"):  # every HTML copy written by the worker
        assert (space.outputs / step / f"{record(space, step)['run_id']}.html").is_file()


def test_a_failed_branch_stops_the_join_and_is_reported_last(tmp_path):
    space = write_diamond(tmp_path)
    write_notebook(space.root / "notebooks" / "right.ipynb", PARAMETERS,
                   "raise ValueError('no right side today')")
    result = space.run("run", "all", "-j", "2")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "nbsteps: right failed at In [3]: ValueError: no right side today")
    assert record(space, "left")["status"] == "succeeded"
    assert not (space.outputs / "join").exists()


@pytest.mark.parametrize("jobs", ["0", "two"])
def test_a_job_count_below_one_is_refused(tmp_path, jobs):
    space = write_diamond(tmp_path)
    result = space.run("run", "all", "-j", jobs)
    assert result.returncode == 2 and "a whole number of steps, 1 or more" in result.stderr
