"""Serve the dashboard page with Voila: one notebook, and only the files its links name.

The page is nbsteps' own notebook (dashboard.ipynb beside this module), or the project's
(`dashboard: notebook:` in pipeline.yaml). `nbsteps dashboard` and the dashboard container
make the same call, so what runs locally is what the container serves. Voila's file handler
serves `/voila/files/<path>` below one folder, the serving root: the deepest folder that
holds the page's notebook, outputs/ and data/ (`/` in the container, where they are in
/app or the installed package, /outputs and /data). An allowlist of exactly the files the
page links to, the executed notebooks' HTML copies and the outputs the `dashboard:` section
offers as links, refuses everything else with 403: notebooks, records, logs, parameters,
code and the rest of the data. (Tornado refuses symlinks that lead outside the root, so
the root is a real common folder, not a folder of links.)
"""

import os
import re
from pathlib import Path

from nbsteps.dashboard.config import UNSERVED_SUFFIXES, DashboardConfig, read_dashboard_config
from nbsteps.diff import DIFFS_FOLDER
from nbsteps.errors import UsageError
from nbsteps.guard.options import GuardOptions, GuardRequest, resolve_guard
from nbsteps.project import FOLDER_VARIABLES, RUN_ID_FIELD, Project

# The page nbsteps ships: it shows whatever the project's `dashboard:` section says.
PACKAGED_NOTEBOOK = Path(__file__).resolve().with_name("dashboard.ipynb")
ROOT_VARIABLE = "NBSTEPS_SERVING_ROOT"
FILES_URL = "voila/files"  # relative to the page, so a base URL in front still works
# A run id or a step name: letters, digits, `_` and `-`. No dot, so no `..`, no hidden
# file (the `.latest.html.*.tmp` of an atomic write) and no second suffix.
NAME_PATTERN = r"[\w-]+"
CULL_IDLE_S = 1800
CULL_INTERVAL_S = 300
# A page kernel's time to cancel its run and exit: jupyter_client waits half of it before
# SIGTERM, and the other half before SIGKILL.
KERNEL_EXIT_S = 20.0
# Refused even if an allowlist pattern were widened by mistake: code, notebooks, logs,
# parameters and settings, and any hidden file or folder (records: see build_denylist).
DENYLIST = (r".*\.(" + "|".join(re.escape(s[1:]) for s in UNSERVED_SUFFIXES) + ")",
            r"(.*/)?\..*")


def serve_dashboard(
    project: Project, host: str = "127.0.0.1", port: int = 8866, open_browser: bool = False,
    guard: GuardOptions | None = None,
) -> int:
    """Run Voila on the dashboard notebook until it is stopped (Ctrl-C, SIGTERM); exit code."""
    guard = guard or resolve_guard(GuardRequest(host=host))  # refuses an unsafe exposure
    dashboard = read_dashboard_config(project)  # UsageError: a line per problem
    notebook = find_notebook(dashboard)
    if not notebook.is_file():
        raise UsageError(f"no dashboard notebook at {notebook}")
    # Imported here: voila is an optional dependency.
    from nbsteps.guard.app import GuardedVoila, announce_token, configure_guard

    for folder in (project.folders.outputs, project.folders.data):
        folder.mkdir(parents=True, exist_ok=True)
    export_project(project, find_serving_root(project, dashboard))
    config = build_voila_config(project, dashboard, host, port, open_browser)
    configure_guard(config, guard)
    announce_token(guard, host, port)
    # A single notebook, never a folder: directory mode lets any visitor run any notebook.
    GuardedVoila.launch_instance(argv=[str(notebook)], config=config)
    return 0


def find_notebook(dashboard: DashboardConfig) -> Path:
    """The project's own page if it names one, else the one nbsteps ships."""
    return dashboard.notebook or PACKAGED_NOTEBOOK


def export_project(project: Project, root: Path) -> None:
    """The page kernels Voila starts inherit this environment: point them at this project
    and tell them the serving root their links are relative to."""
    os.environ["NBSTEPS_PROJECT"] = str(project.root)
    os.environ[ROOT_VARIABLE] = str(root)
    for name, variable in FOLDER_VARIABLES.items():
        os.environ[variable] = str(getattr(project.folders, name))


def build_voila_config(project: Project, dashboard: DashboardConfig, host: str, port: int,
                       open_browser: bool):
    """Voila's settings, as a traitlets Config (lists are passed whole, not as flags)."""
    from traitlets.config import Config

    config = Config()
    root = find_serving_root(project, dashboard)
    config.Voila.root_dir = str(root)
    # Voila reads the page through Jupyter's contents manager, which refuses a path through
    # a hidden folder (an installed nbsteps in `.venv/`). It serves nothing else here: files
    # go through the allowlist and its denylist, which refuses every hidden path.
    notebook = Path(os.path.realpath(find_notebook(dashboard))).relative_to(root)
    if any(part.startswith(".") for part in notebook.parts):
        config.FileContentsManager.allow_hidden = True
    config.Voila.ip = host
    config.Voila.port = port
    # Fail when the port is taken, instead of Voila's default of quietly trying others: a
    # container publishes one port, and whoever started the server waits on that one.
    config.Voila.port_retries = 0
    config.Voila.open_browser = open_browser
    config.VoilaConfiguration.file_allowlist = build_allowlist(project, dashboard)
    config.VoilaConfiguration.file_denylist = build_denylist(project, dashboard)
    config.VoilaConfiguration.show_tracebacks = False  # a traceback names files and lines
    config.VoilaConfiguration.strip_sources = True
    # Closing a page must stop its kernel, the warm kernel it keeps and any run it started.
    # Voila asks for that on unload with a POST that carries no XSRF token, which
    # jupyter_server then refuses (voila-dashboards/voila#1458), leaving both kernels
    # behind. The check protects nothing here: there is no login, and the only POSTs
    # (shut down a kernel) need the kernel's random id, which another site cannot read.
    config.Voila.tornado_settings = {"disable_check_xsrf": True}
    # And for a browser that vanished without unloading: a page kernel with no connection
    # and no activity for this long is shut down.
    config.MappingKernelManager.cull_idle_timeout = CULL_IDLE_S
    config.MappingKernelManager.cull_interval = CULL_INTERVAL_S
    # A closing page cancels its run, which takes a few seconds (runs.CLOSE_WAIT_S):
    # jupyter_client's default (SIGTERM after 2.5 s) would end the kernel first and leave
    # the run's record saying "running" and its partial outputs behind.
    config.KernelManager.shutdown_wait_time = KERNEL_EXIT_S
    return config


def find_serving_root(project: Project, dashboard: DashboardConfig) -> Path:
    """The deepest folder holding the page's notebook, outputs/ and data/."""
    folders = [find_notebook(dashboard).parent, project.folders.outputs, project.folders.data]
    return Path(os.path.commonpath([os.path.realpath(folder) for folder in folders]))


def serving_root(project: Project) -> Path:
    """The serving root of the running server (which tells its page kernels), else the one
    it would have."""
    root = os.environ.get(ROOT_VARIABLE)
    return Path(root) if root else find_serving_root(project, read_dashboard_config(project))


def url_prefix(project: Project, kind: str) -> str:
    """The path of `outputs` or `data` below the serving root, as a URL part ending in `/`."""
    folder = os.path.realpath(getattr(project.folders, kind))
    relative = Path(folder).relative_to(serving_root(project)).as_posix()
    return "" if relative == "." else f"{relative}/"


def file_url(project: Project, kind: str, relative: str) -> str:
    """The page-relative URL of a file below outputs/ or data/ (`relative` to that folder)."""
    return f"{FILES_URL}/{url_prefix(project, kind)}{relative}"


def build_allowlist(project: Project, dashboard: DashboardConfig) -> list[str]:
    """Regular expressions, matched whole and in any case, for the only files served: each
    step's executed notebooks as HTML, comparisons of two runs, and the outputs the page
    offers as links."""
    steps = "|".join(re.escape(name) for name in project.steps)
    outputs, data = (re.escape(url_prefix(project, kind)) for kind in ("outputs", "data"))
    # Executed notebooks, and the comparisons of two runs the page writes (nbsteps.diff).
    patterns = [rf"{outputs}({steps}|{DIFFS_FOLDER})/{NAME_PATTERN}\.html"]
    for view in dashboard.steps:
        for output in view.links:
            pattern = NAME_PATTERN.join(re.escape(part) for part in output.split(RUN_ID_FIELD))
            patterns.append(f"{data}{pattern}")
    return patterns


def build_denylist(project: Project, dashboard: DashboardConfig) -> list[str]:
    """DENYLIST, and the run records (JSON) in outputs/."""
    outputs = re.escape(url_prefix(project, "outputs"))
    return [*DENYLIST, rf"{outputs}.*\.json"]
