"""The dashboard on a project that is not the example: its own steps, parameters, outputs
and `dashboard:` section, no notebook of its own for the page. What the page shows must
come from that configuration alone."""

import json
import re

import nbformat
import pytest
import yaml

from nbsteps.records import read_record
from tests.conftest import Workspace
from tests.dashboard.conftest import (
    RUN_MS,
    DashboardServer,
    open_dashboard,
    set_field,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

# Writes a small PNG with the standard library only, so the test needs no plotting package.
PNG_CODE = '''\
import struct, zlib

def write_png(path, width, height, shade):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    rows = b"".join(b"\\x00" + bytes([shade, 255 - shade, 128]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
'''

SAMPLE = {
    "markdown": "# Sample\n\nWrites a table of numbers.",
    "parameters": ('data_dir = "../data"  # the data folder\n'
                   "rows = 5  # how many rows [1..100]\n"),
    "code": ("from pathlib import Path\n"
             "target = Path(data_dir) / 'tables'\n"
             "target.mkdir(parents=True, exist_ok=True)\n"
             "lines = ['n,value'] + [f'{i},{i * i}' for i in range(rows)]\n"
             "(target / 'numbers.csv').write_text('\\n'.join(lines) + '\\n')"),
}
SCORE = {
    "markdown": "# Score\n\nScores the table and draws a swatch.",
    "parameters": ('data_dir = "../data"  # the data folder\n'
                   'run_id = "manual"  # the run\'s folder\n'
                   "factor = 1.5  # a multiplier [0..10]\n"
                   "squared = False  # square the values\n"
                   'label = "first try"  # a name for this run\n'),
    "code": (PNG_CODE + "\nimport csv, json\nfrom pathlib import Path\n"
             "values = [float(r['value']) for r in csv.DictReader(open(Path(data_dir) / "
             "'tables' / 'numbers.csv'))]\n"
             "scored = [(v * v if squared else v) * factor for v in values]\n"
             "out = Path(data_dir) / 'scores' / run_id\n"
             "out.mkdir(parents=True, exist_ok=True)\n"
             "write_png(out / 'swatch.png', 8, 8, int(min(factor, 10) * 25))\n"
             "(out / 'scored.csv').write_text('score\\n' + ''.join(f'{s}\\n' for s in scored))\n"
             "(out / 'metrics.json').write_text(json.dumps({'label': label, 'total': sum(scored),"
             " 'spread': {'low': min(scored), 'high': max(scored)}}))"),
}
PIPELINE = {
    "steps": {
        "sample": {"notebook": "work/sample.ipynb", "outputs": ["tables/numbers.csv"]},
        "score": {"notebook": "work/score.ipynb", "inputs": ["tables/numbers.csv"],
                  "outputs": ["scores/{run_id}/swatch.png", "scores/{run_id}/metrics.json",
                              "scores/{run_id}/scored.csv"],
                  "metrics": "scores/{run_id}/metrics.json"},
    },
    "dashboard": {
        "title": "Toy scoring",
        "introduction": "Scores a *tiny* table. Press **Score it**.",
        "steps": {
            "sample": {"button": "Make the table"},
            "score": {"button": "Score it", "heading": "Scoring knobs",
                      "images": ["swatch.png"],
                      "table": {"file": "metrics.json", "labels": {
                          "label": "run label", "total": "total score", "spread": "spread"}},
                      "links": ["scored.csv"]},
        },
    },
}


def wait_for_state(panel, *states: str) -> str:
    """wait_for_state of the conftest, in one step's panel of the page."""
    selector = ", ".join(f".nbsteps-status-line .nbsteps-status-{state}" for state in states)
    panel.locator(selector).wait_for(state="attached", timeout=RUN_MS)
    return panel.locator(".nbsteps-status-line").inner_text()


def write_notebook(path, cells: dict) -> None:
    parameters = nbformat.v4.new_code_cell(cells["parameters"])
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(cells["markdown"]), parameters,
        nbformat.v4.new_code_cell(cells["code"])])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    base = tmp_path_factory.mktemp("other")
    root = base / "project"
    (root / "work").mkdir(parents=True)
    write_notebook(root / "work" / "sample.ipynb", SAMPLE)
    write_notebook(root / "work" / "score.ipynb", SCORE)
    (root / "pipeline.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    for name in ("data", "outputs", "logs"):
        (base / name).mkdir()
    server = DashboardServer(Workspace(root=root, base=base), base / "dashboard.log")
    yield server
    server.stop()


def test_the_page_shows_runs_and_shows_what_the_section_configures(other, context):
    page = open_dashboard(context, other.url)
    assert page.inner_text(".nbsteps-title") == "Toy scoring"
    assert page.inner_html(".nbsteps-intro").count("<em>tiny</em>") == 1
    score = page.locator(".nbsteps-step-score")
    sample = page.locator(".nbsteps-step-sample")
    assert score.locator("h3", has_text="Scoring knobs").count() == 1
    assert sample.locator("h3", has_text="Parameters of sample").count() == 1
    # The score step's input is not there yet: its notice offers the step that makes it.
    notice = score.locator(".nbsteps-missing")
    notice.wait_for()
    assert "data/tables/numbers.csv is missing" in notice.inner_text()
    assert score.locator(".nbsteps-run").is_disabled()

    set_field(sample, "rows", 4)
    sample.locator(".nbsteps-run", has_text="Make the table").click()
    assert wait_for_state(sample, "succeeded", "failed").startswith("succeeded")
    wait_until_idle(page)
    notice.wait_for(state="hidden")
    assert (other.space.data / "tables" / "numbers.csv").read_text().splitlines()[-1] == "3,9"

    # One field per parameter, of its kind: a number, a check box, a text.
    set_field(score, "factor", 2.0)
    score.locator(".nbsteps-field-squared input").check()
    set_field(score, "label", "<b>second</b>")
    score.locator(".nbsteps-run", has_text="Score it").click()
    text = wait_for_state(score, "succeeded", "failed")
    assert text.startswith("succeeded"), text
    run_id = re.search(r"score_[0-9_-]+_[0-9a-f]{4}", text).group(0)
    record = read_record(other.space.outputs / "score" / f"{run_id}.json")
    assert record.parameters == {"factor": 2.0, "squared": True, "label": "<b>second</b>"}

    swatch = score.locator("img.nbsteps-plot")
    swatch.wait_for()
    assert swatch.evaluate("img => img.complete && img.naturalWidth") == 8
    details = score.locator(".nbsteps-details")
    metrics = json.loads((other.space.data / "scores" / run_id / "metrics.json").read_text())
    assert metrics["total"] == 2.0 * (0 + 1 + 16 + 81)
    table = details.inner_text()
    assert re.search(r"run label\s+<b>second</b>", table), table  # shown as text
    assert re.search(r"total score\s+196\.0", table), table
    # the nested mapping as a table inside the row of its key
    nested = details.locator("table table")
    assert re.search(r"low\s+0\.0", nested.inner_text())
    assert re.search(r"high\s+162\.0", nested.inner_text())

    link = details.locator("a", has_text="scored.csv")
    href = link.get_attribute("href")
    assert other.status(href) == 200
    assert other.fetch(href).decode().splitlines()[1:3] == ["0.0", "2.0"]
    # Only what the section links: the other outputs and the record are refused.
    for name in ("metrics.json", "swatch.png"):
        assert other.status(href.replace("scored.csv", name)) == 403
    # The history shows the run once, soon after (it is redrawn when the run has ended).
    page.locator(f"tr[data-run='{run_id}']").wait_for()
    assert page.locator(f"tr[data-run='{run_id}']").count() == 1


def test_the_history_filters_shows_metrics_and_compares_two_runs(other, context):
    """After the first test's run (factor 2, squared): a second run, then the history."""
    first = read_record(other.space.outputs / "score" / "latest.json")
    result = other.space.run("run", "score", "-p", "factor=3", "-p", "squared=True")
    assert result.returncode == 0, result.stderr
    second = read_record(other.space.outputs / "score" / "latest.json")
    assert second.run_id != first.run_id

    page = open_dashboard(context, other.url)
    history = page.locator(".nbsteps-history-table")
    history.locator(f"tr[data-run='{second.run_id}']").wait_for()
    page.select_option(".nbsteps-filter-step select", "score")
    page.wait_for_function("() => !document.querySelector('.nbsteps-history-table')"
                           ".innerText.includes('sample_')")
    rows = history.locator("tr.nbsteps-run")
    assert rows.count() == 2
    # The metrics file's scalars, nested ones by their dotted name, as columns.
    head = history.locator("thead").inner_text()
    assert "total" in head and "spread.high" in head
    assert re.search(r"\b294\b", rows.nth(0).inner_text())  # 3 * (0 + 1 + 16 + 81)
    page.select_option(".nbsteps-filter-status select", "failed")
    page.wait_for_function("() => document.querySelector('.nbsteps-history-table')"
                           ".innerText.includes('No runs.')")
    page.select_option(".nbsteps-filter-status select", "all")
    rows.nth(1).wait_for()

    page.select_option(".nbsteps-compare-a select", first.run_id)
    page.select_option(".nbsteps-compare-b select", second.run_id)
    page.click(".nbsteps-compare")
    compared = page.locator(".nbsteps-compared")
    compared.wait_for(timeout=60_000)
    assert compared.locator("img").count() == 2  # the two swatches side by side
    assert re.search(r"factor\s+2\.0\s+3\.0", compared.inner_text())
    assert re.search(r"total\s+196\.0\s+294\.0", compared.inner_text())
    link = compared.locator("a", has_text="notebook diff")
    href = link.get_attribute("href")
    assert other.status(href) == 200
    assert second.run_id in other.fetch(href).decode()
