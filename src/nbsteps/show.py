"""One run in full: its record, where its files are (and which are gone), the end of its
log and its slowest cells with the first line of their source."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nbsteps.cellstats import slowest_cells
from nbsteps.history import find_run, run_files
from nbsteps.project import Project
from nbsteps.records import RunRecord

LOG_TAIL_LINES = 20
SLOWEST_CELLS = 5


@dataclass
class RunDetails:
    record: RunRecord
    files: dict[str, dict[str, Any]]  # name -> {path, exists}
    log_tail: list[str]
    slowest_cells: list[dict[str, Any]]  # cells of the record plus `source`: first line

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"files": {k: v | {"path": str(v["path"])}
                                         for k, v in self.files.items()}}


def describe_run(project: Project, run_id: str) -> RunDetails:
    record = find_run(project, run_id)
    files = run_files(project, record)
    listed = {"record": files.record, "notebook": files.notebook, "html": files.html,
              "log": files.log}
    listed |= {f"data {i + 1}": path for i, path in enumerate(files.data_folders)}
    sources = read_cell_sources(files.notebook)
    cells = [cell | {"source": first_source_line(sources, cell.get("index"))}
             for cell in slowest_cells(record.cells, SLOWEST_CELLS)]
    return RunDetails(
        record=record,
        files={name: {"path": path, "exists": path.exists()} for name, path in listed.items()},
        log_tail=read_tail(files.log, LOG_TAIL_LINES),
        slowest_cells=cells,
    )


def read_tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def read_cell_sources(notebook: Path) -> list[str]:
    """Sources of an executed notebook's cells by index; [] when it is gone or unreadable."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        return ["".join(cell.get("source", "")) for cell in cells]
    except (OSError, ValueError, AttributeError, TypeError):
        return []


def first_source_line(sources: list[str], index: object) -> str:
    if not isinstance(index, int) or not 0 <= index < len(sources):
        return ""
    lines = [line for line in sources[index].splitlines() if line.strip()]
    return lines[0][:80] if lines else ""
