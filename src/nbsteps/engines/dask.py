"""Run a sweep's points, or a pipeline's steps, on a Dask cluster.

Each run is a task that calls `run_step` on a worker started for its step (`nbsteps worker
--step STEP`, Dask resource `step-<name>`), so a step runs only in an image that has its
libraries. Workers read and write data, outputs and logs on a filesystem they all mount at
the same path: a run's record and executed notebook are written there by the worker as it
goes, and outlive it. A worker that dies mid-run: Dask runs the task again elsewhere, and
that attempt marks the lost one's record as failed before it starts (tasks.py).
"""

import logging
import os
import threading
import time

from distributed import Client, Event, KilledWorker
from distributed.security import Security

from nbsteps.engines import Reporter, SweepJob
from nbsteps.engines.tasks import RunTask, run_task
from nbsteps.errors import EXIT_FAILED, EXIT_KERNEL_DIED, UsageError
from nbsteps.project import Project
from nbsteps.records import FAILED
from nbsteps.sweep.record import PointOutcome

log = logging.getLogger("nbsteps")

CONNECT_TIMEOUT_S = 20
# How long a sweep waits for a worker of its step to join before giving up.
WORKER_WAIT_S = float(os.environ.get("NBSTEPS_WORKER_WAIT_S", "60"))
# After a cancel, how long running points get to stop and record it.
CANCEL_WAIT_S = 60
POLL_S = 0.25


def step_resource(step: str) -> str:
    return f"step-{step}"


def make_security(args, role: str) -> Security | None:
    """TLS from --tls-ca-file/--tls-cert/--tls-key (all three, or none); role is
    "client" or "worker"."""
    given = [args.tls_ca_file, args.tls_cert, args.tls_key]
    if not any(given):
        return None
    if not all(given):
        raise UsageError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    return Security(tls_ca_file=args.tls_ca_file, require_encryption=True,
                    **{f"tls_{role}_cert": args.tls_cert, f"tls_{role}_key": args.tls_key})


def scheduler_address(args) -> str:
    address = args.scheduler or os.environ.get("NBSTEPS_SCHEDULER")
    if not address:
        raise UsageError("give the Dask scheduler with --scheduler ADDRESS (e.g. "
                         "tcp://10.0.0.5:8786) or NBSTEPS_SCHEDULER")
    return address


def connect(args) -> Client:
    address = scheduler_address(args)
    try:
        return Client(address, security=make_security(args, "client"),
                      timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {error}") from error


def wait_for_workers(client: Client, step: str) -> None:
    resource = step_resource(step)
    deadline = time.monotonic() + WORKER_WAIT_S
    while time.monotonic() < deadline:
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        if any(resource in (worker.get("resources") or {}) for worker in workers):
            return
        time.sleep(0.5)
    raise UsageError(f"no worker for step {step} joined the cluster in {WORKER_WAIT_S:.0f} s; "
                     f"start one: nbsteps worker --step {step} --scheduler ADDRESS")


class DaskEngine:
    name = "dask"

    def __init__(self, project: Project, client: Client) -> None:
        self.project, self.client = project, client

    def run(self, job: SweepJob, reporter: Reporter, cancel: threading.Event) -> None:
        try:
            wait_for_workers(self.client, job.step)
            tasks = [RunTask(job.sweep_id, p.index, job.step, p.values, job.force)
                     for p in job.points]
            # Earlier points first, as on this machine; the scheduler picks free workers.
            futures = {self.client.submit(run_task, task, key=task.key, pure=False,
                                          priority=len(tasks) - task.index,
                                          resources={step_resource(job.step): 1}): task
                       for task in tasks}
            follow_futures(self.client, futures, reporter, cancel, tasks[0].cancel_event)
        finally:
            self.client.close()


def follow_futures(client: Client, futures: dict, reporter: Reporter,
                   cancel: threading.Event, event_name: str) -> None:
    """Report each task as it starts on a worker and as it ends; on cancel, ask running
    tasks to stop (they record it) and drop those not started."""
    pending = dict(futures)
    started: set[str] = set()
    cancelled_at = None
    while pending:
        for future in [f for f in pending if f.done()]:
            task = pending.pop(future)
            reporter.finished(task.index, collect_outcome(future))
        processing = {key: worker for worker, keys in client.processing().items()
                      for key in keys}
        for future, task in pending.items():
            if future.key in processing and future.key not in started:
                started.add(future.key)
                reporter.started(task.index)
        if cancel.is_set() and cancelled_at is None:
            cancelled_at = time.monotonic()
            Event(event_name, client=client).set()
            not_started = [f for f in pending if f.key not in started]
            client.cancel(not_started)
            for future in not_started:
                reporter.finished(pending.pop(future).index, PointOutcome.not_started())
        if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_WAIT_S:
            for future in list(pending):
                reporter.finished(pending.pop(future).index, PointOutcome(
                    FAILED, EXIT_FAILED, error="cancelled; no answer from its worker"))
        time.sleep(POLL_S)


def collect_outcome(future) -> PointOutcome:
    try:
        return PointOutcome(**future.result())
    except KilledWorker as error:
        return PointOutcome(FAILED, EXIT_KERNEL_DIED, error="every worker that ran it died "
                            f"(killed or out of memory): {error}")
    except Exception as error:
        return PointOutcome(FAILED, EXIT_FAILED, error=f"{type(error).__name__}: {error}")


# ---- a pipeline's steps -------------------------------------------------------------------


class StepReporter:
    """A pipeline run's steps on the terminal, as `nbsteps run` shows them."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.outcomes: dict[str, PointOutcome] = {}

    def started(self, index: int) -> None:
        log.info("%s started on a worker", self.steps[index - 1])

    def finished(self, index: int, outcome: PointOutcome) -> None:
        step = self.steps[index - 1]
        self.outcomes[step] = outcome
        where = f" on {outcome.worker}" if outcome.worker else ""
        detail = outcome.error or outcome.html or ""
        log.info("%s %s%s: %s", step, outcome.status, where, detail)


def run_steps_on_cluster(project: Project, steps: list[str], per_step: dict[str, dict],
                         force: bool, client: Client, cancel: threading.Event) -> int:
    """Each step a task on a worker of its own step, started once the steps it reads from
    have succeeded (steps that do not depend on each other run side by side)."""
    job_id = f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    reporter = StepReporter(steps)
    try:
        for step in dict.fromkeys(steps):
            wait_for_workers(client, step)
        futures, tasks = {}, {}
        dependencies = project.dependencies()
        for index, step in enumerate(steps, start=1):
            task = RunTask(job_id, index, step, per_step[step], force)
            upstream = [futures[name] for name in dependencies.get(step, ())
                        if name in futures]
            futures[step] = client.submit(run_task, task, *upstream, key=task.key, pure=False,
                                          resources={step_resource(step): 1})
            tasks[futures[step]] = task
        follow_futures(client, tasks, reporter, cancel, RunTask(job_id, 0, "", {}, False)
                       .cancel_event)
    finally:
        client.close()
    for step in steps:  # the first step that did not succeed decides, as on one machine
        outcome = reporter.outcomes.get(step)
        if outcome is not None and outcome.status not in ("succeeded", "skipped", "not run"):
            return outcome.exit_code or EXIT_FAILED
    return 0
