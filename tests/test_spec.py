"""pipeline.yaml is checked when loaded: every problem on a line of its own, nothing run."""

import re

import pytest

from nbsteps.errors import UsageError
from nbsteps.project import load_project
from tests.small_project import make_project, write_notebook

PARAMETERS = "data_dir = '.'\nrun_id = 'manual'"


def problems_of(tmp_path, pipeline: str) -> list[str]:
    """The problem lines load_project reports for this pipeline.yaml (its notebooks exist)."""
    write_pipeline(tmp_path, pipeline)
    with pytest.raises(UsageError) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    if "\n" not in message:  # one problem: one line
        return [message.removeprefix(f"{tmp_path / 'pipeline.yaml'}: ")]
    header, *lines = message.splitlines()
    assert header.endswith(f"has {len(lines)} problems:")
    return [line.strip().removeprefix("pipeline.yaml: ") for line in lines]


def write_pipeline(root, pipeline: str, missing: tuple[str, ...] = ()) -> None:
    """pipeline.yaml, and an (empty) file for each notebook it names but `missing`."""
    (root / "pipeline.yaml").write_text(pipeline)
    for name in set(re.findall(r"[\w/.-]+\.ipynb", pipeline)) - set(missing):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()


def test_every_problem_is_reported_on_its_own_line(tmp_path):
    problems = problems_of(tmp_path, """\
steps:
  clean:
    notebook: notebooks/clean.ipynb
    ouputs: [tables/clean.csv]
    kernel: 3
  train:
    notebook: notebooks/train.ipynb
    inputs: tables/clean.csv
    outputs: ["../model.pkl", "runs/{run_id}.json"]
    metrics: scores.json
  all:
    notebook: notebooks/all.ipynb
dashbord: {title: Mine}
""")
    assert problems == [
        "unknown top-level key 'dashbord'; the keys are steps, dashboard, retention",
        "step 'clean': unknown key 'ouputs'; a step's keys are notebook, inputs, outputs, "
        "kernel, metrics, description, params, fork",
        "step 'clean': `kernel:` must be a string",
        "step 'train': output '../model.pkl' must be a relative path below the data folder, "
        "like raw/table.csv",
        "step 'train': output runs/{run_id}.json: `{run_id}` must be one folder of the path, "
        "as in results/{run_id}/table.csv",
        "step 'train': `inputs:` must be a list of paths below the data folder",
        "step 'train' has metrics: 'scores.json', which is not one of its outputs; name a JSON "
        "file listed under its `outputs:` (../model.pkl, runs/{run_id}.json)",
        "step 'all': a step name is letters, digits, `_`, `.` or `-` (and not `all`)",
    ]


def test_two_steps_writing_one_output_are_named(tmp_path):
    problems = problems_of(tmp_path, """\
steps:
  a: {notebook: a.ipynb, outputs: [shared.csv, "a/{run_id}/x.csv"]}
  b: {notebook: b.ipynb, outputs: [shared.csv]}
  c: {notebook: c.ipynb, outputs: ["a/{run_id}/y.csv"]}
""")
    assert problems == [
        "steps 'a' and 'b' both write shared.csv; give each output to one step",
        "steps 'a' and 'c' both keep runs in a/; give each step a folder of its own",
    ]


def test_a_cycle_names_its_steps(tmp_path):
    problems = problems_of(tmp_path, """\
steps:
  load: {notebook: load.ipynb, outputs: [raw.csv]}
  fit: {notebook: fit.ipynb, inputs: [raw.csv, tuned.json], outputs: ["fit/{run_id}/m.json"]}
  tune: {notebook: tune.ipynb, inputs: [fit/latest/m.json], outputs: [tuned.json]}
""")
    assert problems == ["the steps form a cycle: 'fit' reads what 'tune' writes, 'tune' reads "
                        "what 'fit' writes; no step can run first"]


def test_an_input_no_step_writes_must_be_marked_as_supplied(tmp_path):
    pipeline = """\
steps:
  fit:
    notebook: fit.ipynb
    inputs: [survey.csv, {path: labels.csv, supplied: from the lab}]
"""
    assert problems_of(tmp_path, pipeline) == [
        "step 'fit': input survey.csv is written by no step; add it to the `outputs:` of the "
        "step that writes it, or mark it as a file you supply: "
        "`- {path: survey.csv, supplied: by hand}`"
    ]
    write_pipeline(tmp_path, pipeline.replace(
        "[survey.csv,", "[{path: survey.csv, supplied: true},"))
    step = load_project(tmp_path).step("fit")
    assert step.inputs == ("survey.csv", "labels.csv")
    assert step.supplied == {"survey.csv": "by hand", "labels.csv": "from the lab"}


def test_a_yaml_error_says_where_and_how_to_quote_a_run_id_path(tmp_path):
    (tmp_path / "pipeline.yaml").write_text(
        "steps:\n  a:\n    notebook: a.ipynb\n    outputs: [a/{run_id}/x.csv]\n")
    with pytest.raises(UsageError) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert "line 4, column 17" in message and '"out/{run_id}/table.csv"' in message


def test_every_key_is_read_and_the_whole_file_kept(tmp_path):
    write_pipeline(tmp_path, """\
steps:
  fit:
    notebook: notebooks/fit.ipynb
    description: Fit the model.
    inputs: [{path: raw.csv, supplied: by hand}]
    outputs: ["fit/{run_id}/scores.json"]
    metrics: "fit/{run_id}/scores.json"
    kernel: my-env
    params: settings/fit.yaml
dashboard: {title: Fits}
retention: {keep: 5}
""")
    project = load_project(tmp_path)
    step = project.step("fit")
    assert (step.description, step.kernel, step.metrics) == (
        "Fit the model.", "my-env", "fit/{run_id}/scores.json")
    assert step.params_file == tmp_path / "settings" / "fit.yaml"
    assert project.settings["dashboard"] == {"title": "Fits"}
    assert project.settings["retention"] == {"keep": 5}


def test_a_missing_notebook_is_reported_and_nothing_runs(tmp_path):
    space = make_project(tmp_path, """\
steps:
  make: {notebook: notebooks/make.ipynb, outputs: [made.txt]}
  use: {notebook: notebooks/use.ipynb, inputs: [made.txt], outputs: [used.txt]}
  report: {notebook: notebooks/report.ipynb, inputs: [used.txt]}
""")
    write_notebook(space.root / "notebooks" / "make.ipynb", PARAMETERS,
                   "open(f'{data_dir}/made.txt', 'w').write('x')")
    result = space.run("run", "make")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"nbsteps: error: {space.root}/pipeline.yaml has 2 problems:",
        f"  pipeline.yaml: step 'use': notebook notebooks/use.ipynb does not exist in {space.root}",
        f"  pipeline.yaml: step 'report': notebook notebooks/report.ipynb does not exist in "
        f"{space.root}",
    ]
    assert not space.data.exists() and not space.outputs.exists()


def test_the_command_line_prints_the_problems_and_exits_2(tmp_path):
    space = make_project(tmp_path, "steps:\n  a: {notebook: notebooks/a.ipynb, color: red}\n")
    write_notebook(space.root / "notebooks" / "a.ipynb", PARAMETERS)
    result = space.run("status")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"nbsteps: error: {space.root}/pipeline.yaml: step 'a': unknown key 'color'; a step's "
        "keys are notebook, inputs, outputs, kernel, metrics, description, params, fork",
    ]
