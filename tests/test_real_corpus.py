"""The whole pipeline on the real corpus, downloaded over a real loopback HTTP server."""

import json
import shutil

import nbformat
import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, Workspace, example_steps
from tests.test_authorship import assert_equal_up_to_axis_sign, original_pca

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(tmp_path_factory, real_corpus):
    from tests.corpus_server import CorpusServer

    base = tmp_path_factory.mktemp("real")
    served = base / "served"
    served.mkdir()
    shutil.copyfile(real_corpus, served / "posts.json")
    space = Workspace(root=REPO, base=base)
    with CorpusServer(served) as server:
        result = space.run("run", "all", "-p", f"ingest.source={server.url}/posts.json")
    return space, result


def record(space, step):
    return json.loads((space.outputs / step / "latest.json").read_text())


def test_all_steps_succeed_with_clean_executed_notebooks(real_run):
    space, result = real_run
    assert result.returncode == 0, result.stderr
    for step in example_steps():
        rec = record(space, step)
        assert rec["status"] == "succeeded", rec
        nb = nbformat.read(rec["notebook"], as_version=4)
        assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
        assert (space.outputs / step / f"{rec['run_id']}.html").stat().st_size > 10_000


def test_the_download_is_the_real_corpus(real_run, real_corpus):
    space, _ = real_run
    assert (space.data / "raw" / "posts.json").read_bytes() == real_corpus.read_bytes()
    assert record(space, "ingest")["outputs"][0]["size"] == real_corpus.stat().st_size


def test_preprocess_keeps_exactly_2266_of_4966_posts(real_run):
    space, _ = real_run
    table = pd.read_parquet(space.data / "processed" / "posts.parquet")
    assert len(table) == 2266
    assert set(table["bintime"]) <= {0, 1, 2, 3, 4} and (table["size"] > 50).all()
    log = (space.logs / "preprocess" / f"{record(space, 'preprocess')['run_id']}.log").read_text()
    assert "4,966 posts read: 231 without text" in log


def test_model_coordinates_equal_the_original_dense_computation_up_to_sign(real_run):
    space, _ = real_run
    rec = record(space, "model")
    folder = space.data / "model" / rec["run_id"]
    coordinates = pd.read_csv(folder / "coordinates.csv")
    table = pd.read_parquet(space.data / "processed" / "posts.parquet")
    text = " ".join(table["text"])
    n = len(text) // 100
    parts = [text[i * n : (i + 1) * n] for i in range(100)]
    assert_equal_up_to_axis_sign(coordinates[["x", "y"]].to_numpy(), original_pca(parts))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["k"] == 100 and summary["characters_per_part"] == n
    assert set(summary["counts_per_label"]) == {"4ch", "8ch", "8kun"}
    assert sum(summary["counts_per_label"].values()) == 100
    assert set(coordinates["site"]) <= {"4ch", "8ch", "8kun"}
    assert np.isfinite(coordinates[["x", "y"]].to_numpy()).all()
    assert (folder / "plot.png").stat().st_size > 10_000
