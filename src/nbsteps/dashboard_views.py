"""HTML for the dashboard's text parts: status line, log lines, summary, links, history table.

Plain functions from values to strings, so they are tested without a browser. Every value
that comes from a record or a file is escaped: parameters are free text, and a record may
have been written by anyone who can run nbsteps on this data.
"""

from datetime import datetime
from html import escape
from typing import Any

from nbsteps.records import FAILED, SKIPPED, RunRecord

# Longest parameter value shown in the history table; the full value is in its tooltip.
VALUE_WIDTH = 40

STYLE = """
<style>
.nbsteps-dashboard { max-width: 1180px; font-size: 14px; color: #1f2933; }
.nbsteps-dashboard .widget-html-content { line-height: 1.45; }
.nbsteps-dashboard a { color: #1a56db; text-decoration: underline; }
.nbsteps-dashboard a:hover { color: #1e429f; }
.nbsteps-card { border: 1px solid #d9dee4; border-radius: 8px; padding: 12px 16px;
  background: #fff; margin: 0 12px 12px 0; }
.nbsteps-controls { width: 400px; flex: 0 0 auto; align-self: flex-start; }
.nbsteps-dashboard .widget-toggle-buttons.nbsteps-field { display: flex; flex-direction: row;
  align-items: center; }
.nbsteps-dashboard .widget-toggle-buttons.nbsteps-field > .widget-label {
  text-align: right; margin-right: 8px; flex-shrink: 0; }
.nbsteps-hint-line { margin: -2px 0 0 calc(7em + 8px); }
.nbsteps-result { flex: 1 1 420px; min-width: 0; }
.nbsteps-card h3 { font-size: 15px; margin: 0 0 8px 0; }
.nbsteps-hint { color: #6b7280; font-size: 12px; }
.nbsteps-invalid { color: #b42318; font-size: 12px; font-weight: 600; }
.nbsteps-row { margin-bottom: 4px; }
.nbsteps-buttons { margin: 8px 0 4px 0; }
.nbsteps-status { padding: 8px 10px; border-radius: 6px; background: #f3f4f6;
  line-height: 1.4; overflow-wrap: anywhere; }
.nbsteps-status-running { background: #e8f0fe; color: #1e3a8a; }
.nbsteps-status-succeeded { background: #e7f6ec; color: #14532d; }
.nbsteps-status-failed, .nbsteps-status-refused, .nbsteps-status-missing {
  background: #fdecec; color: #7f1d1d; }
.nbsteps-status-cancelled, .nbsteps-status-skipped { background: #fff7e0; color: #713f12; }
.nbsteps-log { font-family: ui-monospace, monospace; font-size: 12px; background: #111827;
  color: #e5e7eb; border-radius: 6px; padding: 6px 8px; margin: 8px 0 0 0;
  max-height: 10em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
.nbsteps-plot img, img.nbsteps-plot { max-width: 100%; height: auto; }
.nbsteps-summary { border-collapse: collapse; margin: 6px 0; }
.nbsteps-summary th { text-align: left; font-weight: 600; padding: 2px 12px 2px 0; }
.nbsteps-summary td { padding: 2px 12px 2px 0; font-variant-numeric: tabular-nums; }
.nbsteps-links a { margin-right: 16px; }
.nbsteps-history table { border-collapse: collapse; width: 100%; font-size: 13px; }
.nbsteps-history th { text-align: left; border-bottom: 2px solid #d9dee4; padding: 4px 8px; }
.nbsteps-history td { border-bottom: 1px solid #eef0f3; padding: 4px 8px; vertical-align: top; }
.nbsteps-history td.nbsteps-nowrap { white-space: nowrap; }
.nbsteps-history td.nbsteps-number { text-align: right; font-variant-numeric: tabular-nums; }
.nbsteps-badge { padding: 1px 8px; border-radius: 10px; font-size: 12px; white-space: nowrap;
  background: #f3f4f6; }
.nbsteps-badge-succeeded { background: #e7f6ec; color: #14532d; }
.nbsteps-badge-failed { background: #fdecec; color: #7f1d1d; }
.nbsteps-badge-cancelled, .nbsteps-badge-skipped { background: #fff7e0; color: #713f12; }
.nbsteps-badge-running { background: #e8f0fe; color: #1e3a8a; }
.nbsteps-missing { border-color: #f3c4c4; background: #fff8f8; }
</style>
"""


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


def render_summary(summary: dict[str, Any]) -> str:
    """k, characters per part, method and seed, then how many parts each label got."""
    rows = [("k (parts)", summary.get("k")),
            ("characters per part", summary.get("characters_per_part")),
            ("method", summary.get("method")),
            ("seed", summary.get("seed"))]
    body = "".join(f"<tr><th>{escape(name)}</th><td>{escape(format_number(value))}</td></tr>"
                   for name, value in rows if value is not None)
    counts = summary.get("counts_per_label") or {}
    if counts:
        body += '<tr><th colspan="2">parts per label (source site)</th></tr>'
        body += "".join(f"<tr><td>{escape(str(label))}</td><td>{escape(format_number(n))}</td></tr>"
                        for label, n in counts.items())
    return f'<table class="nbsteps-summary">{body}</table>'


def format_number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


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


def render_history(records: list[RunRecord], links: dict[str, str | None]) -> str:
    """The table of recent runs of every step; `links` maps a run id to its HTML copy."""
    if not records:
        return ('<div class="nbsteps-history"><h3>History</h3>'
                '<p class="nbsteps-hint">No runs yet.</p></div>')
    head = ("<tr><th>started (UTC)</th><th>step</th><th>parameters</th><th>status</th>"
            "<th>duration</th><th>executed notebook</th></tr>")
    rows = "".join(render_history_row(record, links.get(record.run_id)) for record in records)
    return (f'<div class="nbsteps-history"><h3>History</h3><table><thead>{head}</thead>'
            f"<tbody>{rows}</tbody></table></div>")


def render_history_row(record: RunRecord, link: str | None) -> str:
    notebook = (f'<a href="{escape(link)}" target="_blank" rel="noopener">'
                f"{escape(record.run_id)}</a>") if link else escape(record.run_id)
    return (f'<tr class="nbsteps-run" data-run="{escape(record.run_id)}">'
            f'<td class="nbsteps-nowrap">{escape(format_started(record.started))}</td>'
            f"<td>{escape(record.step)}</td>"
            f"<td>{format_parameters(record.parameters)}</td>"
            f"<td>{render_badge(record)}</td>"
            f'<td class="nbsteps-number">{escape(format_duration(record.duration_s))}</td>'
            f'<td class="nbsteps-nowrap">{notebook}</td></tr>')


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

