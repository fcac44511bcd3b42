"""Where a project's steps, parameters and folders are: pipeline.yaml plus three folders."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nbsteps import graph
from nbsteps.errors import UsageError
from nbsteps.graph import RUN_ID_FIELD
from nbsteps.spec import find_problems, read_inputs

PIPELINE_FILE = "pipeline.yaml"

# Each folder can be moved by an option or an environment variable, so the same code
# runs unchanged on a laptop and in a container with mounted volumes.
FOLDER_VARIABLES = {
    "data": "NBSTEPS_DATA_DIR",
    "outputs": "NBSTEPS_OUTPUTS_DIR",
    "logs": "NBSTEPS_LOGS_DIR",
}


@dataclass(frozen=True)
class Step:
    name: str
    notebook: Path
    params_file: Path
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    # Inputs no step writes, each with where it comes from ("by hand", or the user's words).
    supplied: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    kernel: str | None = None  # kernelspec name; else the notebook's own
    metrics: str | None = None  # one of the outputs: a JSON file of figures worth recording
    description: str = ""
    # Kernels for many runs of the notebook (a sweep's points, a worker's runs) are forked from
    # one process that did its imports; False starts each from scratch (forked_kernels).
    fork: bool = True

    def output_paths(self, data_dir: Path, run_id: str) -> list[Path]:
        return [data_dir / p.replace(RUN_ID_FIELD, run_id) for p in self.outputs]

    def run_folders(self, data_dir: Path, run_id: str) -> list[Path]:
        """The folders that belong to one run only (outputs under `{run_id}/`)."""
        folders = {
            data_dir / p.split(RUN_ID_FIELD)[0] / run_id
            for p in self.outputs
            if RUN_ID_FIELD in p
        }
        return sorted(folders)


@dataclass(frozen=True)
class Folders:
    data: Path
    outputs: Path
    logs: Path


@dataclass(frozen=True)
class Project:
    root: Path
    steps: dict[str, Step]  # in run order: a step comes after the steps writing its inputs
    folders: Folders
    # The whole parsed pipeline.yaml: sections other than `steps` are read by their modules.
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def step(self, name: str) -> Step:
        if name not in self.steps:
            raise UsageError(f"unknown step {name!r}; the steps are: {', '.join(self.steps)}")
        return self.steps[name]

    def producer_of(self, relative_path: str) -> str | None:
        """The step that writes this data path (as declared, in `latest/` or in one run)."""
        return graph.producer_of(self.steps.values(), relative_path)

    def dependencies(self) -> dict[str, list[str]]:
        """For each step, the steps that write its inputs."""
        return graph.find_dependencies(self.steps)


def find_project_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / PIPELINE_FILE).is_file():
            return folder
    raise UsageError(
        f"no {PIPELINE_FILE} in {start} or any folder above it; "
        "run nbsteps inside a project or pass --project DIR (or set NBSTEPS_PROJECT)"
    )


def load_project(
    root: Path | str | None = None,
    data_dir: Path | str | None = None,
    outputs_dir: Path | str | None = None,
    logs_dir: Path | str | None = None,
) -> Project:
    """Read pipeline.yaml; folders come from the arguments, else the environment, else the root."""
    root = root or os.environ.get("NBSTEPS_PROJECT")
    root = Path(root).resolve() if root else find_project_root(Path.cwd().resolve())
    settings = read_settings(root)
    steps = order_steps({name: parse_step(root, name, entry)
                         for name, entry in settings["steps"].items()})
    given = {"data": data_dir, "outputs": outputs_dir, "logs": logs_dir}
    folders = {
        name: Path(given[name] or os.environ.get(variable) or root / name).resolve()
        for name, variable in FOLDER_VARIABLES.items()
    }
    return Project(root=root, steps=steps, folders=Folders(**folders), settings=settings)


def read_settings(root: Path) -> dict[str, Any]:
    """The parsed pipeline.yaml, checked: one UsageError listing every problem, one a line."""
    path = root / PIPELINE_FILE
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    except yaml.YAMLError as error:
        raise UsageError(f"cannot read {path}: {describe_yaml_error(error)}") from error
    problems = find_problems(settings, root)
    if len(problems) == 1:
        raise UsageError(f"{path}: {problems[0]}")
    if problems:
        lines = "".join(f"\n  {PIPELINE_FILE}: {problem}" for problem in problems)
        raise UsageError(f"{path} has {len(problems)} problems:{lines}")
    return settings


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """YAML's error on one line: where, and what."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    hint = ""
    if "'{'" in problem:  # `[a/{run_id}/b.csv]`: in a [...] list, `{` starts a mapping
        hint = " (in a [...] list, quote paths holding {run_id}: \"out/{run_id}/table.csv\")"
    return " ".join(f"{where}{problem}{hint}".split())


def parse_step(root: Path, name: str, entry: dict) -> Step:
    """A step from its checked entry in pipeline.yaml."""
    inputs, supplied = read_inputs(entry.get("inputs") or [])
    return Step(
        name=name,
        notebook=root / entry["notebook"],
        params_file=root / entry.get("params", f"params/{name}.yaml"),
        inputs=inputs,
        outputs=tuple(entry.get("outputs") or ()),
        supplied=supplied,
        kernel=entry.get("kernel"),
        metrics=entry.get("metrics"),
        description=entry.get("description", ""),
        fork=entry.get("fork", True),
    )


def order_steps(steps: dict[str, Step]) -> dict[str, Step]:
    """The steps in run order: each after the steps that write its inputs."""
    return {name: steps[name] for name in graph.order_steps(graph.find_dependencies(steps))}
