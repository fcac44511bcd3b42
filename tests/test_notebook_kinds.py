"""Notebooks as people write them: no parameters cell, another kernel. Real papermill runs."""

import json

import nbformat

from tests.small_project import make_project, write_notebook

PIPELINE = """\
steps:
  tally:
    notebook: notebooks/tally.ipynb
    outputs: [tally.txt]
  summary:
    notebook: notebooks/summary.ipynb
    inputs: [tally.txt]
"""
# No cell tagged `parameters`: the data folder comes from the environment nbsteps sets.
TALLY = ("import os\nfrom pathlib import Path",
         "folder = Path(os.environ['NBSTEPS_DATA_DIR'])\nfolder.mkdir(parents=True, exist_ok=True)",
         "(folder / 'tally.txt').write_text(str(sum(range(10))))")
SUMMARY = "print(open(data_dir + '/tally.txt').read())"
PARAMETERS = "data_dir = '.'"
R_KERNEL = {"name": "ir", "display_name": "R", "language": "R"}


def project(tmp_path, pipeline=PIPELINE, tally_kernel=None):
    space = make_project(tmp_path, pipeline)
    notebooks = space.root / "notebooks"
    write_notebook(notebooks / "tally.ipynb", None, *TALLY, kernelspec=tally_kernel)
    write_notebook(notebooks / "summary.ipynb", PARAMETERS, SUMMARY)
    return space


def latest(space, step):
    return json.loads((space.outputs / step / "latest.json").read_text())


def test_a_notebook_without_a_parameters_cell_runs_without_parameters(tmp_path):
    space = project(tmp_path)
    result = space.run("run", "all")
    assert result.returncode == 0, result.stderr
    record = latest(space, "tally")
    assert record["status"] == "succeeded" and record["parameters"] == {}
    assert record["kernel"] == "python3" and latest(space, "summary")["kernel"] == "python3"
    assert (space.data / "tally.txt").read_text() == "45"
    executed = nbformat.read(record["notebook"], as_version=4)
    assert not [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "tally: cell 3/3" in result.stderr  # the progress count has no injected cell


def test_params_says_there_is_no_parameters_cell_and_how_to_add_one(tmp_path):
    space = project(tmp_path)
    result = space.run("params", "tally")
    assert result.returncode == 0
    assert result.stdout.startswith("tally takes no parameters: tally.ipynb has no cell tagged "
                                    "`parameters`; tag one to give it parameters")
    assert json.loads(space.run("params", "tally", "--json").stdout) == []


def test_a_value_for_a_notebook_without_parameters_is_refused_with_a_hint(tmp_path):
    space = project(tmp_path)
    result = space.run("run", "tally", "-p", "limit=10")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "nbsteps: error: 'limit' (-p): tally.ipynb has no cell tagged `parameters`, so it "
        "takes no parameters; tag the cell that sets its parameters `parameters` (in Jupyter: "
        "View > Cell Toolbar > Tags, or the property inspector)")
    (space.root / "params").mkdir()
    (space.root / "params" / "tally.yaml").write_text("limit: 10\n")
    result = space.run("run", "tally")
    assert result.returncode == 2 and "'limit' (tally.yaml): tally.ipynb has no cell" in (
        result.stderr)
    assert not space.outputs.exists()


def test_a_kernel_that_is_not_installed_stops_before_anything_runs(tmp_path):
    space = project(tmp_path, tally_kernel={"name": "no-such-kernel", "language": "python",
                                            "display_name": "Mine"})
    result = space.run("run", "all")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "nbsteps: error: tally: kernel 'no-such-kernel' (from the metadata of tally.ipynb) is "
        "not installed here; `jupyter kernelspec list` shows the installed ones (")
    assert lines[0].endswith("name one of them with `kernel:` for the step in pipeline.yaml")
    assert not space.outputs.exists() and not space.data.exists()


def test_an_r_notebook_is_not_run_on_python(tmp_path):
    space = make_project(tmp_path, "steps:\n  plot:\n    notebook: notebooks/plot.ipynb\n")
    write_notebook(space.root / "notebooks" / "plot.ipynb", "n <- 10", "print(seq_len(n))",
                   kernelspec=R_KERNEL)
    result = space.run("run", "plot")
    assert result.returncode == 2
    assert "plot: kernel 'ir' (from the metadata of plot.ipynb) is not installed" in result.stderr
    assert not space.outputs.exists()


def test_the_pipeline_names_the_kernel_and_the_record_says_which_ran(tmp_path):
    chosen = PIPELINE.replace("    outputs: [tally.txt]", "    outputs: [tally.txt]\n"
                              "    kernel: python3")
    space = project(tmp_path, chosen, tally_kernel={"name": "my-conda-env", "language": "python",
                                                    "display_name": "Mine"})
    result = space.run("run", "tally")
    assert result.returncode == 0, result.stderr
    assert latest(space, "tally")["kernel"] == "python3"
    (space.root / "pipeline.yaml").write_text(chosen.replace("kernel: python3",
                                                             "kernel: my-conda-env"))
    result = space.run("run", "tally", "--force")
    assert result.returncode == 2
    assert "tally: kernel 'my-conda-env' (from its `kernel:` in pipeline.yaml) is not " in (
        result.stderr)
