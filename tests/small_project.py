"""Small projects written into a temporary folder: a pipeline.yaml and tiny notebooks.

Nothing here knows the authorship example: these are other people's pipelines.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.conftest import Workspace

PYTHON3 = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebook(
    path: Path, parameters: str | None, *cells: str, kernelspec: dict | None = None
) -> Path:
    """A notebook with a markdown title, a cell tagged `parameters` (unless None), then
    `cells`; its kernelspec is python3 unless given."""
    notebook = new_notebook(cells=[new_markdown_cell(f"# {path.stem}")])
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        notebook.cells.append(cell)
    notebook.cells += [new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = kernelspec or PYTHON3
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def make_project(base: Path, pipeline: str) -> Workspace:
    """A project in `base/project` with this pipeline.yaml; data, outputs, logs beside it."""
    root = base / "project"
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    (root / "pipeline.yaml").write_text(pipeline)
    return Workspace(root=root, base=base)


def copy_step(name: str, source: str | None, target: str) -> list[str]:
    """Cells of a step that reads `source` (a data path, or None) and writes `target`:
    the text of its input plus a line naming the step."""
    read = (f"text = (Path(data_dir) / {source!r}).read_text()" if source else "text = ''")
    write = (
        f"out = Path(data_dir) / {target!r}.replace('{{run_id}}', run_id)\n"
        "out.parent.mkdir(parents=True, exist_ok=True)\n"
        f"out.write_text(text + {name!r} + '\\n')"
    )
    return ["from pathlib import Path", read, write]
