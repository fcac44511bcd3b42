"""nbsteps as people get it: `python -m build` makes a wheel and an sdist holding everything
the CLI and the dashboard need; the wheel, installed into a fresh virtual environment
outside the repository (pip with `-c constraints.txt`), starts a project with `init` and
`add-step`, runs it, and serves a dashboard that Chromium drives."""

import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.dashboard.conftest import close_context, free_port, set_field, wait_for_state

REPO = Path(__file__).resolve().parents[1]
# What the installed package reads at run time, besides its modules.
PACKAGE_DATA = ("nbsteps/templates/step/notebook.ipynb",
                "nbsteps/templates/project/containers/Dockerfile",
                "nbsteps/templates/project/docker-compose.yml",
                "nbsteps/templates/project/pipeline.yaml",
                "nbsteps/dashboard/dashboard.ipynb")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from it (python -m build's default)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment, far from the repository, with the wheel and its
    dashboard extra at the pinned versions; returns its bin/ folder."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    [wheel] = dist.glob("*.whl")
    result = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet",
                             "-c", str(REPO / "constraints.txt"), f"{wheel}[dashboard]"],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv / "bin"


def test_the_wheel_and_the_sdist_hold_the_templates_and_the_dashboard_page(dist):
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [path for path in PACKAGE_DATA if path not in names] == []
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert [path for path in PACKAGE_DATA if f"src/{path}" not in members] == []


def user_command(bin_folder: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A command of the installed package, with nothing of the repository in reach."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("NBSTEPS_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_folder}:{env.get('PATH', '')}"
    return subprocess.run([str(bin_folder / args[0]), *args[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def user_project(installed, tmp_path_factory) -> Path:
    """init, two add-steps and `run all`, with the installed package only."""
    home = tmp_path_factory.mktemp("home")
    result = user_command(installed, "nbsteps", "init", "sales", cwd=home)
    assert result.returncode == 0, result.stderr
    root = home / "sales"
    for name, after in (("clean", "generate"), ("report", "clean")):
        result = user_command(installed, "nbsteps", "add-step", name, "--after", after,
                              cwd=root)
        assert result.returncode == 0, result.stderr
    result = user_command(installed, "nbsteps", "run", "all", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def test_the_installed_package_runs_outside_the_repository(installed, user_project):
    where = user_command(installed, "python", "-c", "import nbsteps; print(nbsteps.__file__)",
                         cwd=user_project)
    assert str(installed.parent) in where.stdout and str(REPO) not in where.stdout
    assert (user_project / "data" / "report" / "stats.json").is_file()


@pytest.mark.browser
def test_the_installed_dashboard_runs_a_step_in_chromium(installed, user_project, browser):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NBSTEPS_")}
    server = subprocess.Popen([str(installed / "nbsteps"), "dashboard", "--port", str(port)],
                              cwd=user_project, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    try:
        wait_for_server(url, server)
        page = context.new_page()
        page.goto(url, timeout=90_000)
        page.wait_for_selector(".nbsteps-run", timeout=90_000)
        assert "sales" in page.inner_text("body")  # the title from pipeline.yaml
        set_field(page, "factor", 5)
        page.click(".nbsteps-run")
        wait_for_state(page, "succeeded")
        # 1..10 times 5: the summary table of this run shows its total.
        page.wait_for_function("() => document.body.innerText.includes('275')",
                               timeout=60_000)
    finally:
        close_context(context)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def wait_for_server(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, "nbsteps dashboard exited"
        try:
            urllib.request.urlopen(url + "voila/static/voila.js", timeout=5)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise AssertionError("the dashboard did not answer within 90 s")
