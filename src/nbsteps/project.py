"""Where a project's steps, parameters and folders are: pipeline.yaml plus three folders."""

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nbsteps.errors import UsageError
from nbsteps.metrics import check_metrics_entry
from nbsteps.retention import check_retention

PIPELINE_FILE = "pipeline.yaml"
RUN_ID_FIELD = "{run_id}"

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
    metrics: str | None = None  # one of the outputs, a JSON file whose scalars are recorded

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
    steps: dict[str, Step]
    folders: Folders
    settings: dict = field(default_factory=dict)  # the whole parsed pipeline.yaml

    def step(self, name: str) -> Step:
        if name not in self.steps:
            raise UsageError(f"unknown step {name!r}; the steps are: {', '.join(self.steps)}")
        return self.steps[name]

    def producer_of(self, relative_path: str) -> str | None:
        """The step whose outputs include this data path, to say who makes a missing input."""
        for step in self.steps.values():
            if relative_path in step.outputs:
                return step.name
        return None


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
    steps = read_steps(root, settings)
    check_retention(settings.get("retention"))
    given = {"data": data_dir, "outputs": outputs_dir, "logs": logs_dir}
    folders = {
        name: Path(given[name] or os.environ.get(variable) or root / name).resolve()
        for name, variable in FOLDER_VARIABLES.items()
    }
    return Project(root=root, steps=steps, folders=Folders(**folders), settings=settings)


def read_settings(root: Path) -> dict:
    path = root / PIPELINE_FILE
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    return spec if isinstance(spec, dict) else {}


def read_steps(root: Path, spec: dict) -> dict[str, Step]:
    path = root / PIPELINE_FILE
    entries = spec.get("steps")
    if not isinstance(entries, dict) or not entries:
        raise UsageError(f"{path} must have a `steps:` mapping of step names to notebooks")
    return {name: parse_step(root, name, entry) for name, entry in entries.items()}


def parse_step(root: Path, name: str, entry: object) -> Step:
    if not isinstance(entry, dict) or "notebook" not in entry:
        raise UsageError(f"{PIPELINE_FILE}: step {name!r} needs a `notebook:` path")
    outputs = tuple(entry.get("outputs", ()))
    return Step(
        name=name,
        notebook=root / entry["notebook"],
        params_file=root / "params" / f"{name}.yaml",
        inputs=tuple(entry.get("inputs", ())),
        outputs=outputs,
        metrics=check_metrics_entry(name, entry.get("metrics"), outputs),
    )
