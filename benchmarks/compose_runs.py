"""Target 3 in containers: the documented `docker compose run --rm model` from empty
folders, then the same command again with nothing changed, where every step is skipped.

The images are built first (from the layer cache when the `images` section ran before);
ingest downloads the real corpus from a server container (tests/containers/compose.corpus.yml).
The compose project is the tests' (tests/containers/conftest.py).
"""

import os
import subprocess
import time
from pathlib import Path

from benchmarks.common import Figure
from tests.containers.conftest import (
    CORPUS_OVERRIDE,
    STEPS,
    Compose,
    copy_repository,
    find_compose_command,
    make_base_image,
)


def run_timed(compose: Compose, *args: str, timeout: float) -> float:
    """Seconds the compose command took; raises with its output when it fails."""
    started = time.perf_counter()
    compose(*args, timeout=timeout, check=True)
    return time.perf_counter() - started


def statuses(compose: Compose) -> str:
    return ", ".join(f"{step} {compose.record(step)['status']}" for step in STEPS)


def measure(corpus: Path, workdir: Path) -> list[Figure]:
    command = find_compose_command()
    if command is None:
        raise RuntimeError("neither `docker compose` nor docker-compose is installed")
    project = copy_repository(workdir / "project")
    for folder in ("data", "outputs", "logs"):
        (project / folder).mkdir(exist_ok=True)
    env = os.environ | {
        "BASE_IMAGE": make_base_image(), "NBSTEPS_TAG": "bench",
        "NBSTEPS_CORPUS_FILE": str(corpus.resolve()),
        "UID": str(os.getuid()), "GID": str(os.getgid()),
    }
    compose = Compose(command, project, "nbsteps-bench", env,
                      [project / "docker-compose.yml", CORPUS_OVERRIDE])
    try:
        compose("build", *STEPS, timeout=3600, check=True)
        first = run_timed(compose, "run", "--rm", "model", timeout=1800)
        first_statuses = statuses(compose)
        second = run_timed(compose, "run", "--rm", "model", timeout=900)
        second_statuses = statuses(compose)
    finally:
        compose("down", "--remove-orphans", "--timeout", "5", timeout=300)
        subprocess.run(["docker", "image", "rm", "-f",
                        *(f"nbsteps-{name}:bench" for name in (*STEPS, "dashboard"))],
                       capture_output=True)
    return [
        Figure("3 reruns", "compose: second `docker compose run --rm model`, nothing changed",
               second, first, goal="quick",
               note=f"first: {first_statuses}; second: {second_statuses}"),
    ]
