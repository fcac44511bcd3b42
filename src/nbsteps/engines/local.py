"""Run a sweep's points on this machine, `jobs` at a time, each on a kernel of its own.

Points run on threads: each thread drives its own kernel process (the notebook's work is
done there, on its own core), and HTML copies are written by one separate process, so the
threads only move messages and files.
"""

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from nbsteps.engines import Reporter, SweepJob
from nbsteps.engines.warm import WarmKernels
from nbsteps.errors import EXIT_FAILED, NbstepsError
from nbsteps.execute import RunOptions, run_step
from nbsteps.export import HtmlWorker
from nbsteps.kernel_names import choose_kernel
from nbsteps.kernels import kernel_environment
from nbsteps.notebook import StepNotebook, read_notebook
from nbsteps.project import Project
from nbsteps.records import FAILED
from nbsteps.sweep.points import Point
from nbsteps.sweep.record import PointOutcome

log = logging.getLogger("nbsteps")
POINT_THREAD = "nbsteps-point"


class LocalEngine:
    name = "local"

    def __init__(self, project: Project, jobs: int) -> None:
        self.project, self.jobs = project, max(jobs, 1)
        self.waiting = 0  # points not started yet, for the kernels started ahead
        self.lock = threading.Lock()

    def run(self, job: SweepJob, reporter: Reporter, cancel: threading.Event) -> None:
        self.waiting = len(job.points)
        step = self.project.step(job.step)
        notebook = read_notebook(step.notebook)  # once for all points
        # Points side by side share the cores: each kernel's thread pools get its share.
        kernels = WarmKernels(notebook, choose_kernel(step, notebook), ahead=self.jobs,
                              waiting=lambda: self.waiting,
                              env=kernel_environment(self.jobs), fork=step.fork)
        html = HtmlWorker()  # thread-safe: points share it
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix=POINT_THREAD)
        try:
            options = RunOptions(force=job.force, cancel=cancel, kernels=kernels,
                                 publish_html=html.submit, on_execute=html.start)
            futures = {pool.submit(self.run_point, job, point, reporter, options, notebook):
                       point for point in job.points}
            self.wait_for(futures, reporter, cancel)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            kernels.close()
            html.finish()

    def wait_for(self, futures: dict[Future, Point], reporter: Reporter,
                 cancel: threading.Event) -> None:
        """Wait in short slices, so Ctrl-C is seen at once; on cancel, points that have not
        started never will (the running ones stop through `cancel`)."""
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if cancel.is_set():
                for future in list(pending):
                    if future.cancel():
                        pending.discard(future)
                        reporter.finished(futures[future].index, PointOutcome.not_started())

    def run_point(self, job: SweepJob, point: Point, reporter: Reporter, options: RunOptions,
                  notebook: StepNotebook) -> None:
        with self.lock:
            self.waiting -= 1
        if options.cancel.is_set():
            reporter.finished(point.index, PointOutcome.not_started())
            return
        reporter.started(point.index)
        try:
            record = run_step(self.project, job.step, point.values, options, notebook)
            outcome = PointOutcome.from_record(record)
        except NbstepsError as error:  # an input gone since the sweep was checked
            outcome = PointOutcome(FAILED, error.exit_code, error=str(error))
        except Exception as error:  # one point's trouble never stops the others
            log.exception("point %s: unexpected error", point.index)
            outcome = PointOutcome(FAILED, EXIT_FAILED, error=f"{type(error).__name__}: {error}")
        reporter.finished(point.index, outcome)
