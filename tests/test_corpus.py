"""Fetching the corpus over a real loopback HTTP server, and checking what arrives."""

import json

import pytest

from tests.corpus_factory import make_posts, write_corpus
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


# Reading in bounded memory: the corpus is parsed one post at a time from a window of the
# file, never as one document. These tests read a few bytes at a time, so that the window's
# end cuts every kind of value somewhere.


@pytest.fixture
def small_reads(monkeypatch):
    monkeypatch.setattr(corpus, "READ_BYTES", 5)


def tricky_posts() -> list:
    posts = make_posts(12)
    posts[1]["text"] = 'caf\u00e9 \u2019 \U0001f600 \\ " \n\t\u0000 }], end'
    posts[2]["values"] = [1.5e10, -3, True, False, None, {"deep": [[], {}]}, -0.25e-3, 2**70]
    return posts


@pytest.mark.parametrize(
    "dumps",
    [
        json.dumps,
        lambda document: json.dumps(document, indent=2, ensure_ascii=False),  # as the real one
        lambda document: " \n" + json.dumps(document, indent="\t") + "\r\n",
    ],
)
def test_posts_are_read_one_at_a_time_as_json_load_reads_them(tmp_path, small_reads, dumps):
    document = {"before": {"a": [1, {"b": "]}"}]}, "posts": tricky_posts(), "after": 2.5}
    path = tmp_path / "posts.json"
    path.write_text(dumps(document), encoding="utf-8")
    assert list(corpus.iter_posts(path)) == document["posts"]
    assert corpus.check_corpus(path) == 12


def test_a_file_cut_anywhere_is_refused_where_json_load_refuses_it(tmp_path, small_reads):
    text = json.dumps({"posts": tricky_posts()[1:3]}, indent=1, ensure_ascii=False)
    path = tmp_path / "cut.json"
    for end in range(len(text)):
        path.write_text(text[:end], encoding="utf-8")
        with pytest.raises(json.JSONDecodeError) as expected:
            json.loads(text[:end])
        error = expected.value
        where = f"{error.msg} at line {error.lineno} column {error.colno}"
        with pytest.raises(corpus.CorpusError, match="is not valid JSON") as refused:
            corpus.check_corpus(path)
        assert where in str(refused.value), (end, str(refused.value))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"posts": [{"text": "a"}, 3]}', "post 2 is a number, not an object"),
        (b'{"posts": [null]}', "post 1 is null, not an object"),
        (b'{"posts": [{"text": "a"}]} {}', r"not valid JSON \(Extra data at line 1 column 28\)"),
        (b'{"posts": [{}], "posts": [{}]}', 'more than one "posts" list'),
        (b'{"posts": {"text": "a"}}', 'no "posts" list: its "posts" is not a list'),
        (b'{"posts": [{"text": "caf\xe9"}]}', "not UTF-8 JSON: byte 24: invalid"),
        (b'\xef\xbb\xbf{"posts": [{}]}', "Unexpected UTF-8 BOM"),
        (b'{"posts": [{"a": 1}\n,\n{"a": 2 3}]}', "Expecting ',' delimiter at line 3 column 9"),
    ],
)
def test_what_is_wrong_is_said_in_one_line(tmp_path, small_reads, body, message):
    path = tmp_path / "bad.json"
    path.write_bytes(body)
    with pytest.raises(corpus.CorpusError, match=message) as refused:
        corpus.check_corpus(path)
    assert "\n" not in str(refused.value)


def test_a_large_corpus_is_checked_in_bounded_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "large.json"
    posts = make_posts(100)
    path.write_text(json.dumps({"posts": posts * 200}))  # 20,000 posts
    size = path.stat().st_size
    tracemalloc.start()
    try:
        assert corpus.check_corpus(path) == 20_000
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # json.load would need several times the size; the window is READ_BYTES (1 MB), read twice.
    assert size > 10e6 and peak < 8e6, (size, peak)
