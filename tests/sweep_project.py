"""A small project for sweep tests: one fast step whose notebook can fail, kill its own
kernel or sleep on demand, and writes one file per run under `square/{run_id}/`."""

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from tests.conftest import Workspace

PIPELINE = """steps:
  square:
    notebook: notebooks/square.ipynb
    outputs: ["square/{run_id}/result.json"]
  make:
    notebook: notebooks/make.ipynb
    outputs: [table/numbers.json]
  total:
    notebook: notebooks/total.ipynb
    inputs: [table/numbers.json]
    outputs: ["total/{run_id}/sum.json"]
  unserved:
    notebook: notebooks/square.ipynb
    outputs: ["unserved/{run_id}/result.json"]
"""

CELLS = [
    'data_dir = "."\nrun_id = "manual"\n'
    "x = 1  # the number to square [0..100]\n"
    'mode = "ok"  # what the run does [ok|fail|crash]\n'
    "seconds = 0.0  # how long it works first [0..600]",
    "import json\nimport time\nfrom pathlib import Path",
    # A run's folder exists from the start, so a run that fails, dies or is cancelled leaves
    # one for the runner to remove.
    "folder = Path(data_dir) / 'square' / run_id\nfolder.mkdir(parents=True)\n"
    "(folder / 'started.txt').write_text('half done')\ntime.sleep(seconds)",
    "if mode == 'fail':\n    raise ValueError(f'asked to fail at x={x}')\n"
    "if mode == 'crash':\n    import os\n    os._exit(9)",
    "(folder / 'result.json').write_text(json.dumps({'x': x, 'square': x * x}))",
]

# A two-step pipeline: `make` writes a table that `total` reads.
MAKE = [
    'data_dir = "."\nrun_id = "manual"\nn = 10  # how many numbers [1..1000]\n'
    "seconds = 0.0  # how long it works first [0..600]",
    "import json\nimport time\nfrom pathlib import Path\ntime.sleep(seconds)\n"
    "(Path(data_dir) / 'table').mkdir(exist_ok=True)\n"
    "(Path(data_dir) / 'table' / 'numbers.json').write_text(json.dumps(list(range(n))))",
]
TOTAL = [
    'data_dir = "."\nrun_id = "manual"',
    "import json\nfrom pathlib import Path\n"
    "numbers = json.loads((Path(data_dir) / 'table' / 'numbers.json').read_text())\n"
    "folder = Path(data_dir) / 'total' / run_id\nfolder.mkdir(parents=True)\n"
    "(folder / 'sum.json').write_text(json.dumps(sum(numbers)))",
]


def write_notebook(path: Path, sources: list[str]) -> None:
    cells = [new_code_cell(source) for source in sources]
    cells[0].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def make_sweep_project(base: Path) -> Workspace:
    root = base / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "params").mkdir()
    (root / "pipeline.yaml").write_text(PIPELINE)
    write_notebook(root / "notebooks" / "square.ipynb", CELLS)
    write_notebook(root / "notebooks" / "make.ipynb", MAKE)
    write_notebook(root / "notebooks" / "total.ipynb", TOTAL)
    return Workspace(root=root, base=base)


def sweep_record(space: Workspace, step: str = "square") -> dict:
    return json.loads((space.outputs / step / "sweeps" / "latest.json").read_text())


def run_records(space: Workspace, step: str = "square") -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((space.outputs / step).glob("*.json"))
            if path.name != "latest.json"]


def check_run_layout(space: Workspace, record: dict) -> None:
    """A run of a sweep leaves what `nbsteps run` leaves: record, notebook, HTML, log."""
    step, run_id = record["step"], record["run_id"]
    assert Path(record["notebook"]) == space.outputs / step / f"{run_id}.ipynb"
    assert Path(record["html"]) == space.outputs / step / f"{run_id}.html"
    assert Path(record["log"]) == space.logs / step / f"{run_id}.log"
    for key in ("notebook", "html", "log"):
        assert Path(record[key]).is_file(), f"{key} of {run_id} missing"
