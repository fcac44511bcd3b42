"""The dashboard page: the title and introduction of the `dashboard:` section, one panel per
step it runs (form, Run, progress, results), and the history of runs, kept current while
runs start and end elsewhere (the command line, compose, another page).
"""

import logging
import os
import threading
from pathlib import Path

import ipywidgets as widgets

from nbsteps.dashboard import files, views
from nbsteps.dashboard.config import DashboardConfig, read_dashboard_config
from nbsteps.dashboard.history import HistoryView
from nbsteps.dashboard.kernel import (
    RUNNER_WARM,
    close_with_kernel,
    report_to_server_log,
    warm_up_runner,
)
from nbsteps.dashboard.panel import StepPanel
from nbsteps.dashboard.runs import RunControl
from nbsteps.errors import NbstepsError
from nbsteps.guard.connect import DeferredPool, when_page_connects
from nbsteps.kernel_names import choose_kernel
from nbsteps.kernels import KernelPool
from nbsteps.notebook import read_notebook
from nbsteps.project import Project, load_project
from nbsteps.records import FAILED, read_latest_records

log = logging.getLogger("nbsteps")

POLL_S = 0.5  # how often the page looks for runs started elsewhere (CLI, compose, a page)


class Dashboard:
    """The page's panels, its history and the thread that keeps them current."""

    def __init__(self, project: Project, config: DashboardConfig,
                 pools: dict[str, KernelPool | DeferredPool] | None = None,
                 warm: threading.Event | None = None):
        """`pools` keeps a warm kernel for a step (none: a fresh kernel per run); `warm` is
        set once the runner's imports are done (kernel.warm_up_runner)."""
        self.project = project
        self.config = config
        self.pools = pools or {}
        self.control = RunControl(self.set_busy, self.refresh, warm)
        self.panels = [StepPanel(project, view, self.control, self.pools.get(view.step))
                       for view in config.steps]
        self.history = HistoryView(project, self.control.display)
        self.widget = self.build_layout()
        self._stop = threading.Event()
        self._seen: tuple = ()
        self.show_latest()
        self.refresh()
        threading.Thread(target=self.watch_folders, name="nbsteps-watch", daemon=True).start()

    @property
    def panel(self) -> StepPanel:
        """The first step's panel (the only one on most pages)."""
        return self.panels[0]

    def build_layout(self) -> widgets.Widget:
        header = widgets.HTML(views.render_header(self.config.title, self.config.introduction),
                              _dom_classes=["nbsteps-header"])
        return widgets.VBox(
            [widgets.HTML(views.read_style()), header, *(p.widget for p in self.panels),
             self.history.widget], _dom_classes=["nbsteps-dashboard"])

    def set_busy(self, busy: bool) -> None:
        for panel in self.panels:
            panel.set_busy(busy)

    def show_latest(self) -> None:
        steps = [panel.step for panel in self.panels]
        latest = read_latest_records(self.project.folders.outputs, steps)
        for panel in self.panels:
            panel.show_latest(latest[panel.step])

    def watch_folders(self) -> None:
        """Refresh the history and the missing-data notices when runs start or end elsewhere."""
        while not self._stop.wait(POLL_S):
            try:
                self.refresh()
                self.show_warm()
            except Exception:  # a half-written folder must not end the watching
                log.exception("dashboard: refreshing the history failed")

    def refresh(self) -> None:
        """History and missing-data notices, redrawn when a step's run records change."""
        seen = self.read_signature()
        with self.control.display:
            if seen == self._seen:
                return
            self._seen = seen
            self.history.refresh()
            for panel, missing in zip(self.panels, seen[1], strict=True):
                panel.show_missing(list(missing))

    def read_signature(self) -> tuple:
        """Changes whenever a run's file is written (a record, an HTML copy) or an input
        of a step on the page appears or goes. They are written by atomic rename, so each
        write is a new inode: the folders' mtimes alone miss a write made within the same
        clock tick as the look before it (the end of a quick run), and the history then
        never showed that run's end."""
        records = tuple(read_file_inodes(self.project.folders.outputs / step)
                        for step in self.project.steps)
        missing = tuple(tuple(files.find_missing_inputs(self.project, panel.step))
                        for panel in self.panels)
        return records, missing

    def show_warm(self) -> None:
        """Mark a Run button `nbsteps-warm` while its warm kernel waits: not shown to people
        (a run just waits for the kernel otherwise), but tests time clicks against it."""
        for panel in self.panels:
            pool = self.pools.get(panel.step)
            warm = pool is not None and pool.is_ready()
            classes = panel.run_button._dom_classes
            with self.control.display:
                if warm and "nbsteps-warm" not in classes:
                    panel.run_button.add_class("nbsteps-warm")
                elif not warm and "nbsteps-warm" in classes:
                    panel.run_button.remove_class("nbsteps-warm")

    def close(self) -> None:
        """When the page goes (its kernel shuts down): no new warm kernel, the spares shut
        down, and a run still going cancelled, so its record says so."""
        self._stop.set()
        for pool in self.pools.values():
            pool.close()  # first: the run's end must not start a replacement
        self.control.close()


def build_dashboard() -> widgets.Widget:
    """The dashboard widget for this kernel's project (NBSTEPS_PROJECT and NBSTEPS_*_DIR)."""
    try:
        project = load_project()
        config = read_dashboard_config(project)
    except NbstepsError as error:
        return widgets.HTML(views.render_status(FAILED, f"cannot open the project: {error}"))
    report_to_server_log()
    pools = make_pools(project, config)
    dashboard = Dashboard(project, config, pools, warm=RUNNER_WARM)
    close_with_kernel(dashboard.close)
    when_page_connects(lambda: start_warm_parts(pools))
    return dashboard.widget


def make_pools(project: Project, config: DashboardConfig) -> dict[str, DeferredPool]:
    """A warm kernel for each step on the page, with the step's `warm_up:` code run in it,
    started once the page's browser connects (nbsteps.guard.connect). NBSTEPS_WARM_KERNEL=0
    starts a fresh kernel per run instead: the plain way, which the benchmark measures the
    warm kernel against."""
    if os.environ.get("NBSTEPS_WARM_KERNEL", "1") == "0":
        return {}
    pools = {}
    for view in config.steps:
        step = project.step(view.step)
        try:  # the kernel the step runs on: a warm kernel of another one would go unused
            kernel = choose_kernel(step, read_notebook(step.notebook))
        except NbstepsError:  # not installed: a run says so, with no warm kernel to wait for
            continue
        pools[view.step] = DeferredPool(
            lambda step=step, view=view, kernel=kernel: KernelPool(
                step.notebook, read_warm_up(view), kernel))
    return pools


def start_warm_parts(pools: dict[str, DeferredPool]) -> None:
    """What only a page with its browser there is worth: the warm kernels, the runner's
    imports."""
    for pool in pools.values():
        pool.start()
    threading.Thread(target=warm_up_runner, name="nbsteps-warm-runner", daemon=True).start()


def read_warm_up(view) -> str:
    if view.warm_up is None:
        return ""
    try:
        return view.warm_up.read_text(encoding="utf-8")
    except OSError as error:  # validated at start; gone since: a warm kernel without it
        log.warning("dashboard: cannot read %s: %s", view.warm_up, error)
        return ""


def read_file_inodes(folder: Path) -> frozenset[tuple[str, int]]:
    """(name, inode) of each file in a step's outputs folder (records, executed notebooks
    and their HTML copies, which the history links to once they exist); empty if it is
    gone. Temporary files, hidden until renamed into place, are left out."""
    try:
        with os.scandir(folder) as entries:
            return frozenset((entry.name, entry.inode()) for entry in entries
                             if not entry.name.startswith("."))
    except OSError:
        return frozenset()
