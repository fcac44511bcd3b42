"""Workers in separate processes share a list through files: no item twice, none missed,
and a worker that dies mid-item has its item taken over when its lease runs out."""

import multiprocessing
import os
import time

import pytest

from tests.notebook_modules import worklist

ITEMS = [f"source-{index}" for index in range(12)]


def fetch_into(folder, worker, die_on=None, seconds=0.05):
    def fetch(index, item):
        with open(folder / "events.log", "a") as log:  # O_APPEND: one line per write
            log.write(f"{worker} {index}\n")
        if index == die_on:
            os._exit(9)  # killed mid-download: no cleanup, no marker
        time.sleep(seconds)
        (folder / f"{index}.out").write_text(item)

    return fetch


def work(folder, worker, die_on=None, lease_s=1.0):
    board = worklist.Board(folder / "board", worker, lease_s=lease_s)
    worklist.work_through(board, ITEMS, fetch_into(folder, worker, die_on), poll_s=0.05)


def start_workers(folder, count, die_on=None):
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=work, args=(folder, f"w{n}", die_on if n == 0 else None))
        for n in range(count)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
    return workers


def events(folder):
    return [line.split() for line in (folder / "events.log").read_text().splitlines()]


@pytest.mark.parametrize("count", [1, 2, 4])
def test_every_item_is_fetched_exactly_once(tmp_path, count):
    workers = start_workers(tmp_path, count)
    assert [p.exitcode for p in workers] == [0] * count
    fetched = sorted(int(index) for _, index in events(tmp_path))
    assert fetched == list(range(len(ITEMS)))
    assert all((tmp_path / f"{i}.out").read_text() == item for i, item in enumerate(ITEMS))
    if count > 1:
        assert len({worker for worker, _ in events(tmp_path)}) > 1, "the work was not shared"


def test_a_dead_workers_item_is_taken_over_and_nothing_is_missed(tmp_path):
    workers = start_workers(tmp_path, 3, die_on=0)
    assert workers[0].exitcode == 9 and [p.exitcode for p in workers[1:]] == [0, 0]
    fetched = [int(index) for _, index in events(tmp_path)]
    assert sorted(set(fetched)) == list(range(len(ITEMS)))
    assert fetched.count(0) == 2 and len(fetched) == len(ITEMS) + 1  # only the lost one again
    assert all((tmp_path / f"{i}.out").exists() for i in range(len(ITEMS)))


def test_a_failed_item_stops_every_worker_with_its_reason(tmp_path):
    def fetch(index, item):
        if index == 3:
            raise OSError("HTTP 404")

    board = worklist.Board(tmp_path / "board", "w0")
    with pytest.raises(OSError):
        worklist.work_through(board, ITEMS, fetch)
    other = worklist.Board(tmp_path / "board", "w1")
    with pytest.raises(worklist.WorkFailed, match="source 4 of 12 failed: source-3: HTTP 404"):
        worklist.work_through(other, ITEMS, lambda index, item: None)


def test_finished_work_is_reused_unless_the_board_is_read_from_a_later_time(tmp_path):
    board = worklist.Board(tmp_path / "board", "w0")
    assert worklist.work_through(board, ITEMS, lambda i, item: None) == list(range(12))
    assert worklist.work_through(board, ITEMS, lambda i, item: None) == []
    time.sleep(0.1)
    forced = worklist.Board(tmp_path / "board", "w0", since=time.time())
    # File times come from a coarse kernel clock (a few ms behind time.time()): a mark made
    # at once could look older than `since`. fetch_shared's `since` has a 5 s margin.
    time.sleep(0.05)
    assert worklist.work_through(forced, ITEMS, lambda i, item: None) == list(range(12))
