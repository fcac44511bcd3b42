"""The sweep record: which run each point became, and how it went.

One JSON file per sweep, `outputs/<step>/sweeps/<sweep_id>.json` (and `latest.json`),
rewritten atomically as points finish, so an interrupted sweep still says where it stopped.
The runs themselves are ordinary runs, with their own records beside the step's others.
"""

import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nbsteps.errors import EXIT_CANCELLED, EXIT_FAILED, EXIT_KERNEL_DIED, MissingInputError
from nbsteps.records import CANCELLED, FAILED, SKIPPED, SUCCEEDED, link_latest, write_text_atomic

PENDING, RUNNING = "pending", "running"
# How bad an exit code is, for the sweep's own: a cancel outranks a dead kernel, which
# outranks a failure; any other non-zero code sits with the failures.
SEVERITY = {0: 0, EXIT_FAILED: 1, MissingInputError.exit_code: 2, EXIT_KERNEL_DIED: 3,
            EXIT_CANCELLED: 4}


@dataclass
class PointOutcome:
    """What became of one point: its run's status, or why no run was made."""

    status: str
    exit_code: int | None = None
    run_id: str | None = None
    error: str | None = None
    reused_run: str | None = None
    duration_s: float | None = None
    html: str | None = None
    worker: str | None = None  # where it ran, on a cluster

    @classmethod
    def from_record(cls, record, worker: str | None = None) -> "PointOutcome":
        return cls(status=record.status, exit_code=record.exit_code, run_id=record.run_id,
                   error=record.error, reused_run=record.reused_run,
                   duration_s=record.duration_s, html=record.html, worker=worker)

    @classmethod
    def not_started(cls) -> "PointOutcome":
        return cls(CANCELLED, EXIT_CANCELLED, error="not started: the sweep was cancelled")


@dataclass
class SweepPoint:
    index: int
    given: dict[str, Any]
    parameters: dict[str, Any]
    status: str = PENDING
    run_id: str | None = None
    exit_code: int | None = None
    error: str | None = None
    reused_run: str | None = None
    duration_s: float | None = None
    worker: str | None = None


@dataclass
class SweepRecord:
    sweep_id: str
    step: str
    engine: str
    started: str
    points: list[SweepPoint]
    status: str = RUNNING
    ended: str | None = None
    exit_code: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def worst_exit_code(codes: list[int | None]) -> int:
    return max((code or 0 for code in codes), key=lambda code: SEVERITY.get(code, 1), default=0)


def sweep_folder(outputs_dir: Path, step: str) -> Path:
    return outputs_dir / step / "sweeps"


class SweepLog:
    """The sweep record kept on disk as points start and finish (thread-safe)."""

    def __init__(self, outputs_dir: Path, record: SweepRecord) -> None:
        self.record = record
        self.path = sweep_folder(outputs_dir, record.step) / f"{record.sweep_id}.json"
        self.lock = threading.Lock()
        self.save()

    def point(self, index: int) -> SweepPoint:
        return self.record.points[index - 1]

    def mark_running(self, index: int) -> None:
        with self.lock:
            self.point(index).status = RUNNING
            self.save()

    def mark_done(self, index: int, outcome: PointOutcome) -> None:
        with self.lock:
            point = self.point(index)
            point.status, point.exit_code, point.error = (outcome.status, outcome.exit_code,
                                                          outcome.error)
            point.run_id, point.reused_run = outcome.run_id, outcome.reused_run
            point.duration_s, point.worker = outcome.duration_s, outcome.worker
            self.save()

    def finish(self) -> int:
        """Close the record; the sweep's exit code (the worst of its points')."""
        with self.lock:
            for point in self.record.points:
                if point.status in (PENDING, RUNNING):  # a point the engine never answered for
                    point.status, point.exit_code = FAILED, EXIT_FAILED
                    point.error = point.error or "no outcome came back for this point"
            code = worst_exit_code([point.exit_code for point in self.record.points])
            self.record.exit_code = code
            self.record.status = (SUCCEEDED if code == 0 else
                                  CANCELLED if code == EXIT_CANCELLED else FAILED)
            self.record.ended = now()
            self.save()
            link_latest(self.path, self.path.parent / "latest.json")
            return code

    def save(self) -> None:
        statuses = [point.status for point in self.record.points]
        self.record.counts = {status: statuses.count(status) for status in
                              (SUCCEEDED, FAILED, SKIPPED, CANCELLED, RUNNING, PENDING)
                              if status in statuses}
        write_text_atomic(self.path, self.record.to_json())
