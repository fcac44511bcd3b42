"""Odd corpora give one readable line: dates out of range, nesting too deep, and a local
file that is not a corpus, whose bytes are never quoted (it may be a secret); or, where the
odd part is not what the analysis reads (a field of mixed kinds, one post, no site), a
correct result."""

import json

import pandas as pd
import pytest

from tests.corpus_factory import expected_kept, make_posts, write_corpus
from tests.notebook_modules import corpus, posts
from tests.test_run import assert_failed_cleanly

SECRET = b"root:$y$j9T$SecretHashNobodyMayRead:19000:0:99999:7:::\n"


@pytest.mark.parametrize("content", [SECRET, b"\xffsecret\x00bytes", b"[1, 2] secret"])
def test_a_local_file_that_is_not_a_corpus_is_described_not_quoted(tmp_path, content):
    secret = tmp_path / "shadow"
    secret.write_bytes(content)
    with pytest.raises(corpus.CorpusError) as caught:
        corpus.fetch_corpus(str(secret), tmp_path / "posts.json", 5.0, 30.0, 10.0)
    message = str(caught.value)
    assert "secret" not in message.lower().replace(str(tmp_path).lower(), "")
    assert "Secret" not in message and "root:" not in message


def test_a_download_that_is_not_a_corpus_shows_a_printable_excerpt(corpus_server, tmp_path):
    (corpus_server.root / "page").write_bytes(b"<html>\x00\x1b[31mbusy</html>")
    with pytest.raises(corpus.CorpusError, match=r"starts with '<html>\?\?\[31mbusy"):
        corpus.fetch_corpus(f"{corpus_server.url}/page", tmp_path / "p.json", 5.0, 30.0, 10.0)


def test_a_corpus_nested_too_deeply_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"posts": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    with pytest.raises(corpus.CorpusError, match="nests lists or objects too deeply"):
        corpus.check_corpus(path)


@pytest.mark.parametrize("seconds", [1e20, -1e12, float("inf")])
def test_a_post_time_out_of_range_is_one_line(seconds):
    frame = pd.DataFrame({"post_metadata_time": [1.5e9, seconds], "text": ["a" * 60] * 2,
                          "post_metadata_source_site": ["x", "y"]})
    with pytest.raises(posts.CorpusFormatError, match="outside 1678..2261"):
        posts.add_time_columns(frame)


# The same odd corpora through the real command: one readable line and nothing changed, or
# a correct success. `space` holds a good run of the whole pipeline (tests/test_run.py).

def odd_posts(change) -> list[dict]:
    """The fixture corpus' first 120 posts with `change(number, post)` applied to each."""
    posts = make_posts(120)
    for number, post in enumerate(posts):
        change(number, post)
    return posts


def set_time(value):
    def change(number, post):
        if number == 5:
            post["post_metadata"]["time"] = value
    return change


@pytest.mark.parametrize(("time", "message"), [
    (1e20, "outside 1678..2261"),          # pandas' OutOfBoundsDatetime, before
    (-62_135_596_800, "outside 1678..2261"),  # year 1
    ("yesterday", "no numeric post_metadata.time"),
    (True, "no numeric post_metadata.time"),  # not 1 second after 1970
    ([1509223468], "no numeric post_metadata.time"),
])
def test_a_post_time_that_is_no_time_fails_preprocess_in_one_line(space, time, message):
    write_corpus(space.data / "raw" / "posts.json", odd_posts(set_time(time)))
    before = space.files()
    result = space.run("run", "preprocess")
    assert_failed_cleanly(space, result, before, "preprocess", 1, message)
    assert "Traceback" not in result.stderr


def test_a_corpus_nested_too_deeply_fails_ingest_in_one_line(space, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"posts": [{"text": ' + "[" * 50_000 + "]" * 50_000 + "}]}")
    before = space.files()
    result = space.run("run", "ingest", "-p", f"source={deep}")
    assert_failed_cleanly(space, result, before, "ingest", 1, "nests lists or objects too deeply")
    assert "RecursionError" not in result.stderr and "Traceback" not in result.stderr


def mixed_kinds(number, post):
    """Values of odd kinds where the corpus has one kind, none in the text the model reads."""
    meta = post["post_metadata"]
    if number == 3:
        meta["time"] = str(meta["time"])  # a number written as a JSON string
        meta["id"] = "three"
    if number == 4:
        meta["source"]["site"] = 8
        meta["author"] = ["Anonymous", 2]
    if number == 6:
        post["text"] = {"body": "x" * 80}  # no text: dropped and counted, like a missing one
    if number % 2:
        post["tags"] = ["a", number]  # a list field, mixed
    if number == 8:
        post["deep"] = json.loads("[" * 200 + "]" * 200)
    if number == 9:
        post["text"] = "a lone surrogate \ud800 in a long enough post " + "y" * 40


def test_fields_of_mixed_kinds_still_make_the_table_and_the_model(space):
    import pandas as pd

    posts = odd_posts(mixed_kinds)
    write_corpus(space.data / "raw" / "posts.json", posts)
    result = space.run("run", "preprocess", "model", "-p", "model.k=10")
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(space.data / "processed" / "posts.parquet")
    assert len(table) == expected_kept(posts)
    assert table["post_metadata_time"].dtype.kind in "iu"  # numbers, the string one too
    assert "8" in set(table["post_metadata_source_site"])
    assert table["tags"].dropna().iloc[0].startswith('["a", ')
    assert table["text"].str.contains("\ufffd").sum() == 1
    summary = json.loads((space.data / "model" / "latest" / "summary.json").read_text())
    assert sum(summary["counts_per_label"].values()) == 10


def test_a_corpus_of_one_post_makes_the_model(space):
    """One post longer than all k parts: every part lies inside it (an IndexError before)."""
    post = make_posts(1)[0]
    post["text"] = " ".join(f"word{i * i}" for i in range(300))
    write_corpus(space.data / "raw" / "posts.json", [post])
    result = space.run("run", "preprocess", "model", "-p", "model.k=5")
    assert result.returncode == 0, result.stderr
    summary = json.loads((space.data / "model" / "latest" / "summary.json").read_text())
    assert summary["counts_per_label"] == {post["post_metadata"]["source"]["site"]: 5}


def test_one_post_without_a_site_cut_into_identical_parts_makes_the_model(space):
    post = make_posts(1)[0]
    post["post_metadata"]["source"]["site"] = None
    post["text"] = "abcd" * 100  # k=4: four parts of "abcd" * 25, all at distance 0
    write_corpus(space.data / "raw" / "posts.json", [post])
    result = space.run("run", "preprocess", "model", "-p", "model.k=4")
    assert result.returncode == 0, result.stderr
    record = json.loads((space.outputs / "model" / "latest.json").read_text())
    summary = json.loads((space.data / "model" / "latest" / "summary.json").read_text())
    assert summary["counts_per_label"] == {"(no site)": 4}
    notebook = (space.outputs / "model" / f"{record['run_id']}.ipynb").read_text()
    assert "distances all 0: every part has the same trigrams" in notebook
