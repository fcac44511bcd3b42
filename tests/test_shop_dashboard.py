"""The shop pipeline (tests/pipelines/shop) from its dashboard, in Chromium: the page is set
by the shop's own `dashboard:` section (title, button, image, table), with nothing of the
example in it, and a click runs the report with a parameter typed into the form."""

import os
import signal
import subprocess
import sys

import pytest

from tests.dashboard.conftest import close_context, free_port, set_field, wait_for_state
from tests.test_package import wait_for_server
from tests.test_scaffold import nbsteps
from tests.test_shop_pipeline import copy_shop, latest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory):
    root = copy_shop(tmp_path_factory.mktemp("shop-page") / "shop")
    for step in ("orders", "clean", "train"):
        result = nbsteps("run", step, cwd=root)
        assert result.returncode == 0, result.stderr[-3000:]
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NBSTEPS_")}
    server = subprocess.Popen([sys.executable, "-m", "nbsteps", "dashboard", "--port", str(port)],
                              cwd=root, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_server(url, server)
        yield root, url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_the_shop_page_runs_the_report_and_shows_its_chart_and_summary(shop_server, browser):
    root, url = shop_server
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    try:
        page = context.new_page()
        page.goto(url, timeout=90_000)
        page.wait_for_selector(".nbsteps-run", timeout=90_000)
        body = page.inner_text("body")
        assert "Shop sales" in body and "Draw the report" in body
        for example_word in ("model", "authorship", "Who wrote"):
            assert example_word not in body
        set_field(page, "title", "Weekly check")
        page.click(".nbsteps-run")
        wait_for_state(page, "succeeded")
        record = latest(root, "report")
        assert record["status"] == "succeeded"
        assert record["parameters"]["title"] == "Weekly check"
        # The run's chart is on the page, and its summary as a table.
        page.wait_for_function("() => [...document.images].some(i => i.naturalWidth > 100)",
                               timeout=60_000)
        page.wait_for_function("() => document.body.innerText.includes('2026-03-01')",
                               timeout=60_000)
    finally:
        close_context(context)
