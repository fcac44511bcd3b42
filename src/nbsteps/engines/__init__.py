"""Where the runs of a sweep (or a pipeline) execute: this machine, or a Dask cluster.

An engine takes a `SweepJob` and reports each point's start and outcome to a `Reporter`;
every point is an ordinary run of `run_step`, wherever it runs.
"""

from dataclasses import dataclass
from typing import Protocol

from nbsteps.sweep.points import Point
from nbsteps.sweep.record import PointOutcome


@dataclass(frozen=True)
class SweepJob:
    sweep_id: str
    step: str
    points: list[Point]
    force: bool = False


class Reporter(Protocol):
    def started(self, index: int) -> None: ...

    def finished(self, index: int, outcome: PointOutcome) -> None: ...
