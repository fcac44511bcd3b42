"""The keys pipeline.yaml may hold, and the checks it passes when it is loaded.

Every problem is collected, one line each, so a user fixes them all in one go: unknown keys,
values of the wrong type, paths outside the data folder, two steps writing one file, a
cycle, an input that no step writes and that is not marked as supplied by hand. The README's
"pipeline.yaml reference" documents the same keys.
"""

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbsteps.dashboard.config import validate_dashboard
from nbsteps.errors import UsageError
from nbsteps.graph import LATEST, RUN_ID_FIELD, find_cycle, find_dependencies, producer_of
from nbsteps.metrics import check_metrics_entry
from nbsteps.retention import check_retention

TOP_LEVEL_KEYS = ("steps", "dashboard", "retention")
STEP_KEYS = ("notebook", "inputs", "outputs", "kernel", "metrics", "description", "params",
             "fork")
INPUT_KEYS = ("path", "supplied")
STRING_KEYS = ("notebook", "kernel", "metrics", "description", "params")
# Step names become folder names and the prefix of `-p STEP.NAME=VALUE`; `all` is a command.
STEP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
RESERVED_NAMES = ("all",)

# Sections other than `steps` are checked by the module that reads them: a function taking
# the section's value and raising UsageError on the first problem.
SECTION_CHECKS: dict[str, Callable[[Any], object]] = {"retention": check_retention}


def find_problems(spec: Any, root: Path) -> list[str]:
    """Every problem of a parsed pipeline.yaml in project folder `root`, one line each;
    [] when it is valid."""
    if not isinstance(spec, dict):
        return ["the file must be a mapping with a `steps:` key"]
    problems = [
        f"unknown top-level key {key!r}; the keys are {', '.join(TOP_LEVEL_KEYS)}"
        for key in spec if key not in TOP_LEVEL_KEYS
    ]
    problems += check_sections(spec)
    entries = spec.get("steps")
    if not isinstance(entries, dict) or not entries:
        return problems + ["`steps:` must be a mapping of step names to steps, with at least one"]
    for name, entry in entries.items():
        problems += [problem if problem.startswith(f"step {name!r}") else
                     f"step {name!r}: {problem}" for problem in check_step(name, entry, root)]
    if not problems:  # the graph checks need well-formed steps
        problems += check_graph(entries)
    if not problems:  # the page names steps and their outputs: nbsteps.dashboard.config
        problems += validate_dashboard(spec.get("dashboard"), entries, root)
    return problems


def check_sections(spec: dict) -> list[str]:
    problems = []
    for section in TOP_LEVEL_KEYS[1:]:
        value = spec.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            problems.append(f"`{section}:` must be a mapping")
        elif section in SECTION_CHECKS:
            problems += problems_from(SECTION_CHECKS[section], value)
    return problems


def problems_from(check: Callable[..., object], *args: Any) -> list[str]:
    """The problem a check that raises UsageError finds, as a line, or []."""
    try:
        check(*args)
    except UsageError as error:
        return [str(error).removeprefix("pipeline.yaml: ")]
    return []


def check_step(name: Any, entry: Any, root: Path) -> list[str]:
    if not isinstance(name, str) or not STEP_NAME.fullmatch(name) or name in RESERVED_NAMES:
        return ["a step name is letters, digits, `_`, `.` or `-` (and not `all`)"]
    if not isinstance(entry, dict):
        return ["must be a mapping with at least `notebook:`"]
    problems = [
        f"unknown key {key!r}; a step's keys are {', '.join(STEP_KEYS)}"
        for key in entry if key not in STEP_KEYS
    ]
    if "notebook" not in entry:
        problems.append("needs a `notebook:` path (relative to the project folder)")
    elif isinstance(entry["notebook"], str) and not (root / entry["notebook"]).is_file():
        problems.append(f"notebook {entry['notebook']} does not exist in {root}")
    problems += [
        f"`{key}:` must be a string" for key in STRING_KEYS
        if key in entry and not isinstance(entry[key], str) and key != "metrics"
    ]
    if not isinstance(entry.get("fork", True), bool):
        problems.append("`fork:` must be true or false")
    problems += check_outputs(entry.get("outputs") or [])
    problems += check_inputs(entry.get("inputs") or [])
    if isinstance(entry.get("outputs") or [], list):
        problems += problems_from(check_metrics_entry, name, entry.get("metrics"),
                                  tuple(entry.get("outputs") or []))
    return problems


def check_outputs(outputs: Any) -> list[str]:
    if not isinstance(outputs, list):
        return ["`outputs:` must be a list of paths below the data folder"]
    problems = []
    for output in outputs:
        if not isinstance(output, str):
            problems.append(f"output {output!r} must be a path (a string)")
            continue
        problems += check_path(output, "output")
        if output.count(RUN_ID_FIELD) > 1 or (
            RUN_ID_FIELD in output and RUN_ID_FIELD not in output.split("/")[:-1]
        ):
            problems.append(f"output {output}: `{RUN_ID_FIELD}` must be one folder of the "
                            f"path, as in results/{RUN_ID_FIELD}/table.csv")
    return problems


def check_inputs(inputs: Any) -> list[str]:
    if not isinstance(inputs, list):
        return ["`inputs:` must be a list of paths below the data folder"]
    problems = []
    for item in inputs:
        if isinstance(item, dict):
            unknown = [key for key in item if key not in INPUT_KEYS]
            if unknown or not isinstance(item.get("path"), str):
                problems.append(f"input {item!r}: write a path, or {{path: PATH, supplied: "
                                "by hand}} for a file no step writes")
                continue
            supplied = item.get("supplied", True)
            if supplied is False or not isinstance(supplied, bool | str) or supplied == "":
                problems.append(f"input {item['path']}: `supplied:` is true or says where the "
                                "file comes from (by hand, from the lab ...)")
            path = item["path"]
        elif isinstance(item, str):
            path = item
        else:
            problems.append(f"input {item!r} must be a path (a string)")
            continue
        problems += check_path(path, "input")
    return problems


def check_path(path: str, what: str) -> list[str]:
    """Paths name files below the data folder: relative, normalised, never above it."""
    if not path or path.startswith("/") or posixpath.normpath(path) != path.rstrip("/") or (
        path.split("/")[0] == ".."
    ):
        return [f"{what} {path!r} must be a relative path below the data folder, "
                "like raw/table.csv"]
    return []


def check_graph(entries: dict[str, dict]) -> list[str]:
    steps = [GraphStep.from_entry(name, entry) for name, entry in entries.items()]
    problems = check_shared_outputs(steps)
    for step in steps:
        for path in step.inputs:
            if path in step.supplied or producer_of(steps, path) is not None:
                continue
            problems.append(
                f"step {step.name!r}: input {path} is written by no step; add it to the "
                f"`outputs:` of the step that writes it, or mark it as a file you supply: "
                f"`- {{path: {path}, supplied: by hand}}`"
            )
    if problems:
        return problems
    cycle = find_cycle(find_dependencies({step.name: step for step in steps}))
    if cycle:
        reads = ", ".join(f"{reader!r} reads what {writer!r} writes"
                          for reader, writer in zip(cycle, cycle[1:], strict=False))
        return [f"the steps form a cycle: {reads}; no step can run first"]
    return []


def check_shared_outputs(steps: list["GraphStep"]) -> list[str]:
    """Two steps writing one file, or keeping runs in one folder (whose `latest` link each
    would move), would overwrite each other's outputs."""
    problems = []
    files: dict[str, str] = {}  # output (`latest` form for per-run ones) -> its step
    run_folders: dict[str, str] = {}  # the folder holding per-run folders -> its step
    for step in steps:
        for output in dict.fromkeys(step.outputs):
            key = output.replace(RUN_ID_FIELD, LATEST)
            if files.setdefault(key, step.name) != step.name:
                problems.append(f"steps {files[key]!r} and {step.name!r} both write {output}; "
                                "give each output to one step")
                continue
            if RUN_ID_FIELD in output:
                folder = output.split(RUN_ID_FIELD)[0]
                if run_folders.setdefault(folder, step.name) != step.name:
                    problems.append(
                        f"steps {run_folders[folder]!r} and {step.name!r} both keep runs in "
                        f"{folder or 'the data folder'}; give each step a folder of its own"
                    )
    return problems


@dataclass(frozen=True)
class GraphStep:
    """The parts of a step the graph checks read, taken from its raw entry."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    supplied: dict[str, str]

    @classmethod
    def from_entry(cls, name: str, entry: dict) -> "GraphStep":
        inputs, supplied = read_inputs(entry.get("inputs") or [])
        return cls(name, inputs, tuple(entry.get("outputs") or []), supplied)


def read_inputs(items: list) -> tuple[tuple[str, ...], dict[str, str]]:
    """(the input paths, {path: where it comes from} for those supplied by hand)."""
    paths, supplied = [], {}
    for item in items:
        if isinstance(item, dict):
            paths.append(item["path"])
            note = item.get("supplied", True)
            supplied[item["path"]] = "by hand" if note is True else str(note)
        else:
            paths.append(item)
    return tuple(paths), supplied
