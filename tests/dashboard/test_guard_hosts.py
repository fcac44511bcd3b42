"""The dashboard answers only to the host names it was started for (DNS rebinding fails).

A page at http://evil.example:PORT whose name the attacker points at 127.0.0.1 reaches the
server with `Host: evil.example:PORT`: refused with a short 403, on every kind of request
(the page, static files, served files, kernel websockets). Real servers and, for the
rebinding itself, real Chromium told to resolve evil.example to 127.0.0.1."""

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, Workspace
from tests.dashboard.conftest import DashboardServer
from tests.dashboard.guard_client import get, kernel_id

STATIC = "/voila/static/voila.js"  # a file every page loads; it starts no kernel
EVIL = "evil.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("guard-hosts")
    server = DashboardServer(Workspace(root=REPO, base=base), base / "dashboard.log",
                             args=("--allow-host", "Dash.Example.org"))
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/", STATIC, "/voila/files/outputs/model/x.html",
                                  "/api/kernels/0b8c3b8e-9a4e-4a34-9d1e-3c9a0c3b2f11"])
@pytest.mark.parametrize("host", [EVIL, f"{EVIL}:{{port}}", "127.0.0.1.evil.example",
                                  "localhost.evil.example:{port}", "10.1.2.3:{port}"])
def test_unknown_host_names_are_refused(server, host, path):
    answer = get(server.port, path, host=host.format(port=server.port))
    assert answer.status == 403
    assert answer.headers["content-type"].startswith("text/plain")
    assert b"does not answer to that host name" in answer.body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}",
                                  "[::1]:{port}", "dash.example.org:{port}", "localhost"])
def test_the_names_it_was_started_for_are_served(server, host):
    answer = get(server.port, STATIC, host=host.format(port=server.port))
    assert answer.status == 200, answer.body[:200]
    assert b"voila" in answer.body.lower()


def test_a_kernel_websocket_with_an_unknown_host_is_refused(server):
    page = get(server.port, "/")
    assert page.status == 200
    path = f"/api/kernels/{kernel_id(page.body)}/channels?session_id=x"
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Protocol": "v1.kernel.websocket.jupyter.org"}
    refused = get(server.port, path, host=f"{EVIL}:{server.port}", headers=upgrade)
    assert refused.status == 403
    assert b"does not answer to that host name" in refused.body
    accepted = get(server.port, path, host=f"localhost:{server.port}", headers=upgrade,
                   read_body=False)
    assert accepted.status == 101  # the same upgrade, from an allowed name


@pytest.mark.browser
def test_dns_rebinding_from_a_browser_fails(server, browser):
    """Chromium resolves evil.example to 127.0.0.1, as a rebinding attacker's DNS would.
    (A second Chromium from the session's Playwright: resolver rules are launch options.)"""
    rules = f"--host-resolver-rules=MAP {EVIL} 127.0.0.1"
    rebound = browser.browser_type.launch(executable_path=str(CHROMIUM),
                                          args=[*CHROMIUM_ARGS, rules])
    try:
        page = rebound.new_page()
        response = page.goto(f"http://{EVIL}:{server.port}/", timeout=60_000)
        assert response.status == 403
        assert "does not answer to that host name" in page.inner_text("body")
        assert page.locator(".nbsteps-run").count() == 0
    finally:
        rebound.close()
