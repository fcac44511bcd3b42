"""Target 2: the dashboard's Run, from the click to the plot on screen, in real Chromium.

k=100, PCA, the real corpus; each click runs the model for real ("run again even if up to
date" ticked). Measured twice in one run: with the warm kernel the page keeps ready, and
the plain way, a fresh kernel started for each run (NBSTEPS_WARM_KERNEL=0)."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, Figure
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Workspace
from tests.dashboard.conftest import (
    DashboardServer,
    open_dashboard,
    set_field,
    wait_for_state,
    wait_until_idle,
)

CLICKS = 5
NEW_PLOT_JS = """(previous) => { const img = document.querySelector('img.nbsteps-plot');
  return img !== null && img.src !== previous && img.offsetParent !== null && img.complete
         && img.naturalWidth > 0; }"""
PLOT_SOURCE_JS = "() => document.querySelector('img.nbsteps-plot')?.src ?? null"


def prepare(corpus: Path, base: Path) -> Workspace:
    space = Workspace(root=REPO, base=base)
    result = subprocess.run(
        [sys.executable, "-m", "nbsteps", "run", "ingest", "preprocess",
         "-p", f"ingest.source={corpus.resolve()}"],
        env=space.env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"preparing the data failed: {result.stderr[-1500:]}")
    return space


def click_times(browser, url: str, warm: bool) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = open_dashboard(context, url)
    set_field(page, "k", 100)
    page.check(".nbsteps-force input")
    ready = ".nbsteps-run.nbsteps-warm:not([disabled])" if warm else ".nbsteps-run:not([disabled])"
    times = []
    for _ in range(CLICKS):
        page.wait_for_selector(ready, timeout=120_000)
        time.sleep(1.0)  # a person takes a moment between runs
        previous = page.evaluate(PLOT_SOURCE_JS)
        started = time.monotonic()
        page.click(".nbsteps-run")
        page.wait_for_function(NEW_PLOT_JS, arg=previous, timeout=120_000, polling="raf")
        times.append(time.monotonic() - started)
        if not wait_for_state(page, "succeeded", "failed").startswith("succeeded"):
            raise RuntimeError("a dashboard run failed")
        wait_until_idle(page)
    page.goto("about:blank")
    context.close()
    return times


def measure(corpus: Path, workdir: Path) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    space = prepare(corpus, workdir / "space")
    medians = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for warm in (True, False):
            os.environ["NBSTEPS_WARM_KERNEL"] = "1" if warm else "0"
            server = DashboardServer(space, workdir / f"dashboard-{warm}.log")
            try:
                medians[warm] = statistics.median(click_times(browser, server.url, warm))
            finally:
                server.stop()
        os.environ.pop("NBSTEPS_WARM_KERNEL", None)
        browser.close()
    return [Figure("2 dashboard Run", "click to plot, k=100 PCA, median of "
                   f"{CLICKS} (warm kernel vs a fresh kernel per run)",
                   medians[True], medians[False], goal="< 2.5 s")]
