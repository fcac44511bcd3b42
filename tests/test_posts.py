import json

import numpy as np
import pandas as pd
import pytest

from tests.corpus_factory import expected_kept, make_posts, write_corpus
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
    with pytest.raises(posts.CorpusFormatError, match='no "posts" list.*nbsteps run ingest'):
        list(posts.read_posts(path))
    path.write_text('{"posts": []}')
    with pytest.raises(posts.CorpusFormatError, match="no posts"):
        list(posts.read_posts(path))


def test_a_post_that_is_not_an_object_is_refused_after_the_file_is_known_to_be_json(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"posts": [{"text": "a"}, "b"]}')
    with pytest.raises(posts.CorpusFormatError, match="post 2 is a string, not an object"):
        posts.normalize_posts(posts.read_posts(path), 0)
    path.write_text('{"posts": [{"text": "a"}, "b"')
    with pytest.raises(posts.CorpusFormatError, match="is not valid JSON"):
        posts.normalize_posts(posts.read_posts(path), 0)


# The posts are read one at a time and flattened as they arrive, not loaded whole and given
# to pandas.json_normalize (a 420 MB corpus made several GB of Python objects that way).
# The table must not change: here is the plain implementation it replaced, to compare with.

BIN_BOUNDARIES = pd.to_datetime(["2017-12-01", "2018-01-01", "2018-08-10", "2019-08-01"], utc=True)


def reference_normalize(raw: list[dict], min_size: int = 50) -> tuple[pd.DataFrame, dict]:
    """The preprocessing as first written: json_normalize of the whole list, then clean."""
    frame = pd.json_normalize(raw, sep="_")
    frame = frame.drop(columns=[c for c in ("referenced_posts", "images") if c in frame])
    if "text" not in frame.columns:
        frame["text"] = None
    has_text = frame["text"].map(lambda value: isinstance(value, str))
    frame = frame[has_text].copy()
    frame["time"] = pd.to_datetime(pd.to_numeric(frame["post_metadata_time"]), unit="s", utc=True)
    frame["bintime"] = np.searchsorted(BIN_BOUNDARIES, frame["time"], side="right")
    frame["text"] = (
        frame["text"].str.replace("\n", " ", regex=False)
        .str.replace(r"^https?:\/\/.*[\r\n]*", "", regex=True)
        .str.lower()
    )
    frame["size"] = frame["text"].str.len()
    kept = frame[frame["size"] > min_size].reset_index(drop=True)
    counts = {"posts": len(has_text), "without_text": int((~has_text).sum()),
              "too_short": len(frame) - len(kept), "kept": len(kept)}
    return kept, counts


def assert_same_table(path, min_size: int = 50) -> pd.DataFrame:
    """The table made from the file at `path` equals the reference's, dtypes and all."""
    frame, counts = posts.normalize_posts(posts.read_posts(path), min_size)
    with open(path, encoding="utf-8") as stream:
        expected, expected_counts = reference_normalize(json.load(stream)["posts"], min_size)
    assert list(frame.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert counts == expected_counts
    return frame


def test_the_table_equals_the_json_normalize_one_on_the_fixture_corpus(tmp_path):
    assert_same_table(write_corpus(tmp_path / "posts.json"))


def test_the_table_equals_the_json_normalize_one_on_the_real_corpus(real_corpus, tmp_path):
    frame = assert_same_table(real_corpus)
    assert len(frame) == 2266
    assert frame.dtypes.astype(str).to_dict() == {
        "text": "str",
        "post_metadata_author": "str",
        "post_metadata_source_board": "str",
        "post_metadata_source_site": "str",
        "post_metadata_source_link": "str",
        "post_metadata_time": "int64",
        "post_metadata_id": "int64",
        "post_metadata_author_id": "str",
        "post_metadata_post_id": "str",
        "post_metadata_tripcode": "str",
        "time": "datetime64[us, UTC]",
        "bintime": "int64",
        "size": "int64",
    }


def odd_posts() -> list:
    """Posts shaped in every way json_normalize has to decide something about."""
    raw = make_posts(12)
    raw[0]["post_metadata"] = {"time": 1509223468, "source": {"site": "4ch"}}  # few fields first
    raw[1]["post_metadata"]["tripcode"] = None  # present but null
    raw[2]["images"] = {"file": "a.png"}  # an object, not a list: flattened, kept
    raw[3]["extra"] = {}  # an empty object: no column
    raw[4]["post_metadata"]["source"]["deep"] = {"er": {"est": 1.5}}
    raw[5]["post_metadata_time"] = "top"  # the same flat name as a nested value
    raw[6]["text"] = 12345  # text that is not a string
    raw[7] = {"referenced_posts": [], "text": "y" * 60, **raw[7]}  # keys in another order
    raw[8]["post_metadata"]["score"] = 3  # an int column with gaps
    raw[9]["flag"] = True
    return raw


def test_the_table_equals_the_json_normalize_one_on_oddly_shaped_posts(tmp_path):
    raw = odd_posts()
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"posts": raw}))
    assert_same_table(path, min_size=0)
    flat = posts.flatten_posts(raw)
    expected = pd.json_normalize(raw, sep="_").drop(columns=["referenced_posts"])
    pd.testing.assert_frame_equal(flat, expected, check_exact=True)
