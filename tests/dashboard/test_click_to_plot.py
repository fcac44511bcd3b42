"""Issue 5's target: k=100, PCA, real corpus, from the click to the plot on screen in a real
browser, median under 2.5 s. Each click runs the model for real ("run again even if up to
date" is ticked), on the warm kernel the page keeps ready. Timings go to artifacts/."""

import json
import os
import statistics
import time

import pytest

from tests.dashboard.conftest import open_dashboard, set_field, wait_for_state, wait_until_idle

pytestmark = pytest.mark.browser

RUNS = 7
TARGET_S = float(os.environ.get("NBSTEPS_CLICK_TO_PLOT_S", "2.5"))
NEW_PLOT_JS = """(previous) => { const img = document.querySelector('img.nbsteps-plot');
  return img !== null && img.src !== previous && img.offsetParent !== null && img.complete
         && img.naturalWidth > 0; }"""
PLOT_SOURCE_JS = "() => document.querySelector('img.nbsteps-plot')?.src ?? null"


def test_click_to_plot_median_is_under_target(served, context, artifacts):
    page = open_dashboard(context, served.url)
    set_field(page, "k", 100)
    page.check(".nbsteps-force input")
    timings = []
    for _ in range(RUNS):
        # A person takes seconds to set the parameters; the page warms a kernel meanwhile.
        page.wait_for_selector(".nbsteps-run.nbsteps-warm:not([disabled])", timeout=60_000)
        previous = page.evaluate(PLOT_SOURCE_JS)
        started = time.monotonic()
        page.click(".nbsteps-run")
        page.wait_for_function(NEW_PLOT_JS, arg=previous, timeout=60_000, polling="raf")
        timings.append(round(time.monotonic() - started, 3))
        assert wait_for_state(page, "succeeded", "failed").startswith("succeeded")
        wait_until_idle(page)
    median = statistics.median(timings)
    (artifacts / "click-to-plot.json").write_text(json.dumps(
        {"k": 100, "method": "PCA", "runs_s": timings, "median_s": median,
         "target_s": TARGET_S, "load_average": os.getloadavg()}, indent=2) + "\n")
    # The target is for a machine doing nothing else: on a busy one, the load says why.
    assert median < TARGET_S, (f"click to plot: median {median:.2f} s of {timings}, "
                               f"load average {os.getloadavg()[0]:.1f}")
