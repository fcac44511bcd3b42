"""The dashboard in a real browser, on the real corpus: run, watch, see the plot; cancel;
refuse forged values; two browsers at once; runs from the command line in the history."""

import json
import os
import re
import shutil
import time

import pytest

from nbsteps.records import read_record
from tests.conftest import REPO
from tests.dashboard.conftest import (
    close_context,
    forge_click,
    forge_value,
    kernel_processes,
    leave_page,
    model_records,
    open_dashboard,
    set_field,
    status_text,
    wait_for_state,
    wait_for_text,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

RUN_ID = re.compile(r"model_[0-9-]+_[0-9-]+_[0-9a-f]{4}")
PLOT_SHOWN_JS = """() => { const img = document.querySelector('img.nbsteps-plot');
  return img !== null && img.offsetParent !== null && img.complete && img.naturalWidth > 0; }"""


def run_id_in(text: str) -> str:
    match = RUN_ID.search(text)
    assert match, f"no run id in {text!r}"
    return match.group(0)


def test_run_model_shows_progress_plot_summary_links_and_history(served, context, artifacts):
    page = open_dashboard(context, served.url)
    set_field(page, "k", 120)
    page.click(".nbsteps-run")

    progress = wait_for_text(page, "cell ")
    assert re.search(r"cell \d+ of \d+, \d+\.\d s", progress), progress
    assert page.is_disabled(".nbsteps-run") and page.is_enabled(".nbsteps-cancel")
    text = wait_for_state(page, "succeeded", "failed", "cancelled", "skipped")
    assert text.startswith("succeeded"), text
    run_id = run_id_in(text)
    page.wait_for_function(PLOT_SHOWN_JS)
    assert page.is_enabled(".nbsteps-run")

    # The same run record, executed notebook, HTML, log and outputs as the CLI makes.
    record = read_record(served.space.outputs / "model" / f"{run_id}.json")
    assert record.status == "succeeded" and record.parameters["k"] == 120
    assert {o["path"] for o in record.outputs} == {
        f"model/{run_id}/{name}" for name in ("coordinates.csv", "plot.png", "summary.json")}
    assert (served.space.logs / "model" / f"{run_id}.log").is_file()
    status = served.space.run("status")
    assert run_id in status.stdout, status.stdout

    summary = json.loads((served.space.data / "model" / run_id / "summary.json").read_text())
    details = page.inner_text(".nbsteps-details")
    assert "characters per part" in details and f"{summary['characters_per_part']:,}" in details
    for label, count in summary["counts_per_label"].items():
        assert re.search(rf"{re.escape(label)}\s+{count}\b", details), details

    # The row shows the run's end soon after the page does (the history is redrawn then).
    row = page.locator(f"tr[data-run='{run_id}']", has_text="succeeded")
    row.wait_for()
    assert "k=120" in row.inner_text()
    with context.expect_page() as popup:
        row.locator("a").click()
    notebook = popup.value
    notebook.wait_for_load_state()
    assert "Model: who wrote which part" in notebook.content()
    response = notebook.request.get(notebook.url)
    assert response.status == 200
    notebook.close()

    csv_link = page.locator(".nbsteps-details a", has_text="coordinates.csv")
    csv = page.request.get(page.url + csv_link.get_attribute("href"))
    assert csv.status == 200 and csv.text().startswith("part,x,y,label,site")

    box = page.locator(".nbsteps-dashboard").bounding_box()
    page.screenshot(path=str(artifacts / "dashboard.png"),
                    clip={"x": 0, "y": 0, "width": 1280, "height": box["y"] + box["height"] + 12})
    if os.environ.get("NBSTEPS_UPDATE_SCREENSHOT") == "1":  # the README's picture, on demand
        (REPO / "docs" / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts / "dashboard.png", REPO / "docs" / "images" / "dashboard.png")


def test_cancel_stops_the_run_and_leaves_no_output(served, context):
    page = open_dashboard(context, served.url)
    set_field(page, "k", 3000)
    page.click(".nbsteps-field-method button:has-text('t-SNE')")
    page.click(".nbsteps-run")
    # Cell 6 draws 3,000 parts with t-SNE: half a minute, unless cancelled.
    running = wait_for_text(page, "cell 6 of")
    run_id = run_id_in(running)
    page.click(".nbsteps-cancel")

    text = wait_for_state(page, "cancelled", "succeeded", "failed", timeout=30_000)
    assert text.startswith("cancelled"), text
    wait_until_idle(page)
    record = read_record(served.space.outputs / "model" / f"{run_id}.json")
    assert record.status == "cancelled"
    assert not (served.space.data / "model" / run_id).exists()
    assert not page.locator("img.nbsteps-plot").is_visible()
    page.locator(f"tr[data-run='{run_id}']", has_text="cancelled").wait_for()


def test_forged_values_and_clicks_are_refused_in_the_kernel(served, context):
    page = open_dashboard(context, served.url)
    before = model_records(served.space)

    # Out of range, sent straight to the widget model as a forged message would be.
    forge_value(page, "nbsteps-field-k", "value", 20000)
    page.wait_for_selector(".nbsteps-invalid")
    assert "must be in [2..10000]; got 20000" in page.inner_text(".nbsteps-invalid")
    page.click(".nbsteps-run")
    text = wait_for_state(page, "refused")
    assert "parameter 'k' must be in [2..10000]; got 20000" in text
    # A click on the Run button sent while the button shows disabled: refused too.
    forge_value(page, "nbsteps-field-k", "value", 0)
    forge_click(page, "nbsteps-run")
    page.wait_for_function("() => document.querySelector('.nbsteps-status-line')"
                           ".innerText.includes('got 0')")
    # A choice that is not one: the kernel's widget rejects it and keeps the old value.
    forge_value(page, "nbsteps-field-method", "index", 7)
    set_field(page, "k", 10)
    forge_click(page, "nbsteps-run")
    wait_for_state(page, "succeeded", "skipped", "failed")
    wait_until_idle(page)
    (new,) = model_records(served.space) - before
    assert read_record(served.space.outputs / "model" / f"{new}.json").parameters["method"] == (
        "PCA")


def test_two_browsers_run_at_once_each_with_its_own_run(served, browser):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 1000}) for _ in range(2)]
    try:
        pages = [open_dashboard(context, served.url) for context in contexts]
        for page, k in zip(pages, (130, 140), strict=True):
            set_field(page, "k", k)
        # Playwright's sync API is not thread-safe: click in turn, as fast as it goes; each
        # run takes seconds, so the two overlap.
        for page in pages:
            page.click(".nbsteps-run")
        texts = [wait_for_state(page, "succeeded", "failed", "cancelled") for page in pages]
        run_ids = [run_id_in(text) for text in texts]
        assert all(text.startswith("succeeded") for text in texts), texts
        assert run_ids[0] != run_ids[1]
        for page, run_id, k in zip(pages, run_ids, (130, 140), strict=True):
            page.wait_for_function(PLOT_SHOWN_JS)
            assert re.search(rf"k \(parts\)\s+{k}\b", page.inner_text(".nbsteps-details"))
            record = read_record(served.space.outputs / "model" / f"{run_id}.json")
            assert record.status == "succeeded" and record.parameters["k"] == k
            summary = served.space.data / "model" / run_id / "summary.json"
            assert json.loads(summary.read_text())["k"] == k
        # Kernels come and go in one server process: no client of an ended one pings on.
        assert "DELIM not in msg_list" not in served.log_path.read_text()
    finally:
        for context in contexts:
            close_context(context)


def test_history_shows_runs_from_the_command_line_and_skipped_runs(served, context):
    page = open_dashboard(context, served.url)
    before = model_records(served.space)
    first = served.space.run("run", "model", "-p", "k=61")
    assert first.returncode == 0, first.stderr
    (ran,) = model_records(served.space) - before
    again = served.space.run("run", "model", "-p", "k=61")
    assert again.returncode == 0, again.stderr
    (skipped,) = model_records(served.space) - before - {ran}

    # No reload: the page notices new run records by itself.
    row = page.locator(f"tr[data-run='{ran}']", has_text="succeeded")
    row.wait_for(timeout=10_000)
    assert "k=61" in row.inner_text()
    skipped_row = page.locator(f"tr[data-run='{skipped}']")
    skipped_row.wait_for(timeout=10_000)
    assert f"skipped (up to date: {ran})" in skipped_row.inner_text()
    href = row.locator("a").get_attribute("href")
    assert served.status(href) == 200


def test_status_line_is_plain_before_any_click(served, context):
    page = open_dashboard(context, served.url)
    assert page.locator(".nbsteps-status-ready").count() == 1
    assert "Set the parameters and press Run model." in status_text(page)
    assert page.is_enabled(".nbsteps-run") and page.is_disabled(".nbsteps-cancel")
    assert page.locator(".nbsteps-field-k input").input_value() == "100"  # params/model.yaml


def test_leaving_the_page_stops_its_kernel_and_its_warm_kernel(served, context):
    before = kernel_processes(served)
    page = open_dashboard(context, served.url)
    page.wait_for_selector(".nbsteps-run.nbsteps-warm", timeout=60_000)
    mine = kernel_processes(served) - before
    assert len(mine) == 2, mine  # the page's kernel and the warm one it keeps
    leave_page(page)
    deadline = time.monotonic() + 30
    while mine & kernel_processes(served) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not mine & kernel_processes(served)


def test_leaving_the_page_during_a_run_cancels_it(served, context):
    page = open_dashboard(context, served.url)
    set_field(page, "k", 2999)
    page.click(".nbsteps-field-method button:has-text('t-SNE')")
    page.click(".nbsteps-run")
    run_id = run_id_in(wait_for_text(page, "cell 6 of"))
    leave_page(page)
    # The kernel cancels its run before it exits (it has 10 s before the server kills it).
    record_path = served.space.outputs / "model" / f"{run_id}.json"
    deadline = time.monotonic() + 30
    while read_record(record_path).status == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert read_record(record_path).status == "cancelled"
    assert not (served.space.data / "model" / run_id).exists()
