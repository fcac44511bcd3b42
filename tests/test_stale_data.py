"""Stale data never passes as fresh: relative paths resolved as the kernel does, a changed
source brings in its data, a remote source is asked whether it changed, an empty source is
an error, and a run records the inputs it read."""

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import Workspace
from tests.corpus_factory import make_posts, write_corpus
from tests.corpus_server import CorpusServer


def latest(space: Workspace, step: str) -> dict:
    return json.loads((space.outputs / step / "latest.json").read_text())


def ingest(space: Workspace, *args: str) -> subprocess.CompletedProcess:
    return space.run("run", "ingest", *args)


def raw_posts(space: Workspace) -> int:
    return len(json.loads((space.data / "raw" / "posts.json").read_text())["posts"])


def test_a_relative_source_is_the_file_the_notebook_reads(project_copy):
    """`source` relative to notebooks/ (the kernel's folder): a change to that file reruns."""
    corpus = write_corpus(project_copy.root / "corpus" / "posts.json", make_posts(30, seed=1))
    result = ingest(project_copy, "-p", "source=../corpus/posts.json")
    assert result.returncode == 0, result.stderr
    assert raw_posts(project_copy) == 30
    write_corpus(corpus, make_posts(40, seed=2))
    result = ingest(project_copy, "-p", "source=../corpus/posts.json")
    assert result.returncode == 0, result.stderr
    assert latest(project_copy, "ingest")["status"] == "succeeded"
    assert "input file changed" in latest(project_copy, "ingest")["reason"]
    assert raw_posts(project_copy) == 40


def test_a_changed_local_source_brings_in_its_data(project_copy, tmp_path):
    first = write_corpus(tmp_path / "a" / "posts.json", make_posts(30, seed=1))
    second = write_corpus(tmp_path / "b" / "posts.json", make_posts(45, seed=2))
    assert ingest(project_copy, "-p", f"source={first}").returncode == 0
    result = ingest(project_copy, "-p", f"source={second}")
    assert result.returncode == 0, result.stderr
    assert raw_posts(project_copy) == 45
    assert latest(project_copy, "ingest")["parameters"]["source"] == str(second)


def test_a_changed_remote_source_brings_in_its_data(project_copy, corpus_server):
    write_corpus(corpus_server.root / "a.json", make_posts(30, seed=1))
    write_corpus(corpus_server.root / "b.json", make_posts(45, seed=2))
    assert ingest(project_copy, "-p", f"source={corpus_server.url}/a.json").returncode == 0
    result = ingest(project_copy, "-p", f"source={corpus_server.url}/b.json")
    assert result.returncode == 0, result.stderr
    assert raw_posts(project_copy) == 45


def test_a_remote_source_is_asked_whether_it_changed(project_copy, corpus_server):
    served = write_corpus(corpus_server.root / "posts.json", make_posts(30, seed=1))
    source = f"source={corpus_server.url}/posts.json"
    assert ingest(project_copy, "-p", source).returncode == 0
    result = ingest(project_copy, "-p", source)
    assert result.returncode == 0 and "skipped: up to date" in result.stderr
    write_corpus(served, make_posts(45, seed=2))  # the server now has a new corpus
    result = ingest(project_copy, "-p", source)
    assert result.returncode == 0, result.stderr
    record = latest(project_copy, "ingest")
    assert (record["status"], record["reason"]) == ("succeeded", "remote source changed")
    assert raw_posts(project_copy) == 45


def test_a_server_without_validators_is_fetched_again(project_copy, corpus_server):
    corpus_server.validators = False
    served = write_corpus(corpus_server.root / "posts.json", make_posts(30, seed=1))
    source = f"source={corpus_server.url}/posts.json"
    assert ingest(project_copy, "-p", source).returncode == 0
    write_corpus(served, make_posts(45, seed=2))
    result = ingest(project_copy, "-p", source)
    assert result.returncode == 0, result.stderr
    assert latest(project_copy, "ingest")["status"] == "succeeded"
    assert raw_posts(project_copy) == 45


def test_offline_it_says_it_could_not_check_and_keeps_its_copy(project_copy, tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    write_corpus(root / "posts.json", make_posts(30, seed=1))
    with CorpusServer(root) as server:
        source = f"source={server.url}/posts.json"
        assert ingest(project_copy, "-p", source).returncode == 0
    before = (project_copy.data / "raw" / "posts.json").read_bytes()
    result = ingest(project_copy, "-p", source)  # the server is gone
    assert result.returncode == 0, result.stderr
    assert "could not check" in result.stderr and "keeping the copy" in result.stderr
    assert "skipped: up to date" in result.stderr
    assert (project_copy.data / "raw" / "posts.json").read_bytes() == before


@pytest.mark.parametrize("source", ["[]", "EMPTY"])
def test_an_empty_source_list_or_a_corpus_without_posts_fails_and_keeps_the_copy(
    project_copy, tmp_path, source
):
    good = write_corpus(tmp_path / "good.json", make_posts(30, seed=1))
    assert ingest(project_copy, "-p", f"source={good}").returncode == 0
    before = (project_copy.data / "raw" / "posts.json").read_bytes()
    if source == "EMPTY":
        (tmp_path / "empty.json").write_text('{"posts": []}')
        source = str(tmp_path / "empty.json")
    result = ingest(project_copy, "-p", f"source={source}")
    assert result.returncode == 1
    assert "empty" in result.stderr.strip().splitlines()[-1]
    assert latest(project_copy, "ingest")["status"] == "failed"
    assert (project_copy.data / "raw" / "posts.json").read_bytes() == before


READER_PIPELINE = """steps:
  reader:
    notebook: notebooks/reader.ipynb
    inputs: [{path: table.txt, supplied: by hand}]
    outputs: ["reader/{run_id}/copy.txt"]
"""
READER = [
    'data_dir = "."\nrun_id = "manual"',
    "import pathlib, time\ndata = pathlib.Path(data_dir)\n"
    "text = (data / 'table.txt').read_text()\n(data / 'read.flag').write_text('read')\n"
    "for _ in range(600):\n    if (data / 'go.flag').exists():\n        break\n"
    "    time.sleep(0.05)",
    "out = data / 'reader' / run_id\nout.mkdir(parents=True)\n"
    "(out / 'copy.txt').write_text(text)",
]


def test_an_input_replaced_during_the_run_fails_the_run(tmp_path):
    from tests.test_lifecycle import write_notebook

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pipeline.yaml").write_text(READER_PIPELINE)
    write_notebook(root / "notebooks" / "reader.ipynb", READER)
    space = Workspace(root=root, base=tmp_path)
    space.data.mkdir()
    (space.data / "table.txt").write_text("old table")
    process = subprocess.Popen([sys.executable, "-m", "nbsteps", "run", "reader"],
                               env=space.env(), cwd=space.base, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 120
    while not (space.data / "read.flag").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (space.data / "table.txt").write_text("new table")  # another run replaces the input
    (space.data / "go.flag").write_text("go")
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 1, stderr
    record = latest(space, "reader")
    assert record["status"] == "failed"
    assert "input table.txt changed while reader ran" in record["error"]
    assert "changed while reader ran" in stderr.strip().splitlines()[-1]
    # The notebook wrote its copy (from the old table) before the runner saw the change: the
    # run's folder is removed, nothing is left for a next step to read.
    assert (space.data / "reader").is_dir()
    assert list((space.data / "reader").iterdir()) == []
