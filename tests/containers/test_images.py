"""The step images: built from nothing from the one Dockerfile, each with its step's
requirements at the pinned versions, non-root, no compiler or pip cache left, the entrypoint
running its step, and a notebook edit rebuilding from the cached dependencies. Steps come
from pipeline.yaml (the example's own isolation checks: test_example_images.py)."""

import json
import os
import re
import shutil
import time

import pytest
import yaml

from tests.containers.conftest import (
    PIPELINE_FILE,
    REPO,
    STEPS,
    VERSIONS_CHECK,
    compose_env,
    describe,
    in_image,
    remove_images,
    run,
)
from tests.test_pins import read_constraints, requirement_names

pytestmark = pytest.mark.containers



def test_every_image_builds_from_nothing(images):
    for step in STEPS:
        config = json.loads(run(["docker", "image", "inspect", images.names[step]]).stdout)[0]
        size_mb = config["Size"] / 1e6
        print(f"\n{images.names[step]}: {size_mb:.0f} MB")
        assert f"NBSTEPS_STEP={step}" in config["Config"]["Env"]
        assert config["Config"]["WorkingDir"] == "/app"
        entrypoint = config["Config"]["Entrypoint"]
        assert entrypoint[:2] == ["/bin/sh", "-c"] and "exec nbsteps run" in entrypoint[2]
    if os.environ.get("NBSTEPS_TEST_BUILD_CACHE") != "1":  # then built with --no-cache
        assert "Using cache" not in images.output and " CACHED " not in images.output


@pytest.mark.parametrize("step", STEPS)
def test_image_holds_its_requirements_at_the_pinned_versions(images, step):
    names = requirement_names((REPO / "containers" / "requirements" / f"{step}.txt")
                              .read_text().splitlines())
    runner = ["papermill", "ipykernel", "nbconvert", "nbformat", "pyyaml", "nbsteps"]
    result = in_image(images.names[step], "python3", "-c", VERSIONS_CHECK, *runner, *names)
    found = json.loads(result.stdout)
    pins = read_constraints()
    assert {n: found[n] for n in names} == {n: pins[n] for n in names}
    assert all(found[n] for n in runner), found


@pytest.mark.parametrize("step", STEPS)
def test_image_runs_as_non_root_with_no_compiler_or_pip_cache(images, step):
    image = images.names[step]
    config = json.loads(run(["docker", "image", "inspect", image]).stdout)[0]["Config"]
    assert config["User"] and config["User"].split(":")[0] not in ("", "0", "root")
    assert in_image(image, "id", "-u").stdout.strip() != "0"
    # As root, to see every home: no pip cache anywhere, and no C compiler on PATH.
    leftovers = in_image(image, "sh", "-c",
                         "ls -d /root/.cache/pip /home/*/.cache/pip 2>/dev/null;"
                         "for c in gcc cc c++ g++ clang make; do command -v $c; done; true",
                         user="0").stdout.split()
    assert leftovers == []


@pytest.mark.parametrize("step", STEPS)
def test_the_entrypoint_runs_its_step_with_the_extra_arguments(images, step):
    """ENTRYPOINT runs `nbsteps run <step>` and appends the arguments: an unknown parameter
    is refused (exit 2) by that step, before any input is looked for."""
    result = run(["docker", "run", "--rm", "--network", "none", images.names[step],
                  "-p", "no_such_parameter=1"], timeout=300, check=False)
    assert result.returncode == 2, describe(result)
    assert "no_such_parameter" in result.stderr, describe(result)


def test_editing_a_notebook_rebuilds_from_cached_dependencies(docker, base_image, images,
                                                              build_dir, tmp_path):
    """Only the layers after the notebook's COPY are rebuilt: the pip layers come from cache."""
    context = shutil.copytree(build_dir, tmp_path / "repo", symlinks=True)
    step = STEPS[-1]
    notebook = context / yaml.safe_load(PIPELINE_FILE.read_text())["steps"][step]["notebook"]
    document = json.loads(notebook.read_text())
    document["cells"].append({"cell_type": "markdown", "id": "rebuild-marker", "metadata": {},
                              "source": ["rebuild marker"]})
    notebook.write_text(json.dumps(document, indent=1) + "\n")
    rebuilt_tag = f"{images.tag}-rebuilt"
    image = f"nbsteps-{step}:{rebuilt_tag}"
    started = time.monotonic()
    try:
        # As compose builds the service, with the cache taken from the image built before
        # the edit: the classic builder otherwise picks the newest of several identical
        # layers, which `--no-cache` builds of every service leave side by side, and may
        # follow another service's chain (a user's engine, building with its cache, holds
        # one chain per prefix).
        result = run(["docker", "build", "-f", "containers/Dockerfile", "--target", "step",
                      "--build-arg", f"STEP={step}", "--build-arg", f"BASE_IMAGE={base_image}",
                      "--cache-from", images.names[step], "-t", image, "."],
                     cwd=context, env=compose_env(base_image, rebuilt_tag), timeout=1200,
                     check=False)
        rebuild_s = time.monotonic() - started
        print(f"\n{step} image rebuilt after a notebook edit in {rebuild_s:.1f} s")
        assert result.returncode == 0, describe(result)
        output = result.stdout + result.stderr
        # The runner's dependencies (base) and the step's (deps). (The layer that installs
        # nbsteps itself is usually cached too, but another build of the same pins on a
        # shared engine can make the builder pick a parent whose next layer differs.)
        assert layer_cached(output, "-r /tmp/pins/runner.txt"), output[-3000:]
        assert layer_cached(output, "-r /tmp/pins/requirements.txt"), output[-3000:]
        assert not layer_cached(output, "COPY notebooks/"), "the edited notebook was not copied"
        assert rebuild_s < 60, f"rebuild took {rebuild_s:.0f} s"
        inside = "/app/" + str(notebook.relative_to(context))
        assert "rebuild marker" in in_image(image, "cat", inside).stdout
    finally:
        remove_images([image])


def layer_cached(output: str, instruction: str) -> bool:
    """Whether the build step whose instruction contains `instruction` came from the cache,
    in the legacy builder's output (` ---> Using cache`) or BuildKit's (`#N CACHED`)."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if instruction not in line:
            continue
        if line.startswith("Step "):  # legacy: the line after the step says so
            return any("Using cache" in later for later in lines[index + 1:index + 3])
        match = re.match(r"(#\d+) ", line)
        if match:
            return f"{match.group(1)} CACHED" in output
    raise AssertionError(f"no build step with {instruction!r} in the output")
