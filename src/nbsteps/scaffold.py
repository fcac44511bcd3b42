"""`nbsteps init DIR` and `nbsteps add-step NAME`: a new project, and a new step in one.

Both write files from the templates shipped in the package (nbsteps/templates/): `project/`
for what a project has once, `step/` for what each step adds (notebook, pipeline entry,
params file, requirements file, compose service). Neither overwrites a file: every target
is checked before the first is written, so a refusal leaves the project as it was.
pipeline.yaml and docker-compose.yml are edited as text, not re-dumped, so the user's
comments and layout survive; the result is parsed back to check the step landed.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

import yaml

from nbsteps.errors import UsageError
from nbsteps.project import PIPELINE_FILE, describe_yaml_error

TEMPLATES = resources.files("nbsteps") / "templates"
COMPOSE_FILE = "docker-compose.yml"
FIRST_STEP = "generate"
# A step name is also a compose service, an image name part, a file name and a run id
# prefix: lower-case letters, digits, `_` and `-`, starting with a letter.
STEP_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
EMPTY_FOLDERS = ("data", "outputs", "logs")


class FileExistsUsageError(UsageError):
    """A file the command would write is already there: nothing was written."""


@dataclass(frozen=True)
class NewStep:
    """What the templates need to know of a step."""

    name: str
    inputs: tuple[str, ...] = ()
    after: str | None = None

    def values(self) -> dict[str, str]:
        reads = ", ".join(f"`data/{path}`" for path in self.inputs) or "no input"
        return {
            "step": self.name,
            "title": self.name.replace("_", " ").replace("-", " ").capitalize(),
            "description": f"reads {', '.join(self.inputs)}" if self.inputs else
            "makes a table of values",
            "reads": reads,
            "inputs": json.dumps(list(self.inputs)),
            # Quoted (JSON is YAML): in a [...] list an unquoted `{run_id}` starts a mapping.
            "inputs_line": f"\n    inputs: {json.dumps(list(self.inputs))}" if self.inputs else "",
        }


@dataclass
class Plan:
    """Files to create (path -> text) and files to edit (path -> new text), under a root."""

    root: Path
    create: dict[Path, str] = field(default_factory=dict)
    edit: dict[Path, str] = field(default_factory=dict)

    def refuse_existing(self) -> None:
        taken = [path for path in self.create if path.exists()]
        if taken:
            names = ", ".join(str(path.relative_to(self.root)) for path in taken[:3])
            if len(taken) > 3:
                names += f" and {len(taken) - 3} more"
            raise FileExistsUsageError(
                f"{names} already exist{'s' if len(taken) == 1 else ''} in {self.root}; "
                "nbsteps never overwrites a file: move it away or pick another name")

    def write(self) -> None:
        self.refuse_existing()
        for path, text in {**self.create, **self.edit}.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def render(text: str, values: dict[str, str]) -> str:
    """Fill `{{name}}` placeholders (the templates' only syntax; `${...}` is compose's)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], text)


def read_template(relative: str) -> str:
    return (TEMPLATES / relative).read_text(encoding="utf-8")


def render_notebook(values: dict[str, str]) -> str:
    """The step notebook template with the placeholders of every cell filled."""
    document = json.loads(read_template("step/notebook.ipynb"))
    for cell in document["cells"]:
        source = render("".join(cell["source"]), values)
        cell["source"] = source.splitlines(keepends=True)
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def check_step_name(name: str) -> None:
    if not STEP_NAME.fullmatch(name):
        raise UsageError(f"step name {name!r}: use lower-case letters, digits, `_` and `-`, "
                         "starting with a letter (it also names a file and a container)")


def image_prefix(root: Path) -> str:
    """Docker image names are lower-case: the folder's name, made fit for one."""
    prefix = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-")
    return prefix or "nbsteps-project"


def compose_service(step: NewStep, prefix: str) -> str:
    depends_on = ""
    if step.after:
        depends_on = (f"\n    depends_on:\n      {step.after}:\n"
                      "        condition: service_completed_successfully")
    return render(read_template("step/compose-service.yml"),
                  step.values() | {"image_prefix": prefix, "depends_on": depends_on})


def step_files(root: Path, step: NewStep) -> dict[Path, str]:
    """The files a step has on its own: notebook, params file, requirements file."""
    values = step.values()
    return {
        root / "notebooks" / f"{step.name}.ipynb": render_notebook(values),
        root / "params" / f"{step.name}.yaml": render(read_template("step/params.yaml"), values),
        root / "containers" / "requirements" / f"{step.name}.txt":
            render(read_template("step/requirements.txt"), values),
    }


def freeze_environment() -> str:
    """constraints.txt for a new project: the exact versions of this environment, so the
    images run what the project is developed with (nbsteps itself included)."""
    pins = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name and name.lower() not in ("pip", "setuptools", "wheel"):
            pins[name.lower()] = f"{name}=={distribution.version}"
    header = ("# Every version the project's images install, and the one place a version is\n"
              "# written (requirements files list names). Made by `nbsteps init` from the\n"
              f"# environment it ran in (Python {sys.version.split()[0]}); edit a line to move a"
              " pin.\n")
    return header + "".join(f"{pins[name]}\n" for name in sorted(pins))


def plan_project(root: Path, step_name: str = FIRST_STEP) -> Plan:
    check_step_name(step_name)
    step = NewStep(step_name)
    prefix = image_prefix(root)
    values = step.values() | {
        "project": root.name, "image_prefix": prefix,
        "step_entry": render(read_template("step/pipeline-entry.yaml"), step.values()).rstrip(),
        "step_service": compose_service(step, prefix).rstrip() + "\n",
    }
    plan = Plan(root)
    for template, target in (("project/pipeline.yaml", PIPELINE_FILE),
                             ("project/docker-compose.yml", COMPOSE_FILE),
                             ("project/README.md", "README.md"),
                             ("project/gitignore", ".gitignore"),
                             ("project/dockerignore", ".dockerignore"),
                             ("project/containers/Dockerfile", "containers/Dockerfile"),
                             ("project/dashboard-requirements.txt",
                              "containers/requirements/dashboard.txt"),
                             ("project/wheels-README.md", "containers/wheels/README.md")):
        plan.create[root / target] = render(read_template(template), values)
    plan.create[root / "constraints.txt"] = freeze_environment()
    for folder in EMPTY_FOLDERS:
        plan.create[root / folder / ".gitkeep"] = ""
    plan.create |= step_files(root, step)
    return plan


def init_project(root: Path, step_name: str = FIRST_STEP) -> Plan:
    """Create a working project in `root` (made if needed); refuse if any file exists."""
    plan = plan_project(root.resolve(), step_name)
    plan.write()
    return plan


def add_step(root: Path, name: str, after: str | None = None) -> Plan:
    """Add a step to the project at `root`: its files, pipeline entry and compose service.
    With `after`, the new step reads that step's outputs and its service waits for it."""
    check_step_name(name)
    pipeline_path = root / PIPELINE_FILE
    steps = read_steps_section(pipeline_path)
    if name in steps:
        raise FileExistsUsageError(f"{PIPELINE_FILE} already has a step {name!r}; "
                                   "nbsteps never overwrites one: pick another name")
    if after is not None and after not in steps:
        raise UsageError(f"--after {after}: no such step; the steps are: {', '.join(steps)}")
    inputs = tuple(steps[after].get("outputs", [])) if after else ()
    step = NewStep(name, inputs, after)
    plan = Plan(root)
    plan.create |= step_files(root, step)
    entry = render(read_template("step/pipeline-entry.yaml"), step.values())
    plan.edit[pipeline_path] = insert_into_section(pipeline_path, "steps", entry)
    compose_path = root / COMPOSE_FILE
    if compose_path.is_file():
        service = compose_service(step, image_prefix(root))
        plan.edit[compose_path] = insert_into_section(compose_path, "services", "\n" + service)
    check_edits(plan, name)
    plan.write()
    return plan


def read_steps_section(path: Path) -> dict:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise UsageError(f"no {PIPELINE_FILE} in {path.parent}: run `nbsteps init DIR` first, "
                         "or pass --project DIR") from error
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    steps = spec.get("steps") if isinstance(spec, dict) else None
    if not isinstance(steps, dict):
        raise UsageError(f"{path} has no `steps:` mapping to add a step to")
    return steps


def insert_into_section(path: Path, section: str, block: str) -> str:
    """The file's text with `block` (indented lines) added at the end of the top-level
    `section:` mapping, after its last indented line, before what follows it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{section}:\s*(#.*)?$", line)),
                 None)
    if start is None:
        raise UsageError(f"{path.name}: no top-level `{section}:` line to add to; add the "
                         f"new entry by hand:\n{block}")
    end = start + 1
    last_content = start
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        if lines[end].strip() and lines[end][0] in " \t":
            last_content = end
        end += 1
    if lines[last_content] and not lines[last_content].endswith("\n"):
        lines[last_content] += "\n"
    text = block.rstrip() + "\n"
    return "".join(lines[: last_content + 1]) + text + "".join(lines[last_content + 1:])


def check_edits(plan: Plan, name: str) -> None:
    """Each edited file still parses, with the new step where it belongs."""
    for path, text in plan.edit.items():
        section = "steps" if path.name == PIPELINE_FILE else "services"
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise UsageError(f"{path.name}: adding {name!r} would break the file "
                             f"({describe_yaml_error(error)}); nothing was written") from error
        if not isinstance(parsed.get(section), dict) or name not in parsed[section]:
            raise UsageError(f"{path.name}: could not add {name!r} under `{section}:`; "
                             "nothing was written")
