"""The widgets that show a run: its status line and log lines, and what it made (the
images, table and links that the step's `dashboard:` entry names)."""

import json

import ipywidgets as widgets

from nbsteps.dashboard import files, views
from nbsteps.dashboard.config import StepView
from nbsteps.project import Project
from nbsteps.records import RunRecord

LOG_LINES = 6


class StatusView:
    """A state word and a line (running, succeeded, failed ...), and the run log's end."""

    def __init__(self, project: Project):
        self.project = project
        self.status = widgets.HTML(_dom_classes=["nbsteps-status-line"])
        self.log_lines = widgets.HTML(_dom_classes=["nbsteps-log-lines"])

    def show(self, state: str, text: str, detail: str = "") -> None:
        self.status.value = views.render_status(state, text, detail)

    def show_log(self, step: str, run_id: str) -> None:
        lines = files.read_run_log(self.project, step, run_id, LOG_LINES)
        self.log_lines.value = views.render_log(lines)

    def clear_log(self) -> None:
        self.log_lines.value = ""

    def show_failure(self, record: RunRecord, text: str) -> None:
        """A failed run: the error, a link to its executed notebook, the end of its log."""
        notebook = views.render_links([("failed executed notebook",
                                        files.html_url(self.project, record))])
        self.show("failed", text, notebook)
        self.show_log(record.step, record.run_id)


class ResultView:
    """A run's images, its JSON table and its links, as configured for the step."""

    def __init__(self, project: Project, view: StepView):
        self.project = project
        self.view = view
        self.images = [
            widgets.Image(format=image_format(output), layout=widgets.Layout(
                display="none", max_width="100%"),
                _dom_classes=["nbsteps-plot", f"nbsteps-image-{index}"])
            for index, output in enumerate(view.images)]
        self.details = widgets.HTML(_dom_classes=["nbsteps-details"])
        self.widget = widgets.VBox([*self.images, self.details])

    def clear(self) -> None:
        for image in self.images:
            image.layout.display = "none"
            image.value = b""  # so the next image is sent even if it is the same one
        self.details.value = ""

    def show_written(self, run_id: str) -> bool:
        """The images and table of a run whose notebook has written all its outputs (each
        is renamed into place whole), before the run is recorded; False while one is missing.
        """
        step = self.project.step(self.view.step)
        if not all(path.is_file() for path in step.output_paths(self.project.folders.data,
                                                                 run_id)):
            return False
        contents = {}
        for output in self.view.shown_outputs():
            data = files.read_run_output(self.project, output, run_id)
            if data is None:
                return False
            contents[output] = data
        self.show_images(contents)
        self.details.value = self.render_table(contents)
        return True

    def show_record(self, record: RunRecord) -> None:
        """A recorded run's results (for a skipped run, those of the run it reused)."""
        contents = {output: files.read_output_bytes(self.project, record, output)
                    for output in self.view.shown_outputs()}
        self.show_images(contents)
        links = [("executed notebook (HTML)", files.html_url(self.project, record))]
        links += [(output.rsplit("/", 1)[-1], files.output_url(self.project, record, output))
                  for output in self.view.links]
        self.details.value = self.render_table(contents) + views.render_links(links)

    def show_images(self, contents: dict[str, bytes | None]) -> None:
        for image, output in zip(self.images, self.view.images, strict=True):
            if contents.get(output):
                image.value = contents[output]
                image.layout.display = ""

    def render_table(self, contents: dict[str, bytes | None]) -> str:
        table = self.view.table
        if table is None or not contents.get(table.output):
            return ""
        try:
            values = json.loads(contents[table.output])
        except ValueError:
            return views.render_status("failed", f"{table.output} is not valid JSON")
        if not isinstance(values, dict):
            values = {table.output.rsplit("/", 1)[-1]: values}
        return views.render_table(values, table.labels)


def image_format(output: str) -> str:
    """The Image widget's format from the file's suffix (`svg+xml` for SVG)."""
    suffix = output.rsplit(".", 1)[-1].lower()
    return {"jpg": "jpeg", "svg": "svg+xml"}.get(suffix, suffix)
