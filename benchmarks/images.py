"""Target 6: lean images. Each image's size above the base, and the rebuild time after
editing one notebook (the dependency layers must come from the cache)."""

import json
import subprocess
import time
from pathlib import Path

from benchmarks.common import Figure
from tests.containers.conftest import copy_repository, make_base_image

STEPS = ("ingest", "preprocess", "model", "dashboard")
LIMITS_MB = {"ingest": 150, "model": 500}


def image_mb(image: str) -> float:
    size = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                          capture_output=True, text=True, check=True).stdout
    return int(size) / 1e6


def build(context: Path, step: str, base: str, tag: str) -> float:
    """One image from containers/Dockerfile, with nbsteps from this source tree (as
    docker-compose.yml builds them): a step's, or the dashboard's (on model's image)."""
    target, built_step = ("dashboard", "model") if step == "dashboard" else ("step", step)
    started = time.perf_counter()
    subprocess.run(["docker", "build", "-q", "--build-arg", f"BASE_IMAGE={base}",
                    "--build-arg", f"TARGET={target}",
                    "--build-arg", f"STEP={built_step}", "--target", target,
                    "-f", "containers/Dockerfile", "-t", tag, "."],
                   cwd=context, capture_output=True, text=True, check=True)
    return time.perf_counter() - started


def measure(workdir: Path) -> list[Figure]:
    base = make_base_image()
    base_mb = image_mb(base)
    context = copy_repository(workdir / "context")
    figures = []
    for step in STEPS:
        tag = f"nbsteps-bench-{step}:latest"
        build(context, step, base, tag)
        above = image_mb(tag) - base_mb
        limit = LIMITS_MB.get(step)
        figures.append(Figure("6 lean images", f"{step} image above the base", above,
                              unit="MB", goal=f"<= {limit} MB" if limit else "",
                              note=f"base {base} {base_mb:,.0f} MB"))
    notebook = context / "notebooks" / "3.model.ipynb"
    document = json.loads(notebook.read_text())
    document["cells"].append({"cell_type": "markdown", "id": "bench-edit", "metadata": {},
                              "source": ["An edit."]})
    notebook.write_text(json.dumps(document, indent=1))
    seconds = build(context, "model", base, "nbsteps-bench-model:latest")
    figures.append(Figure("6 lean images", "model image rebuild after a notebook edit",
                          seconds, goal="< 10 s", note="dependency layers from the cache"))
    for step in STEPS:
        subprocess.run(["docker", "image", "rm", "-f", f"nbsteps-bench-{step}:latest"],
                       capture_output=True)
    return figures
