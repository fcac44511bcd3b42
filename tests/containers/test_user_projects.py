"""Projects that are not the repository's, in containers on the real engine, the way their
users build them: nbsteps comes from a wheel (containers/wheels/) as a release
(NBSTEPS_FROM=auto: the project is not nbsteps' own tree), the images from the Dockerfile
that `nbsteps init` writes.

- a project made by `nbsteps init` and two `nbsteps add-step`s:
  `docker compose build && docker compose run --rm <last step>`;
- the shop pipeline (tests/pipelines/shop), which shares nothing with the example.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.containers.conftest import (
    IMPORT_CHECK,
    REPO,
    TEST_GID,
    TEST_UID,
    Compose,
    describe,
    in_image,
    prepare_folders,
    run,
)
from tests.containers.test_dockerfiles import TEMPLATE_DOCKERFILE

pytestmark = pytest.mark.containers

SHOP = REPO / "tests" / "pipelines" / "shop"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPO)],
        timeout=900)
    [built] = out.glob("*.whl")
    return built


def nbsteps(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "nbsteps", *args], cwd=cwd, timeout=300)


def build_and_run(compose: Compose, steps: list[str]) -> None:
    """`docker compose build && docker compose run --rm <last step>`, as a project's README
    says; every step ran, and succeeded."""
    result = compose("build", timeout=3000)
    assert result.returncode == 0, describe(result)
    result = compose("run", "--rm", steps[-1], timeout=900)
    assert result.returncode == 0, describe(result)
    for step in steps:
        assert compose.record(step)["status"] == "succeeded", step


def test_a_project_from_init_and_two_add_steps_runs_in_containers(
        tmp_path, wheel, project_compose, tag):
    nbsteps("init", "sales", cwd=tmp_path)
    root = tmp_path / "sales"
    nbsteps("add-step", "clean", "--after", "generate", cwd=root)
    nbsteps("add-step", "report", "--after", "clean", cwd=root)
    shutil.copy2(wheel, root / "containers" / "wheels")
    prepare_folders(root)
    steps = ["generate", "clean", "report"]
    compose = project_compose(root, [f"sales-{s}:{tag}" for s in [*steps, "dashboard"]])

    build_and_run(compose, steps)

    summary = json.loads((root / "data" / "report" / "stats.json").read_text())
    assert summary == {"values": 10, "total": 440.0, "mean": 44.0}
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in (root / "data").rglob("*")
              if p.name != ".gitkeep"}  # made by init, as whoever ran it
    assert owners == {(TEST_UID, TEST_GID)}


@pytest.fixture(scope="module")
def shop_folder(tmp_path_factory, wheel) -> Path:
    """The shop with the project Dockerfile, the repository's pins plus nbsteps', a wheel."""
    root = tmp_path_factory.mktemp("shop") / "shop"
    shutil.copytree(SHOP, root)
    (root / "containers" / "wheels").mkdir()
    shutil.copy2(wheel, root / "containers" / "wheels")
    shutil.copy2(TEMPLATE_DOCKERFILE, root / "containers" / "Dockerfile")
    version = wheel.name.split("-")[1]
    (root / "constraints.txt").write_text((REPO / "constraints.txt").read_text()
                                          + f"nbsteps=={version}\n")
    prepare_folders(root)
    return root


def test_the_shop_pipeline_runs_in_containers(shop_folder, project_compose, tag):
    steps = ["orders", "clean", "train", "report"]
    compose = project_compose(shop_folder, [f"shop-{s}:{tag}" for s in steps])

    build_and_run(compose, steps)

    report = compose.record("report")
    folder = shop_folder / "data" / "report" / report["run_id"]
    assert (folder / "sales.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert compose.record("clean")["parameters"]["regions"] == ["north", "south"]
    assert compose.record("orders")["parameters"]["start_date"] == "2026-03-01"
    assert json.loads((shop_folder / "data" / "train" / "metrics.json").read_text())["days"]
    # Each image holds its own step's requirements only.
    found = json.loads(in_image(f"shop-report:{tag}", "python3", "-c", IMPORT_CHECK,
                                "matplotlib").stdout)
    assert found == {"matplotlib": True}
    found = json.loads(in_image(f"shop-orders:{tag}", "python3", "-c", IMPORT_CHECK,
                                "matplotlib").stdout)
    assert found == {"matplotlib": False}
