"""Kernels forked from a warm process: for a notebook run many times (a sweep's points, a
worker's runs), its imports are paid once, not once per run.

Starting a kernel and importing pandas, scikit-learn and matplotlib costs about two seconds
of CPU, often more than the notebook's own cells; on two cores running two points, that is
most of a sweep. A KernelForker keeps one process (kernel_forkserver.py, in the kernel's own
interpreter) with the notebook's imports loaded, and forks a fresh kernel from it for each
run in a few milliseconds. Each kernel still runs one notebook and is shut down after it, as
with start_kernel; jupyter_client drives it as any other, through ForkedProvisioner.

Only a kernelspec that runs `PYTHON -m ipykernel_launcher` can be forked; for any other
kernel (R, Julia, a wrapper script) `forkable_python` says no and callers start kernels the
usual way.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any as AnyTrait

from nbsteps.kernel_manager import ClosingKernelManager
from nbsteps.notebook import StepNotebook
from nbsteps.priority import inherit_priority

log = logging.getLogger("nbsteps")

FORKSERVER = Path(__file__).with_name("kernel_forkserver.py")
LAUNCHER = ["-m", "ipykernel_launcher"]


class ForkServerError(RuntimeError):
    """The fork server could not start, preload, or fork."""


def forkable_python(kernel_name: str) -> str | None:
    """The interpreter of `kernel_name` if it is a plain ipykernel, else None."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return None
    argv = spec.argv
    if spec.language != "python" or len(argv) < 3 or argv[1:3] != LAUNCHER:
        return None
    # As jupyter_client launches it: a bare `python` means the interpreter running nbsteps.
    major, minor = sys.version_info[:2]
    if argv[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
        return sys.executable
    return argv[0]


def open_forker(notebook: StepNotebook, kernel_name: str, warm_up: str = "",
                env: dict[str, str] | None = None) -> KernelForker | None:
    """A fork server for `notebook`'s kernel, or None (with a warning when it should have
    worked) so the caller starts kernels the usual way."""
    python = forkable_python(kernel_name)
    if python is None:
        return None
    try:
        return KernelForker(notebook, python, warm_up, env)
    except (OSError, ForkServerError) as error:
        log.warning("kernels will start one by one: %s", error)
        return None


class KernelForker:
    """One fork server for one notebook: `fork(...)` gives a new kernel's process id.

    Thread-safe: requests and answers are one line each, under a lock.
    """

    def __init__(self, notebook: StepNotebook, python: str, warm_up: str = "",
                 env: dict[str, str] | None = None) -> None:
        self.lock = threading.Lock()
        self.env = env  # the kernels' environment (default: the runner's), the server's too
        self.process = subprocess.Popen(
            [python, str(FORKSERVER)], cwd=str(notebook.path.parent),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            # Its own session: Ctrl-C in the terminal reaches the runner, which stops the
            # runs; the server and its kernels do not die mid-cell with a traceback.
            start_new_session=True, env=env,
        )
        inherit_priority(self.process.pid)  # its session is its own (priority.py)
        setup = {"imports": list(notebook.imports), "warm_up": warm_up}
        answer = self.exchange(setup)
        if not answer.get("ready"):
            self.close()
            raise ForkServerError(f"the kernel fork server could not preload: "
                                  f"{answer.get('error', 'no answer')}")

    def exchange(self, message: dict) -> dict:
        with self.lock:
            try:
                self.process.stdin.write(json.dumps(message) + "\n")
                line = self.process.stdout.readline()
            except (OSError, ValueError) as error:  # the server is gone
                raise ForkServerError(f"the kernel fork server is gone: {error}") from None
        if not line:
            raise ForkServerError("the kernel fork server ended")
        return json.loads(line)

    def fork(self, argv: list[str], cwd: str, env: dict[str, str]) -> int:
        """A new kernel process running ipykernel with `argv` (its arguments after the
        launcher, connection file included) in `cwd` with `env`."""
        answer = self.exchange({"argv": argv, "cwd": cwd, "env": env})
        return int(answer["pid"])

    def start_kernel(self, cwd: Path, kernel_name: str, arguments: list[str]):
        """A started kernel (an async manager) forked from this server; its clients are
        closed with it (kernel_manager.py says why)."""
        from jupyter_core.utils import run_sync

        km = ClosingKernelManager(kernel_name=kernel_name)
        km.kernel_id = str(uuid.uuid4())
        # Set before the start: jupyter_client keeps a provisioner it is given.
        km.provisioner = ForkedProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec,
                                           parent=km, forker=self)
        environment = {"env": self.env} if self.env is not None else {}
        run_sync(km.start_kernel)(cwd=str(cwd), extra_arguments=arguments, **environment)
        return km

    def close(self) -> None:
        """Stop the server (kernels forked from it and still running leave with it)."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()


class ForkedProcess:
    """The parts of Popen a provisioner uses, for a process this one did not start (the fork
    server's child; the server reaps it, so a pid that is gone means it ended)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # its exit status went to the server
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkedProvisioner(LocalProvisioner):
    """LocalProvisioner, but the kernel process comes from a KernelForker, not from Popen."""

    forker = AnyTrait()

    async def launch_kernel(self, cmd: list[str], **kwargs):
        # cmd is the kernelspec's argv, formatted: PYTHON -m ipykernel_launcher -f FILE ...
        # Absolute: the server works in the notebook's folder, not in the runner's.
        cwd = str(Path(kwargs.get("cwd") or Path.cwd()).resolve())
        env = dict(kwargs.get("env") or os.environ)
        pid = self.forker.fork(cmd[len(LAUNCHER) + 1:], cwd, env)
        self.process = ForkedProcess(pid)
        self.pid = self.pgid = pid  # the kernel leads its own session
        self.cwd = cwd
        return self.connection_info
