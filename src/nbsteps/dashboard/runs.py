"""Run control: one run at a time per page, on a thread of its own, with a ticker.

A run goes through run_step or run_steps, exactly as on the command line, in a thread, so
the kernel's main thread keeps handling widget messages and the page stays live. Each Voila
page has a kernel of its own, and so a RunControl of its own: runs from two browsers share
nothing but the folders, where every run has its own run id.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nbsteps.errors import MissingInputError, NbstepsError
from nbsteps.execute import Progress
from nbsteps.records import FAILED

log = logging.getLogger("nbsteps")

# How often the ticker looks at a run: while a step's last cell runs, the page looks for its
# outputs this often, to show them as soon as the notebook has written them.
TICK_S = 0.05
# How long a closing page waits for its run to stop (interrupt, kill after 3 s, record, HTML),
# within the time the server gives a kernel to exit (half of server.KERNEL_EXIT_S).
CLOSE_WAIT_S = 8.0
WARM_WAIT_S = 60.0  # the longest a first click waits for the runner's imports


@dataclass
class ActiveRun:
    """The run a page started, seen by its worker, the ticker and the Cancel button."""

    label: str
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    early: bool = False  # the results were shown before the run was recorded
    shown: float = 0.0  # when the status line last changed (time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


# A run's work: does the run, shows its outcome through `finish`. Raises NbstepsError when
# nothing ran (refused values, a missing input).
Work = Callable[[ActiveRun], None]
# Shows a state and a line in the panel that started the run.
ShowStatus = Callable[[str, str], None]


class RunControl:
    """Starts, ticks, cancels and finishes the page's runs. `display` is the lock every
    thread holds while it changes widgets; `on_busy(True/False)` enables the buttons."""

    def __init__(self, on_busy: Callable[[bool], None], after_run: Callable[[], None],
                 warm: threading.Event | None = None):
        self.on_busy = on_busy
        self.after_run = after_run  # e.g. redraw the history
        self.warm = warm  # set when the runner's imports are done (kernel.warm_up_runner)
        self.display = threading.RLock()
        self._lock = threading.Lock()  # guards active: one run per page at a time
        self.active: ActiveRun | None = None
        self._closed = False

    def start(self, label: str, work: Work, tick: Callable[[ActiveRun], None],
              show_status: ShowStatus) -> ActiveRun | None:
        """Run `work` on a thread and call `tick` every TICK_S until it is done; None (and a
        refusal shown) if a run goes already, which only a forged click gets to."""
        with self._lock:
            if self.active is not None or self._closed:
                busy = self.active.label if self.active else "the page"
                show_status("refused", f"{busy} is already running in this page; wait for it "
                            "or cancel it")
                return None
            active = self.active = ActiveRun(label)
        with self.display:
            self.on_busy(True)
        threading.Thread(target=self.run_work, args=(active, work, show_status),
                         name="nbsteps-run", daemon=True).start()
        threading.Thread(target=self.tick, args=(active, tick), name="nbsteps-tick",
                         daemon=True).start()
        return active

    def run_work(self, active: ActiveRun, work: Work, show_status: ShowStatus) -> None:
        outcome = None
        if self.warm is not None:
            self.warm.wait(WARM_WAIT_S)
        try:
            work(active)
        except NbstepsError as error:  # nothing ran: bad parameters, missing input
            state = "missing" if isinstance(error, MissingInputError) else "refused"
            outcome = (state, str(error))
        except Exception as error:  # a bug must not leave the page stuck in "running"
            log.exception("dashboard: %s stopped", active.label)
            outcome = (FAILED, f"{active.label}: {type(error).__name__}: {error}")
        finally:
            if outcome is not None:
                self.finish(active, lambda: show_status(*outcome))
            self.finish(active, None)
            with self._lock:
                self.active = None
            with self.display:
                self.on_busy(False)
            self.after_run()

    def finish(self, active: ActiveRun, show: Callable[[], None] | None) -> None:
        """Mark the run done and show its outcome, once; the ticker stops touching the page."""
        with self.display:
            if active.done.is_set():
                return
            active.done.set()
            if show is not None:
                show()

    def tick(self, active: ActiveRun, tick: Callable[[ActiveRun], None]) -> None:
        while not active.done.wait(TICK_S):
            try:
                tick(active)
            except Exception:  # a half-written output must not end the ticking
                log.exception("dashboard: showing the progress of %s failed", active.label)

    def cancel(self) -> ActiveRun | None:
        """Ask the current run to stop; the run that was asked, if any."""
        with self._lock:
            active = self.active
        if active is not None:
            active.cancel.set()
        return active

    def is_busy(self) -> bool:
        return self.active is not None

    def close(self) -> None:
        """No more runs; a run still going is cancelled and waited for (its record then says
        cancelled). Once only."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            active = self.active
        if active is not None:
            active.cancel.set()
            active.done.wait(CLOSE_WAIT_S)
