"""HTML for the dashboard's text parts: status line, log lines, tables, links, history table.

Plain functions from values to strings, so they are tested without a browser. Every value
that comes from a record or a file is escaped: parameters are free text, and a record may
have been written by anyone who can run nbsteps on this data.
"""

import base64
from datetime import datetime
from html import escape
from importlib import resources
from typing import Any

from nbsteps.records import FAILED, SKIPPED, RunRecord

# Longest parameter value shown in the history table; the full value is in its tooltip.
VALUE_WIDTH = 40

def read_style() -> str:
    """The page's style sheet, shipped beside this module."""
    css = resources.files("nbsteps.dashboard").joinpath("page.css").read_text(encoding="utf-8")
    return f"<style>\n{css}</style>"


def render_header(title: str, introduction: str) -> str:
    """The page's title and its introduction (markdown)."""
    intro = render_markdown(introduction) if introduction else ""
    return f'<h1 class="nbsteps-title">{escape(title)}</h1><div class="nbsteps-intro">{intro}</div>'


def render_status(state: str, text: str, detail: str = "") -> str:
    """The status line: a bold state word ("succeeded", "failed:") and plain text after it;
    `detail` is HTML (a link) on a line of its own."""
    word = state_word(state)
    lead = f"<b>{escape(word)}</b> " if word else ""
    extra = f"<br>{detail}" if detail else ""
    return (f'<div class="nbsteps-status nbsteps-status-{escape(state)}">'
            f"{lead}{escape(text)}{extra}</div>")


def state_word(state: str) -> str:
    words = {FAILED: "failed:", "refused": "refused:", "missing": "missing data:", "ready": ""}
    return words.get(state, state)


def render_log(lines: list[str]) -> str:
    if not lines:
        return ""
    return f'<pre class="nbsteps-log">{escape(chr(10).join(lines))}</pre>'


def render_table(values: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """A JSON object as a table of keys and values, a nested object as a table in its row.
    `labels` (key -> label) picks the top-level keys shown, in its order, and names them."""
    keys = [key for key in labels if key in values] if labels else list(values)
    rows = "".join(render_table_row((labels or {}).get(key, key), values[key]) for key in keys)
    return f'<table class="nbsteps-summary">{rows}</table>'


def render_table_row(label: str, value: Any) -> str:
    if isinstance(value, dict):
        return (f'<tr><th colspan="2">{escape(str(label))}</th></tr><tr><td colspan="2">'
                f'{render_table(value)}</td></tr>')
    if isinstance(value, list):
        value = ", ".join(format_number(item) for item in value)
    return f"<tr><th>{escape(str(label))}</th><td>{escape(format_number(value))}</td></tr>"


def render_markdown(text: str) -> str:
    """The page's introduction: markdown as HTML (the project's own text, not a visitor's)."""
    import mistune  # nbconvert's markdown renderer, installed with it

    return mistune.create_markdown(escape=True)(text)


def format_number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def render_missing(step: str, paths: str, steps: list[str]) -> str:
    """The notice that a step's inputs (`paths`) are not there, and which steps make them."""
    heading = f"<h3>The input data of {escape(step)} does not exist yet</h3>"
    if not steps:
        return (f"{heading}<p>{escape(paths)} is missing, and no step makes it: put it "
                "there first.</p>")
    return (f"{heading}<p>{escape(paths)} is missing. The earlier steps make it: "
            f"{escape(' then '.join(steps))}, each with its parameters from params/. Run them "
            f"first, here or with <code>nbsteps run {escape(' '.join(steps))}</code>.</p>")


def render_links(links: list[tuple[str, str | None]]) -> str:
    """Links as (text, href), those without an href left out; links to HTML open in a new
    tab, the others download their file."""
    parts = []
    for text, href in links:
        if not href:
            continue
        extra = ' target="_blank" rel="noopener"' if href.endswith(".html") else " download"
        parts.append(f'<a href="{escape(href)}"{extra}>{escape(text)}</a>')
    return f'<div class="nbsteps-links">{"".join(parts)}</div>' if parts else ""


def render_history(records: list[RunRecord], links: dict[str, str | None],
                   metrics: list[str] = ()) -> str:
    """The table of recent runs; `links` maps a run id to its HTML copy, `metrics` names the
    metric columns."""
    if not records:
        return ('<div class="nbsteps-history"><h3>History</h3>'
                '<p class="nbsteps-hint">No runs.</p></div>')
    names = "".join(f'<th class="nbsteps-metric">{escape(name)}</th>' for name in metrics)
    head = ("<tr><th>started (UTC)</th><th>step</th><th>parameters</th><th>status</th>"
            f"<th>duration</th>{names}<th>executed notebook</th></tr>")
    rows = "".join(render_history_row(record, links.get(record.run_id), metrics)
                   for record in records)
    return (f'<div class="nbsteps-history"><h3>History</h3><table><thead>{head}</thead>'
            f"<tbody>{rows}</tbody></table></div>")


def render_history_row(record: RunRecord, link: str | None, metrics: list[str] = ()) -> str:
    notebook = (f'<a href="{escape(link)}" target="_blank" rel="noopener">'
                f"{escape(record.run_id)}</a>") if link else escape(record.run_id)
    values = "".join(
        f'<td class="nbsteps-number nbsteps-metric">'
        f"{escape(format_metric((record.metrics or {}).get(name)))}</td>" for name in metrics)
    return (f'<tr class="nbsteps-run" data-run="{escape(record.run_id)}">'
            f'<td class="nbsteps-nowrap">{escape(format_started(record.started))}</td>'
            f"<td>{escape(record.step)}</td>"
            f"<td>{format_parameters(record.parameters)}</td>"
            f"<td>{render_badge(record)}</td>"
            f'<td class="nbsteps-number">{escape(format_duration(record.duration_s))}</td>'
            f'{values}<td class="nbsteps-nowrap">{notebook}</td></tr>')


def format_metric(value: Any) -> str:
    """A metric cell: floats to 4 significant digits, nothing for a run without it."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render_comparison(comparison, images: list[tuple[str, bytes | None, bytes | None]],
                      diff_url: str | None) -> str:
    """Two runs of one step side by side (a diff.RunComparison): their images, the
    parameters that differ, every metric, and a link to the notebooks' difference."""
    a, b = comparison.a, comparison.b
    head = f"<tr><th></th><th>{escape(a.run_id)}</th><th>{escape(b.run_id)}</th></tr>"
    pictures = "".join(
        f'<tr><th>{escape(name.rsplit("/", 1)[-1])}</th>'
        + "".join(f"<td>{render_inline_image(name, data)}</td>" for data in (one, two))
        + "</tr>" for name, one, two in images)
    parts = [f'<table class="nbsteps-compare-images">{head}{pictures}</table>' if images
             else "",
             render_differences("parameters that differ", comparison.parameters,
                                "the same parameters"),
             render_differences("metrics", comparison.metrics, "no metrics")]
    if diff_url:
        parts.append(render_links([("notebook diff (HTML)", diff_url)]))
    return f'<div class="nbsteps-compared">{"".join(parts)}</div>'


def render_differences(title: str, rows: list[dict[str, Any]], empty: str) -> str:
    if not rows:
        return f'<p class="nbsteps-hint">{escape(empty)}</p>'
    body = "".join(
        f'<tr class="{"nbsteps-changed" if row["changed"] else ""}"><th>{escape(row["name"])}'
        f"</th><td>{escape(format_number(row['a']))}</td>"
        f"<td>{escape(format_number(row['b']))}</td></tr>" for row in rows)
    return f'<h4>{escape(title)}</h4><table class="nbsteps-summary">{body}</table>'


def render_inline_image(name: str, data: bytes | None) -> str:
    if not data:
        return '<span class="nbsteps-hint">(missing)</span>'
    suffix = name.rsplit(".", 1)[-1].lower()
    kind = {"jpg": "jpeg", "svg": "svg+xml"}.get(suffix, suffix)
    return f'<img src="data:image/{kind};base64,{base64.b64encode(data).decode()}">'


def render_badge(record: RunRecord) -> str:
    text = record.status
    if record.status == SKIPPED and record.reused_run:
        text = f"skipped (up to date: {record.reused_run})"
    title = record.error or record.reason or ""
    return (f'<span class="nbsteps-badge nbsteps-badge-{escape(record.status)}" '
            f'title="{escape(title)}">{escape(text)}</span>')


def format_parameters(parameters: dict[str, Any]) -> str:
    """`k=100 · method=PCA`, long values shortened (the whole value in the tooltip)."""
    parts = []
    for name, value in parameters.items():
        text = str(value)
        short = text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"
        parts.append(f'<span title="{escape(text)}">{escape(name)}={escape(short)}</span>')
    return " · ".join(parts)


def format_started(started: str) -> str:
    """`2026-11-26 14:58:51` from the record's ISO time (UTC)."""
    try:
        return f"{datetime.fromisoformat(started):%Y-%m-%d %H:%M:%S}"
    except (TypeError, ValueError):
        return str(started)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"

