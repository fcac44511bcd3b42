"""The worker's side of a Dask run: one ordinary run of `run_step` per task, on a kernel
started ahead, in the worker's own project and folders (set up by `nbsteps worker`).

A task that notices its cancel event stops its kernel (the run records "cancelled"); a
task that is an attempt after a lost worker first closes the lost attempt's record.
"""

import json
import logging
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from distributed import Event

from nbsteps.engines.warm import WarmKernels
from nbsteps.errors import EXIT_KERNEL_DIED, NbstepsError
from nbsteps.execute import Progress, RunOptions, remove_partial_outputs, run_step
from nbsteps.kernel_names import choose_kernel
from nbsteps.notebook import read_notebook
from nbsteps.project import Project, load_project
from nbsteps.records import (
    DIED,
    FAILED,
    RUNNING,
    read_record,
    record_path,
    write_record,
    write_text_atomic,
)
from nbsteps.sweep.record import PointOutcome, now

log = logging.getLogger("nbsteps")


@dataclass(frozen=True)
class RunTask:
    """One run for a worker: a point of a sweep, or a step of a pipeline."""

    job_id: str  # the sweep (or pipeline run) it belongs to
    index: int
    step: str
    overrides: dict[str, Any]
    force: bool

    @property
    def cancel_event(self) -> str:
        return f"nbsteps-cancel-{self.job_id}"

    @property
    def key(self) -> str:
        return f"nbsteps-{self.job_id}-{self.index}-{self.step}"


_kernels: dict[str, WarmKernels] = {}
_kernels_lock = threading.Lock()


def worker_kernels(project: Project, step: str, ahead: int = 1) -> WarmKernels:
    """This worker process's warm kernels for `step`: one always started ahead."""
    with _kernels_lock:
        if step not in _kernels:
            settings = project.step(step)
            notebook = read_notebook(settings.notebook)
            kernel_name = choose_kernel(settings, notebook)
            _kernels[step] = WarmKernels(notebook, kernel_name, ahead, lambda: ahead,
                                         fork=settings.fork)
        return _kernels[step]


def close_worker_kernels() -> None:
    with _kernels_lock:
        for kernels in _kernels.values():
            kernels.close()
        _kernels.clear()


def run_task(task: RunTask, *upstream: dict) -> dict:
    """Run on a worker: one ordinary run of the step, in this worker's project and folders.

    `upstream` are the outcomes of the steps this one reads from (a pipeline run): if one
    did not succeed, this step does not run."""
    if any(outcome["status"] not in ("succeeded", "skipped") for outcome in upstream):
        return asdict(PointOutcome("not run", None, error="an upstream step did not succeed"))
    event = Event(task.cancel_event)
    if event.is_set():
        return asdict(PointOutcome.not_started())
    project = load_project()  # from the environment `nbsteps worker` set up
    cancel = threading.Event()
    watcher = threading.Thread(target=watch_cancel, args=(event, cancel), daemon=True)
    watcher.start()
    attempt = Attempt(project, task)
    attempt.close_lost_run()
    worker = worker_name()
    try:
        options = RunOptions(force=task.force, cancel=cancel, on_progress=attempt.note,
                             kernels=worker_kernels(project, task.step))
        record = run_step(project, task.step, task.overrides, options)
        return asdict(PointOutcome.from_record(record, worker=worker))
    except NbstepsError as error:
        return asdict(PointOutcome(FAILED, error.exit_code, error=str(error), worker=worker))
    finally:
        attempt.done()
        cancel.set()  # ends the watcher


def watch_cancel(event: Event, cancel: threading.Event) -> None:
    while not cancel.is_set():
        try:
            if event.wait(timeout=0.5):
                cancel.set()
        except Exception:  # the scheduler is gone: the run goes on, its record tells
            time.sleep(0.5)


def worker_name() -> str:
    try:
        from distributed import get_worker

        return f"{socket.gethostname()} {get_worker().name}"
    except ValueError:
        return socket.gethostname()


class Attempt:
    """A note on the shared filesystem of which run a task is, so that when its worker dies
    the next attempt can close that run's record (`running` forever otherwise)."""

    def __init__(self, project: Project, task: RunTask) -> None:
        self.project, self.task = project, task
        self.path = (project.folders.outputs / task.step / "attempts"
                     / f"{task.job_id}-{task.index}.json")
        self.run_id: str | None = None

    def note(self, progress: Progress) -> None:
        if self.run_id is None:
            self.run_id = progress.run_id
            write_text_atomic(self.path, json.dumps({"run_id": progress.run_id}) + "\n")

    def close_lost_run(self) -> None:
        if not self.path.is_file():
            return
        run_id = json.loads(self.path.read_text(encoding="utf-8"))["run_id"]
        path = record_path(self.project.folders.outputs, self.task.step, run_id)
        record = read_record(path) if path.is_file() else None
        # DIED: read on the lost worker's own host, where its process is known to be gone.
        if record is not None and record.status in (RUNNING, DIED):
            record.status, record.exit_code, record.ended = FAILED, EXIT_KERNEL_DIED, now()
            record.error = (f"{self.task.step}: the worker running it was lost (killed or out "
                            "of memory); the run was started again on another worker")
            write_record(self.project.folders.outputs, record)
            remove_partial_outputs(self.project, self.project.step(self.task.step), run_id)
            log.warning("closed run %s of a lost worker", run_id)
        self.path.unlink(missing_ok=True)

    def done(self) -> None:
        Path(self.path).unlink(missing_ok=True)
