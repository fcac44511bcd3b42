"""The HTML copy of an executed notebook, for people without Jupyter and for the dashboard."""

import logging
from pathlib import Path

from nbsteps.records import RunRecord, link_latest, write_text_atomic

log = logging.getLogger("nbsteps")
# nbconvert warns about every image without alt text (every plot): not a user's concern.
quiet = logging.getLogger("nbsteps.nbconvert")
quiet.setLevel(logging.ERROR)


def export_html(notebook: Path, html: Path) -> bool:
    """Write `html` from `notebook`; False (and a log line) if there is nothing to export."""
    if not notebook.exists():
        log.warning("no executed notebook at %s: no HTML copy", notebook)
        return False
    # Imported here: nbconvert's exporters take about a second to import, which a
    # command that never exports (params, status) should not pay.
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(log=quiet).from_filename(str(notebook))
    write_text_atomic(html, body)
    return True


def publish_html(record: RunRecord) -> None:
    """Export the run's HTML copy and point `<step>/latest.html` at it."""
    html = Path(record.html)
    if export_html(Path(record.notebook), html):
        link_latest(html, html.parent / "latest.html")
