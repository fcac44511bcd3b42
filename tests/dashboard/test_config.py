"""The `dashboard:` section: one readable line per problem, and what a valid one configures."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from nbsteps.dashboard.config import (
    TableView,
    parse_dashboard,
    read_dashboard_config,
    validate_dashboard,
)
from nbsteps.errors import UsageError
from nbsteps.project import load_project
from tests.conftest import REPO


@dataclass
class FakeStep:
    """Only what the validator reads of a step: its declared outputs."""

    outputs: tuple[str, ...]


STEPS = {
    "clean": FakeStep(("tables/clean.csv",)),
    "train": FakeStep(("runs/{run_id}/scores.json", "runs/{run_id}/curve.png",
                       "runs/{run_id}/predictions.csv", "other/scores.json")),
}


def test_no_section_is_fine_and_shows_the_last_step_with_its_images_and_files(tmp_path):
    assert validate_dashboard(None, STEPS, tmp_path) == []
    config = parse_dashboard(None, STEPS, tmp_path)
    assert config.title == tmp_path.name and config.notebook is None
    (view,) = config.steps
    assert view.step == "train" and view.button == "Run train"
    assert view.images == ("runs/{run_id}/curve.png",)
    assert view.links == ("runs/{run_id}/predictions.csv",)  # not the JSON: never served


def test_a_full_section_names_outputs_by_file_name_or_path(tmp_path):
    (tmp_path / "warm.py").write_text("import json\n")
    section = {"title": "T", "introduction": "*hi*", "steps": {"train": {
        "button": "Train", "heading": "Knobs", "warm_up": "warm.py", "images": ["curve.png"],
        "table": {"file": "runs/{run_id}/scores.json", "labels": {"auc": "AUC"}},
        "links": ["predictions.csv"]}, "clean": {}}}
    assert validate_dashboard(section, STEPS, tmp_path) == []
    config = parse_dashboard(section, STEPS, tmp_path)
    train, clean = config.steps
    assert (train.button, train.heading, train.warm_up) == ("Train", "Knobs",
                                                            tmp_path / "warm.py")
    assert train.table == TableView("runs/{run_id}/scores.json", {"auc": "AUC"})
    assert train.shown_outputs() == ("runs/{run_id}/curve.png", "runs/{run_id}/scores.json")
    assert clean.links == ("tables/clean.csv",) and clean.button == "Run clean"


def test_every_problem_gets_a_line_of_its_own(tmp_path):
    section = {"titel": "x", "introduction": 3, "notebook": "missing.ipynb", "steps": {
        "nope": {},
        "train": {"images": "curve.png", "links": ["scores.json", "run.log"],
                  "table": {"file": "absent.json", "colour": 1}, "warm_up": "w.py",
                  "buton": "x"}}}
    problems = validate_dashboard(section, STEPS, tmp_path)
    assert problems == [
        "dashboard: unknown key 'titel'; the keys are: introduction, notebook, steps, title",
        "dashboard.introduction: must be text",
        f"dashboard.notebook: no file missing.ipynb in {tmp_path}",
        "dashboard.steps.nope: no step 'nope' in `steps:`; the steps are: clean, train",
        "dashboard.steps.train: unknown key 'buton'; the keys are: button, heading, images, "
        "links, table, warm_up",
        f"dashboard.steps.train.warm_up: no file w.py in {tmp_path}",
        "dashboard.steps.train.images: must be a list of output file names",
        "dashboard.steps.train.links: 'scores.json' names several outputs "
        "(runs/{run_id}/scores.json, other/scores.json); write its full path as in `outputs:`",
        "dashboard.steps.train.links: 'run.log' is not an output of the step; its outputs "
        "are: runs/{run_id}/scores.json, runs/{run_id}/curve.png, "
        "runs/{run_id}/predictions.csv, other/scores.json",
        "dashboard.steps.train.links: run.log cannot be offered as a link: files ending .log "
        "are never served",
        "dashboard.steps.train.table: unknown key 'colour'; the keys are: file, labels",
        "dashboard.steps.train.table: 'absent.json' is not an output of the step; its outputs "
        "are: runs/{run_id}/scores.json, runs/{run_id}/curve.png, "
        "runs/{run_id}/predictions.csv, other/scores.json",
    ]


@pytest.mark.parametrize("section", ["a page", {"steps": []}, {"steps": {}}])
def test_a_section_of_the_wrong_shape_says_what_it_should_be(section):
    (problem,) = validate_dashboard(section, STEPS, Path("."))
    assert problem.startswith("dashboard") and "must" in problem


def test_the_repositorys_section_is_valid_and_names_the_model_outputs():
    config = read_dashboard_config(load_project(REPO))
    (view,) = config.steps
    assert view.step == "model" and view.button == "Run model"
    assert view.links == ("model/{run_id}/coordinates.csv",)


def test_loading_a_project_with_a_bad_section_says_every_problem(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "pipeline.yaml").write_text(
        "steps:\n  a:\n    notebook: a.ipynb\ndashboard:\n  steps:\n    b: {}\n  x: 1\n")
    with pytest.raises(UsageError) as error:
        load_project(tmp_path)
    assert str(error.value).splitlines()[1:] == [
        "  pipeline.yaml: dashboard: unknown key 'x'; the keys are: introduction, notebook, "
        "steps, title",
        "  pipeline.yaml: dashboard.steps.b: no step 'b' in `steps:`; the steps are: a"]
