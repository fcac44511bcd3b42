"""Share a list of sources between ingest workers started together (`--scale ingest=N`).

The workers share nothing but a folder (the data volume), so they coordinate with files:

- `<item>.claim.<generation>` says a worker is fetching the item. The worker touches it
  every few seconds while it works; a claim not touched for `lease_s` belongs to a dead
  worker, and another takes the item over by creating the next generation. Creating a
  file with O_EXCL succeeds for exactly one worker, so no item is taken twice.
- `<item>.done` says the item is fetched; `<item>.failed` holds why it could not be.

Each worker takes the items nobody holds, then waits until every item is done (taking over
any whose claim goes stale), so all of them finish only when the whole list is fetched: the
next step, started when the workers have exited, finds every file.
"""

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from atomic import atomic_path

HEARTBEAT_S = 2.0


class WorkFailed(Exception):
    """An item could not be fetched (by this worker or another); the message says which."""


@dataclass(frozen=True)
class Board:
    folder: Path
    worker: str  # who holds a claim, for people reading the folder
    lease_s: float = 20.0
    since: float = 0.0  # marks older than this (epoch seconds) count as absent: an earlier run's

    def done(self, item: int) -> bool:
        return self.is_current(self.folder / f"{item}.done")

    def failure(self, item: int) -> str | None:
        path = self.folder / f"{item}.failed"
        return path.read_text(encoding="utf-8") if self.is_current(path) else None

    def is_current(self, path: Path) -> bool:
        try:
            return path.stat().st_mtime >= self.since
        except FileNotFoundError:
            return False

    def latest_claim(self, item: int) -> tuple[int, Path | None]:
        claims = [
            (int(path.name.rsplit(".", 1)[1]), path)
            for path in self.folder.glob(f"{item}.claim.*")
            if path.name.rsplit(".", 1)[1].isdigit()
        ]
        return max(claims, default=(0, None))

    def try_claim(self, item: int) -> Path | None:
        """A claim on the item if it is free (never claimed, or its holder stopped renewing)."""
        if self.done(item) or self.failure(item) is not None:
            return None
        generation, path = self.latest_claim(item)
        if path is not None and self.is_live(path):
            return None
        claim = self.folder / f"{item}.claim.{generation + 1}"
        try:
            descriptor = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:  # another worker took it over first
            return None
        with os.fdopen(descriptor, "w") as stream:
            stream.write(f"{self.worker}\n")
        return claim

    def is_live(self, claim: Path) -> bool:
        try:
            modified = claim.stat().st_mtime
        except FileNotFoundError:
            return False
        return modified >= self.since and time.time() - modified < self.lease_s

    def mark(self, item: int, outcome: str, text: str = "") -> None:
        """Write `<item>.done` or `<item>.failed` atomically."""
        with atomic_path(self.folder / f"{item}.{outcome}") as temporary:
            temporary.write_text(text, encoding="utf-8")


@contextmanager
def renewing(claim: Path) -> Iterator[None]:
    """Touch the claim every HEARTBEAT_S while the item is fetched: the worker is alive."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                os.utime(claim)
            except FileNotFoundError:
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def work_through(
    board: Board,
    items: list,
    fetch: Callable[[int, object], None],
    poll_s: float = 0.5,
) -> list[int]:
    """Fetch every item nobody else holds; return when all are done (the ones fetched here).

    `fetch(index, item)` must write its result atomically; an exception marks the item
    failed, and every worker then stops with that reason.
    """
    board.folder.mkdir(parents=True, exist_ok=True)
    fetched = []
    while True:
        raise_any_failure(board, items)
        pending = [index for index in range(len(items)) if not board.done(index)]
        if not pending:
            return fetched
        took_one = False
        for index in pending:
            claim = board.try_claim(index)
            if claim is None:
                continue
            took_one = True
            try:
                with renewing(claim):
                    fetch(index, items[index])
            except Exception as error:
                board.mark(index, "failed", f"{items[index]}: {error}")
                raise
            board.mark(index, "done")
            fetched.append(index)
        if not took_one:
            time.sleep(poll_s)  # the rest is held by others: wait for them or their lease


def raise_any_failure(board: Board, items: list) -> None:
    for index in range(len(items)):
        reason = board.failure(index)
        if reason is not None:
            raise WorkFailed(f"source {index + 1} of {len(items)} failed: {reason}")
