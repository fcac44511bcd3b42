"""Two runs of one step side by side: what differed going in, what came out, how they ran.

`compare_runs` returns data (rows of name, a, b, changed) for the CLI and the dashboard;
the notebooks' cell-by-cell difference comes from nbdime, as text or as an HTML page.
Executed notebooks always differ in papermill's timing metadata and cell ids: those are
left out, so what remains is sources and outputs.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbsteps.errors import UsageError
from nbsteps.history import Runs, find_run, load_runs, run_files
from nbsteps.metrics import format_value
from nbsteps.project import RUN_ID_FIELD, Project
from nbsteps.records import RunRecord, write_text_atomic
from nbsteps.show import first_source_line, read_cell_sources

DIFFS_FOLDER = "diffs"
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".svg": "image/svg+xml", ".gif": "image/gif"}


@dataclass
class RunComparison:
    a: RunRecord
    b: RunRecord
    notebooks: tuple[Path, Path]
    parameters: list[dict[str, Any]]  # only those that differ
    inputs: list[dict[str, Any]]  # only those that differ, by sha256
    outputs: list[dict[str, Any]]  # only those that differ, paths with {run_id}
    metrics: list[dict[str, Any]]  # all, side by side
    cells: list[dict[str, Any]]  # index, source, seconds and peak of each run


def compare_runs(project: Project, run_a: str, run_b: str) -> RunComparison:
    """Both runs must be of the same step; a usage error otherwise."""
    runs = load_runs(project)
    a, b = find_run(project, run_a, runs), find_run(project, run_b, runs)
    if a.step != b.step:
        raise UsageError(f"{a.run_id} is a run of {a.step!r} and {b.run_id} of {b.step!r}: "
                         "diff compares two runs of the same step")
    notebooks = (run_files(project, a).notebook, run_files(project, b).notebook)
    return RunComparison(
        a=a, b=b, notebooks=notebooks,
        parameters=side_by_side(a.parameters, b.parameters, only_changed=True),
        inputs=side_by_side(digests(a.inputs, a), digests(b.inputs, b), only_changed=True),
        outputs=side_by_side(digests(a.outputs, a), digests(b.outputs, b), only_changed=True),
        metrics=side_by_side(a.metrics, b.metrics, only_changed=False),
        cells=cells_side_by_side(origin_of(a, runs), origin_of(b, runs), notebooks),
    )


def origin_of(record: RunRecord, runs: Runs) -> RunRecord:
    """The run that executed: a skip's cells and memory are those of the run it reused."""
    return runs.by_id().get(record.reused_run or "", record)


def side_by_side(a: dict[str, Any], b: dict[str, Any], only_changed: bool) -> list[dict]:
    rows = [{"name": name, "a": a.get(name), "b": b.get(name),
             "changed": a.get(name) != b.get(name) or (name in a) != (name in b)}
            for name in list(a) + [name for name in b if name not in a]]
    return [row for row in rows if row["changed"] or not only_changed]


def digests(files: list[dict[str, Any]], record: RunRecord) -> dict[str, str]:
    """sha256 by data path, run ids written `{run_id}` so that the same output of two runs,
    or the same input read from two upstream runs' folders, is one row."""
    run_ids = [record.reused_run or record.run_id, *record.upstream.values()]
    return {template_path(item["path"], run_ids): item["sha256"] for item in files}


def template_path(path: str, run_ids: list[str]) -> str:
    for run_id in run_ids:
        if run_id:
            path = path.replace(run_id, RUN_ID_FIELD)
    return path


def cells_side_by_side(a: RunRecord, b: RunRecord, notebooks: tuple[Path, Path]) -> list[dict]:
    """Per code cell (by index in the executed notebook): time and peak memory of each."""
    sources = read_cell_sources(notebooks[0]) or read_cell_sources(notebooks[1])
    by_index = [{cell.get("index"): cell for cell in run.cells} for run in (a, b)]
    indexes = sorted({i for cells in by_index for i in cells if isinstance(i, int)})
    return [
        {"index": i, "source": first_source_line(sources, i),
         "seconds_a": by_index[0].get(i, {}).get("seconds"),
         "seconds_b": by_index[1].get(i, {}).get("seconds"),
         "peak_rss_mb_a": by_index[0].get(i, {}).get("peak_rss_mb"),
         "peak_rss_mb_b": by_index[1].get(i, {}).get("peak_rss_mb")}
        for i in indexes
    ]


def notebook_diff_text(comparison: RunComparison, color: bool = False) -> str:
    """The executed notebooks' difference, cell by cell, as nbdime prints it."""
    missing = [str(path) for path in comparison.notebooks if not path.is_file()]
    if missing:
        return f"(no notebook diff: {', '.join(missing)} is missing)\n"
    nbdime = import_nbdime()
    a, b = (read_notebook_json(path) for path in comparison.notebooks)
    nbdime.diffing.notebooks.set_notebook_diff_targets(metadata=False, identifier=False,
                                                       details=False)
    try:
        difference = nbdime.diffing.notebooks.diff_notebooks(a, b)
    finally:  # nbdime keeps its targets in module state: leave it as found
        nbdime.diffing.notebooks.reset_notebook_differ()
    if not difference:
        return "(the executed notebooks have the same sources and outputs)\n"
    out = io.StringIO()
    include = {"sources": True, "outputs": True, "attachments": True, "metadata": False,
               "id": False, "details": False}
    config = nbdime.prettyprint.PrettyPrintConfig(
        out=out, include=type("Include", (), include), use_git=False, use_diff=False,
        use_color=color,
    )
    nbdime.prettyprint.pretty_print_diff(a, difference, "", config)
    return out.getvalue()


def import_nbdime():
    try:
        import nbdime.diffing.notebooks
        import nbdime.prettyprint
    except ImportError as error:
        raise UsageError("the notebook diff needs nbdime: install the project's `diff` extra "
                         "(pip install -c constraints.txt -e '.[diff]')") from error
    return nbdime


def read_notebook_json(path: Path) -> dict[str, Any]:
    """The notebook as nbdime wants it: nbformat 4, each source one string."""
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError, AttributeError) as error:
        raise UsageError(f"cannot read the executed notebook {path}: {error}") from error


def write_diff_html(project: Project, comparison: RunComparison) -> Path:
    """A page under outputs/diffs/ with every table, images that differ, and the notebook diff."""
    path = (project.folders.outputs / DIFFS_FOLDER
            / f"{comparison.a.run_id}__{comparison.b.run_id}.html")
    write_text_atomic(path, render_html(project, comparison))
    return path


def render_html(project: Project, comparison: RunComparison) -> str:
    a, b = comparison.a, comparison.b
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(a.run_id)} vs "
        f"{e(b.run_id)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(a.step)}: {e(a.run_id)} vs {e(b.run_id)}</h1>",
        table("Runs", [{"name": n, "a": getattr(a, n), "b": getattr(b, n),
                        "changed": getattr(a, n) != getattr(b, n)}
                       for n in ("status", "started", "duration_s", "peak_rss_mb", "reason")]),
        table("Parameters that differ", comparison.parameters, show=str),
        table("Metrics", comparison.metrics),
        table("Inputs that differ (sha256)", comparison.inputs),
        table("Outputs that differ (sha256)", comparison.outputs),
        images_side_by_side(project, comparison),
        cells_table(comparison.cells),
        "<h2>Executed notebooks</h2><pre class='diff'>"
        + colour_diff_lines(notebook_diff_text(comparison)) + "</pre></body></html>",
    ]
    return "\n".join(parts)


def table(title: str, rows: list[dict[str, Any]], show=None) -> str:
    """Rows of name, A, B; the changed ones marked. `show` writes a value (default: metrics'
    rounding, digests shortened)."""
    e = html.escape
    show = show or format_cell
    if not rows:
        return f"<h2>{e(title)}</h2><p>none</p>"
    body = "".join(
        f"<tr class='{'changed' if row['changed'] else ''}'><th>{e(str(row['name']))}</th>"
        f"<td>{e(show(row['a']))}</td><td>{e(show(row['b']))}</td></tr>"
        for row in rows
    )
    return f"<h2>{e(title)}</h2><table><tr><th></th><th>A</th><th>B</th></tr>{body}</table>"


def format_cell(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64:  # a sha256: its start is enough to tell
        return value[:12]
    return format_value(value) if not isinstance(value, dict | list) else json.dumps(value)


def cells_table(cells: list[dict[str, Any]]) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><th>{cell['index']}</th><td><code>{e(cell['source'])}</code></td>"
        f"<td>{e(format_value(cell['seconds_a']))}</td><td>{e(format_value(cell['seconds_b']))}"
        f"</td><td>{e(format_value(cell['peak_rss_mb_a']))}</td>"
        f"<td>{e(format_value(cell['peak_rss_mb_b']))}</td></tr>"
        for cell in cells
    )
    return ("<h2>Cells: seconds and peak MB</h2><table><tr><th>cell</th><th>source</th>"
            f"<th>s A</th><th>s B</th><th>MB A</th><th>MB B</th></tr>{rows}</table>")


def images_side_by_side(project: Project, comparison: RunComparison) -> str:
    """Image outputs that differ, A beside B, embedded so the page stands alone."""
    figures = []
    for row in comparison.outputs:
        kind = IMAGE_TYPES.get(Path(row["name"]).suffix.lower())
        if kind is None:
            continue
        cells = []
        for record, digest in ((comparison.a, row["a"]), (comparison.b, row["b"])):
            owner = record.reused_run or record.run_id
            path = project.folders.data / row["name"].replace(RUN_ID_FIELD, owner)
            if digest and path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                cells.append(f"<td><img src='data:{kind};base64,{data}'></td>")
            else:
                cells.append("<td>(missing)</td>")
        figures.append(f"<h3>{html.escape(row['name'])}</h3><table class='images'><tr>"
                       f"<th>A</th><th>B</th></tr><tr>{''.join(cells)}</tr></table>")
    return "".join(figures)


def colour_diff_lines(text: str) -> str:
    """nbdime's plain text marks lines `+  `, `-  ` and `## `: give them colours."""
    kinds = {"+": "add", "-": "remove", "#": "info"}
    return "\n".join(
        f"<span class='{kinds.get(line[:1], 'keep')}'>{html.escape(line)}</span>"
        for line in text.splitlines()
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 80em; }
table { border-collapse: collapse; margin-bottom: 1em; }
th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: left; vertical-align: top; }
tr.changed td { background: #fff3c4; }
table.images img { max-width: 38em; }
pre.diff { background: #f7f7f7; padding: 1em; overflow-x: auto; }
.add { color: #116611; background: #e6ffe6; } .remove { color: #991111; background: #ffe6e6; }
.info { color: #1f4e99; font-weight: bold; }
"""
