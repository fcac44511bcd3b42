"""`nbsteps init DIR` and `nbsteps add-step NAME --after STEP`, as a new user runs them: the
project they make runs with `nbsteps run all`, and neither command overwrites a file.
(Served by `nbsteps dashboard`: tests/test_package.py; in containers: tests/containers.)"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def nbsteps(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed command, as a user types it in `cwd`."""
    return subprocess.run([sys.executable, "-m", "nbsteps", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def project(tmp_path) -> Path:
    """`init` then two `add-step`s, each after the previous step."""
    result = nbsteps("init", "shopfront", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "shopfront"
    for name, after in (("clean", "generate"), ("report", "clean")):
        result = nbsteps("add-step", name, "--after", after, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


def test_init_makes_every_file_a_project_needs(tmp_path):
    result = nbsteps("init", "fresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = tmp_path / "fresh"
    for path in ("pipeline.yaml", "notebooks/generate.ipynb", "params/generate.yaml",
                 "containers/Dockerfile", "containers/requirements/generate.txt",
                 "containers/requirements/dashboard.txt", "constraints.txt",
                 "docker-compose.yml", ".gitignore", ".dockerignore", "README.md",
                 "data/.gitkeep", "outputs/.gitkeep", "logs/.gitkeep"):
        assert (root / path).is_file(), path
    readme = (root / "README.md").read_text()
    assert "nbsteps run all" in readme and "nbsteps dashboard" in readme
    assert "nbsteps add-step" in readme
    spec = yaml.safe_load((root / "pipeline.yaml").read_text())
    assert list(spec["steps"]) == ["generate"]
    assert spec["dashboard"]["steps"] == {"generate": {"table": "stats.json",
                                                       "links": ["table.csv"]}}
    notebook = json.loads((root / "notebooks" / "generate.ipynb").read_text())
    tagged = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    assert notebook["cells"][0]["cell_type"] == "markdown"
    assert all(not c.get("outputs") for c in notebook["cells"])
    assert "nbsteps==" in (root / "constraints.txt").read_text()
    # The repository's own Dockerfile, so the two cannot drift (NBSTEPS_FROM=auto picks a
    # release of nbsteps here: the project is not nbsteps' source tree).
    repository = Path(__file__).resolve().parents[1] / "containers" / "Dockerfile"
    assert (root / "containers" / "Dockerfile").read_bytes() == repository.read_bytes()


def test_add_step_chains_notebook_entry_params_requirements_and_service(project):
    spec = yaml.safe_load((project / "pipeline.yaml").read_text())
    assert list(spec["steps"]) == ["generate", "clean", "report"]
    assert spec["steps"]["report"]["inputs"] == spec["steps"]["clean"]["outputs"]
    assert spec["steps"]["report"]["notebook"] == "notebooks/report.ipynb"
    assert "dashboard" in spec, "the dashboard section was lost"
    text = (project / "pipeline.yaml").read_text()
    assert "# The page `nbsteps dashboard` serves" in text, "comments were lost"
    services = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    assert services["report"]["depends_on"] == {
        "clean": {"condition": "service_completed_successfully"}}
    assert services["report"]["build"]["args"]["STEP"] == "report"
    assert services["report"]["build"]["target"] == "step"
    for path in ("notebooks/report.ipynb", "params/report.yaml",
                 "containers/requirements/report.txt"):
        assert (project / path).is_file(), path


def test_the_new_project_runs_with_run_all_and_skips_when_nothing_changed(project):
    result = nbsteps("run", "all", cwd=project)
    assert result.returncode == 0, result.stderr
    # generate makes 1..10, doubled; clean and report double again: 2 * 2 * 2 * 55.
    summary = json.loads((project / "data" / "report" / "stats.json").read_text())
    assert summary == {"values": 10, "total": 440.0, "mean": 44.0}
    assert nbsteps("run", "all", "-p", "generate.factor=1", cwd=project).returncode == 0
    summary = json.loads((project / "data" / "report" / "stats.json").read_text())
    assert summary["total"] == 220.0
    again = nbsteps("run", "all", cwd=project)
    assert again.returncode == 0 and "report succeeded" in again.stderr


def test_generated_notebooks_pass_ruff(project):
    ruff = BIN / "ruff"
    notebooks = sorted(str(p) for p in (project / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 3
    result = subprocess.run([str(ruff), "check", "--no-cache", "--isolated", *notebooks],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_add_step_refuses_a_taken_name_and_changes_nothing(project):
    before = snapshot(project)
    result = nbsteps("add-step", "clean", cwd=project)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nbsteps: error: pipeline.yaml already has a step 'clean'; nbsteps never overwrites "
        "one: pick another name"]
    assert snapshot(project) == before


def test_add_step_refuses_when_one_of_its_files_exists(project):
    (project / "notebooks" / "extra.ipynb").write_text("{}")
    before = snapshot(project)
    result = nbsteps("add-step", "extra", cwd=project)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "notebooks/extra.ipynb already exists" in line
    assert snapshot(project) == before


def test_init_refuses_a_folder_with_a_project_and_writes_nothing(tmp_path):
    root = tmp_path / "taken"
    root.mkdir()
    (root / "README.md").write_text("mine\n")
    result = nbsteps("init", str(root), cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "README.md already exists" in line
    assert snapshot(root) == {"README.md": b"mine\n"}


@pytest.mark.parametrize("args, message", [
    (("add-step", "Bad Name"), "use lower-case letters"),
    (("add-step", "later", "--after", "nosuch"), "--after nosuch: no such step"),
])
def test_bad_names_get_one_line_and_exit_2(project, args, message):
    result = nbsteps(*args, cwd=project)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert message in line


def test_add_step_outside_a_project_says_how_to_start_one(tmp_path):
    result = nbsteps("add-step", "clean", cwd=tmp_path)
    assert result.returncode == 2
    assert "pipeline.yaml" in result.stderr and "Traceback" not in result.stderr


def test_add_step_after_a_step_with_per_run_outputs_reads_its_current_run(project):
    """Outputs under `{run_id}/` become the new step's inputs, quoted so that pipeline.yaml
    still parses and the project still loads."""
    pipeline = project / "pipeline.yaml"
    spec = yaml.safe_load(pipeline.read_text())
    per_run = [path.replace("report/", "report/{run_id}/") for path in
               spec["steps"]["report"]["outputs"]]
    text = pipeline.read_text().replace(
        f"outputs: [{', '.join(spec['steps']['report']['outputs'])}]",
        f"outputs: {json.dumps(per_run)}")
    pipeline.write_text(text)
    result = nbsteps("add-step", "publish", "--after", "report", cwd=project)
    assert result.returncode == 0, result.stderr
    steps = yaml.safe_load(pipeline.read_text())["steps"]
    assert steps["publish"]["inputs"] == per_run
    shown = nbsteps("params", "publish", cwd=project)
    assert shown.returncode == 0, shown.stderr
