"""One source of truth for every version: constraints.txt pins, everything else names.

pyproject.toml (dependencies and extras) and containers/requirements/*.txt list names only;
every install passes constraints.txt with -c, so each name must find its pin there.
"""

import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")
NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9_,.-]+\])?$")
REQUIREMENT_FILES = sorted((REPO / "containers" / "requirements").glob("*.txt"))
TEMPLATE_REQUIREMENTS = sorted((REPO / "src" / "nbsteps" / "templates").rglob("*.txt"))
DOCKERFILES = [REPO / "containers" / "Dockerfile",
               *(REPO / "src" / "nbsteps" / "templates").rglob("Dockerfile")]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"constraints.txt: not an exact pin: {line!r}"
        name = normalize(match.group(1))
        assert name not in pins, f"constraints.txt pins {name} twice"
        pins[name] = match.group(2)
    return pins


def requirement_names(lines) -> list[str]:
    """The names in requirement lines; fails on any version specifier or marker."""
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = NAME.match(line)
        assert match, f"{line!r}: a name only, please (its version goes in constraints.txt)"
        names.append(normalize(match.group(1)))
    return names


def project_requirements() -> dict[str, list[str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lists = {"dependencies": project["dependencies"]}
    for extra, items in project.get("optional-dependencies", {}).items():
        lists[f"[{extra}]"] = items
    return lists


def test_constraints_are_exact_pins_one_per_package():
    assert len(read_constraints()) > 50


@pytest.mark.parametrize("where", list(project_requirements()))
def test_pyproject_lists_names_that_constraints_pin(where):
    pins = read_constraints()
    names = [n for n in requirement_names(project_requirements()[where]) if n != "nbsteps"]
    assert [n for n in names if n not in pins] == []


@pytest.mark.parametrize("path", REQUIREMENT_FILES + TEMPLATE_REQUIREMENTS,
                         ids=lambda p: str(p.relative_to(REPO)))
def test_requirements_files_list_names_that_constraints_pin(path):
    pins = read_constraints()
    names = requirement_names(path.read_text().splitlines())
    assert [n for n in names if n not in pins] == []


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_dockerfiles_write_no_version(path):
    assert not re.search(r"\b[A-Za-z][\w.-]*(==|>=|<=|~=)\d", path.read_text()), path


def test_every_image_requirement_is_installed_in_the_development_environment():
    """make install adds the steps' requirements, so the example's notebooks run locally."""
    from importlib.metadata import PackageNotFoundError, version

    pins = read_constraints()
    for path in REQUIREMENT_FILES:
        for name in requirement_names(path.read_text().splitlines()):
            try:
                assert version(name) == pins[name], f"{name} differs from constraints.txt"
            except PackageNotFoundError:
                pytest.fail(f"{name} ({path.name}) is not installed: make install")
