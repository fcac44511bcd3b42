"""Turn the raw corpus into a flat, clean table of posts (used by 2.preprocess).

The table is what `pandas.json_normalize(posts, sep="_")` makes of the posts, less the
nested lists, cleaned. The corpus is read one post at a time (`corpus.iter_posts`) and each
post is flattened as it arrives, so the raw posts are never all in memory at once: a 420 MB
corpus as one `json.load` is several GB of Python objects.
"""

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from corpus import CorpusError, describe, iter_posts

# Periods of the posting history; `bintime` is the index of the period a post falls in.
BIN_BOUNDARIES = pd.to_datetime(["2017-12-01", "2018-01-01", "2018-08-10", "2019-08-01"], utc=True)
TIME_RANGE_S = (pd.Timestamp.min.timestamp() + 1, pd.Timestamp.max.timestamp() - 1)
LEADING_URL = r"^https?:\/\/.*[\r\n]*"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REQUIRED_COLUMNS = ("post_metadata_time", "post_metadata_source_site")
# Nested lists (images, referenced posts) are not needed downstream and do not fit a flat table.
NESTED_COLUMNS = ("referenced_posts", "images")


class CorpusFormatError(Exception):
    """The raw corpus is not shaped as expected; the message says what is missing."""


def read_posts(path: Path) -> Iterator[dict]:
    """The posts of the raw corpus, one at a time; CorpusFormatError, raised while iterating,
    if it is not JSON with a non-empty posts list."""
    count = 0
    try:
        for post in iter_posts(path):
            count += 1
            yield post
    except CorpusError as error:
        raise CorpusFormatError(
            f"{error}; fetch it again with `nbsteps run ingest --force`"
        ) from error
    if not count:
        raise CorpusFormatError(f"{path} has no posts; check the ingest source")


def flatten_posts(posts: Iterable[dict]) -> pd.DataFrame:
    """One row per post, nested metadata as `post_metadata_source_site`-style columns."""
    rows, not_object = [], None
    for number, post in enumerate(posts, start=1):
        if isinstance(post, dict):
            rows.append(flatten_post(post))
        elif not_object is None:
            not_object = f"post {number:,} is {describe(post)}, not an object"
    # Reported once all posts are read, so a file that is not JSON says so first.
    if not_object:
        raise CorpusFormatError(f"{not_object}: not the expected corpus shape")
    # The same constructor json_normalize ends with: the same columns, in the same order
    # (of first appearance), with the same dtypes.
    frame = pd.DataFrame(rows)
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise CorpusFormatError(f"posts lack {', '.join(missing)}: not the expected corpus shape")
    if "text" not in frame.columns:
        frame["text"] = None
    return frame


def flatten_post(post: dict) -> dict:
    """One post as `json_normalize` flattens it (its top-level values that are not objects,
    then the objects' values under joined names), without the NESTED_COLUMNS. Lone
    surrogates in its texts (a JSON escape such as "\\ud800", which UTF-8 cannot hold, so no
    table could be written) become U+FFFD."""
    flat = {key: replace_lone_surrogates(value) for key, value in post.items()
            if not isinstance(value, dict)}
    for key, value in post.items():
        if isinstance(value, dict):
            flatten_into(flat, key, value)
    for key in NESTED_COLUMNS:
        flat.pop(key, None)
    return flat


def flatten_into(flat: dict, name: str, value) -> None:
    if not isinstance(value, dict):
        flat[name] = replace_lone_surrogates(value)
        return
    for key, inner in value.items():
        flatten_into(flat, f"{name}_{key}" if name else key, inner)


def clean_text(text: pd.Series) -> pd.Series:
    """Newlines to spaces, then a URL at the start removed, then lower case."""
    return (
        text.str.replace("\n", " ", regex=False)
        .str.replace(LEADING_URL, "", regex=True)
        .str.lower()
    )


def add_time_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """`time` and `bintime` from `post_metadata_time` (epoch seconds), which is left as the
    numbers it was read as (a number written as a JSON string, "1509223468", included)."""
    # A boolean is no time, though pandas would take true for 1 second after 1970.
    times = frame["post_metadata_time"].map(lambda value: None if isinstance(value, bool)
                                            else value)
    seconds = pd.to_numeric(times, errors="coerce")
    if seconds.isna().any():
        raise CorpusFormatError(
            f"{int(seconds.isna().sum())} posts have no numeric post_metadata.time (epoch seconds)"
        )
    # pandas times are nanoseconds in 64 bits: 1677-09-21 to 2262-04-11.
    outside = ~seconds.between(TIME_RANGE_S[0], TIME_RANGE_S[1])
    if outside.any():
        raise CorpusFormatError(
            f"{int(outside.sum())} posts have a post_metadata.time outside 1678..2261 "
            f"(epoch seconds; the first is {seconds[outside].iloc[0]:g}): not the expected corpus"
        )
    frame["post_metadata_time"] = seconds
    frame["time"] = pd.to_datetime(seconds, unit="s", utc=True)
    frame["bintime"] = np.searchsorted(BIN_BOUNDARIES, frame["time"], side="right")
    return frame


def make_columns_writable(frame: pd.DataFrame) -> None:
    """Make every column one a parquet file can hold, in place.

    A column of one kind of value (numbers, text or booleans, missing values aside) stays as
    it is. One that mixes kinds (a number among texts) or holds lists (nested lists do not
    fit a flat table) is written as JSON text, value by value: one odd post does not stop the
    table, and the columns the model reads are checked on their own.
    """
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        kinds = {kind_of(value) for value in frame[column]} - {"missing"}
        if len(kinds) > 1 or "other" in kinds:
            frame[column] = frame[column].map(json_text)


def kind_of(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | float | np.number):
        return "number"
    return "text" if isinstance(value, str) else "other"


def json_text(value) -> str | None:
    """`value` as JSON text (a text stays as it is); a missing value stays missing."""
    kind = kind_of(value)
    if kind in ("missing", "text"):
        return None if kind == "missing" else value
    try:
        return replace_lone_surrogates(json.dumps(value, ensure_ascii=False, default=str))
    except RecursionError:
        raise CorpusFormatError("a post nests lists too deeply to write as a table: not the "
                                "expected corpus shape") from None


def replace_lone_surrogates(value):
    return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def is_text(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.StringDtype):  # strings or missing, nothing else
        return values.notna()
    return values.map(lambda value: isinstance(value, str))


def normalize_posts(posts: Iterable[dict], min_size: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cleaned table of posts longer than `min_size` characters, and what was dropped."""
    frame = flatten_posts(posts)
    has_text = is_text(frame["text"])
    frame = add_time_columns(frame[has_text].copy())
    frame["text"] = clean_text(frame["text"])
    frame["size"] = frame["text"].str.len()
    kept = frame[frame["size"] > min_size].reset_index(drop=True)
    if kept.empty:
        raise CorpusFormatError(
            f"no post has more than min_size={min_size} characters of text; lower min_size"
        )
    counts = {
        "posts": len(has_text),
        "without_text": int((~has_text).sum()),
        "too_short": len(frame) - len(kept),
        "kept": len(kept),
    }
    make_columns_writable(kept)
    return kept, counts
