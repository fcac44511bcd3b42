"""Odd corpora give one readable line: dates out of range, nesting too deep, and a local
file that is not a corpus, whose bytes are never quoted (it may be a secret)."""

import pandas as pd
import pytest

from tests.notebook_modules import corpus, posts

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
