"""The files a step reads, found before it runs, and the upstream run each one comes from.

An input that refers to another step's per-run output (`out/latest/table.csv` or
`out/{run_id}/table.csv` for an output declared `out/{run_id}/table.csv`) resolves to the
producing step's current run: the one its `out/latest` link points at, which is its newest
run that succeeded (or the run whose outputs its newest skipped run reused). The notebook
reads it through `latest` (or the path nbsteps resolved); the record names that run.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from nbsteps.errors import MissingInputError
from nbsteps.graph import LATEST, RUN_ID_FIELD, refers_to
from nbsteps.project import Project, Step
from nbsteps.records import SKIPPED, SUCCEEDED, RunRecord, hash_file, read_history


@dataclass(frozen=True)
class ResolvedInput:
    declared: str  # as pipeline.yaml writes it
    relative: str  # the file read, below the data folder (in one run's folder if per-run)
    path: Path
    sha256: str
    producer: str | None  # the step that writes it; None for a file supplied by hand
    run_id: str | None  # the producer's run it comes from, when known
    upstream: RunRecord | None  # that run's record (or of a run that reused its outputs)


def resolve_inputs(project: Project, step: Step) -> list[ResolvedInput]:
    """Every input of `step`, checked to exist; MissingInputError says what to do if not."""
    return [resolve_input(project, step, declared) for declared in step.inputs]


def resolve_input(project: Project, step: Step, declared: str) -> ResolvedInput:
    producer = project.producer_of(declared)
    relative, run_id = locate_input(project, step, declared)
    path = project.folders.data / relative
    if not path.is_file():
        raise MissingInputError(f"{step.name}: input {path} is missing; "
                                f"{missing_hint(step, declared, producer)}")
    sha256 = hash_file(path)
    upstream = find_upstream_record(project, producer, relative, sha256) if producer else None
    if run_id is None and upstream is not None:
        run_id = upstream.reused_run or upstream.run_id
    return ResolvedInput(declared, relative, path, sha256, producer, run_id, upstream)


def locate_input(project: Project, step: Step, declared: str) -> tuple[str, str | None]:
    """(the file below the data folder that `declared` stands for now, the producer's run
    id when it is a per-run output); reads no file, so the dashboard can ask it often.
    MissingInputError when a per-run input's producer has no successful run yet."""
    producer = project.producer_of(declared)
    output = per_run_output(project.step(producer), declared) if producer else None
    if output is None:
        return declared, None
    run_id = current_run(project, output)
    if run_id is None:
        raise MissingInputError(
            f"{step.name}: input {declared} comes from a run of {producer}, which has "
            f"no successful run yet; run `nbsteps run {producer}` first"
        )
    return output.replace(RUN_ID_FIELD, run_id), run_id


def per_run_output(producer: Step, declared: str) -> str | None:
    """The `{run_id}` output of `producer` that `declared` names, if it names one."""
    for output in producer.outputs:
        if RUN_ID_FIELD in output and (declared == output or refers_to(declared, output)):
            return output
    return None


def current_run(project: Project, output: str) -> str | None:
    """The run id the `latest` link beside a per-run output's folders points at."""
    link = project.folders.data / output.split(RUN_ID_FIELD)[0] / LATEST
    try:
        return os.path.basename(os.readlink(link))
    except OSError:
        return None


def find_upstream_record(
    project: Project, producer: str, relative: str, sha256: str
) -> RunRecord | None:
    """The newest succeeded (or skipped) record of `producer` listing this output."""
    for record in read_history(project.folders.outputs, [producer]):
        if record.status in (SUCCEEDED, SKIPPED) and any(
            o["path"] == relative and o["sha256"] == sha256 for o in record.outputs
        ):
            return record
    return None


def missing_hint(step: Step, declared: str, producer: str | None) -> str:
    if producer is not None:
        return f"run `nbsteps run {producer}` first"
    return f"it is a file you supply ({step.supplied.get(declared, 'by hand')}): put it there"
