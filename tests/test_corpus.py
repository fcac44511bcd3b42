"""Fetching the corpus over a real loopback HTTP server, and checking what arrives."""

import json

import pytest

from tests.corpus_factory import write_corpus
from tests.notebook_modules import corpus

GOOD = b'{"posts": [{"text": "a"}]}'


@pytest.fixture
def target(tmp_path):
    """A target that already holds a good corpus, which a failed fetch must leave alone."""
    path = tmp_path / "raw" / "posts.json"
    path.parent.mkdir()
    path.write_bytes(GOOD)
    return path


def fetch(source, target, timeout_s=5.0, deadline_s=30.0, max_mb=50.0):
    return corpus.fetch_corpus(source, target, timeout_s, deadline_s, max_mb)


def assert_untouched(target):
    assert target.read_bytes() == GOOD
    assert [p.name for p in target.parent.iterdir()] == ["posts.json"]  # no temporary left


def test_download_replaces_the_target_with_the_checked_corpus(corpus_server, target):
    write_corpus(corpus_server.root / "posts.json")
    assert fetch(f"{corpus_server.url}/posts.json", target) == 300
    served = json.loads((corpus_server.root / "posts.json").read_bytes())
    assert json.loads(target.read_bytes()) == served
    assert [p.name for p in target.parent.iterdir()] == ["posts.json"]


def test_local_path_is_copied(tmp_path, target):
    assert fetch(str(write_corpus(tmp_path / "local.json")), target) == 300


@pytest.mark.parametrize(
    ("route", "options", "message"),
    [
        ("missing", {}, "answered HTTP 404"),
        ("page.html", {}, "not valid JSON .* starts with '<!DOCTYPE html>"),
        ("stall", {"timeout_s": 1.0}, "stalled: no data for timeout_s=1 s"),
        ("trickle", {"deadline_s": 1.0}, "took longer than deadline_s=1 s"),
        ("big.json", {"max_mb": 0.001}, "more than max_mb=0.001 MB"),
    ],
)
def test_a_failed_download_says_why_and_leaves_the_target_intact(
    corpus_server, target, route, options, message
):
    write_corpus(corpus_server.root / "big.json")
    with pytest.raises(corpus.CorpusError, match=message):
        fetch(f"{corpus_server.url}/{route}", target, **options)
    assert_untouched(target)


def test_unreachable_host_is_reported(target):
    with pytest.raises(corpus.CorpusError, match="cannot reach"):
        fetch("http://127.0.0.1:9/posts.json", target, timeout_s=2.0)
    assert_untouched(target)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"posts": [', "not valid JSON"),
        (b'{"items": []}', 'no "posts" list'),
        (b"[1, 2]", 'no "posts" list'),
        (b'{"posts": []}', "empty posts list"),
        (b"\xff\xfe{}", "not UTF-8 JSON|not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_corpus_is_refused(corpus_server, target, body, message):
    (corpus_server.root / "bad.json").write_bytes(body)
    with pytest.raises(corpus.CorpusError, match=message):
        fetch(f"{corpus_server.url}/bad.json", target)
    assert_untouched(target)


def test_missing_local_source_says_so(tmp_path, target):
    with pytest.raises(corpus.CorpusError, match="is not a file"):
        fetch(str(tmp_path / "nowhere.json"), target)
    assert_untouched(target)
