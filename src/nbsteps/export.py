"""The HTML copy of an executed notebook, for people without Jupyter and for the dashboard."""

import contextlib
import logging
import threading
from pathlib import Path

from nbsteps.priority import inherit_priority
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
    with borrow_exporter() as exporter:
        body, _ = exporter.from_filename(str(notebook))
    write_text_atomic(html, body)
    return True


# Exporters made and not in use. One is made once and reused: building it and compiling its
# templates costs more than most exports (the HTML worker exports every point of a sweep).
# An exporter is not thread-safe, so exports at the same time each borrow their own.
_idle_exporters: list = []
_idle_lock = threading.Lock()


@contextlib.contextmanager
def borrow_exporter():
    """An HTML exporter for this export only: an idle one, or a new one."""
    with _idle_lock:
        exporter = _idle_exporters.pop() if _idle_exporters else None
    if exporter is None:
        # Imported here: nbconvert's exporters take about a second to import, which a
        # command that never exports (params, status) should not pay.
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(log=quiet)
    try:
        yield exporter
    finally:
        with _idle_lock:
            _idle_exporters.append(exporter)


def warm_up_exporter() -> None:
    """Import nbconvert and compile the templates now, by exporting an empty notebook, so
    that the first real export (a run's) does not wait about half a second for them."""
    import nbformat

    with borrow_exporter() as exporter:
        exporter.from_notebook_node(nbformat.v4.new_notebook())


def publish_html(record: RunRecord) -> None:
    """Export the run's HTML copy and point `<step>/latest.html` at it."""
    html = Path(record.html)
    if export_html(Path(record.notebook), html):
        link_latest(html, html.parent / "latest.html")


class HtmlWorker:
    """A separate process that writes HTML copies while the pipeline goes on.

    In a thread, nbconvert's import and rendering would hold the GIL against the thread
    driving the next notebook; a process of its own runs on the other core. It imports
    nbconvert once, then exports each notebook it is sent, one per line on its stdin.
    """

    def __init__(self) -> None:
        self.process = None  # started with the first notebook: a run of skips needs none
        self.sent: list[RunRecord] = []
        # Steps running side by side (`-j`) share the worker: one starts it, and each line
        # sent is paired with its answer in order.
        self._lock = threading.RLock()

    def start(self) -> None:
        """Start the worker (once), so nbconvert is imported while a step runs."""
        with self._lock:
            self.start_once()

    def start_once(self) -> None:
        if self.process is None:
            import subprocess
            import sys

            # A session of its own: Ctrl-C in a terminal signals the whole foreground
            # group, and the run's cancelled notebook should still get its HTML copy.
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from nbsteps.export import serve_exports; serve_exports()"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                start_new_session=True,
            )
            inherit_priority(self.process.pid)  # its session is its own (priority.py)

    def submit(self, record: RunRecord) -> None:
        with self._lock:
            self.start_once()
            try:
                self.process.stdin.write(f"{record.notebook}\t{record.html}\n")
            except OSError as error:  # the worker is gone: the run itself is not affected
                log.warning("the HTML worker stopped (%s); no HTML copy for %s", error,
                            record.run_id)
                return
            self.sent.append(record)

    def finish(self) -> None:
        """Wait for every copy, then point each step's latest.html at its newest."""
        if self.process is None:
            return
        # The worker may be gone; what it answered is still read below.
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        answers = self.process.stdout.read().splitlines()
        self.process.wait()
        for record, answer in zip(self.sent, answers, strict=False):
            html = Path(record.html)
            if answer == "ok":
                link_latest(html, html.parent / "latest.html")
            else:
                log.warning("could not write the HTML copy %s: %s", html, answer)
        if len(answers) < len(self.sent):
            log.warning("the HTML worker stopped early; some HTML copies are missing")


def serve_exports() -> None:
    """The worker's side: `<notebook>\\t<html>` lines in, `ok` or the error out."""
    import sys

    from nbsteps.notebook import block_slow_optional_imports

    block_slow_optional_imports()
    warm_up_exporter()  # before the first request, while its run is still executing
    for line in sys.stdin:
        notebook, html = line.rstrip("\n").split("\t")
        try:
            answer = "ok" if export_html(Path(notebook), Path(html)) else "no notebook"
        except Exception as error:
            answer = f"{type(error).__name__}: {error}".replace("\n", " ")
        print(answer, flush=True)
