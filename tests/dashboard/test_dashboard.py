"""The dashboard's kernel side, without a browser: what each action does with the widgets'
values, whatever the page showed (widget messages can be forged)."""

import time

import pytest

from nbsteps.dashboard import Dashboard
from nbsteps.project import load_project
from nbsteps.records import read_record
from tests.conftest import REPO, copy_project
from tests.dashboard.conftest import copy_workspace, model_records

RUN_S = 120


@pytest.fixture
def space(prepared, tmp_path):
    return copy_workspace(prepared, tmp_path, root=copy_project(tmp_path / "project"))


@pytest.fixture
def dashboard(space):
    project = load_project(space.root, space.data, space.outputs, space.logs)
    dashboard = Dashboard(project, pool=None)  # cold kernels: the pool has its own tests
    yield dashboard
    dashboard.close()


def wait_until_idle(dashboard: Dashboard) -> None:
    deadline = time.monotonic() + RUN_S
    while dashboard._active is not None:
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.1)


def test_an_out_of_range_value_is_refused_and_nothing_runs(dashboard, space):
    dashboard.form.fields["k"].value = 20000
    dashboard.on_run_clicked()
    assert "refused:" in dashboard.status.value and "got 20000" in dashboard.status.value
    assert dashboard._active is None and model_records(space) == set()


def test_a_run_shows_its_plot_summary_and_history_row(dashboard, space):
    dashboard.form.fields["k"].value = 50
    dashboard.on_run_clicked()
    assert dashboard.run_button.disabled and not dashboard.cancel_button.disabled
    dashboard.on_run_clicked()  # a forged second click while the first run goes
    assert "already running" in dashboard.status.value
    wait_until_idle(dashboard)

    (run_id,) = model_records(space)
    assert "succeeded" in dashboard.status.value and run_id in dashboard.status.value
    assert bytes(dashboard.plot.value).startswith(b"\x89PNG")
    assert "characters per part" in dashboard.details.value
    assert f'data-run="{run_id}"' in dashboard.history.value
    assert not dashboard.run_button.disabled and dashboard.cancel_button.disabled

    dashboard.on_run_clicked()  # same values, same data: up to date
    wait_until_idle(dashboard)
    assert "skipped" in dashboard.status.value and run_id in dashboard.status.value
    assert bytes(dashboard.plot.value).startswith(b"\x89PNG")


def test_closing_the_page_cancels_its_run(dashboard, space):
    dashboard.form.fields["k"].value = 3000
    dashboard.form.fields["method"].value = "t-SNE"
    dashboard.on_run_clicked()
    deadline = time.monotonic() + RUN_S
    while "cell 6 of" not in dashboard.status.value:
        assert time.monotonic() < deadline, dashboard.status.value
        time.sleep(0.1)
    dashboard.close()  # waits for the run to stop
    (run_id,) = model_records(space)
    assert read_record(space.outputs / "model" / f"{run_id}.json").status == "cancelled"
    assert not (space.data / "model" / run_id).exists()


def test_without_processed_data_the_page_offers_the_earlier_steps(tmp_path):
    project = load_project(REPO, tmp_path / "data", tmp_path / "outputs", tmp_path / "logs")
    dashboard = Dashboard(project, pool=None)
    try:
        assert dashboard.missing_panel.layout.display != "none"
        assert "processed/posts.parquet is missing" in dashboard.missing.value
        assert dashboard.prepare_button.description == "Run ingest and preprocess"
        assert dashboard.run_button.disabled
        dashboard.on_run_clicked()  # forged: the button is disabled
        assert "missing data:" in dashboard.status.value and dashboard._active is None
    finally:
        dashboard.close()
