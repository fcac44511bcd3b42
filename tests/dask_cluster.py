"""A real Dask scheduler and `nbsteps worker`s on loopback, started and stopped by process id."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.conftest import Workspace

DASK = Path(sys.executable).with_name("dask")


class LoopbackCluster:
    def __init__(self, space: Workspace, folder: Path) -> None:
        self.space, self.folder = space, folder
        self.scheduler_file = folder / "scheduler.json"
        self.processes: dict[str, subprocess.Popen] = {}

    def start_scheduler(self) -> str:
        self.processes["scheduler"] = self._spawn(
            "scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                          "--scheduler-file", str(self.scheduler_file), "--no-dashboard"])
        wait_for(self.scheduler_file.is_file, "the scheduler file")
        return self.address

    @property
    def address(self) -> str:
        return json.loads(self.scheduler_file.read_text())["address"]

    def start_worker(self, name: str, step: str) -> None:
        self.processes[name] = self._spawn(
            name, [sys.executable, "-m", "nbsteps", "worker", "--step", step,
                   "--scheduler", self.address, "--name", name])

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(count, timeout=120)

    def worker_process(self, name: str) -> psutil.Process:
        """The Dask worker process under the nanny that `nbsteps worker --name` started."""
        nanny = psutil.Process(self.processes[name].pid)
        workers = [child for child in nanny.children()
                   if "spawn_main" in " ".join(child.cmdline())]
        assert len(workers) == 1, workers
        return workers[0]

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        return subprocess.Popen(args, env=self.space.env(), cwd=self.space.base, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        """Workers first (each nanny stops its worker and kernels), then the scheduler."""
        for _, process in sorted(self.processes.items(), key=lambda i: i[0] == "scheduler"):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)  # its own session: it and its children
                    process.wait()
        self.processes.clear()


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
