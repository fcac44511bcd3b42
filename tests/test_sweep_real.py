"""A sweep of the real model notebook on the real corpus (slow): each point's plot and
summary, and a sweep record that points at them."""

import json

import pytest

from tests.conftest import REPO, Workspace
from tests.sweep_project import check_run_layout, sweep_record

pytestmark = pytest.mark.slow


def test_model_sweep_on_the_real_corpus(tmp_path, real_corpus):
    space = Workspace(root=REPO, base=tmp_path)
    prepared = space.run("run", "preprocess", "--upstream", "-p",
                         f"ingest.source={real_corpus}", timeout=600)
    assert prepared.returncode == 0, prepared.stderr
    result = space.run("sweep", "model", "--grid", "k=20,40", "--grid", "method=PCA,t-SNE",
                       "-j", "2", timeout=900)
    assert result.returncode == 0, result.stderr
    sweep = sweep_record(space, "model")
    assert [p["status"] for p in sweep["points"]] == ["succeeded"] * 4
    for point in sweep["points"]:
        record = json.loads((space.outputs / "model" / f"{point['run_id']}.json").read_text())
        check_run_layout(space, record)
        folder = space.data / "model" / point["run_id"]
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["k"] == point["parameters"]["k"]
        assert (folder / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
