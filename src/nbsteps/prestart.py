"""Start a step's kernel ahead of time, with the libraries its notebook imports already loaded.

While one step runs, the next step's kernel starts and imports (pandas, scikit-learn ...)
on the other core, so the pipeline does not wait for them between steps. The kernel still
runs exactly one notebook: the warm-up only fills `sys.modules`, binding no name the
notebook could see, and the notebook's own local modules are left for it to import fresh.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from nbsteps.notebook import StepNotebook, read_notebook

log = logging.getLogger("nbsteps")

# ipykernel warns at every start that TCP is not encrypted (it is loopback only).
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
WARM_UP_TIMEOUT_S = 120.0

# Runs silently (no output, no history, execution count untouched); everything it binds
# lives inside the function, which deletes itself. A module that fails to import is left
# for the notebook to report in its own cell.
WARM_CODE = """\
def _nbsteps_preload(names):
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            pass
_nbsteps_preload({names!r})
del _nbsteps_preload
"""


def find_imports(notebook: Path) -> list[str]:
    """The modules to preload for `notebook` (see StepNotebook.imports)."""
    return list(read_notebook(notebook).imports)


def launch_kernel(cwd: Path, log_stream=None, kernel_name: str = "python3"):
    """A started kernel (an async manager) working in `cwd`, quiet about TCP."""
    from jupyter_client import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=kernel_name)
    streams = {"stdout": log_stream, "stderr": log_stream} if log_stream else {}
    run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=KERNEL_ARGUMENTS, **streams)
    return km


def start_kernel(notebook: StepNotebook, log_stream=None, kernel_name: str = "python3"):
    """A started kernel in the notebook's folder, with its imports preloaded (Python's)."""
    km = launch_kernel(notebook.path.parent, log_stream, kernel_name)
    modules = list(notebook.imports) if km.kernel_spec.language == "python" else []
    if modules:
        try:
            execute_silently(km, WARM_CODE.format(names=modules))
        except Exception as error:  # a cold kernel still runs the notebook correctly
            log.debug("preloading %s failed: %s", modules, error)
    return km


def execute_silently(km, code: str, ready_timeout_s: float = WARM_UP_TIMEOUT_S) -> dict:
    """Run `code` in the kernel (no output, no history, execution count untouched) and wait
    for it; returns the reply's content. RuntimeError if the kernel dies before it is ready.
    """
    from jupyter_client.blocking import BlockingKernelClient

    # parent=km: "is it alive" asks the process, not a heartbeat a busy machine can miss.
    client = BlockingKernelClient(parent=km, **km.get_connection_info(session=True))
    client.start_channels(hb=False)
    try:
        client.wait_for_ready(timeout=ready_timeout_s)
        msg_id = client.execute(code, silent=True, store_history=False)
        while True:
            reply = client.get_shell_msg(timeout=WARM_UP_TIMEOUT_S)
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
        from jupyter_core.utils import run_sync

        for future in self.started.values():
            try:
                run_sync(future.result().shutdown_kernel)(now=True)
            except Exception as error:
                log.debug("could not shut down a kernel started ahead: %s", error)
        self.started.clear()
        self.pool.shutdown(wait=True)
