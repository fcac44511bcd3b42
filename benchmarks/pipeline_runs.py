"""Targets 3 and 4: the whole local pipeline cold, against the same cells as one plain
script; then reruns, which skip what is up to date."""

import json
import sys
from pathlib import Path

from benchmarks.common import Figure, run_child
from tests.conftest import Workspace, copy_project


def write_plain_script(notebooks: Path, values: dict[str, dict], target: Path) -> Path:
    """Every code cell of the three notebooks, in order, parameters set as papermill would."""
    # Run from the notebooks folder, importing its modules, as the kernel does.
    lines = ["import sys", "sys.path.insert(0, '')", "import matplotlib", "matplotlib.use('Agg')"]
    for name, parameters in values.items():
        cells = json.loads((notebooks / f"{name}.ipynb").read_text())["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            lines.append(source)
            if "parameters" in cell["metadata"].get("tags", []):
                lines += [f"{key} = {value!r}" for key, value in parameters.items()]
    target.write_text("\n".join(lines) + "\n")
    return target


def nbsteps(project: Path, base: Path, *args: str):
    child = run_child([sys.executable, "-m", "nbsteps", "run", *args],
                      env=Workspace(project, base).env())
    if child.returncode != 0:
        raise RuntimeError(f"nbsteps run {' '.join(args)} failed: {child.stderr[-2000:]}")
    return child


def statuses(base: Path) -> dict[str, str]:
    return {
        step: json.loads((base / "outputs" / step / "latest.json").read_text())["status"]
        for step in ("ingest", "preprocess", "model")
    }


def measure(corpus: Path, workdir: Path) -> list[Figure]:
    project = copy_project(workdir / "project")
    base = workdir / "runs"
    source = ("-p", f"ingest.source={corpus.resolve()}")
    cold = nbsteps(project, base, "all", *source)

    plain_data = workdir / "plain" / "data"
    script = write_plain_script(project / "notebooks", {
        "1.ingest": {"data_dir": str(plain_data), "source": str(corpus.resolve())},
        "2.preprocess": {"data_dir": str(plain_data)},
        "3.model": {"data_dir": str(plain_data), "run_id": "plain"},
    }, workdir / "plain_pipeline.py")
    plain = run_child([sys.executable, str(script)], cwd=project / "notebooks")
    if plain.returncode != 0:
        raise RuntimeError(f"the plain script failed: {plain.stderr[-2000:]}")

    again = nbsteps(project, base, "all", *source)
    skipped_all = set(statuses(base).values()) == {"skipped"}
    model_only = nbsteps(project, base, "all", *source, "-p", "model.k=101")
    after_param = statuses(base)
    notebook = project / "notebooks" / "2.preprocess.ipynb"
    document = json.loads(notebook.read_text())
    document["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["An edit."]})
    notebook.write_text(json.dumps(document, indent=1))
    edited = nbsteps(project, base, "all", *source, "-p", "model.k=101")
    after_edit = statuses(base)

    return [
        Figure("4 whole local pipeline", "nbsteps run all, cold, real corpus vs plain script",
               cold.seconds, plain.seconds, goal="within 2.5x of the plain script",
               note=f"{cold.seconds / plain.seconds:.2f}x the plain script"),
        Figure("3 reruns", "second nbsteps run all, nothing changed", again.seconds,
               cold.seconds, goal="< 10% of the first",
               note=f"{again.seconds / cold.seconds:.0%} of the first; "
               + ("all skipped" if skipped_all else f"NOT ALL SKIPPED: {statuses(base)}")),
        Figure("3 reruns", "model parameter changed (model.k=101)", model_only.seconds,
               cold.seconds, note=", ".join(f"{s}: {v}" for s, v in after_param.items())),
        Figure("3 reruns", "preprocess notebook edited", edited.seconds, cold.seconds,
               note=", ".join(f"{s}: {v}" for s, v in after_edit.items())),
    ]
