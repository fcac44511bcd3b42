"""Where a run's files are on this machine, and the page-relative URLs that serve them.

Records keep the paths of the machine that wrote them (`/outputs/<step>/<run>.html` from a
container, `/home/.../outputs/...` from a laptop). The page finds files by name in this
project's own folders instead, so a run from compose links the same as one from the page.
"""

import re
from pathlib import Path

from nbsteps.dashboard.server import NAME_PATTERN, file_url
from nbsteps.errors import MissingInputError
from nbsteps.inputs import locate_input
from nbsteps.project import RUN_ID_FIELD, Project, Step
from nbsteps.records import RunRecord, log_path

# Bytes read from the end of a log to find its last lines: a long run's log is not re-read.
LOG_TAIL_BYTES = 16_384


def find_html(project: Project, record: RunRecord) -> Path | None:
    """The record's executed notebook as HTML, in outputs/<step>/, if it is there."""
    path = project.folders.outputs / record.step / Path(record.html).name
    return path if path.is_file() else None


def html_url(project: Project, record: RunRecord) -> str | None:
    path = find_html(project, record)
    return file_url(project, "outputs", f"{record.step}/{path.name}") if path else None


def find_output(record: RunRecord, output: str) -> str | None:
    """The data-relative path of the record's file for the declared `output` (the run's own,
    or for a skipped run the reused run's)."""
    pattern = output_pattern(output)
    for described in record.outputs:
        if re.fullmatch(pattern, described["path"]):
            return described["path"]
    return None


def output_pattern(output: str) -> str:
    """A regular expression for the paths a declared output takes, `{run_id}` any run id."""
    return NAME_PATTERN.join(re.escape(part) for part in output.split(RUN_ID_FIELD))


def output_url(project: Project, record: RunRecord, output: str) -> str | None:
    relative = find_output(record, output)
    return file_url(project, "data", relative) if relative else None


def read_output_bytes(project: Project, record: RunRecord, output: str) -> bytes | None:
    relative = find_output(record, output)
    return read_data_file(project, relative) if relative else None


def read_run_output(project: Project, output: str, run_id: str) -> bytes | None:
    """The declared `output` as the run `run_id` wrote it (before it is recorded)."""
    return read_data_file(project, output.replace(RUN_ID_FIELD, run_id))


def read_data_file(project: Project, relative: str) -> bytes | None:
    try:
        return (project.folders.data / relative).read_bytes()
    except OSError:
        return None


def read_run_log(project: Project, step: str, run_id: str, lines: int) -> list[str]:
    """The last `lines` lines of a run's log (read about twice a second while it runs)."""
    try:
        log = log_path(project.folders.logs, step, run_id)
        with log.open("rb") as stream:
            stream.seek(max(0, log.stat().st_size - LOG_TAIL_BYTES))
            text = stream.read().decode("utf-8", errors="replace")
    except (OSError, ValueError, TypeError):
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def find_missing_inputs(project: Project, step: str) -> list[str]:
    """The step's declared inputs (paths below the data folder) that are not there."""
    return [declared for declared in project.step(step).inputs
            if not input_is_there(project, project.step(step), declared)]


def input_is_there(project: Project, step: Step, declared: str) -> bool:
    """Whether the file an input stands for now (a per-run one in its producer's current
    run) is there."""
    try:
        relative, _ = locate_input(project, step, declared)
    except MissingInputError:
        return False
    return (project.folders.data / relative).is_file()


def find_upstream_steps(project: Project, step: str) -> list[str]:
    """The steps that make `step`'s inputs, and theirs, in pipeline order."""
    needed: set[str] = set()
    pending = [step]
    while pending:
        for relative in project.step(pending.pop()).inputs:
            producer = project.producer_of(relative)
            if producer and producer not in needed:
                needed.add(producer)
                pending.append(producer)
    return [name for name in project.steps if name in needed]
