"""Beyond loopback the dashboard needs a secret, checked on every request and websocket.

`--host 0.0.0.0` without a token refuses to start with one line saying how; with
`--token`, every request (page, static and served files, kernel websockets) without it
gets a 403, and a real browser that opened the printed address works as before."""

import re
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, Workspace
from tests.dashboard.conftest import PAGE_LOAD_MS, DashboardServer, close_context, free_port
from tests.dashboard.guard_client import get, kernel_id

TOKEN = "s3cret-token-for-the-test-0123"
STATIC = "/voila/static/voila.js"
UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
           "Sec-WebSocket-Protocol": "v1.kernel.websocket.jupyter.org"}


def start_command(space: Workspace, *args: str, env: dict | None = None):
    """`nbsteps dashboard ARGS` expected to refuse: its exit code and stderr."""
    command = [sys.executable, "-m", "nbsteps", "dashboard", "--port", str(free_port()), *args]
    return subprocess.run(command, env=space.env() | (env or {}), cwd=space.base,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args, env", [
    (("--host", "0.0.0.0"), {}),
    (("--host", "::"), {}),
    (("--host", "192.0.2.10"), {}),
    (("--host", "dashboard.example.org"), {}),
    # The container listens on 0.0.0.0 and compose says where the host publishes it.
    (("--host", "127.0.0.1"), {"NBSTEPS_DASHBOARD_PUBLISHED_ON": "0.0.0.0"}),
])
def test_exposing_without_a_secret_refuses_to_start(tmp_path, args, env):
    result = start_command(Workspace(root=REPO, base=tmp_path), *args,
                           env={"NBSTEPS_DASHBOARD_TOKEN": ""} | env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("nbsteps: error: ")
    assert "--token" in lines[0] and "NBSTEPS_DASHBOARD_TOKEN" in lines[0]


def test_a_guessable_token_is_refused(tmp_path):
    result = start_command(Workspace(root=REPO, base=tmp_path), "--host", "0.0.0.0",
                           "--token", "short")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "at least 16" in result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("guard-token")
    server = DashboardServer(Workspace(root=REPO, base=base), base / "dashboard.log",
                             args=("--token", TOKEN))
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/", STATIC, "/voila/files/outputs/model/x.html",
                                  "/voila/api/shutdown/0b8c3b8e-9a4e-4a34-9d1e-3c9a0c3b2f11",
                                  "/?token=wrong-token-0123456789"])
def test_requests_without_the_token_are_refused(server, path):
    answer = get(server.port, path)
    assert answer.status == 403
    assert b"needs its token" in answer.body


def test_the_token_opens_the_page_once_and_the_cookie_after(server):
    first = get(server.port, f"/?token={TOKEN}")
    assert first.status == 302 and first.headers["location"] == "/"  # token out of the URL
    cookie = first.headers["set-cookie"].split(";")[0]
    assert TOKEN not in cookie
    assert get(server.port, STATIC, headers={"Cookie": cookie}).status == 200
    assert get(server.port, STATIC, headers={"Authorization": f"token {TOKEN}"}).status == 200
    assert get(server.port, STATIC, headers={"Cookie": cookie + "0"}).status == 403


def test_a_kernel_websocket_needs_the_token_too(server):
    page = get(server.port, "/", headers={"Authorization": f"token {TOKEN}"})
    assert page.status == 200
    path = f"/api/kernels/{kernel_id(page.body)}/channels?session_id=x"
    assert get(server.port, path, headers=UPGRADE).status == 403
    accepted = get(server.port, path, read_body=False,
                   headers=UPGRADE | {"Authorization": f"token {TOKEN}"})
    assert accepted.status == 101


def test_a_generated_token_is_printed_and_works(tmp_path):
    server = DashboardServer(Workspace(root=REPO, base=tmp_path), tmp_path / "dashboard.log",
                             args=("--token", "auto"))
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"\?token=([\w-]{16,})", server.log_path.read_text())):
            assert time.monotonic() < deadline, server.log_path.read_text()
            time.sleep(0.2)
        token = found.group(1)
        assert get(server.port, STATIC).status == 403
        assert get(server.port, STATIC, headers={"Authorization": f"token {token}"}).status == 200
    finally:
        server.stop()


@pytest.mark.browser
def test_a_browser_with_the_token_uses_the_dashboard(server, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}?token={TOKEN}", timeout=PAGE_LOAD_MS)
        assert "token" not in page.url
        # The widgets render only once the kernel websocket is open (with the cookie).
        page.wait_for_selector(".nbsteps-run", timeout=PAGE_LOAD_MS)
        assert page.locator(".nbsteps-status-line").count() == 1
    finally:
        close_context(context)


def test_exposed_with_a_token_it_starts_and_still_checks_host_names(tmp_path):
    server = DashboardServer(Workspace(root=REPO, base=tmp_path), tmp_path / "dashboard.log",
                             args=("--host", "0.0.0.0", "--token", TOKEN))
    try:
        auth = {"Authorization": f"token {TOKEN}"}
        # Typed as an address (what other machines use without a name): served.
        for host in (f"127.0.0.1:{server.port}", f"192.0.2.7:{server.port}"):
            assert get(server.port, STATIC, host=host, headers=auth).status == 200
            assert get(server.port, STATIC, host=host).status == 403
        # A name it was not started for: refused, token or not.
        assert get(server.port, STATIC, host=f"evil.example:{server.port}",
                   headers=auth).status == 403
    finally:
        server.stop()
