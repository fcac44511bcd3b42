"""Kernel hooks: what a page's kernel does besides showing the page. Close the dashboard
before the kernel ends, send warnings where someone reads them, and pay the first run's
one-off costs early.
"""

import asyncio
import atexit
import inspect
import logging
import sys
import threading
from collections.abc import Callable

log = logging.getLogger("nbsteps")


def close_with_kernel(close: Callable[[], None]) -> None:
    """Call `close` when this kernel is asked to shut down (Voila does when the page goes),
    before ipykernel ends the kernel's child processes: the kernel of a run among them,
    which would leave that run recorded as running. At exit too, for any other way out."""
    atexit.register(close)
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None:
        return  # not in a kernel (a test): atexit it is
    # ipykernel offers no shutdown hook; do_shutdown is what its shutdown_request calls
    # first, on the control thread's event loop, before it terminates the children.
    original = kernel.do_shutdown

    async def do_shutdown(restart):
        await asyncio.to_thread(close)
        result = original(restart)
        return await result if inspect.isawaitable(result) else result

    kernel.do_shutdown = do_shutdown


def report_to_server_log() -> None:
    """Warnings and errors of the page's threads go to the server's log (`docker logs`): in
    a kernel, sys.stderr is the page's hidden output, where nobody would read them."""
    if not any(getattr(h, "nbsteps_server_log", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("[nbsteps dashboard] %(levelname)s %(message)s"))
        handler.nbsteps_server_log = True
        log.addHandler(handler)


# Set once warm_up_runner has run: the first run waits for it rather than import the same
# packages at the same time on another thread, which can find one half-initialised.
RUNNER_WARM = threading.Event()


def warm_up_runner() -> None:
    """Pay, before the first click, for what the first run of a process pays once: the
    imports of papermill and nbconvert, nbconvert's first export (a second or two in all),
    and the digest of the installed packages."""
    from nbsteps.notebook import block_slow_optional_imports

    block_slow_optional_imports()
    try:
        import nbformat
        import papermill  # noqa: F401 - imported for its import time only
        from nbclient.exceptions import DeadKernelError  # noqa: F401
        from nbconvert import HTMLExporter

        from nbsteps import freshness

        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# warm-up"),
                                                   nbformat.v4.new_code_cell("1 + 1")])
        HTMLExporter(log=logging.getLogger("nbsteps.nbconvert")).from_notebook_node(notebook)
        freshness.environment_digest()
    finally:
        RUNNER_WARM.set()
