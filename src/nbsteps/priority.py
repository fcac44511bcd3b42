"""A process's CPU priority as Linux applies it: its nice value, and its session's.

With autogroup scheduling (on by default in most Linux kernels:
/proc/sys/kernel/sched_autogroup_enabled), the CPU is shared first between sessions, each
with a nice value of its own, and a process's nice value only orders it within its session.
A kernel leads a session of its own (jupyter_client starts it so, to signal its process
group), so a nice value it is given, or inherits from a runner started with `nice`, does
not make it yield to anything outside: eight run kernels took eight shares of the CPU
against the dashboard server's one, whatever their nice values said. Its session's nice
value is raised too (/proc/<pid>/autogroup; raising it needs no privilege).
"""

import contextlib
import os

# The fork server, which imports nothing of nbsteps, keeps its kernels' session niceness with
# the same two functions.
from nbsteps.kernel_forkserver import read_session_niceness, set_session_niceness


def lower_priority(pid: int, niceness: int) -> None:
    """Run `pid`, and the session it leads, at `niceness` (if that is lower than now)."""
    with contextlib.suppress(OSError):  # ended already, or another user's process
        if os.getpriority(os.PRIO_PROCESS, pid) < niceness:
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
    if read_session_niceness(pid) < niceness:
        set_session_niceness(niceness, pid)


def inherit_priority(pid: int | None) -> None:
    """Run `pid` (a kernel this process started in a session of its own) no higher than
    this process runs. None: a kernel with no local process (nothing to do)."""
    niceness = own_niceness()
    if pid is not None and niceness > 0:
        lower_priority(pid, niceness)


def own_niceness() -> int:
    """This process's niceness, or its session's if that is higher."""
    return max(os.getpriority(os.PRIO_PROCESS, 0), read_session_niceness())
