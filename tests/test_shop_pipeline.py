"""A second pipeline that shares nothing with the example (tests/pipelines/shop): four steps
with other names, listed out of order in its pipeline.yaml, with float, bool, list and
date-like string parameters, an image and a metrics JSON. Run by the CLI as a user would.
(In containers: tests/containers/test_shop_containers.py.)"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.test_scaffold import nbsteps

SHOP = Path(__file__).resolve().parent / "pipelines" / "shop"
ORDER = ["orders", "clean", "train", "report"]  # what the data needs


def copy_shop(target: Path) -> Path:
    shutil.copytree(SHOP, target)
    for folder in ("data", "outputs", "logs"):
        (target / folder).mkdir()
    return target


def latest(root: Path, step: str) -> dict:
    return json.loads((root / "outputs" / step / "latest.json").read_text())


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    root = copy_shop(tmp_path_factory.mktemp("shop") / "shop")
    result = nbsteps("run", "all", "-p", "clean.min_amount=7.5", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def test_the_steps_are_listed_out_of_order():
    listed = list(yaml.safe_load((SHOP / "pipeline.yaml").read_text())["steps"])
    assert sorted(listed) == sorted(ORDER) and listed != ORDER


def test_run_all_runs_each_step_after_the_data_it_reads(shop):
    records = {step: latest(shop, step) for step in ORDER}
    assert {s: r["status"] for s, r in records.items()} == dict.fromkeys(ORDER, "succeeded")
    started = [records[step]["started"] for step in ORDER]
    assert started == sorted(started), "a step ran before the step it reads from"


def test_parameters_of_every_kind_reach_the_notebooks(shop):
    orders = latest(shop, "orders")["parameters"]
    assert orders["start_date"] == "2026-03-01" and isinstance(orders["start_date"], str)
    clean = latest(shop, "clean")["parameters"]
    assert clean["regions"] == ["north", "south"] and clean["drop_returns"] is True
    assert clean["min_amount"] == 7.5
    rows = (shop / "data" / "clean" / "orders.csv").read_text().splitlines()[1:]
    assert rows and all(row.split(",")[1] in ("north", "south") for row in rows)
    assert all(float(row.split(",")[2]) >= 7.5 and row.endswith("False") for row in rows)
    days = sorted({row.split(",")[0] for row in rows})
    assert days[0] == "2026-03-01" and len(days) == 30


def test_the_report_is_an_image_and_the_metrics_a_json(shop):
    report = latest(shop, "report")
    folder = shop / "data" / "report" / report["run_id"]
    assert (folder / "sales.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["from"] == "2026-03-01" and summary["days"] == 30
    metrics = json.loads((shop / "data" / "train" / "metrics.json").read_text())
    assert metrics["days"] == 30 and metrics["mae"] >= 0


def test_a_date_like_string_from_the_command_line_stays_a_string(tmp_path):
    root = copy_shop(tmp_path / "shop")
    result = nbsteps("run", "orders", "-p", "start_date=2026-05-01", "-p", "days=3", cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert latest(root, "orders")["parameters"]["start_date"] == "2026-05-01"
    first = (root / "data" / "raw" / "orders.csv").read_text().splitlines()[1]
    assert first.startswith("2026-05-01,")
