"""Every run of a project, read from its records: listed, filtered, found by id.

Records are read defensively: a file that is not a readable record (a crash mid-write, an
edit by hand, a half-copied folder) becomes a `RecordProblem` naming the file, never an
exception, so one bad file cannot hide the history of every other run. A run's files are
found from the folders and its run id, not from the paths written in its record, which may
come from another machine or a container (`/outputs/...`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nbsteps.errors import UsageError
from nbsteps.project import Project
from nbsteps.records import (
    CANCELLED,
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    RunRecord,
    log_path,
    record_path,
)

STATUSES = (SUCCEEDED, FAILED, CANCELLED, SKIPPED, RUNNING)
LATEST = "latest.json"


@dataclass(frozen=True)
class RecordProblem:
    path: Path
    problem: str

    def describe(self) -> str:
        return f"{self.path} is not a readable run record ({self.problem})"


@dataclass
class Runs:
    """All readable records, newest first, and the files that could not be read."""

    records: list[RunRecord] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)

    def by_id(self) -> dict[str, RunRecord]:
        return {record.run_id: record for record in self.records}

    @functools.cached_property
    def first_writers(self) -> dict[tuple[str, str], RunRecord]:
        """(data path, sha256) -> the earliest successful run whose outputs had them.
        Computed once, when the records are all read."""
        writers: dict[tuple[str, str], RunRecord] = {}
        for record in reversed(self.records):  # oldest first: the first one stays
            if record.status == SUCCEEDED:
                for output in record.outputs:
                    writers.setdefault((output["path"], output["sha256"]), record)
        return writers


@dataclass(frozen=True)
class RunFiles:
    """Where one run's files are. A skipped run shows the notebook of the run it reused."""

    record: Path
    notebook: Path
    html: Path
    log: Path
    data_folders: tuple[Path, ...]


def load_runs(project: Project, steps: list[str] | None = None) -> Runs:
    runs = Runs()
    for step in steps or list(project.steps):
        for path in sorted((project.folders.outputs / step).glob("*.json")):
            if path.name == LATEST:
                continue
            record, problem = read_checked_record(path, step)
            if record is None:
                runs.problems.append(RecordProblem(path, problem))
            else:
                runs.records.append(record)
    runs.records.sort(key=lambda record: record.started, reverse=True)
    return runs


def list_runs(
    project: Project, step: str | None = None, status: str | None = None,
    limit: int | None = None,
) -> list[RunRecord]:
    """Runs newest first, of one step or all, of one status or any; at most `limit`."""
    return filter_runs(load_runs(project, check_step(project, step)).records, status, limit)


def filter_runs(records: list[RunRecord], status: str | None, limit: int | None):
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}; the statuses are: {', '.join(STATUSES)}")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be 1 or more (got {limit})")
    chosen = [record for record in records if status is None or record.status == status]
    return chosen[:limit] if limit is not None else chosen


def check_step(project: Project, step: str | None) -> list[str] | None:
    if step is None:
        return None
    project.step(step)  # raises, listing the steps, for an unknown name
    return [step]


def find_run(project: Project, run_id: str, runs: Runs | None = None) -> RunRecord:
    """The run with this id; a usage error saying why when there is none."""
    runs = runs or load_runs(project)
    found = runs.by_id().get(run_id)
    if found is not None:
        return found
    for problem in runs.problems:
        if problem.path.stem == run_id:
            raise UsageError(problem.describe())
    hint = "`nbsteps history` lists the runs"
    raise UsageError(f"no run {run_id!r} in {project.folders.outputs}; {hint}")


def read_checked_record(path: Path, step: str) -> tuple[RunRecord | None, str]:
    """(the record, "") or (None, what is wrong with the file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot read it: {error}"
    except ValueError as error:
        return None, f"not valid JSON: {error}"
    if not isinstance(data, dict):
        return None, "not a JSON object"
    try:
        record = RunRecord.from_json(json.dumps(data))
    except TypeError as error:
        return None, f"fields missing: {error}"
    problem = record_problem(record, path, step)
    return (None, problem) if problem else (record, "")


def record_problem(record: RunRecord, path: Path, step: str) -> str | None:
    """What in a parsed record cannot be trusted, or None."""
    checks = [
        (record.step == step, f"step {record.step!r} in the folder of {step!r}"),
        (record.run_id == path.stem, f"run_id {record.run_id!r} in a file named {path.name}"),
        (record.status in STATUSES, f"unknown status {record.status!r}"),
        (is_timestamp(record.started), f"started {record.started!r} is not a time"),
        (isinstance(record.parameters, dict), "parameters is not a mapping"),
        (is_file_list(record.inputs) and is_file_list(record.outputs),
         "inputs or outputs are not lists of files with path and sha256"),
        (isinstance(record.metrics, dict), "metrics is not a mapping"),
        (isinstance(record.cells, list) and all(is_cell(c) for c in record.cells),
         "cells is not a list of {index, seconds, peak_rss_mb}"),
        (all(value is None or isinstance(value, int | float)
             for value in (record.duration_s, record.peak_rss_mb)),
         "duration_s or peak_rss_mb is not a number"),
    ]
    return next((problem for ok, problem in checks if not ok), None)


def is_timestamp(value: object) -> bool:
    try:
        datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def is_cell(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("index"), int) and all(
        value.get(key) is None or isinstance(value.get(key), int | float)
        for key in ("seconds", "peak_rss_mb"))


def is_file_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("path"), str)
        and isinstance(item.get("sha256"), str)
        for item in value
    )


def run_files(project: Project, record: RunRecord) -> RunFiles:
    owner = record.reused_run or record.run_id  # a skip's notebook and data are its origin's
    folder = project.folders.outputs / record.step
    step = project.step(record.step)
    return RunFiles(
        record=record_path(project.folders.outputs, record.step, record.run_id),
        notebook=folder / f"{owner}.ipynb",
        html=folder / f"{owner}.html",
        log=log_path(project.folders.logs, record.step, record.run_id),
        data_folders=tuple(step.run_folders(project.folders.data, owner)),
    )


def started_at(record: RunRecord) -> datetime:
    return datetime.fromisoformat(record.started)
