"""A warm kernel pool: one python3 kernel kept started, with the heavy libraries imported.

Starting a kernel and importing pandas, scikit-learn, SciPy and matplotlib takes longer than
the model itself for a small `k`, and a person watching the dashboard waits through all of
it. The pool starts the next kernel ahead of time; `take()` hands it out and starts the
replacement as soon as that kernel's run is over. A kernel runs one notebook only
(run_step shuts it down afterwards), so every run still starts from a clean namespace:
the warm-up imports modules into `sys.modules` without binding a single name where the
notebook could see it.
"""

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_core.utils import run_sync

# The same quiet kernels as the pipeline's, and the same silent execution.
from nbsteps.prestart import execute_silently, find_imports, launch_kernel

log = logging.getLogger("nbsteps")

# Runs with silent=True: no output, no history entry, and the execution count stays at 0,
# so the executed notebook's cells are numbered In [1], In [2] ... as with a fresh kernel.
# Everything is bound inside the helper, which deletes itself: the notebook's namespace is
# untouched. Importing is not all: the first trigram count, sparse product, PCA and drawn
# figure of a process pay for lazy imports, fonts and caches (about a second in all on
# the real corpus), so the helper makes each once, on a few numbers of dummy data.
WARM_CODE = """\
def _nbsteps_warm_up(names):
    import importlib
    import io
    for name in names:
        importlib.import_module(name)
    try:
        import matplotlib.pyplot as plt
        import numpy as np
        import scipy.sparse as sp
        from scipy.spatial.distance import pdist
        from sklearn.decomposition import PCA

        counts = np.array([[1, 0, 2, 0], [0, 3, 1, 1], [2, 1, 0, 4]])
        pdist(counts.astype(float), "cityblock")
        ones = sp.csr_matrix(counts >= 1, dtype=np.int64)
        shared = (ones @ ones.T).toarray().astype(float)
        PCA(n_components=2, svd_solver="full").fit_transform(shared)
        figure, axes = plt.subplots(figsize=(2, 2))
        axes.scatter([0, 1], [1, 0], label="warm-up")
        axes.set_title("warm-up")
        axes.legend(title="warm-up")
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
    except Exception:  # only a head start: the notebook reports its own errors
        pass
"""


def build_warm_code(modules: Iterable[str]) -> str:
    return f"{WARM_CODE}_nbsteps_warm_up({tuple(modules)!r})\ndel _nbsteps_warm_up\n"


START_TIMEOUT_S = 60.0
# A kernel can fail to start for a passing reason (a port taken between being picked and
# bound, on a busy machine): try again once before leaving the next run a cold start.
START_ATTEMPTS = 2
# The longest a replacement waits for the run of the kernel it replaces to end.
REFILL_WAIT_S = 10.0


class WarmUpError(RuntimeError):
    """A kernel did not start, or an import failed in it."""


class KernelStartError(WarmUpError):
    """The kernel process died before answering: worth another try."""


def start_warm_kernel(cwd: Path, modules: Iterable[str]) -> AsyncKernelManager:
    """A started kernel working in `cwd` (the notebooks folder, as execute.start_kernel does)
    with `modules` imported; its output goes to this process's stdout and stderr.

    An async manager, as execute.start_kernel makes: run_step drives and shuts it down on
    the thread that runs the notebook, with that thread's own event loop.
    """
    km = launch_kernel(cwd)
    try:
        run_silently(km, build_warm_code(modules))
    except BaseException:
        run_sync(km.shutdown_kernel)(now=True)
        raise
    return km


def run_silently(km: AsyncKernelManager, code: str) -> None:
    """Execute `code` in the kernel and wait for it; WarmUpError if it fails, KernelStartError
    if the kernel died before answering (worth another try)."""
    try:
        content = execute_silently(km, code, ready_timeout_s=START_TIMEOUT_S)
    except RuntimeError as error:  # wait_for_ready: the kernel died while starting
        raise KernelStartError(f"the kernel did not start: {error}") from error
    if content["status"] != "ok":
        raise WarmUpError(f"warm-up failed: {content.get('ename')}: {content.get('evalue')}")


class KernelPool:
    """Keeps one warm kernel ready. Thread-safe; `close()` when done (the spare is shut down)."""

    def __init__(self, notebook: Path, modules: Iterable[str] | None = None):
        """Kernels for `notebook`: in its folder, with what it and its local modules import
        loaded (or `modules`). Its local modules are left out on purpose: the notebook must
        import the current file."""
        self.cwd = Path(notebook).parent
        self.modules = tuple(find_imports(Path(notebook)) if modules is None else modules)
        self._lock = threading.Lock()
        self._closed = False
        # One worker: at most one kernel warms up at a time, so two quick takes never start
        # two kernels at once on a small machine; the second waits for the first replacement.
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbsteps-kernels")
        self._next = self._start_next(after=None)

    def _start_next(self, after: Future | None) -> Future:
        future = self._starter.submit(self._warm_up, after)
        future.add_done_callback(report_failure)
        return future

    def _warm_up(self, after: Future | None) -> AsyncKernelManager:
        self._wait_for_run(after)
        if self._closed:
            raise RuntimeError("the kernel pool is closed")
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return start_warm_kernel(self.cwd, self.modules)
            except KernelStartError as error:
                if attempt == START_ATTEMPTS or self._closed:
                    raise
                log.warning("could not warm up a kernel (%s); trying again", error)
        raise AssertionError("unreachable")

    def _wait_for_run(self, previous: Future | None) -> None:
        """Wait until the kernel handed out before has done its run (run_step shuts it down),
        or REFILL_WAIT_S at most: a warm-up beside a run slows the run by a fifth or more on
        a two-core machine, and the run is what someone is watching."""
        if previous is None or previous.exception() is not None:
            return  # the one worker ran `previous` to its end before this job
        km = previous.result()
        deadline = time.monotonic() + REFILL_WAIT_S
        while km.has_kernel and not self._closed and time.monotonic() < deadline:
            time.sleep(0.1)

    def is_ready(self) -> bool:
        """True when take() would return at once with a warm kernel."""
        with self._lock:
            future = self._next
        return future.done() and future.exception() is None

    def take(self, timeout: float | None = None) -> AsyncKernelManager | None:
        """The warm kernel (waiting for it if it is still starting), or None if warming up
        failed: the caller then starts a cold kernel as usual. Use it for one run only."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the kernel pool is closed")
            future = self._next
            self._next = self._start_next(after=future)
        try:
            km = future.result(timeout)
        except Exception as error:  # a cold start is the fallback for any failure
            log.warning("no warm kernel (%s); starting a fresh one", error)
            return None
        if not run_sync(km.is_alive)():
            log.warning("the warm kernel died while waiting; starting a fresh one")
            discard_kernel(km)
            return None
        return km

    def close(self) -> None:
        """Shut down the spare kernel, now or as soon as its start-up ends."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            future = self._next
        future.add_done_callback(shut_down_result)
        self._starter.shutdown(wait=False, cancel_futures=True)


def report_failure(future: Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        error = future.exception()
        # A traceback only for the unexpected: a failed import or start says enough.
        trace = None if isinstance(error, WarmUpError) else error
        log.warning("could not warm up a kernel: %s", error, exc_info=trace)


def shut_down_result(future: Future) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    discard_kernel(future.result())


def discard_kernel(km: AsyncKernelManager | None) -> None:
    """Shut down a kernel that was taken but not used (or not shut down by its user)."""
    if km is not None and km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)
