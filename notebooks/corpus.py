"""Fetch the JSON corpus of posts, check it really is one, and read it post by post
(used by 1.ingest and 2.preprocess).

A corpus is a JSON object with a non-empty `posts` list of objects. It can be hundreds of MB,
so it is never parsed as one document (a 420 MB file makes several GB of Python objects):
`iter_posts` reads it in chunks and parses one post at a time with the standard library's
JSON decoder, so every byte is still checked, in memory bounded by the largest post.
"""

import codecs
import contextlib
import http.client
import json
import math
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from atomic import atomic_path

CHUNK_BYTES = 1 << 16  # what a download reads at a time
READ_BYTES = 1 << 20  # what the parser reads at a time
WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, exactly
SEPARATOR = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")  # between two values of an array
DECODER = json.JSONDecoder()


class CorpusError(Exception):
    """The corpus could not be fetched or is not a corpus; the message says what to change."""


def check_corpus(path: Path, name: str | None = None, quote: bool = False) -> int:
    """The number of posts in a corpus file, or CorpusError saying what is wrong with it.

    `name` is what to call the file in messages (the URL it came from, say); `quote` lets
    messages show a short, printable excerpt of it (for a download: a local file's bytes,
    which may be a secret such as /etc/shadow, are never quoted). The whole
    file is parsed, in bounded memory; a syntax error anywhere is reported before a post
    that is not an object, as a plain `json.load` would.
    """
    name = name or str(path)
    count, not_object = 0, None
    for count, post in enumerate(iter_posts(path, name, quote), start=1):
        if not_object is None and not isinstance(post, dict):
            not_object = (count, post)
    if not count:
        raise CorpusError(f"{name} has an empty posts list: nothing to analyse")
    if not_object:
        number, post = not_object
        raise CorpusError(f"{name}: post {number:,} is {describe(post)}, not an object: "
                          "not a corpus of posts")
    return count


def iter_posts(path: Path, name: str | None = None, quote: bool = False) -> Iterator[Any]:
    """The items of the corpus' `posts` list, parsed one at a time; CorpusError if the file
    is not UTF-8 JSON or not an object with a `posts` list (raised while iterating, at the
    first problem found reading from the start). The items are not checked to be objects.
    """
    name = name or str(path)
    with open(path, "rb") as stream:
        window = Window(stream, name, quote)
        try:
            yield from window.posts()
        except RecursionError:
            raise CorpusError(f"{name} nests lists or objects too deeply to read: not a "
                              "corpus of posts") from None


class Window:
    """The part of a UTF-8 JSON file read but not yet parsed: `text[pos:]`.

    Reads `READ_BYTES` at a time, dropping what has been parsed; a value cut by the end of
    the window is parsed again once more is read, so values may be of any size.
    Positions in error messages are those of the whole file.
    """

    def __init__(self, stream, name: str, quote: bool = False):
        self.stream, self.name, self.quote = stream, name, quote
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos, self.at_end = "", 0, False
        self.bytes_read = 0
        self.dropped = 0  # characters parsed and dropped before text[0]

    def posts(self) -> Iterator[Any]:
        """The items of the `posts` list of the object this file holds (see iter_posts)."""
        window, name = self, self.name
        first = window.peek()
        if first == "\ufeff":
            raise window.syntax_error("Unexpected UTF-8 BOM")
        if first and first in '["-0123456789tfn':
            raise CorpusError(f'{name} has no "posts" list: it is not a JSON object'
                              f"{window.start()}")
        if first != "{":
            raise window.syntax_error("Expecting value")
        window.pos += 1
        found = False
        if not window.skip("}"):
            while True:
                if window.peek() != '"':
                    raise window.syntax_error("Expecting property name enclosed in double quotes")
                key = window.value()
                window.expect(":", "Expecting ':' delimiter")
                if key != "posts":
                    window.value()  # checked, then dropped
                elif found:
                    raise CorpusError(f'{name} has more than one "posts" list')
                elif window.peek() != "[":
                    window.value()  # a cut or broken file says so first
                    raise CorpusError(f'{name} has no "posts" list: its "posts" is not a list')
                else:
                    found = True
                    yield from window.items()
                if window.skip("}"):
                    break
                window.expect(",", "Expecting ',' delimiter")
        if window.peek():
            raise window.syntax_error("Extra data")
        if not found:
            raise CorpusError(f'{name} is JSON but has no "posts" list: not a corpus of posts')

    def fill(self) -> bool:
        """Read more, at least as much again as is pending; False at the end of the file."""
        if self.at_end:
            return False
        data = self.stream.read(max(READ_BYTES, 2 * (len(self.text) - self.pos)))
        self.at_end = not data
        try:
            chunk = self.decoder.decode(data, final=self.at_end)
        except UnicodeDecodeError as error:
            offset = self.bytes_read + error.start
            raise CorpusError(f"{self.name} is not UTF-8 JSON: byte {offset:,}: {error.reason}"
                              ) from error
        self.bytes_read += len(data)
        if not chunk:  # the end of the file, or only part of a character so far
            return not self.at_end
        self.dropped += self.pos
        self.text, self.pos = self.text[self.pos:] + chunk, 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace, or "" at the end of the file."""
        while True:
            self.pos = WHITESPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def skip(self, character: str) -> bool:
        if self.peek() == character:
            self.pos += 1
            return True
        return False

    def expect(self, character: str, message: str) -> None:
        if not self.skip(character):
            raise self.syntax_error(message)

    def value(self) -> Any:
        """The JSON value at the next non-whitespace character."""
        self.peek()
        while True:
            try:
                value, end = DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if cut_short(error, len(self.text)) and self.fill():
                    continue
                raise self.syntax_error(error.msg, error.pos) from None
            # A number that ends the window may go on in the next chunk.
            if end < len(self.text) or not self.fill():
                self.pos = end
                return value

    def items(self) -> Iterator[Any]:
        """The values of the array at the next non-whitespace character, one at a time."""
        self.expect("[", "Expecting '['")
        if self.skip("]"):
            return
        decode, separator = DECODER.raw_decode, SEPARATOR.match
        while True:
            # The fast path, for all but the last value and those cut by the window's end:
            # a whole value, then a comma, then more to read.
            try:
                value, end = decode(self.text, self.pos)
                comma = separator(self.text, end)
            except json.JSONDecodeError:
                comma = None
            if comma and comma.end() < len(self.text):
                self.pos = comma.end()
                yield value
                continue
            yield self.value()
            if self.skip("]"):
                return
            self.expect(",", "Expecting ',' delimiter")
            self.peek()  # the fast path starts at the value itself

    def locate(self, pos: int) -> tuple[int, int]:
        """Line and column (from 1) in the file of `text[pos]`, reading the file again up to
        there: only error messages need them, so parsing does not count lines."""
        before = self.dropped + pos  # characters before text[pos]
        line, column = 1, 1
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.stream.seek(0)
        while before and (data := self.stream.read(READ_BYTES)):
            chunk = decoder.decode(data)[:before]
            before -= len(chunk)
            newlines = chunk.count("\n")
            line += newlines
            column = len(chunk) - chunk.rfind("\n") if newlines else column + len(chunk)
        return line, column

    def syntax_error(self, message: str, pos: int | None = None) -> CorpusError:
        line, column = self.locate(self.pos if pos is None else pos)
        return CorpusError(f"{self.name} is not valid JSON ({message} at line {line:,} "
                           f"column {column:,}){self.start()}")

    def start(self) -> str:
        """The end of an error line that shows the first 40 characters (printable ones only)
        of a download that is not a corpus (an HTML error page, say); nothing for a local
        file, whose bytes may be a secret (source=/etc/shadow)."""
        if not self.quote:
            return ""
        self.stream.seek(0)
        text = self.stream.read(40).decode("utf-8", "replace").strip()
        return f"; it starts with {''.join(c if c.isprintable() else '?' for c in text)!r}"


def cut_short(error: json.JSONDecodeError, length: int) -> bool:
    """Whether the error may only mean that the value goes on past the window's end (so
    reading more may mend it); anything else is an error wherever the window ends.
    The decoder reports a value cut short at the end, or up to 5 characters before it
    (a cut `\\u00e9` escape), or as a string left open."""
    return length - error.pos <= 6 or error.msg.startswith("Unterminated string")


def describe(value: Any) -> str:
    return {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
            str: "a string", list: "a list"}.get(type(value), type(value).__name__)


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
        count = check_corpus(temporary, name=source, quote="://" in source)
    return count


def copy_local(source: Path, temporary: Path, max_mb: float) -> None:
    if not source.is_file():
        raise CorpusError(f"source {source} is not a file; give a URL or an existing path")
    if source.stat().st_size > max_mb * 1e6:
        raise CorpusError(f"{source} is larger than max_mb={max_mb:g} MB; raise max_mb")
    shutil.copyfile(source, temporary)


def download(url: str, temporary: Path, timeout_s: float, deadline_s: float,
             max_mb: float) -> None:
    """Stream `url` into `temporary`. `deadline_s` covers the whole request, from connecting
    to the last byte: a server that sends its headers one byte at a time is cut off too."""
    request = urllib.request.Request(url, headers={"User-Agent": "nbsteps-ingest"})
    watch = Deadline(deadline_s)
    opener = urllib.request.build_opener(WatchedHTTPHandler(watch), WatchedHTTPSHandler(watch))
    try:
        with watch, opener.open(request, timeout=min(timeout_s, deadline_s)) as response, \
                open(temporary, "wb") as stream:
            received = 0
            # read1 returns what has arrived, so the deadline is checked even on a trickle.
            while chunk := response.read1(CHUNK_BYTES):
                received += len(chunk)
                if received > max_mb * 1e6:
                    raise CorpusError(f"{url} sent more than max_mb={max_mb:g} MB; "
                                      "raise max_mb if the corpus really is that big")
                watch.check()
                stream.write(chunk)
            watch.check()  # a connection cut by the deadline ends like a short body
    except urllib.error.HTTPError as error:
        raise CorpusError(f"{url} answered HTTP {error.code} {error.reason}; "
                          "check `source` in params/ingest.yaml") from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        if watch.expired:
            raise watch.error(url) from error
        if isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None),
                                                         TimeoutError):
            raise CorpusError(f"{url} stalled: no data for timeout_s={timeout_s:g} s; "
                              "try again later or raise timeout_s") from error
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        raise CorpusError(f"cannot reach {url}: {reason}; check `source` "
                          "and the network") from error
    except DeadlineExpired:
        raise watch.error(url) from None


class DeadlineExpired(Exception):
    pass


class Deadline:
    """A deadline for a whole request: when it passes, every socket the request opened is
    shut down, which ends a read blocked in another thread (a timeout per read cannot:
    each byte of a trickle resets it)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.expired = False
        self.sockets: list = []
        self.lock = threading.Lock()
        self.timer = None

    def __enter__(self):
        if math.isfinite(self.seconds):
            self.timer = threading.Timer(self.seconds, self.expire)
            self.timer.daemon = True
            self.timer.start()
        return self

    def __exit__(self, *exc):
        if self.timer is not None:
            self.timer.cancel()

    def watch(self, sock) -> None:
        with self.lock:
            self.sockets.append(sock)
            if not self.expired:
                return
        self.expire()

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def check(self) -> None:
        if self.expired or time.monotonic() - self.started > self.seconds:
            self.expired = True
            raise DeadlineExpired

    def error(self, url: str) -> CorpusError:
        return CorpusError(f"downloading {url} took longer than deadline_s={self.seconds:g} s; "
                           "raise deadline_s or check the network")


def watched(connection_class, watch: Deadline):
    """A connection class that hands its socket to `watch` as soon as it is connected."""

    class Watched(connection_class):
        def connect(self):
            super().connect()
            watch.watch(self.sock)

    return Watched


class WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: Deadline):
        super().__init__()
        self.connection = watched(http.client.HTTPConnection, watch)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: Deadline):
        super().__init__()
        self.connection = watched(http.client.HTTPSConnection, watch)

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self._context)


def fetch_shared(sources: list[str], target: Path, timeout_s: float, deadline_s: float,
                 max_mb: float, lease_s: float, run_id: str = "manual") -> tuple[int, int]:
    """Fetch a list of corpus parts together with the other ingest workers, then join them.

    Workers started together (`docker compose up --scale ingest=N`) share the list through
    a folder beside `target` (see worklist.py): each part is fetched once, a part whose
    worker died is taken over, and every worker returns only when all parts are there.
    Returns (parts fetched by this worker, posts in the joined corpus).
    """
    import hashlib
    import os
    import socket

    import worklist

    if not sources:
        raise CorpusError("source is an empty list: give a URL, a path, or a list of parts")
    key = hashlib.sha256(json.dumps(sources).encode()).hexdigest()[:12]
    folder = target.parent / "parts" / key
    # Marks older than the last join before this run started belong to an earlier round and
    # count as absent: a part fetched then may have changed since (nbsteps runs this step
    # only when it must fetch). A join after this run started was made by a worker of the
    # same round (one that finished first), so its marks still count here.
    board_folder = folder / ".board"
    since = last_join_before(board_folder, run_started(run_id))
    worker = f"{socket.gethostname()}-{os.getpid()}"
    board = worklist.Board(board_folder, worker, lease_s=lease_s, since=since)

    parts = [folder / f"{index:05d}.json" for index in range(len(sources))]

    def fetch(index: int, source: str) -> None:
        fetch_corpus(source, parts[index], timeout_s, deadline_s, max_mb)

    try:
        fetched = worklist.work_through(board, sources, fetch)
    except worklist.WorkFailed as error:
        raise CorpusError(str(error)) from error
    posts = join_corpora(parts, target)
    (board_folder / f"joined.{worker}").touch()  # its time marks the end of this round
    return len(fetched), posts


def run_started(run_id: str) -> float:
    """When nbsteps started this run (epoch seconds), read from its id
    (`<step>_<YYYY-MM-DD>_<HH-MM-SS>_<hex>`, UTC); now for a run by hand."""
    import datetime
    import re
    import time

    found = re.search(r"_(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})_[0-9a-f]+$", run_id)
    if not found:
        return time.time()
    moment = datetime.datetime.strptime(found.group(1), "%Y-%m-%d_%H-%M-%S")
    return moment.replace(tzinfo=datetime.UTC).timestamp()


def last_join_before(board_folder: Path, moment: float) -> float:
    """The time of the newest join of the parts before `moment`, or 0 if none."""
    times = [path.stat().st_mtime for path in board_folder.glob("joined.*")]
    return max((t for t in times if t < moment), default=0.0)


def join_corpora(parts: list[Path], target: Path) -> int:
    """One corpus of all the parts' posts, in order, written atomically; post by post."""
    count = 0
    with atomic_path(target) as temporary, open(temporary, "w", encoding="utf-8") as stream:
        stream.write('{"posts": [')
        for part in parts:
            for post in iter_posts(part):
                stream.write((", " if count else "") + json.dumps(post, ensure_ascii=False))
                count += 1
        stream.write("]}\n")
        if not count:
            raise CorpusError("the parts hold no posts together: nothing to analyse")
    return count
