"""The dashboard's kernel side, without a browser: what each action does with the widgets'
values, whatever the page showed (widget messages can be forged)."""

import os
import time

import pytest

from nbsteps.dashboard.config import read_dashboard_config
from nbsteps.dashboard.page import Dashboard
from nbsteps.project import load_project
from nbsteps.records import read_record, write_record, write_text_atomic
from tests.conftest import REPO, copy_project
from tests.dashboard.conftest import copy_workspace, model_records

RUN_S = 120


@pytest.fixture
def space(prepared, tmp_path):
    return copy_workspace(prepared, tmp_path, root=copy_project(tmp_path / "project"))


@pytest.fixture
def dashboard(space):
    project = load_project(space.root, space.data, space.outputs, space.logs)
    # cold kernels: the pool has its own tests
    dashboard = Dashboard(project, read_dashboard_config(project))
    yield dashboard
    dashboard.close()


def status(dashboard: Dashboard) -> str:
    return dashboard.panel.status.status.value


def wait_until_idle(dashboard: Dashboard) -> None:
    deadline = time.monotonic() + RUN_S
    while dashboard.control.active is not None:
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.1)


def test_an_out_of_range_value_is_refused_and_nothing_runs(dashboard, space):
    dashboard.panel.form.fields["k"].value = 20000
    dashboard.panel.on_run_clicked()
    assert "refused:" in status(dashboard) and "got 20000" in status(dashboard)
    assert dashboard.control.active is None and model_records(space) == set()


def test_a_run_shows_its_plot_summary_and_history_row(dashboard, space):
    dashboard.panel.form.fields["k"].value = 50
    dashboard.panel.on_run_clicked()
    assert dashboard.panel.run_button.disabled and not dashboard.panel.cancel_button.disabled
    dashboard.panel.on_run_clicked()  # a forged second click while the first run goes
    assert "already running" in status(dashboard)
    wait_until_idle(dashboard)

    (run_id,) = model_records(space)
    assert "succeeded" in status(dashboard) and run_id in status(dashboard)
    assert bytes(dashboard.panel.result.images[0].value).startswith(b"\x89PNG")
    assert "characters per part" in dashboard.panel.result.details.value
    assert f'data-run="{run_id}"' in dashboard.history.table.value
    assert not dashboard.panel.run_button.disabled and dashboard.panel.cancel_button.disabled

    dashboard.panel.on_run_clicked()  # same values, same data: up to date
    wait_until_idle(dashboard)
    assert "skipped" in status(dashboard) and run_id in status(dashboard)
    assert bytes(dashboard.panel.result.images[0].value).startswith(b"\x89PNG")


def test_closing_the_page_cancels_its_run(dashboard, space):
    dashboard.panel.form.fields["k"].value = 3000
    dashboard.panel.form.fields["method"].value = "t-SNE"
    dashboard.panel.on_run_clicked()
    deadline = time.monotonic() + RUN_S
    while "cell 6 of" not in status(dashboard):
        assert time.monotonic() < deadline, status(dashboard)
        time.sleep(0.1)
    dashboard.close()  # waits for the run to stop
    (run_id,) = model_records(space)
    assert read_record(space.outputs / "model" / f"{run_id}.json").status == "cancelled"
    assert not (space.data / "model" / run_id).exists()


def test_without_processed_data_the_page_offers_the_earlier_steps(tmp_path):
    project = load_project(REPO, tmp_path / "data", tmp_path / "outputs", tmp_path / "logs")
    dashboard = Dashboard(project, read_dashboard_config(project))
    try:
        assert dashboard.panel.missing_panel.layout.display != "none"
        assert "processed/posts.parquet is missing" in dashboard.panel.missing.value
        assert dashboard.panel.prepare_button.description == "Run ingest and preprocess"
        assert dashboard.panel.run_button.disabled
        dashboard.panel.on_run_clicked()  # forged: the button is disabled
        assert "missing data:" in status(dashboard) and dashboard.control.active is None
    finally:
        dashboard.close()


def test_a_record_rewritten_within_one_clock_tick_still_redraws_the_history(dashboard, space):
    """A quick run's last record write can land in the same tick of the filesystem's clock
    as the page's previous look; the folder's mtime then says nothing changed."""
    dashboard.panel.form.fields["k"].value = 50
    dashboard.panel.on_run_clicked()
    wait_until_idle(dashboard)
    (run_id,) = model_records(space)
    path = space.outputs / "model" / f"{run_id}.json"
    record = read_record(path)
    before = dashboard.read_signature()
    folder_times = space.outputs.joinpath("model").stat()
    record.status = "failed"  # as if the run's end were written now
    write_record(space.outputs, record)
    os.utime(space.outputs / "model", ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))
    assert dashboard.read_signature() != before
    dashboard.refresh()
    row = dashboard.history.table.value.split(f'data-run="{run_id}"')[1].split("</tr>")[0]
    assert "failed" in row
    # Likewise an HTML copy (the row links to it once it exists) written in that tick.
    before = dashboard.read_signature()
    write_text_atomic(space.outputs / "model" / f"{run_id}.html", "<html></html>")
    os.utime(space.outputs / "model", ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))
    assert dashboard.read_signature() != before
