"""CellMonitor on a real process: this test's own, whose memory it grows between hooks."""

import os
import time
from types import SimpleNamespace

from nbsteps.cellstats import CellMonitor, read_peak_rss_mb, read_rss_mb, slowest_cells


def code(source="x = 1"):
    return SimpleNamespace(cell_type="code", source=source)


def test_each_code_cell_gets_its_time_and_the_peak_of_its_own_window():
    monitor = CellMonitor(os.getpid())
    monitor.on_cell_start(SimpleNamespace(cell_type="markdown", source="# title"), 0)
    monitor.on_cell_start(code(), 1)
    time.sleep(0.2)
    monitor.on_cell_executed(code(), 1)
    monitor.on_cell_start(code(), 2)
    block = bytearray(120 * 2**20)
    block[::4096] = b"\x01" * len(block[::4096])  # touch every page: resident now
    time.sleep(0.2)
    del block
    monitor.on_cell_executed(code(), 2)
    monitor.on_cell_start(code(), 3)  # cut short: the kernel died here
    monitor.finish()
    assert [cell["index"] for cell in monitor.cells] == [1, 2, 3]
    first, second, _ = monitor.cells
    assert first["seconds"] >= 0.2 and second["seconds"] >= 0.2
    assert second["peak_rss_mb"] > first["peak_rss_mb"] + 100
    assert monitor.peak_rss_mb() >= second["peak_rss_mb"]
    assert slowest_cells(monitor.cells, 1)[0]["index"] in (1, 2)


def test_without_a_process_times_are_kept_and_memory_is_none():
    monitor = CellMonitor(None)
    monitor.on_cell_start(code(), 0)
    monitor.on_cell_executed(code(), 0)
    monitor.finish()
    assert monitor.cells[0]["peak_rss_mb"] is None and monitor.peak_rss_mb() is None
    assert read_rss_mb(2**22 + 7) is None and read_peak_rss_mb(2**22 + 7) is None
