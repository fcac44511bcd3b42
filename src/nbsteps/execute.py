"""Run one step: check its parameters and inputs, execute its notebook with papermill, record it.

Success is decided by papermill's exception (or its absence), never by reading the executed
notebook: a killed kernel or a timed-out cell leaves no error marker in it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbsteps import export, freshness
from nbsteps.errors import EXIT_CANCELLED, EXIT_FAILED, EXIT_KERNEL_DIED, MissingInputError
from nbsteps.kernels import KernelPrestarter, start_kernel
from nbsteps.notebook import count_code_cells
from nbsteps.parameters import RUNNER_PARAMETERS, read_parameters, read_params_file, resolve_values
from nbsteps.project import Project, Step

if TYPE_CHECKING:
    from jupyter_client import AsyncKernelManager

from nbsteps.records import (
    CANCELLED,
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    RunRecord,
    describe_file,
    link_latest,
    log_path,
    write_record,
)

log = logging.getLogger("nbsteps")
log.setLevel(logging.INFO)  # run logs keep the runner's INFO lines whoever embeds it

# After a cancel, the kernel gets this long to stop at an interrupt before it is killed:
# a cell stuck in compiled code (a long t-SNE) does not see KeyboardInterrupt.
CANCEL_GRACE_S = 3.0


@dataclass(frozen=True)
class Progress:
    step: str
    run_id: str
    cell: int  # 1-based index of the code cell now running
    cells: int
    elapsed_s: float


ProgressCallback = Callable[[Progress], None]


def new_run_id(step: str) -> str:
    """`<step>_<UTC date>_<time>_<4 hex>`: step and time at a glance, unique under concurrency."""
    return f"{step}_{datetime.now(UTC):%Y-%m-%d_%H-%M-%S}_{secrets.token_hex(2)}"


def resolve_parameters(step: Step, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults from the notebook, then params/<step>.yaml, then the overrides; all checked."""
    declared = read_parameters(step.notebook)
    chosen = resolve_values(
        declared,
        (str(step.params_file.name), read_params_file(step.params_file)),
        ("-p", overrides),
    )
    defaults = {n: p.default for n, p in declared.items() if n not in RUNNER_PARAMETERS}
    return defaults | chosen


def check_inputs(project: Project, step: Step) -> list[Path]:
    paths = [project.folders.data / relative for relative in step.inputs]
    for relative, path in zip(step.inputs, paths, strict=True):
        if not path.is_file():
            producer = project.producer_of(relative)
            hint = f"run `nbsteps run {producer}` first" if producer else "put it there first"
            raise MissingInputError(f"{step.name}: input {path} is missing; {hint}")
    return paths


def run_step(
    project: Project,
    step_name: str,
    overrides: dict[str, Any] | None = None,
    *,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    kernel: AsyncKernelManager | None = None,
    progress_bar: bool = False,
    publish_html: Callable[[RunRecord], None] | None = None,
    kernels: KernelPrestarter | None = None,
    on_execute: Callable[[], None] | None = None,
) -> RunRecord:
    """Run one step and return its record; raises only when nothing ran (bad input).

    The HTML copy is written before returning, unless `publish_html` takes it over (the
    pipeline hands it to the HTML worker process so the next step need not wait for it).
    """
    step = project.step(step_name)
    values = resolve_parameters(step, overrides or {})
    inputs = check_inputs(project, step)
    fingerprint = freshness.fingerprint_step(project, step, values, inputs)
    previous, reason = freshness.find_reusable_run(project, step, fingerprint)
    run_id = new_run_id(step.name)
    record = start_record(project, step, run_id, values, fingerprint, reason)
    if previous is not None and not force:
        return finish_skipped(project, record, previous)
    if force and previous is not None:
        record.reason = "forced (--force)"
    if kernels is not None and kernel is None:
        kernels.prepare(step.name)  # starts while papermill is imported
    if on_execute is not None:
        on_execute()
    return execute_record(
        project, step, record, on_progress, cancel, kernel, progress_bar, publish_html, kernels
    )


def start_record(
    project: Project,
    step: Step,
    run_id: str,
    values: dict[str, Any],
    fingerprint: dict[str, Any],
    reason: str,
) -> RunRecord:
    folder = project.folders.outputs / step.name
    folder.mkdir(parents=True, exist_ok=True)
    return RunRecord(
        step=step.name,
        run_id=run_id,
        status=RUNNING,
        started=datetime.now(UTC).isoformat(timespec="milliseconds"),
        parameters=values,
        notebook=str(folder / f"{run_id}.ipynb"),
        html=str(folder / f"{run_id}.html"),
        log=str(log_path(project.folders.logs, step.name, run_id)),
        fingerprint=fingerprint,
        reason=reason,
    )


def finish_skipped(project: Project, record: RunRecord, previous: RunRecord) -> RunRecord:
    origin = previous.reused_run or previous.run_id
    record.status = SKIPPED
    record.reused_run = origin
    record.reason = f"up to date: outputs of {origin}"
    record.notebook, record.html = previous.notebook, previous.html
    record.inputs, record.outputs = previous.inputs, previous.outputs
    record.exit_code = 0
    step = project.step(record.step)
    for folder in step.run_folders(project.folders.data, origin):
        link_latest(folder, folder.parent / "latest")
    close_record(project, record, time.monotonic())
    log.info("%s skipped: up to date (outputs of %s)", record.step, origin)
    return record


def execute_record(
    project: Project,
    step: Step,
    record: RunRecord,
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
    kernel: AsyncKernelManager | None,
    progress_bar: bool,
    publish_html: Callable[[RunRecord], None] | None,
    kernels: KernelPrestarter | None,
) -> RunRecord:
    started = time.monotonic()
    cancel = cancel or threading.Event()
    write_record(project.folders.outputs, record)
    log_path = Path(record.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The run log gets the runner's lines too, from "started" to the outcome.
    with log_path.open("a", encoding="utf-8", buffering=1) as log_stream:
        handler = attach_log_file(log_stream)
        try:
            log.info("%s started (run %s): %s", step.name, record.run_id, record.reason)
            outcome = execute_notebook(project, step, record, log_stream, on_progress, cancel,
                                       kernel, progress_bar, kernels)
            record.status, record.exit_code, record.error = outcome
            if record.status == SUCCEEDED:
                collect_outputs(project, step, record)
            if record.status != SUCCEEDED:
                remove_partial_outputs(project, step, record.run_id)
            close_record(project, record, started)
            report_outcome(record)
        finally:
            logging.getLogger().removeHandler(handler)
    (publish_html or export.publish_html)(record)
    return record


def attach_log_file(stream) -> logging.Handler:
    """Send this thread's log lines (runner and papermill) to the run's log file."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    thread = threading.get_ident()
    handler.addFilter(lambda entry: entry.thread == thread)
    logging.getLogger().addHandler(handler)
    return handler


def execute_notebook(
    project: Project,
    step: Step,
    record: RunRecord,
    log_stream,
    on_progress: ProgressCallback | None,
    cancel: threading.Event,
    kernel: AsyncKernelManager | None,
    progress_bar: bool,
    kernels: KernelPrestarter | None,
) -> tuple[str, int, str | None]:
    """(status, exit code, error line) of one papermill execution."""
    # Imported here: papermill (with nbformat's schema validation) takes a second or more
    # to import, which a run whose every step is up to date should not pay.
    import papermill
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    parameters = dict(record.parameters)
    declared = read_parameters(step.notebook)
    runner_values = {"data_dir": str(project.folders.data), "run_id": record.run_id}
    parameters |= {name: value for name, value in runner_values.items() if name in declared}
    km = kernel or (kernels.take(step.name) if kernels else None)
    km = km or start_kernel(step.notebook, log_stream)
    done = threading.Event()
    watcher = threading.Thread(target=stop_kernel_on_cancel, args=(km, cancel, done), daemon=True)
    watcher.start()
    try:
        papermill.execute_notebook(
            str(step.notebook),
            record.notebook,
            parameters=parameters,
            kernel_name=km.kernel_name,
            language="python",
            km=km,
            progress_bar=progress_bar,
            log_output=False,  # cell output goes to the run log through the two files below
            stdout_file=log_stream,
            stderr_file=log_stream,
            on_cell_start=progress_reporter(step, record, on_progress),
        )
        outcome = (SUCCEEDED, 0, None)
    except PapermillExecutionError as error:
        where = f"In [{error.exec_count}]" if error.exec_count else f"cell {error.cell_index + 1}"
        outcome = (FAILED, EXIT_FAILED, f"{record.step} failed at {where}: {error.ename}: "
                   f"{first_line(error.evalue)}")
    except DeadKernelError:
        outcome = (FAILED, EXIT_KERNEL_DIED, f"{record.step}: the kernel died (out of memory, "
                   "or killed); see the log and the executed notebook")
    except Exception as error:  # papermill or nbclient refused to run: still record it
        outcome = (FAILED, EXIT_FAILED, f"{record.step}: {type(error).__name__}: "
                   f"{first_line(str(error))}")
    finally:
        done.set()
        run_sync(km.shutdown_kernel)(now=True)
    if cancel.is_set():
        return (CANCELLED, EXIT_CANCELLED, f"{record.step} cancelled")
    return outcome


def stop_kernel_on_cancel(km: AsyncKernelManager, cancel: threading.Event, done: threading.Event):
    """Interrupt the kernel when the run is cancelled; kill it if it does not stop in time.

    Signals go straight to the kernel's process group: this runs on its own thread, while
    the kernel manager belongs to the event loop of the thread executing the notebook.
    """
    while not done.is_set():
        if cancel.wait(0.2):
            break
    if done.is_set():
        return
    signal_kernel(km, signal.SIGINT)
    if not done.wait(CANCEL_GRACE_S):
        signal_kernel(km, signal.SIGKILL)


def signal_kernel(km: AsyncKernelManager, signum: int) -> None:
    pid = getattr(km.provisioner, "pid", None)
    if pid is None:
        return
    # The kernel leads its own session (jupyter_client starts it so); it may be gone already.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def progress_reporter(step: Step, record: RunRecord, on_progress: ProgressCallback | None):
    """An nbclient on_cell_start hook that reports "code cell i of n" with elapsed seconds."""
    started = time.monotonic()
    # papermill adds one code cell, the injected parameters, to the notebook's own.
    total = count_code_cells(step.notebook) + 1
    position = 0

    def on_cell_start(cell, cell_index):
        nonlocal position
        if cell.cell_type != "code" or not cell.source.strip():
            return
        position += 1
        if on_progress is not None:
            elapsed = time.monotonic() - started
            on_progress(Progress(record.step, record.run_id, position, total, elapsed))

    return on_cell_start


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def collect_outputs(project: Project, step: Step, record: RunRecord) -> None:
    """List the declared outputs with their digests; a missing one fails the step."""
    data = project.folders.data
    record.inputs = [describe_file(data / p, data) for p in step.inputs]
    missing = [p for p in step.output_paths(data, record.run_id) if not p.is_file()]
    if missing:
        record.status, record.exit_code = FAILED, EXIT_FAILED
        record.error = f"{step.name} finished but did not write {missing[0]}"
        return
    record.outputs = [describe_file(p, data) for p in step.output_paths(data, record.run_id)]
    for folder in step.run_folders(data, record.run_id):
        link_latest(folder, folder.parent / "latest")


def remove_partial_outputs(project: Project, step: Step, run_id: str) -> None:
    """A failed or cancelled run leaves nothing where the next step would read."""
    data = project.folders.data
    for folder in step.run_folders(data, run_id):
        shutil.rmtree(folder, ignore_errors=True)
    for parent in {path.parent for path in step.output_paths(data, run_id)}:
        if parent.is_dir():
            for temporary in parent.glob(".*.tmp"):
                temporary.unlink(missing_ok=True)


def close_record(project: Project, record: RunRecord, started: float) -> None:
    record.ended = datetime.now(UTC).isoformat(timespec="milliseconds")
    record.duration_s = round(time.monotonic() - started, 3)
    folder = project.folders.outputs / record.step
    write_record(project.folders.outputs, record)
    link_latest(folder / f"{record.run_id}.json", folder / "latest.json")
    for path, link in ((record.notebook, "latest.ipynb"), (record.html, "latest.html")):
        if Path(path).exists():  # a skipped run points at the files of the run it reuses
            link_latest(Path(path), folder / link)


def report_outcome(record: RunRecord) -> None:
    if record.status == SUCCEEDED:
        log.info("%s succeeded in %.1f s: %s", record.step, record.duration_s, record.html)
    else:
        log.error("%s: %s (executed notebook: %s)", record.status, record.error, record.html)
