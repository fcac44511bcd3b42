"""The history of runs on the page: filtered by step and status, with the steps' metrics as
columns, and two runs of one step compared side by side (images, parameters and metrics
that differ, and a link to the notebooks' difference, as `nbsteps diff --html` writes it).
"""

import logging
import threading

import ipywidgets as widgets

from nbsteps.dashboard import files, views
from nbsteps.dashboard.config import IMAGE_SUFFIXES
from nbsteps.dashboard.server import file_url
from nbsteps.errors import NbstepsError
from nbsteps.history import STATUSES
from nbsteps.project import Project
from nbsteps.records import RunRecord, read_history

log = logging.getLogger("nbsteps")

HISTORY_LIMIT = 15
ALL = "all"


class HistoryView:
    def __init__(self, project: Project, display: threading.RLock):
        self.project = project
        self.display = display  # the page's widget lock
        common = {"style": {"description_width": "initial"},
                  "layout": widgets.Layout(width="auto")}
        self.step = widgets.Dropdown(options=[ALL, *project.steps], value=ALL,
                                     description="step", _dom_classes=["nbsteps-filter-step"],
                                     **common)
        self.status = widgets.Dropdown(options=[ALL, *STATUSES], value=ALL,
                                       description="status",
                                       _dom_classes=["nbsteps-filter-status"], **common)
        self.table = widgets.HTML(_dom_classes=["nbsteps-history-table"])
        self.run_a = widgets.Dropdown(description="compare", options=[],
                                      _dom_classes=["nbsteps-compare-a"], **common)
        self.run_b = widgets.Dropdown(description="with", options=[],
                                      _dom_classes=["nbsteps-compare-b"], **common)
        self.compare_button = widgets.Button(description="Compare", icon="columns",
                                             _dom_classes=["nbsteps-compare"])
        self.comparison = widgets.HTML(_dom_classes=["nbsteps-comparison"])
        self.compare_row = widgets.HBox([self.run_a, self.run_b, self.compare_button],
                                        layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox(
            [widgets.HBox([self.step, self.status], _dom_classes=["nbsteps-filters"]),
             self.table, self.compare_row, self.comparison], _dom_classes=["nbsteps-card"])
        for dropdown in (self.step, self.status):
            dropdown.observe(lambda _change: self.refresh(), names="value")
        self.compare_button.on_click(self.on_compare_clicked)

    def refresh(self) -> None:
        """Redraw the table for the chosen filters from the records on disk."""
        step = None if self.step.value == ALL else self.step.value
        status = None if self.status.value == ALL else self.status.value
        records = read_history(self.project.folders.outputs,
                               [step] if step else list(self.project.steps))
        records = [r for r in records if status is None or r.status == status][:HISTORY_LIMIT]
        links = {r.run_id: files.html_url(self.project, r) for r in records}
        with self.display:
            self.table.value = views.render_history(records, links, metric_names(records))
            self.offer_comparison(records if step else [])

    def offer_comparison(self, records: list[RunRecord]) -> None:
        """Two runs of the chosen step can be compared (a step must be chosen first)."""
        run_ids = [record.run_id for record in records]
        if len(run_ids) < 2:
            self.compare_row.layout.display = "none"
            return
        for dropdown, default in ((self.run_a, run_ids[1]), (self.run_b, run_ids[0])):
            chosen = dropdown.value if dropdown.value in run_ids else default
            dropdown.options = run_ids
            dropdown.value = chosen
        self.compare_row.layout.display = ""

    def on_compare_clicked(self, _button=None) -> None:
        with self.display:
            self.comparison.value = views.render_status("running", "comparing…")
        threading.Thread(target=self.compare, args=(self.run_a.value, self.run_b.value),
                         name="nbsteps-compare", daemon=True).start()

    def compare(self, run_a: str | None, run_b: str | None) -> None:
        """Both values come from the browser: compare_runs checks they are runs of one step."""
        from nbsteps.diff import compare_runs, write_diff_html

        try:
            if not run_a or not run_b:
                raise NbstepsError("choose two runs to compare")
            comparison = compare_runs(self.project, run_a, run_b)
            images = [(output, *(files.read_output_bytes(self.project, record, output)
                                 for record in (comparison.a, comparison.b)))
                      for output in image_outputs(self.project, comparison.a.step)]
            html = views.render_comparison(comparison, images, self.diff_link(
                comparison, write_diff_html))
        except NbstepsError as error:
            html = views.render_status("refused", str(error))
        except Exception as error:  # a page must not stay on "comparing…"
            log.exception("dashboard: comparing %s and %s failed", run_a, run_b)
            html = views.render_status("failed", f"{type(error).__name__}: {error}")
        with self.display:
            self.comparison.value = html

    def diff_link(self, comparison, write_diff_html) -> str | None:
        """The URL of the comparison page with the notebooks' difference, written now; None
        without nbdime (the `diff` extra)."""
        try:
            path = write_diff_html(self.project, comparison)
        except NbstepsError as error:
            log.warning("dashboard: no notebook diff: %s", error)
            return None
        relative = path.relative_to(self.project.folders.outputs).as_posix()
        return file_url(self.project, "outputs", relative)


def metric_names(records: list[RunRecord]) -> list[str]:
    """The metrics of the runs shown, in the order they first appear."""
    names: dict[str, None] = {}
    for record in records:
        names |= dict.fromkeys(record.metrics or {})
    return list(names)


def image_outputs(project: Project, step: str) -> list[str]:
    return [o for o in project.step(step).outputs if o.lower().endswith(IMAGE_SUFFIXES)]
