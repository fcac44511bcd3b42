"""The dashboard shown by notebooks/dashboard.ipynb: set the model's parameters, press
**Run model**, watch the run, see the plot, its summary and the history of runs.

Each Voila page has a kernel of its own and so a Dashboard of its own: runs from two
browsers share nothing but the folders, where every run has its own run id. A run goes
through run_step, exactly as on the command line, in a thread, so the kernel's main thread
keeps handling widget messages and the page stays live. Those messages can be forged, so
every action checks its values and the page's state itself, whatever the buttons show.
"""

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets

from nbsteps import dashboard_files as files
from nbsteps import dashboard_views as views
from nbsteps.dashboard_form import ParameterForm
from nbsteps.dashboard_kernel import (
    RUNNER_WARM,
    close_with_kernel,
    report_to_server_log,
    warm_up_runner,
)
from nbsteps.errors import MissingInputError, NbstepsError, ParameterError
from nbsteps.execute import Progress, RunOptions, resolve_parameters, run_step
from nbsteps.guard.connect import DeferredPool, when_page_connects
from nbsteps.kernels import KernelPool, discard_kernel
from nbsteps.parameters import read_parameters
from nbsteps.pipeline import run_steps
from nbsteps.project import Project, load_project
from nbsteps.records import (
    CANCELLED,
    FAILED,
    SKIPPED,
    SUCCEEDED,
    RunRecord,
    read_history,
    read_latest_records,
)

log = logging.getLogger("nbsteps")

STEP = "model"
HISTORY_LIMIT = 15
LOG_LINES = 6
TICK_S = 0.5  # how often the status line's seconds move while a run goes
# How often, while the model's last cell runs, to look for its outputs: the plot is shown
# as soon as the notebook has written it, before the run is recorded and its HTML exported.
FINISH_TICK_S = 0.05
POLL_S = 0.5  # how often the page looks for runs started elsewhere (CLI, compose, a page)
# How long a closing page waits for its run to stop (interrupt, kill after 3 s, record, HTML),
# within the time the server gives a kernel to exit (half of dashboard_server.KERNEL_EXIT_S).
CLOSE_WAIT_S = 8.0
WARM_WAIT_S = 60.0  # the longest a first click waits for the runner's imports


@dataclass
class ActiveRun:
    """The run this page started, seen by its worker, the ticker and the Cancel button."""

    label: str
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    early: bool = False  # the results were shown before the run was recorded
    shown: float = 0.0  # when the status line last changed (time.monotonic)


class Dashboard:
    def __init__(self, project: Project, pool: KernelPool | None = None,
                 warm: threading.Event | None = None):
        self.project = project
        self.pool = pool
        self.warm = warm  # set when the runner's imports are done (dashboard_kernel)
        step = project.step(STEP)
        self.form = ParameterForm(read_parameters(step.notebook), resolve_parameters(step, {}))
        self.run_button = widgets.Button(description="Run model", button_style="primary",
                                         icon="play", _dom_classes=["nbsteps-run"])
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            _dom_classes=["nbsteps-cancel"])
        self.force = widgets.Checkbox(value=False, indent=False,
                                      description="run again even if up to date",
                                      _dom_classes=["nbsteps-force"])
        self.status = widgets.HTML(_dom_classes=["nbsteps-status-line"])
        self.log_lines = widgets.HTML(_dom_classes=["nbsteps-log-lines"])
        self.plot = widgets.Image(format="png", _dom_classes=["nbsteps-plot"],
                                  layout=widgets.Layout(display="none", max_width="100%"))
        self.details = widgets.HTML(_dom_classes=["nbsteps-details"])
        self.history = widgets.HTML(_dom_classes=["nbsteps-history-table"])
        self.missing = widgets.HTML()
        self.prepare_button = widgets.Button(button_style="warning", icon="forward",
                                             _dom_classes=["nbsteps-prepare"])
        self.missing_panel = widgets.VBox(
            [self.missing, self.prepare_button], _dom_classes=["nbsteps-card", "nbsteps-missing"],
            layout=widgets.Layout(display="none"))
        self.widget = self.build_layout()

        self._lock = threading.Lock()  # guards _active: one run per page at a time
        self._display = threading.RLock()  # one thread at a time changes the widgets
        self._active: ActiveRun | None = None
        self._stop = threading.Event()
        self._closed = False
        self._seen: tuple = ()
        self._missing: list[str] = []

        self.run_button.on_click(self.on_run_clicked)
        self.cancel_button.on_click(self.on_cancel_clicked)
        self.prepare_button.on_click(self.on_prepare_clicked)
        self.show_latest()
        self.refresh()
        threading.Thread(target=self.watch_folders, name="nbsteps-watch", daemon=True).start()

    def build_layout(self) -> widgets.Widget:
        buttons = widgets.HBox([self.run_button, self.cancel_button],
                               _dom_classes=["nbsteps-buttons"])
        controls = widgets.VBox(
            [widgets.HTML("<h3>Parameters of the model</h3>"), self.form.widget, buttons,
             self.force, self.status, self.log_lines],
            _dom_classes=["nbsteps-card", "nbsteps-controls"])
        result = widgets.VBox([widgets.HTML("<h3>Result</h3>"), self.plot, self.details],
                              _dom_classes=["nbsteps-card", "nbsteps-result"])
        main = widgets.HBox([controls, result], layout=widgets.Layout(flex_flow="row wrap"))
        history = widgets.VBox([self.history], _dom_classes=["nbsteps-card"])
        return widgets.VBox([widgets.HTML(views.STYLE), self.missing_panel, main, history],
                            _dom_classes=["nbsteps-dashboard"])

    # Actions: called on the kernel's main thread for each widget message.

    def on_run_clicked(self, _button=None) -> None:
        try:
            values = self.form.check_values()
        except ParameterError as error:
            self.show_status("refused", str(error))
            return
        missing = files.find_missing_inputs(self.project, STEP)
        if missing:
            self.refresh()
            self.show_status("missing", f"{', '.join(missing)} is not there yet; run the earlier "
                             "steps first (the button at the top)")
            return
        self.start(f"the {STEP} step", self.run_model, values, self.force.value)

    def on_prepare_clicked(self, _button=None) -> None:
        steps = files.find_upstream_steps(self.project, STEP)
        self.start(" and ".join(steps), self.prepare_data, steps)

    def on_cancel_clicked(self, _button=None) -> None:
        with self._lock:
            active = self._active
        if active is not None:
            active.cancel.set()
            self.show_status("running", f"cancelling {active.label}…")

    def start(self, label: str, work: Callable, *args) -> None:
        with self._lock:
            if self._active is not None:
                # Only a forged click gets here: the buttons are disabled during a run.
                self.show_status("refused", f"{self._active.label} is already running in "
                                 "this page; wait for it or cancel it")
                return
            active = self._active = ActiveRun(label)
        with self._display:
            self.set_busy(True)
            self.plot.layout.display = "none"
            self.plot.value = b""  # so the next plot is sent even if it is the same image
            self.details.value = ""
            self.log_lines.value = ""
            self.show_status("running", f"starting {label}…")
        threading.Thread(target=self.run_work, args=(active, work, args),
                         name="nbsteps-run", daemon=True).start()
        threading.Thread(target=self.tick, args=(active,), name="nbsteps-tick",
                         daemon=True).start()

    # Work: each in a thread of its own.

    def run_work(self, active: ActiveRun, work: Callable, args: tuple) -> None:
        outcome = None
        if self.warm is not None:
            self.warm.wait(WARM_WAIT_S)
        try:
            work(active, *args)
        except NbstepsError as error:  # nothing ran: bad parameters, missing input
            state = "missing" if isinstance(error, MissingInputError) else "refused"
            outcome = (state, str(error))
        except Exception as error:  # a bug must not leave the page stuck in "running"
            log.exception("dashboard: %s stopped", active.label)
            outcome = (FAILED, f"{active.label}: {type(error).__name__}: {error}")
        finally:
            if outcome is not None:
                self.finish(active, lambda: self.show_status(*outcome))
            self.finish(active, None)
            with self._lock:
                self._active = None
            with self._display:
                self.set_busy(False)
            self.refresh()

    def run_model(self, active: ActiveRun, values: dict, force: bool) -> None:
        kernel = self.pool.take() if self.pool is not None else None
        try:
            options = RunOptions(force=force, cancel=active.cancel, kernel=kernel,
                                 on_progress=lambda p: self.on_progress(active, p))
            record = run_step(self.project, STEP, values, options)
        finally:
            # run_step shuts down a kernel it ran a notebook on; not one it had no use for
            # (a skipped run, refused values).
            discard_kernel(kernel)
        self.finish(active, lambda: self.show_record(record))

    def prepare_data(self, active: ActiveRun, steps: list[str]) -> None:
        options = RunOptions(cancel=active.cancel,
                             on_progress=lambda p: self.on_progress(active, p))
        records = run_steps(self.project, steps, {}, options)
        self.finish(active, lambda: self.show_prepared(records))

    def finish(self, active: ActiveRun, show: Callable | None) -> None:
        """Mark the run done and show its outcome, once; the ticker stops touching the page."""
        with self._display:
            if active.done.is_set():
                return
            active.done.set()
            if show is not None:
                show()

    def on_progress(self, active: ActiveRun, progress: Progress) -> None:
        active.progress = progress
        self.show_progress(active, new_cell=True)

    def tick(self, active: ActiveRun) -> None:
        while not active.done.wait(FINISH_TICK_S):
            if self.finishing(active) or time.monotonic() - active.shown >= TICK_S:
                self.show_progress(active)

    def finishing(self, active: ActiveRun) -> bool:
        """The model's last cell runs and its results are not shown yet."""
        progress = active.progress
        return (progress is not None and progress.step == STEP and not active.early
                and progress.cell == progress.cells and not active.cancel.is_set())

    def watch_folders(self) -> None:
        """Refresh the history and the missing-data notice when runs start or end elsewhere."""
        while not self._stop.wait(POLL_S):
            try:
                self.refresh()
                self.show_warm()
            except Exception:  # a half-written folder must not end the watching
                log.exception("dashboard: refreshing the history failed")

    def show_warm(self) -> None:
        """Mark the Run button `nbsteps-warm` while a warm kernel waits: not shown to people
        (a run just waits for the kernel otherwise), but tests time clicks against it."""
        warm = self.pool is not None and self.pool.is_ready()
        with self._display:
            if warm and "nbsteps-warm" not in self.run_button._dom_classes:
                self.run_button.add_class("nbsteps-warm")
            elif not warm and "nbsteps-warm" in self.run_button._dom_classes:
                self.run_button.remove_class("nbsteps-warm")

    # Display.

    def set_busy(self, busy: bool) -> None:
        self.run_button.disabled = busy or bool(self._missing)
        self.prepare_button.disabled = busy
        self.cancel_button.disabled = not busy
        self.force.disabled = busy
        self.form.set_enabled(not busy)

    def show_status(self, state: str, text: str, detail: str = "") -> None:
        with self._display:
            self.status.value = views.render_status(state, text, detail)

    def show_progress(self, active: ActiveRun, new_cell: bool = False) -> None:
        with self._display:
            if active.done.is_set():
                return
            elapsed = time.monotonic() - active.started
            progress = active.progress
            if progress is None:
                self.show_status("running", f"starting {active.label}… {elapsed:.1f} s")
                active.shown = time.monotonic()
                return
            if active.cancel.is_set():
                text = f"cancelling {progress.step} (run {progress.run_id})… {elapsed:.1f} s"
            else:
                text = (f"{progress.step} (run {progress.run_id}): cell {progress.cell} of "
                        f"{progress.cells}, {elapsed:.1f} s")
            if self.finishing(active):
                active.early = self.show_written_results(progress.run_id)
                if not (active.early or new_cell or time.monotonic() - active.shown >= TICK_S):
                    return  # nothing new to show yet
            if active.early:
                text = f"{progress.step} (run {progress.run_id}): recording the run…"
            self.show_status("running", text)
            active.shown = time.monotonic()
            lines = files.read_run_log(self.project, progress.step, progress.run_id, LOG_LINES)
            self.log_lines.value = views.render_log(lines)

    def show_record(self, record: RunRecord) -> None:
        """The outcome of a model run: status line, then plot, summary and links."""
        duration = views.format_duration(record.duration_s)
        if record.status == SUCCEEDED:
            self.show_status(SUCCEEDED, f"in {duration} · run {record.run_id}")
        elif record.status == SKIPPED:
            self.show_status(SKIPPED, f"up to date: the results of {record.reused_run}, "
                             "made with the same parameters and data, are current. Tick "
                             "“run again” to run anyway.")
        elif record.status == CANCELLED:
            self.show_status(CANCELLED, f"after {duration}; run {record.run_id} left no output")
            self.plot.layout.display = "none"  # in case it was shown before the cancel
            self.details.value = ""
        else:
            self.show_failure(record, record.error or "see the log")
            self.plot.layout.display = "none"
            self.details.value = ""
        if record.status in (SUCCEEDED, SKIPPED):
            self.log_lines.value = ""
            self.show_results(record)

    def show_failure(self, record: RunRecord, text: str) -> None:
        """A failed run: the error, a link to its executed notebook, the end of its log."""
        notebook = views.render_links([("failed executed notebook",
                                        files.html_url(self.project, record))])
        self.show_status(FAILED, text, notebook)
        lines = files.read_run_log(self.project, record.step, record.run_id, LOG_LINES)
        self.log_lines.value = views.render_log(lines)

    def show_written_results(self, run_id: str) -> bool:
        """The plot and summary of a run whose notebook has written all its outputs (each
        is renamed into place whole); False while one is missing."""
        paths = self.project.step(STEP).output_paths(self.project.folders.data, run_id)
        if not all(path.is_file() for path in paths):
            return False
        written = {path.name: path for path in paths}
        try:
            self.plot.value = written["plot.png"].read_bytes()
            summary = json.loads(written["summary.json"].read_text(encoding="utf-8"))
        except (OSError, KeyError, ValueError):
            return False
        self.plot.layout.display = ""
        self.details.value = views.render_summary(summary)
        return True

    def show_results(self, record: RunRecord) -> None:
        image = files.read_output_bytes(self.project, record, "plot.png")
        if image:
            self.plot.value = image
            self.plot.layout.display = ""
        summary = files.read_summary(self.project, record)
        links = [("executed notebook (HTML)", files.html_url(self.project, record)),
                 ("coordinates.csv", files.output_url(self.project, record, "coordinates.csv"))]
        self.details.value = (views.render_summary(summary) if summary else "") + (
            views.render_links(links))

    def show_prepared(self, records: list[RunRecord]) -> None:
        last = records[-1]
        done = ", ".join(f"{r.step} {r.status}" for r in records)
        if last.status in (SUCCEEDED, SKIPPED):
            self.show_status(SUCCEEDED, f"{done}: the data is ready; set the parameters and "
                             "press Run model")
            self.log_lines.value = ""
            return
        if last.status == CANCELLED:
            self.show_status(CANCELLED, f"{done}")
            return
        self.show_failure(last, last.error or f"{last.step} failed")

    def show_latest(self) -> None:
        """On opening the page: the last model run's plot, if it left one."""
        record = read_latest_records(self.project.folders.outputs, [STEP])[STEP]
        if record is not None and record.status in (SUCCEEDED, SKIPPED):
            started = views.format_started(record.started)
            self.show_status("ready", f"The latest run: {record.run_id}, {started} UTC. "
                             "Set the parameters and press Run model.")
            self.show_results(record)
        else:
            self.show_status("ready", "Set the parameters and press Run model.")

    def refresh(self) -> None:
        """History and missing-data notice, redrawn when a step's run records change."""
        seen = self.read_signature()
        with self._display:
            if seen == self._seen:
                return
            self._seen = seen
            records = read_history(self.project.folders.outputs, list(self.project.steps),
                                   HISTORY_LIMIT)
            links = {r.run_id: files.html_url(self.project, r) for r in records}
            self.history.value = views.render_history(records, links)
            self.show_missing(list(seen[1]))  # the missing inputs, just looked up

    def read_signature(self) -> tuple:
        """Changes whenever a record is written (atomic renames update the folder's mtime)
        or an input of the model appears or goes."""
        stamps = []
        for step in self.project.steps:
            try:
                stamps.append((self.project.folders.outputs / step).stat().st_mtime_ns)
            except OSError:
                stamps.append(None)
        return tuple(stamps), tuple(files.find_missing_inputs(self.project, STEP))

    def show_missing(self, missing: list[str]) -> None:
        self._missing = missing
        self.run_button.disabled = bool(missing) or self._active is not None
        if not missing:
            self.missing_panel.layout.display = "none"
            return
        steps = files.find_upstream_steps(self.project, STEP)
        paths = ", ".join(f"data/{path}" for path in missing)
        self.missing.value = (
            f"<h3>The processed data the model needs does not exist yet</h3><p>{paths} is "
            f"missing. The earlier steps make it: {' then '.join(steps)}, each with its "
            "parameters from params/. Run them first, here or with "
            f"<code>nbsteps run {' '.join(steps)}</code>.</p>")
        self.prepare_button.description = f"Run {' and '.join(steps)}"
        self.missing_panel.layout.display = ""

    def close(self) -> None:
        """When the page goes (its kernel shuts down): no new warm kernel, the spare one
        shut down, and a run still going cancelled, so its record says so. Once only."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            active = self._active
        self._stop.set()
        if self.pool is not None:
            self.pool.close()  # first: the run's end must not start a replacement
        if active is not None:
            active.cancel.set()
            active.done.wait(CLOSE_WAIT_S)


def build_dashboard() -> widgets.Widget:
    """The dashboard widget for this kernel's project (NBSTEPS_PROJECT and NBSTEPS_*_DIR)."""
    try:
        project = load_project()
    except NbstepsError as error:
        return widgets.HTML(views.render_status(FAILED, f"cannot open the project: {error}"))
    report_to_server_log()
    # NBSTEPS_WARM_KERNEL=0 starts a fresh kernel per run: the plain way, which the
    # benchmark measures the warm kernel against.
    warm_kernel = os.environ.get("NBSTEPS_WARM_KERNEL", "1") != "0"
    notebook = project.step(STEP).notebook
    pool = DeferredPool(lambda: KernelPool(notebook)) if warm_kernel else None
    dashboard = Dashboard(project, pool, warm=RUNNER_WARM)
    close_with_kernel(dashboard.close)
    when_page_connects(lambda: start_warm_parts(pool))
    return dashboard.widget


def start_warm_parts(pool: DeferredPool | None) -> None:
    """What only a page with its browser there is worth (nbsteps.guard.connect)."""
    if pool is not None:
        pool.start()
    threading.Thread(target=warm_up_runner, name="nbsteps-warm-runner", daemon=True).start()
