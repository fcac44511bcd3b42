import pandas as pd
import pytest

from tests.corpus_factory import expected_kept, make_posts
from tests.notebook_modules import posts


def test_posts_without_text_are_dropped_and_counted():
    raw = make_posts(100)
    frame, counts = posts.normalize_posts(raw, 50)
    assert counts["without_text"] == sum("text" not in p for p in raw) == 10
    assert counts["kept"] == len(frame) == expected_kept(raw)
    assert counts["posts"] == 100
    assert counts["without_text"] + counts["too_short"] + counts["kept"] == 100


def test_text_is_cleaned_in_order_newlines_then_leading_url_then_lower_case():
    raw = make_posts(3)
    raw[0]["text"] = "https://x.org/a\nSecond LINE of a long enough post to be kept by min size."
    raw[1]["text"] = "Keep\nthis URL https://x.org inside a long enough post, it is fine."
    frame, _ = posts.normalize_posts(raw, 0)
    # With newlines made spaces first, a leading URL takes the whole post with it.
    expected = "keep this url https://x.org inside a long enough post, it is fine."
    assert frame["text"].tolist()[0] == expected
    assert (frame["size"] == frame["text"].str.len()).all()


def test_bintime_follows_the_period_boundaries():
    raw = make_posts(5)
    stamps = ["2017-11-30", "2017-12-01", "2018-05-01", "2018-08-10", "2020-01-01"]
    for post, stamp in zip(raw, stamps, strict=True):
        post["text"] = "x" * 60
        post["post_metadata"]["time"] = int(pd.Timestamp(stamp, tz="UTC").timestamp())
    frame, _ = posts.normalize_posts(raw, 50)
    assert frame["bintime"].tolist() == [0, 1, 2, 3, 4]
    assert str(frame["time"].dt.tz) == "UTC"


def test_min_size_is_a_strict_lower_bound():
    raw = make_posts(2)
    raw[0]["text"], raw[1]["text"] = "y" * 50, "y" * 51
    frame, counts = posts.normalize_posts(raw, 50)
    assert frame["size"].tolist() == [51] and counts["too_short"] == 1


def test_nothing_left_after_filtering_is_an_error_saying_what_to_change():
    with pytest.raises(posts.CorpusFormatError, match="lower min_size"):
        posts.normalize_posts(make_posts(20), 100000)


def test_posts_without_the_expected_metadata_are_refused():
    with pytest.raises(posts.CorpusFormatError, match="post_metadata_source_site"):
        posts.normalize_posts([{"text": "x" * 80, "post_metadata": {"time": 1}}], 0)


def test_read_posts_requires_a_non_empty_posts_list(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"items": []}')
    with pytest.raises(posts.CorpusFormatError, match='no "posts" list'):
        posts.read_posts(path)
    path.write_text('{"posts": []}')
    with pytest.raises(posts.CorpusFormatError, match="no posts"):
        posts.read_posts(path)
