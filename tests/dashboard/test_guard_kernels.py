"""Plain page loads cannot fill the machine with kernels, and a real browser still works.

Before the guard, every `GET /` started a page kernel and a warm kernel (about 440 MB)
kept for 30 minutes: 14 loads from curl left 28 kernels. Now the warm kernel starts only
when the page's browser connects, page kernels are bounded per client address and in all
(the rest get a 503 page saying the server is busy), and a page kernel no browser
connected to is shut down after --unconnected-timeout. Real server, real loads from two
loopback addresses, kernel processes counted under the server, real Chromium."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REPO, Workspace, copy_project
from tests.dashboard.conftest import (
    DashboardServer,
    copy_workspace,
    kernel_processes,
    open_dashboard,
    wait_for_state,
)
from tests.dashboard.guard_client import get
from tests.priorities import lowered_by, read_priorities

MAX_PAGES = 5
PER_CLIENT = 3
UNCONNECTED_S = 10
LOADS_PER_CLIENT = 7
CLIENTS = ("127.0.0.1", "127.0.0.2")
# The timeout, the culler's 5 s interval, and the kernel's own shutdown.
CULLED_WITHIN_S = UNCONNECTED_S + 5 + 30
ARGS = ("--max-pages", str(MAX_PAGES), "--max-pages-per-client", str(PER_CLIENT),
        "--unconnected-timeout", str(UNCONNECTED_S))


@pytest.fixture
def server(tmp_path):
    """Before the pipeline ran: the page renders (and starts its kernel) all the same."""
    server = DashboardServer(Workspace(root=REPO, base=tmp_path), tmp_path / "dashboard.log",
                             args=ARGS)
    yield server
    server.stop()


@pytest.fixture
def prepared_server(prepared, tmp_path):
    space = copy_workspace(prepared, tmp_path, root=copy_project(tmp_path / "project"))
    server = DashboardServer(space, tmp_path / "dashboard.log", args=ARGS)
    yield server
    server.stop()


def wait_for_kernels(server, count: int, timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while (found := kernel_processes(server)) and len(found) > count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return found


def test_plain_loads_start_no_more_kernels_than_the_limits(server):
    loads = [client for client in CLIENTS for _ in range(LOADS_PER_CLIENT)]
    with ThreadPoolExecutor(len(loads)) as pool:
        answers = list(pool.map(lambda client: (client, get(server.port, "/", client=client)),
                                loads))
    served = [client for client, answer in answers if answer.status == 200]
    busy = [answer for _, answer in answers if answer.status == 503]
    assert len(served) + len(busy) == len(loads), [a.status for _, a in answers]
    # Per client first (the first address gets its 3), then in all (the second gets 2).
    assert len(served) == MAX_PAGES, served
    assert max(served.count(client) for client in CLIENTS) == PER_CLIENT, served
    assert all(b"The dashboard is busy" in answer.body for answer in busy)
    # One kernel per page, and no warm kernel: no browser connected to any of them (a
    # warm kernel started at render would be there within a second or two). They yield
    # to the server (niceness 10), so their work cannot starve its answers.
    time.sleep(4)
    kernels = kernel_processes(server)
    assert len(kernels) == MAX_PAGES
    below_server = lowered_by(10, read_priorities(server.process.pid))
    assert {read_priorities(pid) for pid in kernels} == {below_server}
    assert wait_for_kernels(server, 0, CULLED_WITHIN_S) == set(), "pages never connected " \
        f"to kept their kernels past {CULLED_WITHIN_S} s"
    assert get(server.port, "/").status == 200  # room again


@pytest.mark.browser
def test_a_browser_page_gets_its_warm_kernel_and_keeps_it(prepared_server, context):
    server = prepared_server
    page = open_dashboard(context, server.url)
    # Connected: the warm kernel starts (and the Run button says so, for tests).
    page.wait_for_selector(".nbsteps-run.nbsteps-warm", timeout=120_000)
    kernels = kernel_processes(server)
    assert len(kernels) == 2  # the page's kernel and its warm kernel
    # The warm kernel, in a session of its own, yields to the server like the page kernel.
    below_server = lowered_by(10, read_priorities(server.process.pid))
    assert {read_priorities(pid) for pid in kernels} == {below_server}
    time.sleep(UNCONNECTED_S + 8)  # longer than an unconnected page may live
    assert len(kernel_processes(server)) == 2
    page.check(".nbsteps-force input")
    page.click(".nbsteps-run")
    assert wait_for_state(page, "succeeded", "failed").startswith("succeeded")
