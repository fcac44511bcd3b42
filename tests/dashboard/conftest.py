"""Fixtures for the dashboard: data made by the real pipeline from the real corpus, a real
`nbsteps dashboard` server, and headless Chromium driven by Playwright.

The browser tests never skip: without Chromium or Playwright they fail and say what to
install (ENVIRONMENT.md: `apt-get install chromium`, `pip install playwright`, and never
`playwright install`, which downloads a browser).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# The browser fixture lives in tests/conftest.py: one Playwright per session for every suite.
from tests.conftest import REPO, Workspace, copy_project

ARTIFACTS = REPO / "artifacts"
SERVER_START_S = 90
PAGE_LOAD_MS = 90_000
RUN_MS = 120_000
# Widget models live in the page's widget manager (Voila 0.5 exposes it as
# window.jupyterapp.widgetManager). Changing a model there sends the kernel exactly the
# message the widget would send, without any check the widget's view makes: a forgery.
FIND_MODEL_JS = """async (domClass) => {
  const manager = await window.jupyterapp.widgetManagerPromise.promise;
  for (const pending of Object.values(manager._models)) {
    const model = await pending;
    if ((model.get('_dom_classes') || []).includes(domClass)) { return model; }
  }
  throw new Error('no widget with class ' + domClass);
}"""
FORGE_VALUE_JS = f"""async ([domClass, name, value]) => {{
  const model = await ({FIND_MODEL_JS})(domClass);
  model.set(name, value);
  model.save_changes();
}}"""
FORGE_CLICK_JS = f"""async (domClass) => {{
  const model = await ({FIND_MODEL_JS})(domClass);
  model.send({{event: 'click'}}, {{}});
}}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DashboardServer:
    """`nbsteps dashboard --port <free port>` on a workspace, in its own process group."""

    def __init__(self, space: Workspace, log_path: Path, args: tuple[str, ...] = ()):
        self.space = space
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_path
        command = [sys.executable, "-m", "nbsteps", "dashboard", "--port", str(self.port), *args]
        with log_path.open("w") as log:
            self.process = subprocess.Popen(command, env=space.env(), cwd=space.base,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.wait_until_up()

    def wait_until_up(self) -> None:
        # A refused file answers fast and starts no kernel, unlike the page itself.
        probe = f"{self.url}voila/files/probe"
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"nbsteps dashboard exited with {self.process.returncode}:\n"
                            f"{self.log_path.read_text()}")
            try:
                urllib.request.urlopen(probe, timeout=2)
            except urllib.error.HTTPError:
                return  # any HTTP answer: the server is up
            except OSError:
                time.sleep(0.3)
                continue
            return
        self.stop()
        pytest.fail(f"nbsteps dashboard did not answer in {SERVER_START_S} s:\n"
                    f"{self.log_path.read_text()}")

    def status(self, path: str) -> int:
        """The HTTP status of a GET for `path` (relative to the server root)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def fetch(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return response.read()

    def stop(self) -> None:
        """SIGTERM, as `docker stop` sends: Voila shuts its kernels down and exits."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def copy_workspace(source: Workspace, base: Path, root: Path = REPO) -> Workspace:
    """Fresh folders holding a copy of `source`'s data, outputs and logs."""
    space = Workspace(root=root, base=base)
    for name in ("data", "outputs", "logs"):
        shutil.copytree(source.base / name, base / name, symlinks=True)
    return space


@pytest.fixture(scope="session")
def prepared(tmp_path_factory, real_corpus) -> Workspace:
    """ingest and preprocess, run once by the real CLI on the real corpus (a local path)."""
    space = Workspace(root=REPO, base=tmp_path_factory.mktemp("prepared"))
    result = space.run("run", "ingest", "preprocess", "-p", f"ingest.source={real_corpus}")
    assert result.returncode == 0, result.stderr
    return space


@pytest.fixture(scope="session")
def served(prepared, tmp_path_factory):
    """The dashboard on a copy of the prepared data, shared by the tests that only add runs."""
    base = tmp_path_factory.mktemp("served")
    # A copy of the project, so an edit in the working tree mid-session changes nothing.
    space = copy_workspace(prepared, base, root=copy_project(base / "project"))
    server = DashboardServer(space, base / "dashboard.log")
    yield server
    server.stop()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    yield context
    close_context(context)


def close_context(context) -> None:
    for page in context.pages:
        leave_page(page)
    context.close()


def leave_page(page) -> None:
    """Navigate away, as a person closing the tab does: Voila's unload handler then asks the
    server to shut the page's kernel down (page.close() alone does not send it)."""
    page.goto("about:blank")
    page.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def open_dashboard(context, url: str):
    page = context.new_page()
    page.goto(url, timeout=PAGE_LOAD_MS)
    page.wait_for_selector(".nbsteps-run", timeout=PAGE_LOAD_MS)
    return page


def set_field(page, name: str, value) -> None:
    """Type a value into a parameter's field, as a person does (Tab sends it)."""
    field = page.locator(f".nbsteps-field-{name} input")
    field.fill(str(value))
    field.press("Tab")


def status_text(page) -> str:
    return page.inner_text(".nbsteps-status-line")


def wait_for_state(page, *states: str, timeout: float = RUN_MS) -> str:
    """Wait until the status line is in one of `states` (succeeded, failed, cancelled,
    skipped, refused, missing, running, ready); returns its text."""
    selector = ", ".join(f".nbsteps-status-line .nbsteps-status-{state}" for state in states)
    page.wait_for_selector(selector, state="attached", timeout=timeout)
    return status_text(page)


def wait_for_text(page, text: str, timeout: float = RUN_MS) -> str:
    """Wait until the status line contains `text`; returns the whole line."""
    page.wait_for_function(
        """(text) => { const line = document.querySelector('.nbsteps-status-line');
                       return line !== null && line.innerText.includes(text); }""",
        arg=text, timeout=timeout, polling=50)
    return status_text(page)


def wait_until_idle(page, timeout: float = RUN_MS) -> None:
    """Wait until no run is going in the page (the Cancel button is disabled again)."""
    page.wait_for_selector(".nbsteps-cancel[disabled]", state="attached", timeout=timeout)


def forge_value(page, dom_class: str, name: str, value) -> None:
    page.evaluate(FORGE_VALUE_JS, [dom_class, name, value])


def forge_click(page, dom_class: str) -> None:
    page.evaluate(FORGE_CLICK_JS, dom_class)


KERNEL_COMMAND = re.compile(rb"ipykernel|kernel_forkserver")


def kernel_processes(server: DashboardServer) -> set[int]:
    """Process ids of the kernels under the server: page kernels, their warm kernels and the
    fork servers those are forked from."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, pending = set(), [server.process.pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return {pid for pid in found if KERNEL_COMMAND.search(read_cmdline(pid))}


def read_cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def model_records(space: Workspace) -> set[str]:
    """The run ids of every model record in the workspace."""
    return {p.stem for p in (space.outputs / "model").glob("model_*.json")}
