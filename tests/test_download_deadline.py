"""The ingest download's deadline covers the whole request, from connecting to the last
byte, against a real loopback server that sends its headers one byte at a time."""

import math
import time

import pytest

from tests.corpus_factory import write_corpus
from tests.notebook_modules import corpus


def test_headers_sent_one_byte_at_a_time_hit_the_deadline(corpus_server, tmp_path):
    target = tmp_path / "raw" / "posts.json"
    started = time.monotonic()
    with pytest.raises(corpus.CorpusError, match="took longer than deadline_s=2 s"):
        corpus.fetch_corpus(f"{corpus_server.url}/slow-headers", target, 1.0, 2.0, 10.0)
    assert time.monotonic() - started < 5
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_a_deadline_shorter_than_the_timeout_bounds_connecting_too(corpus_server, tmp_path):
    started = time.monotonic()
    with pytest.raises(corpus.CorpusError, match="deadline_s=1 s"):
        corpus.fetch_corpus(f"{corpus_server.url}/stall", tmp_path / "p.json", 30.0, 1.0, 10.0)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("timeout_s", [math.inf, 1e300])
def test_an_unbounded_timeout_is_no_overflow(corpus_server, tmp_path, timeout_s):
    write_corpus(corpus_server.root / "posts.json")
    target = tmp_path / "p.json"
    assert corpus.fetch_corpus(f"{corpus_server.url}/posts.json", target, timeout_s, 30.0,
                               10.0) == 300


def test_the_ingest_step_stops_at_its_deadline_on_slow_headers(project_copy, corpus_server):
    started = time.monotonic()
    result = project_copy.run("run", "ingest", "-p",
                              f"source={corpus_server.url}/slow-headers", "-p", "deadline_s=5")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "took longer than deadline_s=5 s" in result.stderr.strip().splitlines()[-1]
    assert elapsed < 40, f"the step ran {elapsed:.0f} s"
