import pytest

from nbsteps.errors import UsageError
from nbsteps.project import load_project
from tests.conftest import REPO


def test_steps_come_in_pipeline_order_with_their_inputs_and_outputs():
    project = load_project(REPO)
    order = list(project.steps)
    for position, name in enumerate(order):  # every input's producer comes earlier
        producers = {project.producer_of(path) for path in project.step(name).inputs}
        assert producers - {None} <= set(order[:position]), name
    assert project.step("preprocess").inputs == ("raw/posts.json",)
    assert project.producer_of("processed/posts.parquet") == "preprocess"
    assert project.step("model").params_file == REPO / "params" / "model.yaml"


def test_folders_default_to_the_root_and_move_by_option_or_environment(tmp_path, monkeypatch):
    for variable in ("NBSTEPS_DATA_DIR", "NBSTEPS_OUTPUTS_DIR", "NBSTEPS_LOGS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    assert load_project(REPO).folders.data == REPO / "data"
    monkeypatch.setenv("NBSTEPS_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("NBSTEPS_LOGS_DIR", str(tmp_path / "env-logs"))
    project = load_project(REPO, outputs_dir=tmp_path / "opt-out", logs_dir=tmp_path / "opt-logs")
    assert project.folders.data == tmp_path / "env-data"
    assert project.folders.outputs == tmp_path / "opt-out"
    assert project.folders.logs == tmp_path / "opt-logs"  # an option beats the environment


def test_the_root_is_found_from_a_subfolder(monkeypatch):
    monkeypatch.delenv("NBSTEPS_PROJECT", raising=False)
    monkeypatch.chdir(REPO / "notebooks")
    assert load_project().root == REPO


def test_outside_a_project_the_error_says_how_to_point_at_one(tmp_path, monkeypatch):
    monkeypatch.delenv("NBSTEPS_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="--project DIR"):
        load_project()


def test_run_folders_are_the_per_run_parts_of_the_outputs(tmp_path):
    step = load_project(REPO).step("model")
    assert step.run_folders(tmp_path, "r1") == [tmp_path / "model" / "r1"]
    assert step.output_paths(tmp_path, "r1")[0] == tmp_path / "model" / "r1" / "coordinates.csv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: {}\n", "must be a mapping of step names"),
        ("steps:\n  a: {}\n", "needs a `notebook:`"),
        (": :\n", "cannot read"),
    ],
)
def test_a_broken_pipeline_file_is_a_usage_error(tmp_path, text, message):
    (tmp_path / "pipeline.yaml").write_text(text)
    with pytest.raises(UsageError, match=message):
        load_project(tmp_path)
