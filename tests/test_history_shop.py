"""history, diff, which and prune on the second pipeline (tests/pipelines/shop): four steps
with other names, a step with two inputs, metrics from `train`."""

import json
import re

import pytest

from tests.test_shop_pipeline import copy_shop, latest, nbsteps

STEPS = ("orders", "clean", "train", "report")


def ok(root, *args):
    result = nbsteps(*args, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def shop_runs(tmp_path_factory):
    """Two runs of the pipeline that differ in clean's min_amount: orders is skipped the
    second time; clean, train and report run again."""
    root = copy_shop(tmp_path_factory.mktemp("shop-history") / "shop")
    ids = {}
    for turn, amount in ((1, "7.5"), (2, "20")):
        ok(root, "run", "all", "-p", f"clean.min_amount={amount}")
        ids |= {f"{step}{turn}": latest(root, step)["run_id"] for step in STEPS}
    return root, ids


def test_history_of_train_shows_why_it_ran_again_and_its_metrics(shop_runs):
    root, ids = shop_runs
    records = json.loads(ok(root, "history", "train", "--json"))
    assert [r["run_id"] for r in records] == [ids["train2"], ids["train1"]]
    assert "input changed" in records[0]["reason"]
    assert records[0]["metrics"] and records[0]["metrics"] != records[1]["metrics"]
    orders = json.loads(ok(root, "history", "orders", "--status", "skipped", "--json"))
    assert [r["reused_run"] for r in orders] == [ids["orders1"]]


def test_diff_of_two_train_runs_shows_the_changed_input_and_metrics(shop_runs):
    root, ids = shop_runs
    data = json.loads(ok(root, "diff", ids["train1"], ids["train2"], "--json"))
    assert [row["name"] for row in data["inputs"]] == ["clean/orders.csv"]
    assert any(row["changed"] for row in data["metrics"])
    assert data["parameters"] == []  # train has none of its own


def test_which_follows_both_inputs_of_the_report_back_to_the_orders(shop_runs):
    root, ids = shop_runs
    chart = root / "data" / "report" / ids["report2"] / "sales.png"
    text = ok(root, "which", str(chart))
    assert f"written by {ids['report2']}" in text
    for run in ("clean2", "train2"):
        assert f"written by {ids[run]}" in text
    # train read the same clean table as the report: that run is traced once, named twice
    assert text.count(f"written by {ids['clean2']}") == 2 and ", traced above" in text
    assert text.count(f"written by {ids['orders1']}") == 1
    assert f"reused by 1 skipped run(s), the latest {ids['orders2']}" in text


def test_prune_keep_0_keeps_the_chain_of_the_latest_report(shop_runs, tmp_path):
    root, ids = shop_runs
    text = ok(root, "prune", "--keep", "0", "--dry-run")
    removed = set(re.findall(r"^would remove (\S+) \(", text, re.MULTILINE))
    assert removed == {ids["clean1"], ids["train1"], ids["report1"]}
