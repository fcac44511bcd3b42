"""The dashboard before the pipeline ran, and when a run fails: plain messages, a way on.

A copy of the project whose params/ingest.yaml points at the real corpus on disk, with
empty data, outputs and logs folders: what a new checkout sees.
"""

import pytest
import yaml

from nbsteps.records import read_record
from tests.conftest import Workspace, copy_project
from tests.dashboard.conftest import (
    DashboardServer,
    forge_click,
    model_records,
    open_dashboard,
    wait_for_state,
    wait_for_text,
    wait_until_idle,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, real_corpus):
    base = tmp_path_factory.mktemp("fresh")
    root = copy_project(base / "project")
    params = root / "params" / "ingest.yaml"
    values = yaml.safe_load(params.read_text()) | {"source": str(real_corpus)}
    params.write_text(yaml.safe_dump(values))
    space = Workspace(root=root, base=base)
    for name in ("data", "outputs", "logs"):
        (base / name).mkdir()
    server = DashboardServer(space, base / "dashboard.log")
    yield server
    server.stop()


def test_missing_data_says_so_and_runs_the_earlier_steps(fresh, context):
    page = open_dashboard(context, fresh.url)
    panel = page.locator(".nbsteps-missing")
    panel.wait_for()
    text = panel.inner_text()
    assert "The input data of model does not exist yet" in text
    assert "data/processed/posts.parquet is missing" in text
    assert page.is_disabled(".nbsteps-run")

    # A forged click on the disabled Run button is refused by the kernel: nothing runs.
    forge_click(page, "nbsteps-run")
    refused = wait_for_state(page, "missing")
    assert "processed/posts.parquet is not there yet" in refused
    assert model_records(fresh.space) == set()

    page.click(".nbsteps-prepare:has-text('Run ingest and preprocess')")
    wait_for_text(page, "cell ")
    text = wait_for_state(page, "succeeded", "failed", "cancelled", timeout=180_000)
    assert "ingest succeeded, preprocess succeeded: the data is ready" in text, text
    panel.wait_for(state="hidden")
    assert page.is_enabled(".nbsteps-run")
    for step in ("ingest", "preprocess"):
        latest = read_record(fresh.space.outputs / step / "latest.json")
        assert latest.status == "succeeded", latest
        # The history shows each run once, soon after (redrawn when the run has ended).
        page.locator(f"tr[data-run='{latest.run_id}']").wait_for()
        assert page.locator(f"tr[data-run='{latest.run_id}']").count() == 1


def test_a_failed_run_says_why_and_links_its_notebook(fresh, context):
    processed = fresh.space.data / "processed" / "posts.parquet"
    processed.parent.mkdir(parents=True, exist_ok=True)
    processed.write_bytes(b"not a parquet file")
    page = open_dashboard(context, fresh.url)
    page.click(".nbsteps-run")
    text = wait_for_state(page, "failed", "succeeded")
    wait_until_idle(page)
    assert text.startswith("failed: model failed at In ["), text
    assert "\n" not in text.split("failed executed notebook")[0].strip(), text  # one line

    link = page.locator(".nbsteps-status-line a", has_text="failed executed notebook")
    href = link.get_attribute("href")
    assert fresh.status(href) == 200
    page_html = fresh.fetch(href)
    assert b"posts.parquet" in page_html and record_error_name(text).encode() in page_html
    (run_id,) = model_records(fresh.space)
    record = read_record(fresh.space.outputs / "model" / f"{run_id}.json")
    assert record.status == "failed" and record.error in text
    assert not (fresh.space.data / "model" / run_id).exists()


def record_error_name(text: str) -> str:
    """`ArrowInvalid` from "failed: model failed at In [2]: ArrowInvalid: ...": the
    exception the executed notebook's HTML copy must show in its traceback."""
    return text.split("]: ", 1)[1].split(":", 1)[0]
