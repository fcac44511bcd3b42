"""The sweep's line on the terminal: points done, failed, skipped, running, time left.

On a terminal the bar is redrawn in place every second and a point that does not succeed
gets a line of its own above it; elsewhere (a log file, CI) each finished point is a line.
"""

import sys
import threading
import time

from nbsteps.records import CANCELLED, SKIPPED, SUCCEEDED
from nbsteps.sweep.record import PointOutcome

BAR_WIDTH = 24


def format_duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class SweepProgress:
    def __init__(self, total: int, label: str, stream=None) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.counts = {"done": 0, "failed": 0, "skipped": 0, "running": 0}
        self.ran = 0  # points that executed (not skipped): the pace of the estimate
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        if self.live:
            threading.Thread(target=self._tick, daemon=True, name="nbsteps-progress").start()

    def point_started(self) -> None:
        with self.lock:
            self.counts["running"] += 1
            self._draw()

    def point_finished(self, index: int, description: str, outcome: PointOutcome,
                       was_running: bool = True) -> None:
        with self.lock:
            if was_running:
                self.counts["running"] -= 1
            kind = {SUCCEEDED: "done", SKIPPED: "skipped"}.get(outcome.status, "failed")
            self.counts[kind] += 1
            self.ran += outcome.status != SKIPPED
            if not self.live or outcome.status not in (SUCCEEDED, SKIPPED, CANCELLED):
                self._say(self._describe(index, description, outcome))
            self._draw()

    def close(self) -> None:
        self.stopped.set()
        with self.lock:
            self._draw()
            if self.live:
                self.stream.write("\n")
                self.stream.flush()

    def _describe(self, index: int, description: str, outcome: PointOutcome) -> str:
        where = f" on {outcome.worker}" if outcome.worker else ""
        text = f"point {index}/{self.total} ({description}): {outcome.status}{where}"
        if outcome.error:
            text += f": {outcome.error}"
        if outcome.status not in (SUCCEEDED, SKIPPED) and outcome.html:
            text += f" (executed notebook: {outcome.html})"
        elif outcome.run_id:
            text += f" [{outcome.reused_run or outcome.run_id}]"
        return text

    def _say(self, line: str) -> None:
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}{line}\n")
        self.stream.flush()

    def _tick(self) -> None:
        while not self.stopped.wait(1.0):
            with self.lock:
                self._draw()

    def status_line(self) -> str:
        counts, total = self.counts, self.total
        finished = counts["done"] + counts["failed"] + counts["skipped"]
        filled = BAR_WIDTH * finished // max(total, 1)
        elapsed = time.monotonic() - self.started
        remaining = total - finished
        if remaining and self.ran:
            estimate = f"~{format_duration(elapsed / self.ran * remaining)} left"
        else:
            estimate = "estimating" if remaining else "finished"
        return (f"{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {finished}/{total}"
                f"  done {counts['done']}, failed {counts['failed']}, skipped "
                f"{counts['skipped']}, running {counts['running']}"
                f"  {format_duration(elapsed)} elapsed, {estimate}")

    def _draw(self) -> None:
        if self.live:
            self.stream.write(f"\r\033[K{self.status_line()}")
            self.stream.flush()
