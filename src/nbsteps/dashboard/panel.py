"""One step on the page: its form, Run and Cancel, what its runs show, and a way to make its
missing inputs. The widget messages that reach it can be forged, so every action checks its
values and the page's state itself, whatever the buttons show.
"""

from html import escape

import ipywidgets as widgets

from nbsteps.dashboard import files, views
from nbsteps.dashboard.config import StepView
from nbsteps.dashboard.form import ParameterForm
from nbsteps.dashboard.progress import ProgressView
from nbsteps.dashboard.results import ResultView, StatusView
from nbsteps.dashboard.runs import ActiveRun, RunControl
from nbsteps.errors import ParameterError
from nbsteps.execute import RunOptions, resolve_parameters, run_step
from nbsteps.guard.connect import DeferredPool
from nbsteps.kernels import KernelPool, discard_kernel
from nbsteps.notebook import read_notebook
from nbsteps.pipeline import run_steps
from nbsteps.project import Project
from nbsteps.records import CANCELLED, SKIPPED, SUCCEEDED, RunRecord


class StepPanel:
    def __init__(self, project: Project, view: StepView, control: RunControl,
                 pool: KernelPool | DeferredPool | None = None):
        self.project = project
        self.view = view
        self.step = view.step
        self.control = control
        self.pool = pool
        step = project.step(self.step)
        notebook = read_notebook(step.notebook)
        self.form = ParameterForm(notebook.parameters, resolve_parameters(step, {}, notebook))
        self.run_button = widgets.Button(description=view.button, button_style="primary",
                                         icon="play", _dom_classes=["nbsteps-run"])
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            _dom_classes=["nbsteps-cancel"])
        self.force = widgets.Checkbox(value=False, indent=False,
                                      description="run again even if up to date",
                                      _dom_classes=["nbsteps-force"])
        self.status = StatusView(project)
        self.result = ResultView(project, view)
        self.progress = ProgressView(self.step, self.status, self.result, control)
        self.missing = widgets.HTML()
        self.prepare_button = widgets.Button(button_style="warning", icon="forward",
                                             _dom_classes=["nbsteps-prepare"])
        self.missing_panel = widgets.VBox(
            [self.missing, self.prepare_button], _dom_classes=["nbsteps-card", "nbsteps-missing"],
            layout=widgets.Layout(display="none"))
        self._missing: list[str] = []
        self.widget = self.build_layout()
        self.run_button.on_click(self.on_run_clicked)
        self.cancel_button.on_click(self.on_cancel_clicked)
        self.prepare_button.on_click(self.on_prepare_clicked)

    def build_layout(self) -> widgets.Widget:
        buttons = widgets.HBox([self.run_button, self.cancel_button],
                               _dom_classes=["nbsteps-buttons"])
        controls = widgets.VBox(
            [widgets.HTML(f"<h3>{escape(self.view.heading)}</h3>"), self.form.widget,
             buttons, self.force, self.status.status, self.status.log_lines],
            _dom_classes=["nbsteps-card", "nbsteps-controls"])
        result = widgets.VBox([widgets.HTML("<h3>Result</h3>"), self.result.widget],
                              _dom_classes=["nbsteps-card", "nbsteps-result"])
        main = widgets.HBox([controls, result], layout=widgets.Layout(flex_flow="row wrap"))
        return widgets.VBox([self.missing_panel, main],
                            _dom_classes=["nbsteps-step", f"nbsteps-step-{self.step}"])

    # Actions: called on the kernel's main thread for each widget message.

    def on_run_clicked(self, _button=None) -> None:
        try:
            values = self.form.check_values()
        except ParameterError as error:
            self.show_status("refused", str(error))
            return
        missing = files.find_missing_inputs(self.project, self.step)
        if missing:
            self.show_missing(missing)
            self.show_status("missing", f"{', '.join(missing)} is not there yet; run the earlier "
                             "steps first (the button at the top)")
            return
        force = self.force.value
        self.start(f"the {self.step} step", lambda active: self.run_step(active, values, force))

    def on_prepare_clicked(self, _button=None) -> None:
        steps = files.find_upstream_steps(self.project, self.step)
        self.start(" and ".join(steps), lambda active: self.prepare_data(active, steps))

    def on_cancel_clicked(self, _button=None) -> None:
        active = self.control.cancel()
        if active is not None:
            self.show_status("running", f"cancelling {active.label}…")

    def start(self, label: str, work) -> None:
        with self.control.display:
            if self.control.start(label, work, self.progress.tick, self.show_status) is None:
                return
            self.result.clear()
            self.status.clear_log()
            self.show_status("running", f"starting {label}…")

    # Work: on the run's own thread.

    def run_step(self, active: ActiveRun, values: dict, force: bool) -> None:
        kernel = self.pool.take() if self.pool is not None else None
        try:
            options = RunOptions(force=force, cancel=active.cancel, kernel=kernel,
                                 on_progress=lambda p: self.progress.on_progress(active, p))
            record = run_step(self.project, self.step, values, options)
        finally:
            # run_step shuts down a kernel it ran a notebook on; not one it had no use for
            # (a skipped run, refused values).
            discard_kernel(kernel)
        self.control.finish(active, lambda: self.show_record(record))

    def prepare_data(self, active: ActiveRun, steps: list[str]) -> None:
        options = RunOptions(cancel=active.cancel,
                             on_progress=lambda p: self.progress.on_progress(active, p))
        records = run_steps(self.project, steps, {}, options)
        self.control.finish(active, lambda: self.show_prepared(records))

    # Display.

    def set_busy(self, busy: bool) -> None:
        self.run_button.disabled = busy or bool(self._missing)
        self.prepare_button.disabled = busy
        self.cancel_button.disabled = not busy
        self.force.disabled = busy
        self.form.set_enabled(not busy)

    def show_status(self, state: str, text: str, detail: str = "") -> None:
        with self.control.display:
            self.status.show(state, text, detail)

    def show_record(self, record: RunRecord) -> None:
        """The outcome of a run of this step: status line, then what it made."""
        duration = views.format_duration(record.duration_s)
        if record.status == SUCCEEDED:
            self.show_status(SUCCEEDED, f"in {duration} · run {record.run_id}")
        elif record.status == SKIPPED:
            self.show_status(SKIPPED, f"up to date: the results of {record.reused_run}, "
                             "made with the same parameters and data, are current. Tick "
                             "“run again” to run anyway.")
        elif record.status == CANCELLED:
            self.show_status(CANCELLED, f"after {duration}; run {record.run_id} left no output")
            self.result.clear()  # in case they were shown before the cancel
        else:
            self.status.show_failure(record, record.error or "see the log")
            self.result.clear()
        if record.status in (SUCCEEDED, SKIPPED):
            self.status.clear_log()
            self.result.show_record(record)

    def show_prepared(self, records: list[RunRecord]) -> None:
        last = records[-1]
        done = ", ".join(f"{r.step} {r.status}" for r in records)
        if last.status in (SUCCEEDED, SKIPPED):
            self.show_status(SUCCEEDED, f"{done}: the data is ready; set the parameters and "
                             f"press {self.view.button}")
            self.status.clear_log()
        elif last.status == CANCELLED:
            self.show_status(CANCELLED, f"{done}")
        else:
            self.status.show_failure(last, last.error or f"{last.step} failed")

    def show_latest(self, record: RunRecord | None) -> None:
        """On opening the page: what the step's last run left, if anything."""
        if record is not None and record.status in (SUCCEEDED, SKIPPED):
            started = views.format_started(record.started)
            self.show_status("ready", f"The latest run: {record.run_id}, {started} UTC. "
                             f"Set the parameters and press {self.view.button}.")
            self.result.show_record(record)
        else:
            self.show_status("ready", f"Set the parameters and press {self.view.button}.")

    def show_missing(self, missing: list[str]) -> None:
        """The notice of inputs that are not there yet, with a button to make them."""
        with self.control.display:
            self._missing = missing
            self.run_button.disabled = bool(missing) or self.control.is_busy()
            if not missing:
                self.missing_panel.layout.display = "none"
                return
            steps = files.find_upstream_steps(self.project, self.step)
            paths = ", ".join(f"data/{path}" for path in missing)
            self.missing.value = views.render_missing(self.step, paths, steps)
            self.prepare_button.description = f"Run {' and '.join(steps)}"
            self.prepare_button.layout.display = "" if steps else "none"
            self.missing_panel.layout.display = ""
