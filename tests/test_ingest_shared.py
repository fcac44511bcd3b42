"""Several ingest workers share a list of corpus parts: each part is fetched once, a part
whose worker is killed is taken over, and all finish with the whole corpus joined.

The workers are real `nbsteps run ingest` processes on one data folder, as the containers
of `docker compose up --scale ingest=N` are on the shared volume."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from tests.corpus_factory import make_posts, write_corpus

PARTS = 6


def serve_parts(server, posts_per_part=40):
    posts = make_posts(PARTS * posts_per_part)
    for index in range(PARTS):
        part = posts[index * posts_per_part : (index + 1) * posts_per_part]
        write_corpus(server.root / f"part{index}.json", part)
    urls = [f"{server.url}/part{index}.json" for index in range(PARTS)]
    return posts, json.dumps(urls)


def start_worker(space, sources, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "nbsteps", "run", "ingest", "-p", f"source={sources}", *extra],
        env=space.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=space.base,
    )


def joined_posts(space):
    return json.loads((space.data / "raw" / "posts.json").read_text())["posts"]


def test_three_workers_fetch_every_part_once_and_join_them_in_order(workspace, corpus_server):
    posts, sources = serve_parts(corpus_server)
    corpus_server.delay_s = 0.3
    workers = [start_worker(workspace, sources) for _ in range(3)]
    outcomes = [worker.communicate(timeout=300) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], [err for _, err in outcomes]
    assert joined_posts(workspace) == posts
    assert Counter(corpus_server.requests) == {f"part{i}.json": 1 for i in range(PARTS)}
    logs = [p.read_text() for p in (workspace.logs / "ingest").glob("*.log")]
    shares = [int(log.split("Fetched ")[1].split(" of")[0]) for log in logs]
    assert sum(shares) == PARTS and sum(share > 0 for share in shares) >= 2, shares


def test_a_killed_workers_part_is_taken_over(workspace, corpus_server):
    posts, sources = serve_parts(corpus_server)
    corpus_server.delay_s = 2.0
    first = start_worker(workspace, sources, "-p", "lease_s=3")
    board = workspace.data / "raw" / "parts"
    deadline = time.monotonic() + 60
    while not list(board.glob("*/.board/*.claim.*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    claim = next(board.glob("*/.board/*.claim.*"))
    kernel_pid = int(claim.read_text().strip().rsplit("-", 1)[1])
    others = [start_worker(workspace, sources, "-p", "lease_s=3") for _ in range(2)]
    os.kill(kernel_pid, signal.SIGKILL)  # the worker dies mid-download, claim held
    first.communicate(timeout=120)
    for worker in others:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr
    assert first.returncode == 4  # its kernel died
    assert joined_posts(workspace) == posts
    counts = Counter(corpus_server.requests)
    assert set(counts) == {f"part{i}.json" for i in range(PARTS)}
    assert sorted(counts.values()) == [1] * (PARTS - 1) + [2]  # only the lost part twice


def test_a_worker_that_starts_before_its_round_is_joined_fetches_nothing_again(
        tmp_path, corpus_server):
    """The workers of one round start together, but one may reach its notebook only after
    another has joined the corpus: it still belongs to that round (its run started before
    the join) and fetches nothing. A run started after the join is a new round and fetches
    every part again, since a part may have changed at the source."""
    from tests.notebook_modules import corpus

    posts, sources = serve_parts(corpus_server)
    urls, target = json.loads(sources), tmp_path / "raw" / "posts.json"
    started = time.strftime("%Y-%m-%d_%H-%M-%S", time.gmtime(time.time() - 2))
    first = corpus.fetch_shared(urls, target, 5, 60, 10, 20, f"ingest_{started}_aaaa")
    assert first == (PARTS, len(posts))
    late = corpus.fetch_shared(urls, target, 5, 60, 10, 20, f"ingest_{started}_bbbb")
    assert late == (0, len(posts))
    assert Counter(corpus_server.requests) == {f"part{i}.json": 1 for i in range(PARTS)}
    time.sleep(1.1)  # run ids count whole seconds
    later = time.strftime("%Y-%m-%d_%H-%M-%S", time.gmtime())
    again = corpus.fetch_shared(urls, target, 5, 60, 10, 20, f"ingest_{later}_cccc")
    assert again == (PARTS, len(posts))
