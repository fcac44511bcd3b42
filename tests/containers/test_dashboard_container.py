"""The dashboard container: built like the model image, published on loopback only, healthy
without curl, usable in a real browser from empty folders (the page runs the earlier steps,
then the model), serving nothing but what it links to, and stopping promptly.

    docker compose up -d dashboard
"""

import json
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.containers.conftest import (
    REPO,
    TEST_GID,
    TEST_UID,
    VERSIONS_CHECK,
    describe,
    in_image,
    inspect,
    run,
)
from tests.containers.test_dockerfiles import DOCKERFILE, stages
from tests.dashboard.conftest import (
    close_context,
    free_port,
    open_dashboard,
    set_field,
    wait_for_state,
    wait_for_text,
)
from tests.test_pins import read_constraints, requirement_names

pytestmark = pytest.mark.containers

HEALTHY_S = 120
RUN_MS = 300_000


def compose_service() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["dashboard"]


def test_the_dashboard_stage_is_built_on_its_steps_image_with_a_healthcheck_without_curl():
    found = stages(DOCKERFILE)
    dashboard = found["dashboard"]
    assert dashboard[0] == "FROM step AS dashboard"
    # The step's user and project files, not a root user of its own.
    assert "COPY notebooks/ ./notebooks/" in found["step"]
    assert not any(line.startswith("USER ") for line in dashboard)
    assert 'ENTRYPOINT ["nbsteps", "dashboard"]' in dashboard
    assert any(line.startswith("HEALTHCHECK ") and "curl" not in line for line in dashboard)


def test_the_image_holds_every_steps_requirements_and_the_dashboards(dashboard_image):
    """The page runs its step, and the earlier ones when their data is missing."""
    names = sorted({name for path in (REPO / "containers" / "requirements").glob("*.txt")
                    for name in requirement_names(path.read_text().splitlines())})
    result = in_image(dashboard_image, "python3", "-c", VERSIONS_CHECK, *names)
    pins = read_constraints()
    assert json.loads(result.stdout) == {n: pins[n] for n in names}


def test_compose_publishes_on_loopback_and_waits_for_nothing():
    service = compose_service()
    assert service["ports"] == ["${DASHBOARD_BIND:-127.0.0.1}:${DASHBOARD_PORT:-8866}:8866"]
    assert "depends_on" not in service and "network_mode" not in service
    assert (service["build"]["dockerfile"], service["build"]["target"]) == (
        "containers/Dockerfile", "dashboard")
    assert service["restart"] == "unless-stopped" and service["init"] is True
    assert service["user"] == "${UID:-1000}:${GID:-1000}"
    assert {"./data:/data", "./outputs:/outputs", "./logs:/logs",
            "./params:/app/params:ro"} <= set(service["volumes"])


@pytest.fixture(scope="module")
def dashboard_image(images):
    """The session's images include the dashboard (compose builds every service)."""
    name = f"nbsteps-dashboard:{images.tag}"
    run(["docker", "image", "inspect", name], timeout=60)
    yield name
    run(["docker", "image", "rm", "--force", name], check=False, timeout=300)


@pytest.fixture(scope="module")
def served(new_project, dashboard_image, corpus_file):
    """`up -d dashboard` on empty folders, ingest's source the test corpus server."""
    compose = new_project()
    params = compose.folder / "params" / "ingest.yaml"
    params.write_text(yaml.safe_dump(yaml.safe_load(params.read_text())
                                     | {"source": "http://corpus:8000/posts.json"}))
    compose.port = free_port()
    compose.env = compose.env | {"DASHBOARD_PORT": str(compose.port)}
    result = compose("up", "--detach", "corpus", "dashboard", timeout=300)
    assert result.returncode == 0, describe(result)
    compose.container = compose("ps", "-q", "dashboard", check=True).stdout.split()[0]
    compose.url = f"http://127.0.0.1:{compose.port}/"
    yield compose
    compose("stop", "--timeout", "30", timeout=120)


def wait_until_healthy(compose) -> float:
    started = time.monotonic()
    while time.monotonic() - started < HEALTHY_S:
        state = inspect(compose.container, "{{.State.Health.Status}}")
        if state == "healthy":
            return time.monotonic() - started
        time.sleep(1)
    logs = run(["docker", "logs", compose.container], check=False).stderr[-3000:]
    pytest.fail(f"dashboard not healthy after {HEALTHY_S} s ({state}):\n{logs}")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_it_starts_healthy_on_loopback_before_the_pipeline_ran(served):
    print(f"\ndashboard healthy after {wait_until_healthy(served):.0f} s")
    ports = json.loads(inspect(served.container, "{{json .NetworkSettings.Ports}}"))
    assert [(b["HostIp"], b["HostPort"]) for b in ports["8866/tcp"]] == [
        ("127.0.0.1", str(served.port))]
    user = inspect(served.container, "{{.Config.User}}")
    assert user == f"{TEST_UID}:{TEST_GID}"
    assert http_status(served.url + "voila/static/voila.js") == 200


def test_a_browser_runs_the_whole_pipeline_from_the_page(served, browser):  # noqa: F811
    wait_until_healthy(served)
    context = browser.new_context(viewport={"width": 1280, "height": 1200})
    try:
        page = open_dashboard(context, served.url)
        page.locator(".nbsteps-missing").wait_for()
        page.click(".nbsteps-prepare")
        text = wait_for_state(page, "succeeded", "failed", "cancelled", timeout=RUN_MS)
        assert "the data is ready" in text, text
        set_field(page, "k", 100)
        page.click(".nbsteps-run")
        wait_for_text(page, "cell ", timeout=RUN_MS)
        text = wait_for_state(page, "succeeded", "failed", "cancelled", timeout=RUN_MS)
        assert text.startswith("succeeded"), text
        page.wait_for_selector("img.nbsteps-plot", state="visible")
        href = page.locator(".nbsteps-details a", has_text="executed notebook").get_attribute(
            "href")
        assert http_status(served.url + href) == 200
    finally:
        close_context(context)

    records = served.records("model")
    assert [r["status"] for r in records] == ["succeeded"]
    record = records[0]
    for name in ("coordinates.csv", "plot.png", "summary.json"):
        path = served.folder / "data" / "model" / record["run_id"] / name
        assert path.stat().st_uid == TEST_UID and path.stat().st_gid == TEST_GID
    # The CLI in a step image sees the page's run as the latest.
    status = served("run", "--rm", "--no-deps", "--entrypoint", "nbsteps", "model", "status",
                    timeout=300)
    assert record["run_id"] in status.stdout, describe(status)


def test_nothing_but_the_linked_files_is_served(served):
    wait_until_healthy(served)
    latest = served.folder / "outputs" / "ingest" / "latest.html"
    if latest.exists():
        assert http_status(f"{served.url}voila/files/outputs/ingest/{latest.resolve().name}") \
            == 200
    for path in ("app/notebooks/dashboard.ipynb", "app/notebooks/authorship.py",
                 "app/params/model.yaml", "app/pipeline.yaml", "outputs/model/latest.json",
                 "outputs/ingest/latest.ipynb", "data/raw/posts.json", "etc/passwd",
                 "opt/venv/bin/nbsteps"):
        assert http_status(f"{served.url}voila/files/{path}") in (403, 404), path


def test_stop_ends_the_server_promptly(served):
    started = time.monotonic()
    result = served("stop", "dashboard", timeout=120)
    stop_s = time.monotonic() - started
    assert result.returncode == 0, describe(result)
    print(f"\n`stop dashboard` took {stop_s:.1f} s")
    assert stop_s < 20
    assert inspect(served.container, "{{.State.Running}}") == "false"
