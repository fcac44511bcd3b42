"""Decide whether a step must run: what it depends on, and whether an earlier run still fits.

A step's fingerprint lists everything its outputs depend on: the notebook, the local modules
it imports, its parameters, the content of its inputs (and of any local file a parameter
names), the upstream run that produced each input, and the installed packages. A step is
skipped only when an earlier successful run has the same fingerprint and its outputs are
still there, byte for byte.
"""

import functools
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from nbsteps import remote
from nbsteps.inputs import ResolvedInput
from nbsteps.notebook import StepNotebook
from nbsteps.project import Project, Step
from nbsteps.records import SKIPPED, SUCCEEDED, RunRecord, hash_file, read_history


def fingerprint_step(
    project: Project, notebook: StepNotebook, values: dict[str, Any],
    inputs: list[ResolvedInput],
) -> dict[str, Any]:
    """Inputs are keyed by the file read (in the upstream run's folder for a per-run one)."""
    return {
        "notebook": notebook.sha256,
        "modules": {module.path.name: module.sha256 for module in notebook.local_modules},
        "parameters": values,
        "data_dir": str(project.folders.data),
        "inputs": {i.relative: i.sha256 for i in inputs},
        "files": {
            name: hash_file(p) for name, p in find_file_parameters(notebook.path.parent, values)
        },
        "remote": remote.check_remote_sources(values, known_validators(project, notebook)),
        # The fingerprint of the run that wrote each input, so a change upstream reruns.
        "upstream": {
            i.relative: digest(i.upstream.fingerprint) if i.upstream else None for i in inputs
        },
        "environment": environment_digest(),
    }


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def find_file_parameters(folder: Path, values: dict[str, Any]) -> list[tuple[str, Path]]:
    """Parameters naming a local file (a path given as `source`) are inputs too; `folder`
    is the notebook's, where its kernel works."""
    files = []
    for name, value in values.items():
        candidates = value if isinstance(value, list) else [value]
        for index, candidate in enumerate(candidates):
            if not isinstance(candidate, str) or "://" in candidate or not candidate:
                continue
            path = resolve_parameter_path(folder, candidate)
            if path is not None and path.is_file():
                files.append((f"{name}[{index}]" if isinstance(value, list) else name, path))
    return files


def resolve_parameter_path(folder: Path, text: str) -> Path | None:
    """The file a path-valued parameter names, found as the kernel finds it: the kernel
    works in the notebook's folder, so a relative path is relative to that folder (not to
    the project root, nor to where nbsteps was started). None if it is no path at all."""
    try:
        path = Path(text).expanduser()
        return path if path.is_absolute() else folder / path
    except (ValueError, RuntimeError):  # a NUL byte, an unknown ~user
        return None


def known_validators(project: Project, notebook: StepNotebook) -> dict[str, dict]:
    """ETag and Last-Modified of each URL, as the newest successful run found them."""
    steps = [name for name, step in project.steps.items() if step.notebook == notebook.path]
    for record in read_history(project.folders.outputs, steps):
        if record.status in (SUCCEEDED, SKIPPED) and isinstance(record.fingerprint, dict):
            found = record.fingerprint.get("remote")
            if isinstance(found, dict) and found:
                return found
    return {}


def check_inputs_unchanged(step: Step, fingerprint: dict[str, Any], data: Path) -> str | None:
    """What changed among the step's inputs since the run hashed them at its start, if any:
    another run (an upstream step finishing during this one) may replace a file this run
    read, and the record must not list a digest of data the run never saw."""
    for relative, digest_then in fingerprint.get("inputs", {}).items():
        path = data / relative
        if not path.is_file() or hash_file(path) != digest_then:
            return f"input {relative} changed while {step.name} ran; run it again"
    folder = step.notebook.parent
    files = dict(find_file_parameters(folder, fingerprint.get("parameters", {})))
    for name, digest_then in fingerprint.get("files", {}).items():
        path = files.get(name)
        if path is None or hash_file(path) != digest_then:
            return f"the file parameter {name} names changed while {step.name} ran; run it again"
    return None


@functools.cache
def environment_digest() -> str:
    """Python and every installed distribution with its version."""
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    return digest([platform.python_version(), packages])


def find_reusable_run(
    project: Project, step: Step, fingerprint: dict[str, Any]
) -> tuple[RunRecord | None, str]:
    """(an earlier run whose outputs are current, or None; why the step must run)."""
    done = [
        r
        for r in read_history(project.folders.outputs, [step.name])
        if r.status in (SUCCEEDED, SKIPPED) and r.fingerprint
    ]
    if not done:
        return None, "first run"
    for record in done:
        if record.fingerprint == fingerprint:
            damaged = find_damaged_output(project, record)
            if damaged is None:
                return record, "up to date"
            return None, f"output {damaged} is missing or changed"
    return None, describe_change(done[0].fingerprint, fingerprint)


def find_damaged_output(project: Project, record: RunRecord) -> str | None:
    for output in record.outputs:
        path = project.folders.data / output["path"]
        if not path.is_file() or hash_file(path) != output["sha256"]:
            return output["path"]
    return None


def describe_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Why the step runs again, in words: "parameter k changed", "notebook changed", ..."""
    reasons = []
    changed_parameters = sorted(
        name
        for name in old.get("parameters", {}).keys() | new["parameters"].keys()
        if old.get("parameters", {}).get(name) != new["parameters"].get(name)
    )
    if changed_parameters:
        word = "parameter" if len(changed_parameters) == 1 else "parameters"
        reasons.append(f"{word} {', '.join(changed_parameters)} changed")
    labels = {
        "notebook": "notebook changed",
        "modules": "imported module changed",
        "inputs": "input changed",
        "files": "input file changed",
        "remote": "remote source changed",
        "upstream": "upstream step changed",
        "environment": "environment changed",
        "data_dir": "data folder changed",
    }
    reasons += [text for key, text in labels.items() if old.get(key) != new.get(key)]
    return ", ".join(reasons) or "fingerprint changed"
