"""The `dashboard:` section of pipeline.yaml: what the page says, runs and shows.

Read once per page into a DashboardConfig; everything the page renders and every file the
server lets through comes from it, so the package itself knows no step or file name.

    dashboard:
      title: My analysis                 # the page's heading
      introduction: |                    # markdown under it
        What the page is for ...
      notebook: notebooks/my_page.ipynb  # optional: a page of your own instead of nbsteps'
      steps:                             # the steps the page runs: one form each
        train:
          button: Train                  # default "Run train"
          heading: Parameters            # default "Parameters of train"
          warm_up: notebooks/warm.py     # optional code the warm kernel runs beforehand
          images: [curve.png]            # outputs shown as images
          table: metrics.json            # a JSON output shown as a table (or {file, labels})
          links: [predictions.csv]       # outputs offered as downloads

An output is named by its file name or its full path as declared in the step's `outputs`.
Without a `dashboard:` section the page runs the last step and shows its image outputs,
and links its other outputs.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsteps.errors import UsageError

SECTION = "dashboard"
PAGE_KEYS = {"title", "introduction", "notebook", "steps"}
STEP_KEYS = {"button", "heading", "warm_up", "images", "table", "links"}
TABLE_KEYS = {"file", "labels"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
# What the file server never hands out, whatever the configuration links (server.DENYLIST):
# a link to one of these could not be followed, so it is refused when the file is read.
UNSERVED_SUFFIXES = (".ipynb", ".py", ".pyc", ".yaml", ".yml", ".log", ".toml", ".cfg",
                     ".ini", ".env", ".sh")


@dataclass(frozen=True)
class TableView:
    """A JSON output shown as a table; `labels` (key -> label) picks and orders the keys."""

    output: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepView:
    """One step the page runs: its form, its button, and what a run of it shows."""

    step: str
    button: str
    heading: str
    warm_up: Path | None = None
    images: tuple[str, ...] = ()  # declared output paths
    table: TableView | None = None
    links: tuple[str, ...] = ()

    def shown_outputs(self) -> tuple[str, ...]:
        """The outputs the page reads to show a run: its images and its table."""
        return (*self.images, *([self.table.output] if self.table else []))


@dataclass(frozen=True)
class DashboardConfig:
    title: str
    introduction: str  # markdown
    notebook: Path | None  # a page of the project's own, or None for the packaged one
    steps: tuple[StepView, ...]

    def view(self, step: str) -> StepView:
        return next(view for view in self.steps if view.step == step)


def read_dashboard_config(project) -> DashboardConfig:
    """The project's dashboard configuration; UsageError listing every problem, one a line."""
    section = read_section(project)
    problems = validate_dashboard(section, project.steps, project.root)
    if problems:
        raise UsageError("\n".join(problems))
    return parse_dashboard(section, project.steps, project.root)


def read_section(project) -> Any:
    """The raw `dashboard:` mapping (None when absent), from the parsed pipeline file."""
    settings = getattr(project, "settings", None)
    if settings is None:  # a Project from before `settings`: read the file itself
        import yaml

        from nbsteps.project import PIPELINE_FILE

        try:
            settings = yaml.safe_load((project.root / PIPELINE_FILE).read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise UsageError(f"cannot read {project.root / PIPELINE_FILE}: {error}") from error
    return settings.get(SECTION) if isinstance(settings, dict) else None


def validate_dashboard(section: Any, steps: Mapping[str, Any], root: Path) -> list[str]:
    """Every problem of a `dashboard:` section, one readable line each (empty when fine).
    `steps` maps step names to steps, parsed (project.Step) or as written in pipeline.yaml:
    the project loader calls this before it builds the steps (nbsteps.spec)."""
    if section is None:
        return []
    problems = check_keys(SECTION, section, PAGE_KEYS, ("title", "introduction"))
    if not isinstance(section, dict):
        return problems
    if "notebook" in section:
        problems += check_file(f"{SECTION}.notebook", section["notebook"], root, ".ipynb")
    chosen = section.get("steps")
    if chosen is None:
        return problems
    if not isinstance(chosen, dict) or not chosen:
        return [*problems, f"{SECTION}.steps: must map one or more step names to what the page "
                "shows of them (`{}` for the defaults)"]
    for name, entry in chosen.items():
        problems += validate_step_view(name, entry, steps, root)
    return problems


def validate_step_view(name: str, entry: Any, steps: Mapping[str, Any], root: Path) -> list[str]:
    where = f"{SECTION}.steps.{name}"
    if name not in steps:
        return [f"{where}: no step {name!r} in `steps:`; the steps are: {', '.join(steps)}"]
    problems = check_keys(where, entry or {}, STEP_KEYS, ("button", "heading"))
    if not isinstance(entry, dict):
        return problems
    if "warm_up" in entry:
        problems += check_file(f"{where}.warm_up", entry["warm_up"], root, ".py")
    outputs = declared_outputs(steps[name])
    for key in ("images", "links"):
        names = entry.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(f"{where}.{key}: must be a list of output file names")
            continue
        for output in names:
            problems += check_output(f"{where}.{key}", output, outputs)
            if key == "links" and output.lower().endswith(UNSERVED_SUFFIXES):
                problems.append(f"{where}.links: {output} cannot be offered as a link: files "
                                f"ending {Path(output).suffix} are never served")
    if "table" in entry:
        problems += validate_table(f"{where}.table", entry["table"], outputs)
    return problems


def declared_outputs(step: Any) -> tuple[str, ...]:
    """A step's `outputs`, from a project.Step or from its mapping in pipeline.yaml."""
    outputs = step.get("outputs", []) if isinstance(step, dict) else step.outputs
    return tuple(output for output in outputs if isinstance(output, str))


def validate_table(where: str, table: Any, outputs: tuple[str, ...]) -> list[str]:
    if isinstance(table, str):
        table = {"file": table}
    if not isinstance(table, dict) or not isinstance(table.get("file"), str):
        return [f"{where}: must be a JSON output's name, or a mapping with `file:` and "
                "optional `labels:` (key: label)"]
    problems = check_keys(where, table, TABLE_KEYS, ())
    problems += check_output(where, table["file"], outputs)
    labels = table.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        problems.append(f"{where}.labels: must map keys of the JSON file to the labels shown")
    return problems


def check_keys(where: str, entry: dict, known: set[str], texts: tuple[str, ...]) -> list[str]:
    """Keys that are not `known`, and keys among `texts` whose value is not text; or, for a
    value that is no mapping at all, that alone."""
    if not isinstance(entry, dict):
        return [f"{where}: must be a mapping of {', '.join(sorted(known))}"]
    problems = [f"{where}: unknown key {key!r}; the keys are: {', '.join(sorted(known))}"
                for key in entry if key not in known]
    return problems + [f"{where}.{key}: must be text" for key in texts
                       if key in entry and not isinstance(entry[key], str)]


def check_file(where: str, value: Any, root: Path, suffix: str) -> list[str]:
    if not isinstance(value, str) or not value.endswith(suffix):
        return [f"{where}: must be the path of a {suffix} file, relative to the project"]
    if not (root / value).is_file():
        return [f"{where}: no file {value} in {root}"]
    return []


def check_output(where: str, name: str, outputs: tuple[str, ...]) -> list[str]:
    matches = match_outputs(name, outputs)
    if len(matches) == 1:
        return []
    if not matches:
        return [f"{where}: {name!r} is not an output of the step; its outputs are: "
                f"{', '.join(outputs) or 'none'}"]
    return [f"{where}: {name!r} names several outputs ({', '.join(matches)}); write its "
            "full path as in `outputs:`"]


def match_outputs(name: str, outputs: tuple[str, ...]) -> list[str]:
    """The declared outputs `name` stands for: the one with that path, else by file name."""
    if name in outputs:
        return [name]
    return [output for output in outputs if Path(output).name == name]


def parse_dashboard(section: dict | None, steps: Mapping[str, Any], root: Path) -> DashboardConfig:
    """The configuration of a section that passed validate_dashboard."""
    section = section or {}
    chosen = section.get("steps") or {list(steps)[-1]: None}
    notebook = section.get("notebook")
    return DashboardConfig(
        title=section.get("title", root.name),
        introduction=section.get("introduction", ""),
        notebook=root / notebook if notebook else None,
        steps=tuple(parse_step_view(name, entry, steps[name].outputs, root)
                    for name, entry in chosen.items()),
    )


def parse_step_view(name: str, entry: dict | None, outputs: tuple[str, ...],
                    root: Path) -> StepView:
    if entry is None or not ({"images", "table", "links"} & set(entry)):
        entry = (entry or {}) | default_shown(outputs)

    def resolve(names) -> tuple[str, ...]:
        return tuple(match_outputs(output, outputs)[0] for output in names)

    table = entry.get("table")
    if isinstance(table, str):
        table = {"file": table}
    warm_up = entry.get("warm_up")
    return StepView(
        step=name,
        button=entry.get("button", f"Run {name}"),
        heading=entry.get("heading", f"Parameters of {name}"),
        warm_up=root / warm_up if warm_up else None,
        images=resolve(entry.get("images", [])),
        table=TableView(resolve([table["file"]])[0], dict(table.get("labels", {})))
        if table else None,
        links=resolve(entry.get("links", [])),
    )


def default_shown(outputs: tuple[str, ...]) -> dict[str, list[str]]:
    """Without a say in pipeline.yaml: images shown, the other servable outputs linked."""
    images = [o for o in outputs if o.lower().endswith(IMAGE_SUFFIXES)]
    links = [o for o in outputs if o not in images and not o.lower().endswith(UNSERVED_SUFFIXES)
             and not o.lower().endswith(".json")]
    return {"images": images, "links": links}
