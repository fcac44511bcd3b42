"""What per-cell memory sampling costs: one read of a process's resident set, and the CPU
the sampler thread takes over a long cell (every 50 ms, while the main thread sleeps).

    python -m benchmarks.cell_sampling
"""

import os
import time
from types import SimpleNamespace

from benchmarks.common import Figure
from nbsteps.cellstats import SAMPLE_INTERVAL_S, CellMonitor, read_rss_mb

READS = 20_000
CELL_S = 3.0


def measure_read_us(pid: int) -> float:
    started = time.perf_counter()
    for _ in range(READS):
        read_rss_mb(pid)
    return (time.perf_counter() - started) / READS * 1e6


def measure_sampler_cpu(pid: int) -> float:
    """CPU seconds the process spends while one cell 'runs' for CELL_S and the main thread
    sleeps: all of it is the sampler's."""
    cell = SimpleNamespace(cell_type="code", source="pass")
    before = time.process_time()
    monitor = CellMonitor(pid)
    monitor.on_cell_start(cell, 0)
    time.sleep(CELL_S)
    monitor.on_cell_executed(cell, 0)
    monitor.finish()
    return time.process_time() - before


def measure(*_) -> list[Figure]:
    pid = os.getpid()
    cpu = measure_sampler_cpu(pid)
    return [
        Figure("cell sampling", "one /proc read of the resident set", measure_read_us(pid),
               unit="us"),
        Figure("cell sampling", f"sampler CPU over a {CELL_S:.0f} s cell", cpu / CELL_S * 100,
               unit="% of a core", note=f"one read every {SAMPLE_INTERVAL_S * 1000:.0f} ms"),
    ]


if __name__ == "__main__":
    for figure in measure():
        print(f"{figure.measure}: {figure.value:.3f} {figure.unit} {figure.note}")
