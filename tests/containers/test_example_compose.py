"""The pipeline in containers, joined by docker-compose.yml, as the README tells users to run it:

    docker compose run --rm model                 # the whole pipeline
    docker compose run --rm --no-deps model -p k=200

Each project starts from empty folders owned by a non-root test user (UID/GID 1234), and
ingest downloads the real corpus over HTTP from a server container on the compose network
(compose.corpus.yml).
"""

import fcntl
import hashlib
import json
import os
import pty
import re
import shutil
import subprocess
import termios
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from tests.containers.conftest import (
    FOLDERS,
    PARTS_OVERRIDE,
    STEPS,
    TEST_GID,
    TEST_UID,
    describe,
    inspect,
    run,
)
from tests.corpus_factory import split_corpus

pytestmark = pytest.mark.containers

# The real corpus: posts with more than min_size=50 characters of text.
PROCESSED_ROWS = 2266
PIPELINE = ("run", "--rm", "model")  # the documented command


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count_parquet_rows(compose, image: str) -> int:
    """Read the processed table with the preprocess image's pandas (the host may have none)."""
    result = run(["docker", "run", "--rm", "--network", "none", "--user", f"{TEST_UID}:{TEST_GID}",
                  "-v", f"{compose.folder / 'data'}:/data:ro", "--entrypoint", "python3", image,
                  "-c", "import pandas; print(len(pandas.read_parquet("
                  "'/data/processed/posts.parquet')))"], timeout=120)
    return int(result.stdout.strip())


def owners_other_than_test_user(folder: Path) -> list[str]:
    """Everything below data/, outputs/ and logs/ not owned by TEST_UID:TEST_GID (links too)."""
    wrong = []
    for name in FOLDERS:
        for path in [folder / name, *(folder / name).rglob("*")]:
            info = os.lstat(path)
            if (info.st_uid, info.st_gid) != (TEST_UID, TEST_GID):
                wrong.append(f"{path.relative_to(folder)} {info.st_uid}:{info.st_gid}")
    return wrong


@pytest.fixture(scope="module")
def pipeline(new_project, corpus_file):
    """One full run of the documented command from empty folders, timed."""
    compose = new_project()
    started = time.monotonic()
    result = compose(*PIPELINE, timeout=1800)
    compose.duration_s = time.monotonic() - started
    print(f"\nwhole pipeline in containers: {compose.duration_s:.0f} s")
    assert result.returncode == 0, describe(result)
    return compose


def test_whole_pipeline_succeeds_from_empty_folders(pipeline, corpus_file):
    for step in STEPS:
        record = pipeline.record(step)
        assert record["status"] == "succeeded", (step, record.get("error"))
        notebook, html = pipeline.path(record["notebook"]), pipeline.path(record["html"])
        assert notebook.is_file() and notebook.suffix == ".ipynb", notebook
        assert html.is_file() and html.stat().st_size > 0, html
        assert (pipeline.folder / "logs" / step / f"{record['run_id']}.log").is_file()
    assert pipeline.record("ingest")["parameters"]["source"] == "http://corpus:8000/posts.json"
    raw = pipeline.folder / "data" / "raw" / "posts.json"
    assert sha256(raw) == sha256(corpus_file), "ingest did not fetch the served corpus"


def test_pipeline_writes_the_processed_table_and_the_model(pipeline, images):
    assert count_parquet_rows(pipeline, images.names["preprocess"]) == PROCESSED_ROWS
    model = pipeline.record("model")
    results = pipeline.folder / "data" / "model" / model["run_id"]
    assert (pipeline.folder / "data" / "model" / "latest").resolve() == results.resolve()
    assert (results / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (results / "coordinates.csv").read_text().splitlines()
    assert len(lines) == 1 + model["parameters"]["k"], "one row per part, plus the header"
    summary = json.loads((results / "summary.json").read_text())
    assert summary["k"] == model["parameters"]["k"]
    assert summary["method"] == model["parameters"]["method"]
    assert sum(summary["counts_per_label"].values()) == summary["k"], "every part labelled"
    written = {entry["path"] for entry in model["outputs"]}
    assert {Path(p).name for p in written} == {"coordinates.csv", "plot.png", "summary.json"}


def test_every_file_belongs_to_the_user_who_ran_compose(pipeline):
    assert owners_other_than_test_user(pipeline.folder) == []


def test_status_and_params_through_the_image(pipeline):
    """The commands README.md gives for `nbsteps status` and `nbsteps params`."""
    result = pipeline("run", "--rm", "--no-deps", "--entrypoint", "nbsteps", "model",
                      "status", "--json", timeout=300)
    assert result.returncode == 0, describe(result)
    latest = json.loads(result.stdout)
    assert {step: latest[step]["status"] for step in STEPS} == dict.fromkeys(STEPS, "succeeded")
    result = pipeline("run", "--rm", "--no-deps", "--entrypoint", "nbsteps", "model",
                      "params", "model", timeout=300)
    assert result.returncode == 0 and "t-SNE" in result.stdout, describe(result)


def test_a_second_run_with_nothing_changed_skips_every_step(pipeline):
    """The documented command again, nothing changed: each step finds its outputs up to
    date, says so and points at the run that made them (the time is printed, not tested)."""
    first = {step: pipeline.record(step)["run_id"] for step in STEPS}
    started = time.monotonic()
    result = pipeline(*PIPELINE, timeout=900)
    print(f"\nsecond run, nothing changed: {time.monotonic() - started:.1f} s "
          f"(first: {pipeline.duration_s:.0f} s)")
    assert result.returncode == 0, describe(result)
    for step, run_id in first.items():
        record = pipeline.record(step)
        assert (record["status"], record["reused_run"]) == ("skipped", run_id), (step, record)
    assert f"model skipped: up to date (outputs of {first['model']})" in (
        result.stdout + result.stderr)

    # README: "add `--force` after the service name" reruns a step that is up to date.
    result = pipeline("run", "--rm", "--no-deps", "model", "--force", timeout=900)
    assert result.returncode == 0, describe(result)
    forced = pipeline.record("model")
    assert forced["status"] == "succeeded" and forced["run_id"] != first["model"], forced
    assert "--force" in forced["reason"], forced


def test_the_documented_command_fails_when_the_last_step_fails(pipeline):
    """Where `docker compose up` exits 0: model, the last step, refuses k=1 (exit 2)."""
    params = pipeline.folder / "params" / "model.yaml"
    original = params.read_text()
    params.write_text("k: 1\n")
    try:
        result = pipeline(*PIPELINE, timeout=900)
    finally:
        params.write_text(original)
    assert result.returncode == 2, describe(result)
    for step in ("ingest", "preprocess"):  # they ran again (or found they were up to date)
        assert pipeline.record(step)["status"] in ("succeeded", "skipped"), step


def test_one_step_alone_with_other_parameters(pipeline):
    before = {r["run_id"] for r in pipeline.records("model")}
    upstream = {step: len(pipeline.records(step)) for step in ("ingest", "preprocess")}
    result = pipeline("run", "--rm", "--no-deps", "model", "-p", "k=200", timeout=900)
    assert result.returncode == 0, describe(result)
    [record] = [r for r in pipeline.records("model") if r["run_id"] not in before]
    assert record["status"] == "succeeded" and record["parameters"]["k"] == 200
    notebook = pipeline.path(record["notebook"])
    assert "k = 200" in notebook.read_text(), "the executed notebook lacks the new parameter"
    rows = (pipeline.folder / "data" / "model" / record["run_id"] / "coordinates.csv")
    assert len(rows.read_text().splitlines()) == 1 + 200
    # --no-deps: the steps before model did not run.
    assert {step: len(pipeline.records(step)) for step in upstream} == upstream
    assert owners_other_than_test_user(pipeline.folder) == []


def test_compose_stop_ends_a_long_model_run_promptly(pipeline):
    """`docker compose stop` during a long t-SNE: the step ends within seconds, its record
    says cancelled, and no partial results are left."""
    latest_before = (pipeline.folder / "data" / "model" / "latest").resolve()
    before = {r["run_id"] for r in pipeline.records("model")}
    (pipeline.folder / "params" / "model.yaml").write_text("method: t-SNE\nk: 3000\n")
    result = pipeline("up", "--detach", "--no-deps", "model", timeout=300)
    assert result.returncode == 0, describe(result)

    record = wait_for_new_record(pipeline, before, timeout_s=120)
    # Well into the notebook (t-SNE with k=3000 takes about 90 s on two cores).
    wait_for(lambda: running_s(record) > 5, timeout_s=60)
    container = pipeline("ps", "-q", "model", check=True).stdout.split()[0]
    assert inspect(container, "{{.State.Running}}") == "true", "model ended before the stop"

    started = time.monotonic()
    stopped = pipeline("stop", "model", timeout=120)
    stop_s = time.monotonic() - started
    print(f"\n`stop` ended the t-SNE run in {stop_s:.1f} s")
    assert stopped.returncode == 0, describe(stopped)
    assert stop_s < 15, f"stop took {stop_s:.1f} s"
    assert inspect(container, "{{.State.ExitCode}}") == "130", "not the cancelled exit code"

    final = pipeline.record("model", record["run_id"])
    assert final["status"] == "cancelled", final
    assert not (pipeline.folder / "data" / "model" / record["run_id"]).exists()
    assert (pipeline.folder / "data" / "model" / "latest").resolve() == latest_before
    assert owners_other_than_test_user(pipeline.folder) == []


def test_ctrl_c_in_a_terminal_cancels_a_step_started_with_run(pipeline):
    """`run` in a terminal (a real pseudo-terminal here): Ctrl-C reaches nbsteps through the
    container's terminal and init, which cancels the run cleanly with exit status 130."""
    latest_before = (pipeline.folder / "data" / "model" / "latest").resolve()
    before = {r["run_id"] for r in pipeline.records("model")}
    argv = pipeline.argv("run", "--rm", "--no-deps", "model", "-p", "method=t-SNE",
                         "-p", "k=3000")
    with TerminalProcess(argv, env=pipeline.env, cwd=pipeline.folder) as terminal:
        record = wait_for_new_record(pipeline, before, timeout_s=120)
        wait_for(lambda: running_s(record) > 5, timeout_s=60)
        assert terminal.process.poll() is None, "model ended before Ctrl-C"
        started = time.monotonic()
        terminal.type(b"\x03")
        status = terminal.process.wait(timeout=60)
        cancel_s = time.monotonic() - started
        print(f"\nCtrl-C ended the t-SNE run in {cancel_s:.1f} s")
    assert status == 130, terminal.output()
    assert cancel_s < 20, f"Ctrl-C took {cancel_s:.1f} s"
    final = pipeline.record("model", record["run_id"])
    assert final["status"] == "cancelled", final
    assert not (pipeline.folder / "data" / "model" / record["run_id"]).exists()
    assert (pipeline.folder / "data" / "model" / "latest").resolve() == latest_before
    assert owners_other_than_test_user(pipeline.folder) == []


class TerminalProcess:
    """A command whose controlling terminal is a new pseudo-terminal that the test types in."""

    def __init__(self, argv: list[str], env: dict, cwd: Path):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdin=slave, stdout=slave,
                                        stderr=slave, preexec_fn=take_terminal, close_fds=True)
        os.close(slave)
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO once the other side is closed
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def output(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")[-3000:]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=5)
        os.close(self.master)


def take_terminal() -> None:
    """In the child: a new session whose controlling terminal is stdin (the pty)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def running_s(record: dict) -> float:
    from datetime import UTC, datetime

    return (datetime.now(UTC) - datetime.fromisoformat(record["started"])).total_seconds()


def wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.5)


def wait_for_new_record(compose, before: set[str], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        new = [r for r in compose.records("model") if r["run_id"] not in before]
        if new:
            return new[0]
        time.sleep(0.5)
    raise AssertionError(f"no model run started: {compose('logs', 'model').stdout[-2000:]}")


@pytest.mark.parametrize("bad_value", ["1000000", "-5"], ids=["fails-in-notebook", "rejected"])
def test_a_failed_step_stops_the_chain_and_keeps_earlier_data(new_project, corpus_file,
                                                              bad_value):
    """min_size=1000000 passes the runner's checks and fails in the notebook (no post is that
    long); -5 is refused before any kernel starts. Either way: non-zero exit, model never
    starts, the raw data ingest wrote is untouched, nothing half-written downstream."""
    compose = new_project()
    result = compose("run", "--rm", "ingest", timeout=900)
    assert result.returncode == 0, describe(result)
    raw = compose.folder / "data" / "raw" / "posts.json"
    digest = sha256(raw)

    (compose.folder / "params" / "preprocess.yaml").write_text(f"min_size: {bad_value}\n")
    result = compose(*PIPELINE, timeout=900)

    assert result.returncode != 0, "the documented command hid a failed step"
    assert sha256(raw) == digest, "ingest's data changed"
    assert not (compose.folder / "data" / "processed" / "posts.parquet").exists()
    assert compose.records("model") == [], "model ran after a failed preprocess"
    assert compose("ps", "-a", "-q", "model").stdout.strip() == "", "a model container exists"
    if bad_value == "1000000":
        record = compose.record("preprocess")
        assert record["status"] == "failed", record
        notebook = compose.path(record["notebook"])
        assert notebook.is_file() and "CorpusFormatError" in notebook.read_text()
        assert compose.path(record["html"]).is_file()
    assert owners_other_than_test_user(compose.folder) == []


def test_a_step_whose_input_is_missing_exits_3(new_project):
    compose = new_project()
    result = compose("run", "--rm", "--no-deps", "model", timeout=300)
    assert result.returncode == 3, describe(result)
    assert "preprocess" in result.stderr + result.stdout, "no hint of the step that makes it"


def test_ingest_from_a_local_copy_under_data(new_project, corpus_file):
    """README.md: offline, put a copy under data/ and point `source` at /data/..."""
    compose = new_project()
    incoming = compose.folder / "data" / "incoming"
    incoming.mkdir()
    shutil.copy2(corpus_file, incoming / "posts.json")
    for path in (incoming, incoming / "posts.json"):
        os.chown(path, TEST_UID, TEST_GID)
    result = compose("run", "--rm", "--no-deps", "ingest", "-p",
                     "source=/data/incoming/posts.json", timeout=600)
    assert result.returncode == 0, describe(result)
    assert sha256(compose.folder / "data" / "raw" / "posts.json") == sha256(corpus_file)
    assert compose.record("ingest")["status"] == "succeeded"


def parts_requested(compose) -> Counter:
    """How often the corpus server was asked for each part, from its request log."""
    logs = compose("logs", "--no-color", "corpus", check=True).stdout
    return Counter(re.findall(r"asked for /(part\d+\.json)", logs))


def test_ingest_workers_share_a_list_of_parts_and_preprocess_waits_for_all(
        new_project, corpus_file, tmp_path):
    """Three ingest containers (INGEST_WORKERS=3, the documented command) share a `source`
    of five parts: each part is downloaded once, the joined corpus is the real one, and
    preprocess starts only after every worker has ended. Then `up --scale ingest=3` with
    nothing changed skips every step."""
    compose = new_project(PARTS_OVERRIDE)
    names = split_corpus(corpus_file, tmp_path / "parts", 5)
    compose.env |= {"NBSTEPS_PARTS_DIR": str(tmp_path / "parts"), "INGEST_WORKERS": "3"}
    urls = [f"http://corpus:8000/{name}" for name in names]
    (compose.folder / "params" / "ingest.yaml").write_text(f"source: {json.dumps(urls)}\n")

    result = compose(*PIPELINE, timeout=1800)

    assert result.returncode == 0, describe(result)
    workers = compose.records("ingest")
    assert [r["status"] for r in workers] == ["succeeded"] * 3, workers
    assert parts_requested(compose) == dict.fromkeys(names, 1)
    raw = json.loads((compose.folder / "data" / "raw" / "posts.json").read_text())
    assert raw["posts"] == json.loads(corpus_file.read_text())["posts"]
    preprocess = compose.record("preprocess")
    assert preprocess["status"] == "succeeded", preprocess
    last_worker_end = max(datetime.fromisoformat(r["ended"]) for r in workers)
    assert datetime.fromisoformat(preprocess["started"]) > last_worker_end
    assert compose.record("model")["status"] == "succeeded"
    assert owners_other_than_test_user(compose.folder) == []

    made_by = {step: compose.record(step)["run_id"] for step in ("preprocess", "model")}
    result = compose("up", "--scale", "ingest=3", "model", timeout=900)
    assert result.returncode == 0, describe(result)
    again = [r for r in compose.records("ingest") if r["run_id"] not in
             {w["run_id"] for w in workers}]
    assert [r["status"] for r in again] == ["skipped"] * 3, again
    for step, run_id in made_by.items():
        record = compose.record(step)
        assert (record["status"], record["reused_run"]) == ("skipped", run_id), (step, record)
    assert parts_requested(compose) == dict.fromkeys(names, 1), "a part was fetched again"


def test_a_part_whose_ingest_container_is_killed_is_taken_over(new_project, corpus_file,
                                                                tmp_path):
    """Two ingest containers share four slow parts (3 s each); one is killed while it
    downloads. The other takes its part over once the claim's lease (4 s) runs out, so the
    joined corpus is whole; the documented command then finds ingest up to date and runs
    preprocess and model."""
    compose = new_project(PARTS_OVERRIDE)
    names = split_corpus(corpus_file, tmp_path / "parts", 4)
    compose.env |= {"NBSTEPS_PARTS_DIR": str(tmp_path / "parts"), "INGEST_WORKERS": "2",
                    "NBSTEPS_PARTS_DELAY_S": "3"}
    urls = [f"http://corpus:8000/{name}" for name in names]
    (compose.folder / "params" / "ingest.yaml").write_text(
        f"source: {json.dumps(urls)}\nlease_s: 4\n")

    result = compose("up", "--detach", "ingest", timeout=300)
    assert result.returncode == 0, describe(result)
    board = compose.folder / "data" / "raw" / "parts"
    wait_for(lambda: list(board.glob("*/.board/*.claim.*")), timeout_s=120)
    claim = next(board.glob("*/.board/*.claim.*"))
    # A claim names its holder "<hostname>-<pid>"; a container's hostname is its short id.
    victim = claim.read_text().strip().rsplit("-", 1)[0]
    # Killed while it downloads: once the server has been asked for the claimed part
    # (`<index>.claim.<generation>`; the index is the part's place in `source`).
    part = names[int(claim.name.split(".")[0])]
    wait_for(lambda: parts_requested(compose)[part] >= 1, timeout_s=60)
    run(["docker", "kill", victim])
    containers = compose("ps", "-a", "-q", "ingest", check=True).stdout.split()
    assert len(containers) == 2, containers
    wait_for(lambda: all(inspect(c, "{{.State.Running}}") == "false" for c in containers),
             timeout_s=300)

    codes = sorted(inspect(c, "{{.State.ExitCode}}") for c in containers)
    assert codes == ["0", "137"], codes  # the survivor succeeded; the victim was killed
    raw = json.loads((compose.folder / "data" / "raw" / "posts.json").read_text())
    assert raw["posts"] == json.loads(corpus_file.read_text())["posts"]
    requested = parts_requested(compose)
    assert set(requested) == set(names)
    assert sorted(requested.values()) == [1] * (len(names) - 1) + [2]  # only the lost part

    result = compose(*PIPELINE, timeout=900)
    assert result.returncode == 0, describe(result)
    assert compose.record("ingest")["status"] == "skipped"
    assert compose.record("model")["status"] == "succeeded"
