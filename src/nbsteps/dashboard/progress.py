"""A run's progress in the panel that started it: the cell it is at and the seconds, the end
of its log, and its results as soon as the last cell has written them (before the run is
recorded and its HTML copy exported)."""

import time

from nbsteps.dashboard.results import ResultView, StatusView
from nbsteps.dashboard.runs import ActiveRun, RunControl
from nbsteps.execute import Progress

STATUS_TICK_S = 0.5  # how often the status line's seconds move while a run goes


class ProgressView:
    def __init__(self, step: str, status: StatusView, result: ResultView, control: RunControl):
        self.step = step
        self.status = status
        self.result = result
        self.control = control

    def on_progress(self, active: ActiveRun, progress: Progress) -> None:
        """The runner's callback: a new cell started."""
        active.progress = progress
        self.show(active, new_cell=True)

    def tick(self, active: ActiveRun) -> None:
        """Called about 20 times a second while a run goes: moves the seconds, and shows the
        results as soon as the last cell has written them."""
        if self.finishing(active) or time.monotonic() - active.shown >= STATUS_TICK_S:
            self.show(active)

    def finishing(self, active: ActiveRun) -> bool:
        """This step's last cell runs and its results are not shown yet."""
        progress = active.progress
        return (progress is not None and progress.step == self.step and not active.early
                and progress.cell == progress.cells and not active.cancel.is_set())

    def show(self, active: ActiveRun, new_cell: bool = False) -> None:
        with self.control.display:
            if active.done.is_set():
                return  # the outcome is shown: the ticker must not overwrite it
            progress = active.progress
            if progress is None:
                self.status.show("running", f"starting {active.label}… {active.elapsed():.1f} s")
                active.shown = time.monotonic()
                return
            if self.finishing(active):
                active.early = self.result.show_written(progress.run_id)
                if not (active.early or new_cell
                        or time.monotonic() - active.shown >= STATUS_TICK_S):
                    return  # nothing new to show yet
            self.status.show("running", describe_progress(active, progress))
            active.shown = time.monotonic()
            self.status.show_log(progress.step, progress.run_id)


def describe_progress(active: ActiveRun, progress: Progress) -> str:
    where = f"{progress.step} (run {progress.run_id})"
    if active.early:
        return f"{where}: recording the run…"
    if active.cancel.is_set():
        return f"cancelling {where}… {active.elapsed():.1f} s"
    return f"{where}: cell {progress.cell} of {progress.cells}, {active.elapsed():.1f} s"
