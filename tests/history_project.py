"""A tiny two-step project of real notebooks, for the history, diff, which and prune tests.

`count` writes numbers/{n}.json from its parameter `n`; `score` reads it and writes
scores/{run_id}/scores.json (its declared metrics) and a small report; a cell of `score`
holds `megabytes` of memory for a moment, so its peak shows in the record.
"""

import json
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.conftest import Workspace

PIPELINE = """\
steps:
  count:
    notebook: notebooks/count.ipynb
    outputs: [numbers/numbers.json]
  score:
    notebook: notebooks/score.ipynb
    inputs: [numbers/numbers.json]
    outputs: ["scores/{run_id}/scores.json", "scores/{run_id}/report.txt"]
    metrics: "scores/{run_id}/scores.json"
"""

COUNT = [
    new_markdown_cell("# Count\nWrites the numbers 0..n-1."),
    new_code_cell('n = 10  # how many numbers [1..1000000]\ndata_dir = "data"',
                  metadata={"tags": ["parameters"]}),
    new_code_cell("import json\nfrom pathlib import Path"),
    new_code_cell('out = Path(data_dir) / "numbers"\nout.mkdir(parents=True, exist_ok=True)\n'
                  '(out / "numbers.json").write_text(json.dumps(list(range(n))))'),
]

SCORE = [
    new_markdown_cell("# Score\nSums the numbers."),
    new_code_cell(dedent("""\
        scale = 1.0  # a factor [0.0..100.0]
        megabytes = 0  # memory held by one cell [0..2000]
        fail = False  # raise in the last cell
        data_dir = "data"
        run_id = 'manual'"""), metadata={"tags": ["parameters"]}),
    new_code_cell(dedent("""\
        import json, time
        from pathlib import Path
        numbers = json.loads((Path(data_dir) / "numbers" / "numbers.json").read_text())""")),
    new_code_cell(dedent("""\
        block = bytearray(megabytes * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(0.3)
        del block""")),
    new_code_cell(dedent("""\
        out = Path(data_dir) / "scores" / run_id
        out.mkdir(parents=True, exist_ok=True)
        scores = {"total": sum(numbers) * scale, "count": len(numbers),
                  "detail": {"mean": sum(numbers) * scale / len(numbers)},
                  "numbers": numbers[:3], "label": "run"}
        (out / "scores.json").write_text(json.dumps(scores))
        (out / "report.txt").write_text(f"total {scores['total']}\\n")
        print(scores["total"])""")),
    new_code_cell('if fail:\n    raise ValueError("asked to fail")'),
]


def make_history_project(base: Path) -> Workspace:
    root = base / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "params").mkdir()
    (root / "pipeline.yaml").write_text(PIPELINE)
    for name, cells in (("count", COUNT), ("score", SCORE)):
        notebook = new_notebook(cells=cells)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        nbformat.write(notebook, root / "notebooks" / f"{name}.ipynb")
    return Workspace(root=root, base=base)


def run_ok(space: Workspace, *args: str):
    result = space.run(*args)
    assert result.returncode == 0, result.stderr
    return result


def latest_run_id(space: Workspace, step: str) -> str:
    return json.loads((space.outputs / step / "latest.json").read_text())["run_id"]
