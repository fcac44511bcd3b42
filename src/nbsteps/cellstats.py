"""Per-cell wall time and the kernel's peak resident memory while each code cell ran.

A thread samples the kernel's resident set every SAMPLE_INTERVAL_S from /proc (one small
read, no dependency); each cell keeps the highest sample seen between its start and its
end. At the end, the kernel's own high-water mark (VmHWM) gives the run's overall peak,
which no sample can miss. Where /proc is absent (macOS), times are kept, memory is None.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

SAMPLE_INTERVAL_S = 0.05
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def read_rss_mb(pid: int) -> float | None:
    """The process's resident set now, in MiB (/proc/<pid>/statm: size, resident, ...)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE_MB
    except (OSError, ValueError, IndexError):
        return None


def read_peak_rss_mb(pid: int) -> float | None:
    """The process's high-water mark of resident memory since it started, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class CellMonitor:
    """nbclient hooks that time each code cell and track the kernel's memory meanwhile.

    Hooks run on the thread executing the notebook; the sampler on a thread of its own.
    """

    def __init__(self, pid: int | None):
        self.pid = pid
        self.cells: list[dict[str, Any]] = []
        self.peak_mb: float | None = None
        self._lock = threading.Lock()
        self._current: dict[str, Any] | None = None
        self._started = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample_loop, daemon=True)
        if pid is not None:
            self._sampler.start()

    def on_cell_start(self, cell, cell_index: int) -> None:
        if cell.cell_type != "code" or not cell.source.strip():
            return
        self._close_cell()  # a cell nbclient never reported done (should not happen)
        with self._lock:
            self._current = {"index": cell_index, "seconds": None, "peak_rss_mb": None}
            self._started = time.monotonic()
        self._sample()

    def on_cell_executed(self, cell, cell_index: int, **_) -> None:
        self._close_cell()

    def finish(self) -> None:
        """Close a cell cut short (failed kernel, cancel), stop sampling, read the peak.

        Call it before the kernel is shut down: the high-water mark dies with the process.
        """
        self._close_cell()
        self._stop.set()
        if self.pid is not None:
            self._sampler.join(timeout=1)
            self._raise_peak(read_peak_rss_mb(self.pid))

    def _close_cell(self) -> None:
        self._sample()
        with self._lock:
            cell, self._current = self._current, None
            if cell is None:
                return
            cell["seconds"] = round(time.monotonic() - self._started, 3)
            if cell["peak_rss_mb"] is not None:
                cell["peak_rss_mb"] = round(cell["peak_rss_mb"], 1)
            self.cells.append(cell)

    def _sample_loop(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sample()

    def _sample(self) -> None:
        rss = read_rss_mb(self.pid) if self.pid is not None else None
        if rss is None:
            return
        with self._lock:
            if self._current is not None:
                peak = self._current["peak_rss_mb"]
                self._current["peak_rss_mb"] = rss if peak is None else max(peak, rss)
        self._raise_peak(rss)

    def _raise_peak(self, rss: float | None) -> None:
        if rss is not None:
            with self._lock:
                self.peak_mb = rss if self.peak_mb is None else max(self.peak_mb, rss)

    def peak_rss_mb(self) -> float | None:
        return round(self.peak_mb, 1) if self.peak_mb is not None else None


def slowest_cells(cells: list[dict[str, Any]], count: int = 5) -> list[dict[str, Any]]:
    return sorted(cells, key=lambda cell: cell.get("seconds") or 0, reverse=True)[:count]
