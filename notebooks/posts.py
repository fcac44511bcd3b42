"""Turn the raw corpus into a flat, clean table of posts (used by 2.preprocess)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

# Periods of the posting history; `bintime` is the index of the period a post falls in.
BIN_BOUNDARIES = pd.to_datetime(["2017-12-01", "2018-01-01", "2018-08-10", "2019-08-01"], utc=True)
LEADING_URL = r"^https?:\/\/.*[\r\n]*"
REQUIRED_COLUMNS = ("post_metadata_time", "post_metadata_source_site")
# Nested lists (images, referenced posts) are not needed downstream and do not fit a flat table.
NESTED_COLUMNS = ("referenced_posts", "images")


class CorpusFormatError(Exception):
    """The raw corpus is not shaped as expected; the message says what is missing."""


def read_posts(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorpusFormatError(
            f"{path} is not valid JSON ({error}); fetch it again with "
            "`nbsteps run ingest -p force=true`"
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("posts"), list):
        raise CorpusFormatError(f'{path} has no "posts" list; run the ingest step again')
    if not document["posts"]:
        raise CorpusFormatError(f"{path} has no posts; check the ingest source")
    return document["posts"]


def flatten_posts(posts: list[dict]) -> pd.DataFrame:
    """One row per post, nested metadata as `post_metadata_source_site`-style columns."""
    frame = pd.json_normalize(posts, sep="_")
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise CorpusFormatError(f"posts lack {', '.join(missing)}: not the expected corpus shape")
    if "text" not in frame.columns:
        frame["text"] = None
    return frame.drop(columns=[c for c in NESTED_COLUMNS if c in frame.columns])


def clean_text(text: pd.Series) -> pd.Series:
    """Newlines to spaces, then a URL at the start removed, then lower case."""
    return (
        text.str.replace("\n", " ", regex=False)
        .str.replace(LEADING_URL, "", regex=True)
        .str.lower()
    )


def add_time_columns(frame: pd.DataFrame) -> pd.DataFrame:
    seconds = pd.to_numeric(frame["post_metadata_time"], errors="coerce")
    if seconds.isna().any():
        raise CorpusFormatError(
            f"{int(seconds.isna().sum())} posts have no numeric post_metadata.time (epoch seconds)"
        )
    frame["time"] = pd.to_datetime(seconds, unit="s", utc=True)
    frame["bintime"] = np.searchsorted(BIN_BOUNDARIES, frame["time"], side="right")
    return frame


def normalize_posts(posts: list[dict], min_size: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """The cleaned table of posts longer than `min_size` characters, and what was dropped."""
    frame = flatten_posts(posts)
    has_text = frame["text"].map(lambda value: isinstance(value, str))
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
    return kept, counts
