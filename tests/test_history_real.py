"""history, show, diff, which and prune on the example pipeline run on the real corpus."""

import json
import shutil

import pytest

from tests.conftest import REPO, Workspace, example_steps
from tests.history_project import latest_run_id, run_ok

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory, real_corpus):
    """The whole pipeline downloading the real corpus, then the model again with k=50."""
    from tests.corpus_server import CorpusServer

    base = tmp_path_factory.mktemp("real-history")
    served = base / "served"
    served.mkdir()
    shutil.copyfile(real_corpus, served / "posts.json")
    space = Workspace(root=REPO, base=base)
    with CorpusServer(served) as server:
        url = f"{server.url}/posts.json"
        run_ok(space, "run", "all", "-p", f"ingest.source={url}")
    ids = {step: latest_run_id(space, step) for step in example_steps()}
    run_ok(space, "run", "model", "-p", "k=50")
    ids["model50"] = latest_run_id(space, "model")
    return space, ids, url


def test_history_of_the_model_shows_both_runs_with_their_metrics(real_runs):
    space, ids, _ = real_runs
    text = run_ok(space, "history", "model").stdout
    assert text.index(ids["model50"]) < text.index(ids["model"])
    assert "parameter k changed" in text
    assert "metrics: k=50 characters_per_part=" in text and "counts_per_label.8kun=" in text
    records = json.loads(run_ok(space, "history", "model", "--json").stdout)
    assert sum(v for k, v in records[0]["metrics"].items()
               if k.startswith("counts_per_label.")) == 50
    assert records[1]["metrics"]["k"] == 100


def test_show_lists_the_slowest_cells_of_the_model_and_its_peak_memory(real_runs):
    space, ids, _ = real_runs
    details = json.loads(run_ok(space, "show", ids["model"], "--json").stdout)
    record = details["record"]
    assert record["peak_rss_mb"] > 100  # pandas, scikit-learn and the table
    assert len(details["slowest_cells"]) == 5
    slowest = details["slowest_cells"][0]
    assert slowest["seconds"] == max(cell["seconds"] for cell in record["cells"])
    assert slowest["source"]
    assert all(entry["exists"] for entry in details["files"].values())


def test_diff_of_two_model_runs_shows_k_the_metrics_and_both_plots(real_runs):
    space, ids, _ = real_runs
    text = run_ok(space, "diff", ids["model"], ids["model50"], "--html").stdout
    assert "  k  100  ->  50" in text
    assert "model/{run_id}/plot.png" in text
    assert "-  k = 100" in text.splitlines() and "+  k = 50" in text.splitlines()
    page = (space.outputs / "diffs" / f"{ids['model']}__{ids['model50']}.html").read_text()
    assert page.count("data:image/png;base64,") == 2  # plot.png of A beside that of B
    refused = space.run("diff", ids["model"], ids["preprocess"])
    assert refused.returncode == 2 and "diff compares two runs of the same step" in (
        refused.stderr)


def test_which_traces_the_plot_back_to_the_downloaded_corpus(real_runs):
    space, ids, url = real_runs
    text = run_ok(space, "which", str(space.data / "model" / "latest" / "plot.png")).stdout
    chain = [ids["model50"], ids["preprocess"], ids["ingest"]]
    positions = [text.index(f"written by {run_id}") for run_id in chain]
    assert positions == sorted(positions)
    assert f"source={url}" in text and text.rstrip().endswith("no inputs: the source")
    assert "processed/posts.parquet" in text and "raw/posts.json" in text


def test_prune_on_the_real_runs_keeps_the_chain_and_survives_a_corrupted_record(real_runs,
                                                                                 tmp_path):
    space, ids, _ = real_runs
    shutil.copytree(space.base, tmp_path / "copy", symlinks=True)
    copy = Workspace(root=REPO, base=tmp_path / "copy")
    broken = copy.outputs / "preprocess" / "preprocess_2026-01-01_00-00-00_0bad.json"
    broken.write_text((copy.outputs / "preprocess" / f"{ids['preprocess']}.json")
                      .read_text()[:200])
    notebook = copy.outputs / "model" / f"{ids['model']}.ipynb"
    notebook.unlink()  # removed by hand
    shown = run_ok(copy, "show", ids["model"]).stdout
    assert f"notebook  {notebook}  (missing)" in shown
    text = run_ok(copy, "prune", "--keep", "0").stdout
    assert f"removed {ids['model']} (succeeded" in text and "removed 1 run(s)" in text
    assert "already gone: notebook" in text
    assert not (copy.data / "model" / ids["model"]).exists()
    assert (copy.data / "model" / "latest" / "plot.png").is_file()
    assert broken.exists()
    history = copy.run("history")
    assert history.returncode == 0 and f"warning: {broken} is not a readable run record" in (
        history.stderr)
    assert ids["ingest"] in history.stdout and ids["model50"] in history.stdout
