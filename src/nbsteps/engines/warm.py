"""Kernels for the points of a sweep, started ahead with the step's imports loaded.

A point takes a kernel that is already up (and has pandas, scikit-learn... imported), and
the kernel of a point still waiting starts while others run, so a point pays for neither
the kernel start nor the imports. The imports are not even paid once per point: kernels are
forked from one process that loaded them (forked_kernels), where the kernelspec allows.
Each kernel still runs one notebook only (run_step shuts it down), and nothing starts for
points that turn out to be up to date.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from nbsteps import kernels
from nbsteps.forked_kernels import open_forker
from nbsteps.notebook import StepNotebook

log = logging.getLogger("nbsteps")


class WarmKernels:
    """The `kernels` object run_step takes (`prepare(step)`, `take(step)`), for one notebook.

    `waiting()` says how many points have not started yet: at most that many (and at most
    `ahead`) kernels are started ahead of need. `env` is the kernels' environment (default:
    the runner's); `fork=False` starts each kernel from scratch (the step's `fork:`).
    """

    def __init__(self, notebook: StepNotebook, kernel_name: str, ahead: int,
                 waiting: Callable[[], int], env: dict[str, str] | None = None,
                 fork: bool = True) -> None:
        self.notebook, self.kernel_name, self.env = notebook, kernel_name, env
        self.ahead, self.waiting = max(ahead, 1), waiting
        self.lock = threading.Lock()
        self.ready: list[Future] = []  # started or starting, not taken yet
        self.claims = 0  # points that asked for a kernel and have not taken it yet
        self.closed = False
        kernels.import_kernel_modules()
        self.starter = ThreadPoolExecutor(max_workers=self.ahead,
                                          thread_name_prefix="nbsteps-kernel")
        self.forker = self.starter.submit(open_forker, notebook, kernel_name, env=env) if fork \
            else self.starter.submit(lambda: None)

    def _start(self) -> Future:
        return self.starter.submit(self._start_kernel)

    def _start_kernel(self):
        forker = self.forker.result()
        return kernels.start_kernel(self.notebook, None, self.kernel_name, forker=forker,
                                    env=self.env)

    def prepare(self, step: str | None = None) -> None:
        """A point is about to run: make sure a kernel is on its way for it."""
        with self.lock:
            self.claims += 1
            while len(self.ready) < self.claims and not self.closed:
                self.ready.append(self._start())

    def fill(self) -> None:
        """Start kernels for the points still waiting, up to `ahead` spare ones."""
        with self.lock:
            wanted = self.claims + min(self.waiting(), self.ahead)
            while len(self.ready) < wanted and not self.closed:
                self.ready.append(self._start())

    def take(self, step: str | None = None):
        """A started kernel (waiting for its start if need be), or None: the run then starts
        a kernel of its own, as without this."""
        with self.lock:
            self.claims = max(self.claims - 1, 0)
            future = self.ready.pop(0) if self.ready else None
        self.fill()
        if future is None:
            return None
        try:
            return future.result()
        except Exception as error:
            log.warning("could not start a kernel ahead of time: %s", error)
            return None

    def close(self) -> None:
        """Shut down the kernels nobody took (waiting for those still starting)."""
        from jupyter_core.utils import run_sync

        with self.lock:
            self.closed = True
            spare, self.ready = self.ready, []
        for future in spare:
            try:
                run_sync(future.result().shutdown_kernel)(now=True)
            except Exception as error:
                log.debug("could not shut down a spare kernel: %s", error)
        self.starter.shutdown(wait=True)
        forker = self.forker.result()
        if forker is not None:
            forker.close()
