"""A run closes the kernel client papermill opened, so nothing pings a port after its kernel.

papermill (nbclient) stops its client's channels only when it owns the kernel manager; nbsteps
always hands it one (started ahead, or by run_step). A client left open keeps its heartbeat
pinging the dead kernel's port once a second; when a later kernel binds that port number for
its shell or control socket, each ping arrives there as a malformed message and that kernel
prints "ERROR:tornado.general ... ValueError: DELIM not in msg_list" on the terminal.
"""

import threading
import time

import pytest

from nbsteps.execute import RunOptions, run_step
from nbsteps.forked_kernels import open_forker
from nbsteps.kernels import start_kernel
from nbsteps.notebook import read_notebook
from nbsteps.project import load_project
from tests.sweep_project import make_sweep_project

HEARTBEAT_S = 1.0  # jupyter_client's HBChannel.time_to_dead


def channel_threads() -> list[threading.Thread]:
    from jupyter_client.channels import HBChannel

    return [t for t in threading.enumerate() if isinstance(t, HBChannel) and t.is_alive()]


@pytest.mark.parametrize("forked", [False, True], ids=["started", "forked"])
def test_a_run_on_a_given_kernel_leaves_no_client_channel_open(tmp_path, monkeypatch, forked):
    space = make_sweep_project(tmp_path)
    for name, value in space.env().items():
        monkeypatch.setenv(name, value)
    project = load_project(space.root)
    notebook = read_notebook(project.step("square").notebook)
    forker = open_forker(notebook, "python3") if forked else None
    assert forker is not None or not forked, "the python3 kernel should be forkable here"
    before = set(channel_threads())
    try:
        km = start_kernel(notebook, forker=forker)
        record = run_step(project, "square", {"x": 3}, RunOptions(kernel=km))
    finally:
        if forker is not None:
            forker.close()
    assert record.status == "succeeded", record.error
    assert set(channel_threads()) - before == set()
    assert not km.has_kernel


def start_kernel_on_ports(ports: dict[str, int], stderr):
    """A plain kernel whose sockets take these port numbers (shell_port=..., ...)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name="python3", cache_ports=False, **ports)
    run_sync(km.start_kernel)(stdout=stderr, stderr=stderr)
    return km


def test_a_kernel_on_the_port_numbers_of_a_finished_run_gets_no_stray_message(
        tmp_path, monkeypatch):
    """What a long sweep or dashboard meets by chance, forced: the next kernel's shell and
    control sockets take the port numbers of a kernel that has just run a step."""
    from jupyter_client.blocking import BlockingKernelClient
    from jupyter_core.utils import run_sync

    space = make_sweep_project(tmp_path)
    for name, value in space.env().items():
        monkeypatch.setenv(name, value)
    project = load_project(space.root)
    km = start_kernel(read_notebook(project.step("square").notebook))
    old = {"hb": km.hb_port, "shell": km.shell_port, "control": km.control_port}
    record = run_step(project, "square", {"x": 4}, RunOptions(kernel=km))
    assert record.status == "succeeded", record.error
    stderr_path = tmp_path / "next-kernel.err"
    with stderr_path.open("w") as stderr:
        following = start_kernel_on_ports(
            {"shell_port": old["hb"], "control_port": old["shell"]}, stderr)
        try:
            client = BlockingKernelClient(**following.get_connection_info(session=True))
            client.start_channels(hb=False)
            client.wait_for_ready(timeout=60)
            time.sleep(HEARTBEAT_S * 3)  # a left-over heartbeat pings once a second
            client.execute("1 + 1")
            reply = client.get_shell_msg(timeout=60)
            client.stop_channels()
        finally:
            run_sync(following.shutdown_kernel)(now=True)
    assert reply["content"]["status"] == "ok"
    text = stderr_path.read_text()
    assert "DELIM not in msg_list" not in text and "ERROR:tornado" not in text, text
