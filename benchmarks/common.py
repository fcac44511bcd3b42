"""What every benchmark shares: where things are, timing, and peak memory of a child process."""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "data" / "qanon" / "posts.json"


@dataclass
class Figure:
    """One line of the results table: a measurement next to its baseline."""

    target: str
    measure: str
    value: float | None
    baseline: float | None = None
    unit: str = "s"
    goal: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.baseline / self.value if self.value else None


@dataclass
class ChildRun:
    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_child(args: list[str], env: dict | None = None, cwd: Path | None = None) -> ChildRun:
    """Run a command; its wall time and peak resident memory.

    The peak comes from wait4: the largest resident size of the child and of every
    descendant it waited for (a kernel started by nbsteps, say), in MB.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(seconds, usage.ru_maxrss / 1024, process.returncode, out.read(), err.read())


def python_child(code_args: list[str], **kwargs) -> ChildRun:
    return run_child([sys.executable, *code_args], **kwargs)
