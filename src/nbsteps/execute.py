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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbsteps import cellstats, export, freshness, leftovers, metrics
from nbsteps.errors import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_KERNEL_DIED,
    ParameterError,
    RecordWriteError,
)
from nbsteps.inputs import resolve_inputs
from nbsteps.kernel_names import choose_kernel
from nbsteps.kernels import KernelPrestarter, import_kernel_modules, start_kernel
from nbsteps.notebook import StepNotebook, read_notebook
from nbsteps.parameters import RUNNER_PARAMETERS, read_params_file, resolve_values
from nbsteps.project import RUN_ID_FIELD, Project, Step

if TYPE_CHECKING:
    from jupyter_client import AsyncKernelManager

from nbsteps.records import (
    CANCELLED,
    FAILED,
    HOST,
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


@dataclass(frozen=True)
class RunOptions:
    """How to run: the same object for one step (run_step) and for several (run_steps)."""

    force: bool = False  # run even when an earlier run's outputs are current
    cancel: threading.Event | None = None  # set it to stop the kernel and record "cancelled"
    on_progress: ProgressCallback | None = None  # called as each code cell starts
    progress_bar: bool = False  # papermill's own tqdm bar
    # A started kernel to run the notebook on (the dashboard's warm one); used for one run.
    kernel: AsyncKernelManager | None = None
    # Kernels started ahead of their steps (a pipeline run prepares the next ones).
    kernels: KernelPrestarter | None = None
    # Takes over writing the HTML copy (the pipeline's HTML worker); else written in place.
    publish_html: Callable[[RunRecord], None] | None = None
    on_execute: Callable[[], None] | None = None  # called once a step is going to execute
    # For several steps (run_steps): also run the steps they depend on; how many at once.
    upstream: bool = False
    jobs: int = 1


DEFAULT_OPTIONS = RunOptions()


def new_run_id(step: str) -> str:
    """`<step>_<UTC date>_<time>_<4 hex>`: step and time at a glance, unique under concurrency."""
    return f"{step}_{datetime.now(UTC):%Y-%m-%d_%H-%M-%S}_{secrets.token_hex(2)}"


def resolve_parameters(
    step: Step, overrides: dict[str, Any], notebook: StepNotebook | None = None
) -> dict[str, Any]:
    """Defaults from the notebook, then params/<step>.yaml, then the overrides; all checked.
    `notebook` is the step's notebook when already read."""
    notebook = notebook or read_notebook(step.notebook)
    declared = notebook.parameters
    if not notebook.has_parameters_cell:
        refuse_values(notebook, (str(step.params_file.name), read_params_file(step.params_file)),
                      ("-p", overrides))
    chosen = resolve_values(
        declared,
        (str(step.params_file.name), read_params_file(step.params_file)),
        ("-p", overrides),
    )
    defaults = {n: p.default for n, p in declared.items() if n not in RUNNER_PARAMETERS}
    return defaults | chosen


def refuse_values(notebook: StepNotebook, *sources: tuple[str, dict[str, Any]]) -> None:
    """A notebook without a parameters cell takes no values: say how to give it one."""
    for where, given in sources:
        for name in list(given)[:1]:
            raise ParameterError(
                f"{name!r} ({where}): {notebook.path.name} has no cell tagged `parameters`, so "
                "it takes no parameters; tag the cell that sets its parameters `parameters` "
                "(in Jupyter: View > Cell Toolbar > Tags, or the property inspector)"
            )


def run_step(
    project: Project,
    step_name: str,
    overrides: dict[str, Any] | None = None,
    options: RunOptions = DEFAULT_OPTIONS,
    notebook: StepNotebook | None = None,
) -> RunRecord:
    """Run one step and return its record; raises only when nothing ran (bad input).

    The notebook is read once (or given, already read, by the pipeline). The HTML copy is
    written before returning, unless `options.publish_html` takes it over (the pipeline
    hands it to the HTML worker process so the next step need not wait for it).
    """
    step = project.step(step_name)
    notebook = notebook or read_notebook(step.notebook)
    kernel_name = choose_kernel(step, notebook)
    values = resolve_parameters(step, overrides or {}, notebook)
    inputs = resolve_inputs(project, step)
    fingerprint = freshness.fingerprint_step(project, notebook, values, inputs)
    previous, reason = freshness.find_reusable_run(project, step, fingerprint)
    run_id = new_run_id(step.name)
    record = start_record(project, step, run_id, values, fingerprint, reason)
    record.upstream = {i.declared: i.run_id for i in inputs if i.run_id}
    record.kernel = kernel_name
    if previous is not None and not options.force:
        return finish_skipped(project, record, previous)
    if options.force and previous is not None:
        record.reason = "forced (--force)"
    leftovers.clean_died_runs(project, step)
    if options.kernels is not None and options.kernel is None:
        options.kernels.prepare(step.name)  # starts while papermill is imported
    if options.on_execute is not None:
        options.on_execute()
    return execute_record(project, step, notebook, record, options)


def start_record(
    project: Project,
    step: Step,
    run_id: str,
    values: dict[str, Any],
    fingerprint: dict[str, Any],
    reason: str,
) -> RunRecord:
    folder = project.folders.outputs / step.name  # made when the record is first saved
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
        pid=os.getpid(),
        host=HOST,
    )


def finish_skipped(project: Project, record: RunRecord, previous: RunRecord) -> RunRecord:
    origin = previous.reused_run or previous.run_id
    record.status = SKIPPED
    record.reused_run = origin
    record.reason = f"up to date: outputs of {origin}"
    record.notebook, record.html = previous.notebook, previous.html
    record.inputs, record.outputs = previous.inputs, previous.outputs
    record.metrics = previous.metrics
    record.exit_code = 0
    step = project.step(record.step)
    close_record(project, record, time.monotonic())
    for folder in step.run_folders(project.folders.data, origin):
        link_latest(folder, folder.parent / "latest")
    log.info("%s skipped: up to date (outputs of %s)", record.step, origin)
    return record


def execute_record(
    project: Project, step: Step, notebook: StepNotebook, record: RunRecord, options: RunOptions
) -> RunRecord:
    started = time.monotonic()
    if options.cancel is None:
        options = replace(options, cancel=threading.Event())
    save_record(project, record, "start")
    # latest.json names the newest run from its start: a run whose runner is killed then
    # shows as died in `status`, not as the run before it.
    folder = project.folders.outputs / record.step
    link_latest(folder / f"{record.run_id}.json", folder / "latest.json")
    log_stream = open_run_log(Path(record.log))
    # The run log gets the runner's lines too, from "started" to the outcome.
    with log_stream:
        handler = attach_log_file(log_stream)
        try:
            log.info("%s started (run %s): %s", step.name, record.run_id, record.reason)
            outcome = execute_notebook(project, notebook, record, log_stream, options)
            record.status, record.exit_code, record.error = outcome
            if record.status == SUCCEEDED:
                collect_outputs(project, step, record)
            if record.status != SUCCEEDED:
                remove_partial_outputs(project, step, record.run_id)
            try:
                close_record(project, record, started)
            except RecordWriteError:
                remove_partial_outputs(project, step, record.run_id)
                raise
            link_data_latest(project, step, record)
            report_outcome(record)
        finally:
            logging.getLogger().removeHandler(handler)
    (options.publish_html or export.publish_html)(record)
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
    project: Project, notebook: StepNotebook, record: RunRecord, log_stream, options: RunOptions
) -> tuple[str, int, str | None]:
    """(status, exit code, error line) of one papermill execution; `options.cancel` is set."""
    # Imported here: papermill (with nbformat's schema validation) takes a second or more
    # to import, which a run whose every step is up to date should not pay.
    import papermill
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    from nbsteps.papermill_engine import register_engine

    cancel = options.cancel
    parameters = dict(record.parameters)
    runner_values = {"data_dir": str(project.folders.data), "run_id": record.run_id}
    parameters |= {n: value for n, value in runner_values.items() if n in notebook.parameters}
    km = take_kernel(options, record)
    km = km or start_kernel(notebook, log_stream, record.kernel)
    done = threading.Event()
    watcher = threading.Thread(target=stop_kernel_on_cancel, args=(km, cancel, done), daemon=True)
    watcher.start()
    monitor = cellstats.CellMonitor(getattr(km.provisioner, "pid", None))
    try:
        papermill.execute_notebook(
            str(notebook.path),
            record.notebook,
            parameters=parameters,
            kernel_name=km.kernel_name,
            engine_name=register_engine(),  # fewer notebook writes, same notebook
            # How papermill writes the injected values: Python, R, Julia ...
            language=km.kernel_spec.language or notebook.language or "python",
            km=km,
            progress_bar=options.progress_bar,
            log_output=False,  # cell output goes to the run log through the two files below
            stdout_file=log_stream,
            stderr_file=log_stream,
            **cell_hooks(progress_reporter(notebook, record, options.on_progress,
                                           injected=bool(parameters)), monitor),
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
        monitor.finish()  # reads the kernel's peak memory, so before it is shut down
        record.cells, record.peak_rss_mb = monitor.cells, monitor.peak_rss_mb()
        run_sync(km.shutdown_kernel)(now=True)
    if cancel.is_set():
        return (CANCELLED, EXIT_CANCELLED, f"{record.step} cancelled")
    return outcome


def take_kernel(options: RunOptions, record: RunRecord) -> AsyncKernelManager | None:
    """A kernel started ahead for this run, if it is the kernel the step runs on: never
    another interpreter. One taken from `options.kernels` and not used is shut down here;
    `options.kernel` belongs to the caller, who shuts it down."""
    from jupyter_core.utils import run_sync

    if options.kernel is not None:
        return options.kernel if options.kernel.kernel_name == record.kernel else None
    km = options.kernels.take(record.step) if options.kernels else None
    if km is not None and km.kernel_name != record.kernel:
        run_sync(km.shutdown_kernel)(now=True)
        return None
    return km


def import_runner_modules() -> None:
    """Import what execute_notebook needs, on the calling thread, before steps run on
    several threads: two threads importing papermill for the first time can each see it
    half-initialised."""
    import nbclient.exceptions  # noqa: F401
    import papermill  # noqa: F401
    import papermill.exceptions  # noqa: F401

    import nbsteps.papermill_engine  # noqa: F401

    import_kernel_modules()


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


def progress_reporter(
    notebook: StepNotebook, record: RunRecord, on_progress: ProgressCallback | None,
    injected: bool = True,
):
    """An nbclient on_cell_start hook that reports "code cell i of n" with elapsed seconds."""
    started = time.monotonic()
    # papermill adds one code cell, the injected parameters, to the notebook's own (none
    # when there are no values to inject).
    total = notebook.code_cells + int(injected)
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


def cell_hooks(report_progress, monitor: cellstats.CellMonitor) -> dict[str, Callable]:
    """nbclient's per-cell hooks: progress and the cell's time and memory.

    The end of a cell is `on_cell_executed`: nbclient 0.11 calls `on_cell_complete` as
    soon as the cell is sent to the kernel, before it has run.
    """

    def on_cell_start(cell, cell_index):
        report_progress(cell, cell_index)
        monitor.on_cell_start(cell, cell_index)

    return {"on_cell_start": on_cell_start, "on_cell_executed": monitor.on_cell_executed}


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def collect_outputs(project: Project, step: Step, record: RunRecord) -> None:
    """List the declared outputs with their digests; a missing one fails the step."""
    data = project.folders.data
    changed = freshness.check_inputs_unchanged(step, record.fingerprint or {}, data)
    if changed:
        record.status, record.exit_code, record.error = FAILED, EXIT_FAILED, changed
        return
    # The files read, as resolved when the run started (a per-run input in its run's folder).
    record.inputs = [describe_file(data / p, data) for p in record.fingerprint["inputs"]]
    missing = [p for p in step.output_paths(data, record.run_id) if not p.is_file()]
    if missing:
        record.status, record.exit_code = FAILED, EXIT_FAILED
        record.error = f"{step.name} finished but did not write {missing[0]}"
        return
    record.outputs = [describe_file(p, data) for p in step.output_paths(data, record.run_id)]
    if step.metrics:
        collect_metrics(step, record, data)


def collect_metrics(step: Step, record: RunRecord, data: Path) -> None:
    """Copy the scalars of the step's metrics file into the record; a file that is not a
    JSON object fails the step, as a missing output does."""
    try:
        path = data / step.metrics.replace(RUN_ID_FIELD, record.run_id)
        record.metrics = metrics.read_metrics(path)
    except ValueError as error:
        record.status, record.exit_code = FAILED, EXIT_FAILED
        record.error = f"{step.name} wrote a metrics file nbsteps cannot read: {error}"


def link_data_latest(project: Project, step: Step, record: RunRecord) -> None:
    """`<folder>/latest` moves to a run only once its record says it succeeded."""
    if record.status != SUCCEEDED:
        return
    for folder in step.run_folders(project.folders.data, record.run_id):
        link_latest(folder, folder.parent / "latest")


def save_record(project: Project, record: RunRecord, when: str) -> None:
    """Write the record, or RecordWriteError in one line (a full disk, a read-only folder)."""
    try:
        write_record(project.folders.outputs, record)
    except OSError as error:
        folder = project.folders.outputs / record.step
        raise RecordWriteError(
            f"{record.step}: cannot write the run record in {folder} at the {when} of run "
            f"{record.run_id}: {error.strerror or error}; free some space or make the folder "
            "writable, then run again"
        ) from None


def open_run_log(path: Path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8", buffering=1)
    except OSError as error:
        raise RecordWriteError(
            f"cannot write the run log {path}: {error.strerror or error}; free some space or "
            "make the logs folder writable (--logs-dir, NBSTEPS_LOGS_DIR), then run again"
        ) from None


def remove_partial_outputs(project: Project, step: Step, run_id: str) -> None:
    """A failed or cancelled run leaves nothing where the next step would read."""
    data = project.folders.data
    for folder in step.run_folders(data, run_id):
        shutil.rmtree(folder, ignore_errors=True)
    # Only temporary files whose writer is gone: this run's kernel has stopped by now, while
    # another run of the step may still be writing its own.
    leftovers.remove_orphan_temporaries(leftovers.output_folders(project, step, run_id))


def close_record(project: Project, record: RunRecord, started: float) -> None:
    record.ended = datetime.now(UTC).isoformat(timespec="milliseconds")
    record.duration_s = round(time.monotonic() - started, 3)
    folder = project.folders.outputs / record.step
    save_record(project, record, "end")
    link_latest(folder / f"{record.run_id}.json", folder / "latest.json")
    for path, link in ((record.notebook, "latest.ipynb"), (record.html, "latest.html")):
        if Path(path).exists():  # a skipped run points at the files of the run it reuses
            link_latest(Path(path), folder / link)


def report_outcome(record: RunRecord) -> None:
    if record.status == SUCCEEDED:
        log.info("%s succeeded in %.1f s: %s", record.step, record.duration_s, record.html)
    else:
        log.error("%s: %s (executed notebook: %s)", record.status, record.error, record.html)
