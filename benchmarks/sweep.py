"""A 16-point sweep of the model on the real corpus, three ways in one run: `nbsteps run`
16 times one after another, `nbsteps sweep -j 2`, and a Dask cluster of two workers.

Per-point overhead is the wall time a point occupies one lane (wall x lanes / points)
minus the notebook's own cell time (summed from the run records' per-cell timings).
With more cores or workers, the sweep's wall time falls about as lanes / points while the
per-point overhead stays the same; sequential runs do not use more cores at all.
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

from benchmarks.common import Figure, run_child
from tests.conftest import Workspace, copy_project
from tests.dask_cluster import LoopbackCluster

GRID = ["--grid", "k=60,80,100,120", "--grid", "seed=0,1,2,3"]
POINTS = [(k, seed) for k in (60, 80, 100, 120) for seed in (0, 1, 2, 3)]
LANES = 2


def cores() -> int:
    return len(os.sched_getaffinity(0))


def nbsteps(space: Workspace, *args: str):
    child = run_child([sys.executable, "-m", "nbsteps", *args], env=space.env())
    if child.returncode != 0:
        raise RuntimeError(f"nbsteps {' '.join(args)} failed: {child.stderr[-2000:]}")
    return child


def prepare(corpus: Path, workdir: Path) -> Workspace:
    """Ingest and preprocess once; each way of sweeping gets a copy of the result."""
    space = Workspace(copy_project(workdir / "project"), workdir / "prepared")
    nbsteps(space, "run", "preprocess", "--upstream", "-p",
            f"ingest.source={corpus.resolve()}")
    return space


def copy_space(prepared: Workspace, base: Path) -> Workspace:
    for name in ("data", "outputs", "logs"):
        shutil.copytree(prepared.base / name, base / name, symlinks=True)
    return Workspace(prepared.root, base)


def model_records(space: Workspace) -> list[dict]:
    folder = space.outputs / "model"
    records = [json.loads(p.read_text()) for p in folder.glob("model_*.json")]
    return [r for r in records if r["status"] == "succeeded"]


def cell_seconds(record: dict) -> float:
    return sum(cell.get("seconds") or 0.0 for cell in record.get("cells") or [])


def summarise(space: Workspace, wall: float, lanes: int) -> dict:
    records = model_records(space)
    if len(records) != len(POINTS):
        raise RuntimeError(f"{len(records)} model runs succeeded, expected {len(POINTS)}")
    cells = sum(cell_seconds(r) for r in records) / len(records)
    per_lane = wall * lanes / len(records)
    return {"wall_s": round(wall, 2), "cell_s": round(cells, 3),
            "overhead_s": round(per_lane - cells, 3), "lanes": lanes}


def measure_sequential(prepared: Workspace, base: Path) -> dict:
    space = copy_space(prepared, base)
    started = time.perf_counter()
    for k, seed in POINTS:
        nbsteps(space, "run", "model", "-p", f"k={k}", "-p", f"seed={seed}")
    return summarise(space, time.perf_counter() - started, 1)


def measure_local_sweep(prepared: Workspace, base: Path) -> dict:
    space = copy_space(prepared, base)
    started = time.perf_counter()
    nbsteps(space, "sweep", "model", *GRID, "-j", str(LANES))
    return summarise(space, time.perf_counter() - started, LANES)


def measure_dask(prepared: Workspace, base: Path) -> dict:
    space = copy_space(prepared, base)
    cluster = LoopbackCluster(space, base)
    try:
        started = time.perf_counter()
        cluster.start_scheduler()
        for index in range(LANES):
            cluster.start_worker(f"model-{index}", "model")
        cluster.wait_for_workers(LANES)
        startup = time.perf_counter() - started
        time.sleep(5)  # each worker's kernel started ahead, as on a running cluster
        started = time.perf_counter()
        nbsteps(space, "sweep", "model", *GRID, "--engine", "dask",
                "--scheduler", cluster.address)
        figures = summarise(space, time.perf_counter() - started, LANES)
    finally:
        cluster.stop()
    return figures | {"startup_s": round(startup, 2)}


def measure(corpus: Path, workdir: Path) -> list[Figure]:
    prepared = prepare(corpus, workdir)
    sequential = measure_sequential(prepared, workdir / "sequential")
    local = measure_local_sweep(prepared, workdir / "local")
    cluster = measure_dask(prepared, workdir / "dask")
    n = cores()
    growth = ("more cores or workers: wall ~ points / lanes x (cell time + overhead); "
              "overhead per point stays flat")
    return [
        Figure("sweep", f"16 model runs, `nbsteps run` one after another ({n} cores)",
               sequential["wall_s"], note="baseline", extra=sequential),
        Figure("sweep", f"16 points, `nbsteps sweep -j {LANES}` ({n} cores)", local["wall_s"],
               sequential["wall_s"], goal=">= 1.7x", note=growth, extra=local),
        Figure("sweep", f"16 points, Dask, {LANES} workers on this machine ({n} cores)",
               cluster["wall_s"], sequential["wall_s"], goal=">= 1.7x",
               note=f"cluster start {cluster['startup_s']} s, not counted", extra=cluster),
        Figure("sweep", f"per-point overhead, sequential runs ({n} cores)",
               sequential["overhead_s"], note=f"cell time {sequential['cell_s']} s/point"),
        Figure("sweep", f"per-point overhead, sweep -j {LANES} ({n} cores)", local["overhead_s"],
               sequential["overhead_s"], goal="< 0.5 s",
               note=f"cell time {local['cell_s']} s/point (2 kernels share 2 cores)"),
        Figure("sweep", f"per-point overhead, Dask {LANES} workers ({n} cores)",
               cluster["overhead_s"], sequential["overhead_s"], goal="< 0.5 s",
               note=f"cell time {cluster['cell_s']} s/point"),
    ]


if __name__ == "__main__":
    import tempfile

    from benchmarks.common import DEFAULT_CORPUS

    with tempfile.TemporaryDirectory(prefix="nbsteps-sweep-bench-") as folder:
        for figure in measure(DEFAULT_CORPUS, Path(folder)):
            print(f"{figure.measure}: {figure.value} s (baseline {figure.baseline}) "
                  f"{figure.note} {figure.extra}")
