"""Kernels started ahead of time, with what their notebook imports already loaded.

Starting a kernel and importing pandas, scikit-learn or matplotlib often takes longer than a
small notebook itself. Three users, one path:
- the pipeline (KernelPrestarter) starts the next steps' kernels while a step runs;
- the dashboard (KernelPool) keeps one kernel ready for the next click;
- a sweep or a worker (engines.warm) keeps kernels ready for the next points.
All call start_kernel. The last forks its kernels from a process that did the imports once
(forked_kernels): it runs one notebook many times, side by side. A kernel still runs
exactly one notebook (run_step shuts it down afterwards): the warm-up fills
`sys.modules` and binds no name the notebook could see, and the notebook's own local
modules are left for it to import fresh.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from nbsteps import kernel_forkserver
from nbsteps.kernel_manager import ClosingKernelManager
from nbsteps.notebook import StepNotebook, read_notebook
from nbsteps.priority import inherit_priority

if TYPE_CHECKING:
    from nbsteps.forked_kernels import KernelForker

log = logging.getLogger("nbsteps")

# ipykernel warns at every start that TCP is not encrypted (it is loopback only).
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
WARM_UP_TIMEOUT_S = 120.0
# Libraries that keep a thread per core (OpenBLAS, MKL, OpenMP, numexpr) read these once, at
# import: two kernels on two cores each with two BLAS threads spin against each other.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# A kernel can fail to start for a passing reason (a port taken between being picked and
# bound, on a busy machine): try again once before giving up.
START_ATTEMPTS = 2
# The longest a pool's replacement kernel waits for the run of the kernel it replaces.
REFILL_WAIT_S = 10.0

# Runs with silent=True: no output, no history entry, and the execution count stays at 0,
# so the executed notebook's cells are numbered In [1], In [2] ... as with a fresh kernel.
# It is the fork server's own preload function (one warm-up for both ways of starting),
# bound for the call and deleted after it. `code` is the project's own warm-up (the
# dashboard's `warm_up:`): an error in it fails the warm-up, so the caller falls back to a
# fresh kernel.
PRELOAD_SOURCE = inspect.getsource(kernel_forkserver.preload)


def preload_code(names: list[str], warm_up: str) -> str:
    return f"{PRELOAD_SOURCE}try:\n    preload({names!r}, {warm_up!r})\nfinally:\n    del preload\n"


class WarmUpError(RuntimeError):
    """A kernel did not start, or its warm-up code failed."""


class KernelStartError(WarmUpError):
    """The kernel process died before answering: worth another try."""


def start_kernel(notebook: StepNotebook, log_stream=None, kernel_name: str = "python3",
                 warm_up: str = "", forker: KernelForker | None = None,
                 env: dict[str, str] | None = None):
    """A started kernel (an async manager) in the notebook's folder; a Python one with what
    the notebook and its local modules import loaded (StepNotebook.imports) and then
    `warm_up` run. WarmUpError if that fails (the kernel is gone).

    With a `forker` (a fork server that preloaded the same), the kernel is forked from it:
    nothing is left to load, and this waits only for the kernel to answer. `env` is the
    kernel's whole environment (default: the runner's).

    An async manager: run_step drives and shuts it down on the thread that runs the
    notebook, with that thread's own event loop.
    """
    from jupyter_core.utils import run_sync

    code = preload_code(list(notebook.imports), warm_up)
    for attempt in range(1, START_ATTEMPTS + 1):
        if forker is not None:
            km, code = forker.start_kernel(notebook.path.parent, kernel_name, KERNEL_ARGUMENTS), ""
        else:
            km = launch_kernel(notebook.path.parent, log_stream, kernel_name, env)
        # Its own session would otherwise run it at full priority (priority.py).
        inherit_priority(getattr(km.provisioner, "pid", None))
        try:
            if km.kernel_spec.language == "python":  # the preload is Python code
                run_silently(km, code)
            return km
        except KernelStartError as error:
            run_sync(km.shutdown_kernel)(now=True)
            if attempt == START_ATTEMPTS:
                raise
            log.warning("could not start a kernel (%s); trying again", error)
        except BaseException:
            run_sync(km.shutdown_kernel)(now=True)
            raise
    raise AssertionError("unreachable")


def launch_kernel(cwd: Path, log_stream=None, kernel_name: str = "python3",
                  env: dict[str, str] | None = None):
    """A started kernel (an async manager) working in `cwd`, quiet about TCP; its clients
    are closed with it (kernel_manager.py says why)."""
    from jupyter_core.utils import run_sync

    km = ClosingKernelManager(kernel_name=kernel_name)
    streams = {"stdout": log_stream, "stderr": log_stream} if log_stream else {}
    if env is not None:
        streams["env"] = env
    run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=KERNEL_ARGUMENTS, **streams)
    return km


def kernel_environment(lanes: int) -> dict[str, str]:
    """The environment for a kernel that runs beside `lanes - 1` others: the runner's, with
    the libraries' thread pools sized to share the cores, as Dask sizes its workers'. A
    variable the user set is kept."""
    threads = str(max(1, len(os.sched_getaffinity(0)) // max(lanes, 1)))
    return {name: threads for name in THREAD_VARIABLES} | dict(os.environ)


def run_silently(km, code: str) -> None:
    """Execute `code` in the kernel and wait for it; WarmUpError if it fails, KernelStartError
    if the kernel died before answering."""
    try:
        content = execute_silently(km, code)
    except RuntimeError as error:  # wait_for_ready: the kernel died while starting
        raise KernelStartError(f"the kernel did not start: {error}") from error
    if content["status"] != "ok":
        raise WarmUpError(f"warm-up failed: {content.get('ename')}: {content.get('evalue')}")


def execute_silently(km, code: str) -> dict:
    """Run `code` in the kernel (no output, no history, execution count untouched) and wait
    for it; returns the reply's content. RuntimeError if the kernel dies before it is ready.
    No code: only wait until the kernel answers (a forked kernel has nothing to load)."""
    from jupyter_core.utils import run_sync

    return run_sync(execute_silently_async)(km, code)


async def execute_silently_async(km, code: str) -> dict:
    """execute_silently, on the calling thread's event loop."""
    # The manager's own client (prompt_kernels): it finds a started kernel ready in
    # milliseconds, where jupyter_client's blocking client spends 0.2 to 0.4 s waiting on
    # IOPub; and, its parent being the manager, it asks the process whether it still lives
    # rather than a heartbeat a busy machine can miss.
    client = km.client()
    client.start_channels(hb=False)
    try:
        try:
            await client.wait_for_ready(timeout=WARM_UP_TIMEOUT_S)
        except RuntimeError:
            if not await km.is_alive():  # a port taken between being picked and bound
                raise RuntimeError("the kernel process ended before it answered") from None
            raise
        if not code:
            return {"status": "ok"}
        msg_id = client.execute(code, silent=True, store_history=False)
        while True:
            reply = await client.get_shell_msg(timeout=WARM_UP_TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]
    finally:
        client.stop_channels()


def import_kernel_modules() -> None:
    """Import what start_kernel needs on the calling thread, before a pool thread does.

    Two threads importing jupyter_client for the first time at once (the pool starting a
    kernel, the main thread importing papermill) can see it half-initialised:
    "cannot import name 'AsyncKernelManager' from partially initialized module".
    """
    import jupyter_client  # noqa: F401
    import jupyter_client.blocking  # noqa: F401
    import jupyter_client.provisioning  # noqa: F401
    import jupyter_core.utils  # noqa: F401


def discard_kernel(km) -> None:
    """Shut down a kernel that was taken but not used (or not shut down by its user)."""
    from jupyter_core.utils import run_sync

    if km is not None and km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


class KernelPrestarter:
    """Kernels for the steps of one pipeline run, each started ahead of the step that uses it.

    `prepare(step)` starts a step's kernel in the background; `take(step)` hands it over
    and prepares the next two steps', which then start while this step runs.
    """

    def __init__(self, plan: list[tuple[str, StepNotebook, str]]) -> None:
        self.plan = plan  # (step, its notebook, its kernel's name) in pipeline order
        # Two at a time: the next two steps' kernels start while the current step runs.
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nbsteps-kernel")
        self.started: dict[str, Future] = {}
        self.lock = threading.Lock()  # steps running side by side (`-j`) share the kernels

    def prepare(self, step: str) -> None:
        kernels = {name: (notebook, kernel) for name, notebook, kernel in self.plan}
        with self.lock:
            if step in kernels and step not in self.started:
                import_kernel_modules()
                notebook, kernel = kernels[step]
                self.started[step] = self.pool.submit(start_kernel, notebook, None, kernel)

    def take(self, step: str):
        """The kernel prepared for `step` (waiting for it if need be), or None."""
        self.prepare(step)
        names = [name for name, _, _ in self.plan]
        if step in names:
            for following in names[names.index(step) + 1 : names.index(step) + 3]:
                self.prepare(following)
        with self.lock:
            future = self.started.pop(step)
        try:
            return future.result()
        except Exception as error:  # the step starts a kernel of its own instead
            log.warning("could not start %s's kernel ahead of time: %s", step, error)
            return None

    def close(self) -> None:
        """Shut down kernels prepared for steps that did not run (a failure stopped them)."""
        for future in self.started.values():
            try:
                discard_kernel(future.result())
            except Exception as error:
                log.debug("could not shut down a kernel started ahead: %s", error)
        self.started.clear()
        self.pool.shutdown(wait=True)


class KernelPool:
    """Keeps one warm kernel ready for a notebook. Thread-safe; `close()` when done."""

    def __init__(self, notebook: Path, warm_up: str = "", kernel_name: str = "python3"):
        """Kernels `kernel_name` for `notebook` (start_kernel's), with the project's `warm_up`
        code run. The notebook is read again for each kernel: an edit between runs is seen.
        Each starts from scratch, not forked: a page keeps one warm kernel, which a fork
        server (a process as large) would only double; and with forked refills the click
        benchmark lost a click after a run, not yet understood."""
        self.notebook = Path(notebook)
        self.warm_up = warm_up
        self.kernel_name = kernel_name
        self._lock = threading.Lock()
        self._closed = False
        # One worker: at most one kernel warms up at a time, so two quick takes never start
        # two kernels at once on a small machine; the second waits for the first replacement.
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbsteps-kernels")
        import_kernel_modules()
        self._next = self._start_next(after=None)

    def _start_next(self, after: Future | None) -> Future:
        future = self._starter.submit(self._warm_up, after)
        future.add_done_callback(report_failure)
        return future

    def _warm_up(self, after: Future | None):
        self._wait_for_run(after)
        if self._closed:
            raise RuntimeError("the kernel pool is closed")
        return start_kernel(read_notebook(self.notebook), None, self.kernel_name, self.warm_up)

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

    def take(self, timeout: float | None = None):
        """The warm kernel (waiting for it if it is still starting), or None if warming up
        failed: the caller then starts a cold kernel as usual. Use it for one run only."""
        from jupyter_core.utils import run_sync

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
        # A traceback only for the unexpected: a failed warm-up or start says enough.
        trace = None if isinstance(error, WarmUpError) else error
        log.warning("could not warm up a kernel: %s", error, exc_info=trace)


def shut_down_result(future: Future) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    discard_kernel(future.result())
