"""In a page's kernel: start the costly parts only once the page's browser connects.

Voila runs the dashboard notebook for every `GET /`, browser or not. A warm kernel (about
300 MB) and the runner's imports are worth paying for a person about to click Run, not
for a script fetching the page. The browser's widget manager opens the
`jupyter.widget.control` comm as soon as it connects: that is the signal.
"""

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("nbsteps")

CONTROL_TARGET = "jupyter.widget.control"


def when_page_connects(callback: Callable[[], None]) -> None:
    """Call `callback` once, on the kernel's thread, when the page's widgets connect.
    Outside a kernel (a test calling the page code directly) it is called at once."""
    from comm import get_comm_manager

    manager = get_comm_manager()
    original = getattr(manager, "targets", {}).get(CONTROL_TARGET)
    if original is None:
        callback()  # no widget frontend can connect here
        return
    fired = threading.Event()

    def opened(comm, message):
        if not fired.is_set():
            fired.set()
            try:
                callback()
            except Exception:  # the page must still connect
                log.exception("dashboard: starting the page's warm parts failed")
        original(comm, message)

    manager.register_target(CONTROL_TARGET, opened)


class DeferredPool:
    """Stands for a kernel pool (take, is_ready, close) that `start()` makes only when the
    page's browser is there; a take() before that starts it and waits."""

    def __init__(self, make: Callable):
        self._make = make
        self._pool = None
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._pool is None and not self._closed:
                self._pool = self._make()

    def is_ready(self) -> bool:
        pool = self._pool
        return pool is not None and pool.is_ready()

    def take(self, timeout: float | None = None):
        self.start()
        return self._pool.take(timeout) if self._pool is not None else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool = self._pool
        if pool is not None:
            pool.close()
