"""Fetch the JSON corpus of posts and check it really is one (used by 1.ingest)."""

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from atomic import atomic_path

CHUNK_BYTES = 1 << 16


class CorpusError(Exception):
    """The corpus could not be fetched or is not a corpus; the message says what to change."""


def check_corpus(path: Path, name: str | None = None) -> int:
    """The number of posts in a corpus file, or CorpusError saying what is wrong with it.

    `name` is what to call the file in messages (the URL it came from, say).
    """
    name = name or str(path)
    try:
        with open(path, "rb") as stream:
            document = json.load(stream)
    except UnicodeDecodeError as error:
        raise CorpusError(f"{name} is not UTF-8 JSON: {error}") from error
    except json.JSONDecodeError as error:
        with open(path, "rb") as stream:
            start = stream.read(40).decode("utf-8", "replace").strip()
        raise CorpusError(
            f"{name} is not valid JSON ({error.msg} at line {error.lineno}); "
            f"it starts with {start!r}"
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("posts"), list):
        raise CorpusError(f'{name} is JSON but has no "posts" list: not a corpus of posts')
    if not document["posts"]:
        raise CorpusError(f"{name} has an empty posts list: nothing to analyse")
    return len(document["posts"])


def fetch_corpus(source: str, target: Path, timeout_s: float, deadline_s: float,
                 max_mb: float) -> int:
    """Copy or download `source` to `target` atomically, checked; returns the number of posts.

    `timeout_s` bounds connecting and each read, `deadline_s` the whole download, `max_mb`
    its size. On any failure `target` is left as it was.
    """
    with atomic_path(target) as temporary:
        if "://" in source:
            download(source, temporary, timeout_s, deadline_s, max_mb)
        else:
            copy_local(Path(source), temporary, max_mb)
        count = check_corpus(temporary, name=source)
    return count


def copy_local(source: Path, temporary: Path, max_mb: float) -> None:
    if not source.is_file():
        raise CorpusError(f"source {source} is not a file; give a URL or an existing path")
    if source.stat().st_size > max_mb * 1e6:
        raise CorpusError(f"{source} is larger than max_mb={max_mb:g} MB; raise max_mb")
    shutil.copyfile(source, temporary)


def download(url: str, temporary: Path, timeout_s: float, deadline_s: float,
             max_mb: float) -> None:
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": "nbsteps-ingest"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response, \
                open(temporary, "wb") as stream:
            received = 0
            # read1 returns what has arrived, so the deadline is checked even on a trickle.
            while chunk := response.read1(CHUNK_BYTES):
                received += len(chunk)
                if received > max_mb * 1e6:
                    raise CorpusError(f"{url} sent more than max_mb={max_mb:g} MB; "
                                      "raise max_mb if the corpus really is that big")
                if time.monotonic() - started > deadline_s:
                    raise CorpusError(f"downloading {url} took longer than deadline_s="
                                      f"{deadline_s:g} s; raise deadline_s or check the network")
                stream.write(chunk)
    except urllib.error.HTTPError as error:
        raise CorpusError(f"{url} answered HTTP {error.code} {error.reason}; "
                          "check `source` in params/ingest.yaml") from error
    except urllib.error.URLError as error:
        raise CorpusError(f"cannot reach {url}: {error.reason}; check `source` "
                          "and the network") from error
    except TimeoutError as error:
        raise CorpusError(f"{url} stalled: no data for timeout_s={timeout_s:g} s; "
                          "try again later or raise timeout_s") from error
