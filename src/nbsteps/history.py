"""Every run of a project, read from its records: listed, filtered, found by id.

Records are read defensively: a file that is not a readable record (a crash mid-write, an
edit by hand, a half-copied folder) becomes a `RecordProblem` naming the file, never an
exception, so one bad file cannot hide the history of every other run. A run's files are
found from the folders and its run id, not from the paths written in its record, which may
come from another machine or a container (`/outputs/...`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nbsteps.errors import UsageError
from nbsteps.project import Project
from nbsteps.records import (
    DIED,
    SUCCEEDED,
    RecordError,
    RunRecord,
    log_path,
    read_record,
    record_path,
)
from nbsteps.records import STATUSES as RECORD_STATUSES

# What `--status` may ask for: what a record says, and `died` for a run whose process is gone.
STATUSES = (*RECORD_STATUSES, DIED)
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
    """(the record, "") or (None, what is wrong with the file): the schema every reader
    applies (records.read_record), and that the file is where its step and run id say."""
    try:
        record = read_record(path)
    except UnicodeDecodeError as error:
        return None, f"cannot read it: {error}"
    except RecordError as error:
        return None, str(error)
    except OSError as error:
        return None, f"cannot read it: {error.strerror or error}"
    if record.step != step:
        return None, f"step {record.step!r} in the folder of {step!r}"
    if record.run_id != path.stem:
        return None, f"run_id {record.run_id!r} in a file named {path.name}"
    return record, ""


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
