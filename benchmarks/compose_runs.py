"""Target 3 in containers: the documented `docker compose run --rm model` from empty
folders, then the same command again with nothing changed, where every step is skipped.

The images are built first (from the layer cache when the `images` section ran before);
ingest downloads the real corpus from a server container (tests/containers/compose.corpus.yml).
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.common import REPO, Figure
from benchmarks.images import base_image, copy_tracked_files

CORPUS_OVERRIDE = REPO / "tests" / "containers" / "compose.corpus.yml"
STEPS = ("ingest", "preprocess", "model")


def compose_command() -> list[str]:
    """`docker compose` (v2) where the plugin is there, else docker-compose (1.29)."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor docker-compose is installed")


def run_compose(argv: list[str], env: dict, cwd: Path, timeout: float) -> float:
    """Seconds the command took; raises with its output when it fails."""
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}: "
                           f"{result.stderr[-2000:]}")
    return time.perf_counter() - started


def statuses(project: Path) -> dict[str, str]:
    return {step: json.loads((project / "outputs" / step / "latest.json").read_text())["status"]
            for step in STEPS}


def measure(corpus: Path, workdir: Path) -> list[Figure]:
    project = copy_tracked_files(workdir / "project")
    for folder in ("data", "outputs", "logs"):
        (project / folder).mkdir(exist_ok=True)
    env = os.environ | {
        "BASE_IMAGE": base_image(), "NBSTEPS_TAG": "bench",
        "NBSTEPS_CORPUS_FILE": str(corpus.resolve()),
        "UID": str(os.getuid()), "GID": str(os.getgid()),
    }
    compose = [*compose_command(), "-p", "nbsteps-bench", "--project-directory", str(project),
               "-f", str(project / "docker-compose.yml"), "-f", str(CORPUS_OVERRIDE)]
    try:
        run_compose([*compose, "build", *STEPS], env, project, timeout=3600)
        first = run_compose([*compose, "run", "--rm", "model"], env, project, timeout=1800)
        first_statuses = statuses(project)
        second = run_compose([*compose, "run", "--rm", "model"], env, project, timeout=900)
        second_statuses = statuses(project)
    finally:
        subprocess.run([*compose, "down", "--remove-orphans", "--timeout", "5"], env=env,
                       cwd=project, capture_output=True)
        subprocess.run(["docker", "image", "rm", "-f",
                        *(f"nbsteps-{name}:bench" for name in (*STEPS, "dashboard"))],
                       capture_output=True)
    return [
        Figure("3 reruns", "compose: second `docker compose run --rm model`, nothing changed",
               second, first, goal="quick",
               note=f"first: {', '.join(f'{s} {v}' for s, v in first_statuses.items())}; "
               f"second: {', '.join(f'{s} {v}' for s, v in second_statuses.items())}"),
    ]
