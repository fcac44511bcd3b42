"""Drive one sweep: check every point, keep the sweep record, show progress, hand the
points to an engine, and turn their outcomes into one exit code."""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsteps.engines import SweepJob
from nbsteps.execute import new_run_id
from nbsteps.inputs import resolve_inputs
from nbsteps.project import Project
from nbsteps.records import SKIPPED, SUCCEEDED
from nbsteps.sweep.points import Point, check_points, gather_points
from nbsteps.sweep.progress import SweepProgress, format_duration
from nbsteps.sweep.record import (
    RUNNING,
    PointOutcome,
    SweepLog,
    SweepPoint,
    SweepRecord,
    now,
)

log = logging.getLogger("nbsteps")


@dataclass(frozen=True)
class SweepOptions:
    step: str
    grid: list[str] = field(default_factory=list)  # --grid NAME=V1,V2 ...
    points_file: Path | None = None
    common: dict[str, Any] = field(default_factory=dict)  # -p NAME=VALUE for every point
    force: bool = False


def plan_sweep(project: Project, options: SweepOptions) -> list[Point]:
    """The checked points; raises (exit 2 or 3) before anything runs."""
    step = project.step(options.step)
    given, where = gather_points(step, options.grid, options.points_file)
    points = check_points(step, given, options.common, where)
    resolve_inputs(project, step)  # a missing input stops the sweep before it starts
    return points


class SweepReporter:
    """Points' starts and outcomes into the sweep record and onto the terminal."""

    def __init__(self, sweep: SweepLog, progress: SweepProgress, points: list[Point]):
        self.sweep, self.progress = sweep, progress
        self.points = {point.index: point for point in points}

    def started(self, index: int) -> None:
        self.sweep.mark_running(index)
        self.progress.point_started()

    def finished(self, index: int, outcome: PointOutcome) -> None:
        was_running = self.sweep.point(index).status == RUNNING
        self.sweep.mark_done(index, outcome)
        self.progress.point_finished(index, self.points[index].describe(), outcome, was_running)


def run_sweep(project: Project, options: SweepOptions, make_engine, cancel: threading.Event
              ) -> int:
    """Check every point, then run them on `make_engine()` (made only once all are good)."""
    points = plan_sweep(project, options)
    engine = make_engine()
    sweep_id = new_run_id("sweep")
    record = SweepRecord(
        sweep_id=sweep_id, step=options.step, engine=engine.name, started=now(),
        points=[SweepPoint(p.index, p.given, p.values) for p in points],
    )
    sweep = SweepLog(project.folders.outputs, record)
    progress = SweepProgress(len(points), f"{options.step} sweep")
    log.info("%s: %d points (%s), sweep record %s", options.step, len(points), engine.name,
             sweep.path)
    try:
        engine.run(SweepJob(sweep_id, options.step, points, options.force),
                   SweepReporter(sweep, progress, points), cancel)
    finally:
        progress.close()
        code = sweep.finish()
    counts = record.counts
    log.info("sweep %s %s in %s: %d succeeded, %d skipped, %d failed, %d cancelled; %s",
             sweep_id, record.status, format_duration(progress_elapsed(progress)),
             counts.get(SUCCEEDED, 0), counts.get(SKIPPED, 0), counts.get("failed", 0),
             counts.get("cancelled", 0), sweep.path)
    return code


def progress_elapsed(progress: SweepProgress) -> float:
    return time.monotonic() - progress.started
