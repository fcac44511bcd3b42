"""Which run wrote a data file, and the runs that wrote its inputs, back to the source.

The writer of a file is the earliest successful run whose recorded outputs have this path
with this content (sha256): later runs that were skipped as up to date reuse it, they did
not write it, and a run that wrote the same bytes again later is not where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbsteps.errors import UsageError
from nbsteps.history import Runs, load_runs
from nbsteps.project import Project
from nbsteps.records import SKIPPED, SUCCEEDED, RunRecord, hash_file


@dataclass
class Origin:
    """A run that wrote `path`, and for each of its inputs the run that wrote that one."""

    path: str
    sha256: str
    record: RunRecord | None  # None: no run wrote this content
    inputs: list[Origin] = field(default_factory=list)
    reused_by: list[str] = field(default_factory=list)  # skipped runs that reused it
    traced_above: bool = False  # its run was traced already, through another input


@dataclass
class FileTrace:
    path: Path  # the file asked about
    origin: Origin | None  # None when it is not a data file of a run (a notebook, a log)
    last_writer: RunRecord | None = None  # when no run wrote this content: who wrote the path
    problems: list = field(default_factory=list)  # records that could not be read


def trace_file(project: Project, path: Path) -> FileTrace:
    """The chain of runs behind a file under the data folder (or the run of an executed
    notebook, HTML copy, record or log)."""
    path = path.resolve()
    if not path.is_file():
        raise UsageError(f"no file {path}")
    runs = load_runs(project)
    own = run_of_run_file(project, path, runs)
    if own is not None:
        origin = trace_run(runs, Origin(str(path), "", own), seen=set())
        return FileTrace(path, origin, problems=runs.problems)
    data = project.folders.data
    if not path.is_relative_to(data):
        raise UsageError(f"{path} is not under the data folder {data}, nor a run's notebook, "
                         "record or log: `which` traces the files runs write")
    relative = str(path.relative_to(data))
    origin = trace_output(runs, relative, hash_file(path), seen=set())
    last = None if origin.record else last_writer_of(runs, relative)
    return FileTrace(path, origin, last, runs.problems)


def trace_output(runs: Runs, relative: str, sha256: str, seen: set[str]) -> Origin:
    return trace_run(runs, Origin(relative, sha256, find_writer(runs, relative, sha256)), seen)


def trace_run(runs: Runs, origin: Origin, seen: set[str]) -> Origin:
    """Fill in who reused the origin's run and, recursively, the writers of its inputs."""
    writer = origin.record
    if writer is None:
        return origin
    if writer.run_id in seen:  # two inputs from one run (or a loop in hand-edited records)
        origin.traced_above = True
        return origin
    seen.add(writer.run_id)
    origin.reused_by = [r.run_id for r in runs.records
                        if r.status == SKIPPED and r.reused_run == writer.run_id]
    origin.inputs = [trace_output(runs, item["path"], item["sha256"], seen)
                     for item in writer.inputs]
    return origin


def find_writer(runs: Runs, relative: str, sha256: str) -> RunRecord | None:
    """The earliest successful run that wrote this content at this path."""
    return runs.first_writers.get((relative, sha256))


def last_writer_of(runs: Runs, relative: str) -> RunRecord | None:
    """The newest successful run that wrote this path at all, whatever the content."""
    return next((record for record in runs.records if record.status == SUCCEEDED
                 and any(o["path"] == relative for o in record.outputs)), None)


def run_of_run_file(project: Project, path: Path, runs: Runs) -> RunRecord | None:
    """The run whose notebook, HTML copy, record or log this is, if it is one."""
    folders = (project.folders.outputs, project.folders.logs)
    if not any(path.is_relative_to(folder) for folder in folders):
        return None
    return runs.by_id().get(path.name.split(".")[0])


def upstream_runs(runs: Runs, record: RunRecord) -> dict[str, RunRecord | None]:
    """For each input of a run, the run that wrote the content it read."""
    return {item["path"]: find_writer(runs, item["path"], item["sha256"])
            for item in record.inputs}
