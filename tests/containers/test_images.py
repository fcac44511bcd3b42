"""The step images: built from nothing, each holding only what its notebook needs, non-root,
no compiler or pip cache left, and a notebook edit rebuilding from the cached dependencies."""

import json
import re
import shutil
import time

import pytest

from tests.containers.conftest import STEPS, Compose, compose_env, describe, remove_images, run

pytestmark = pytest.mark.containers

# What each image must import, and what it must not be able to.
IMPORTS = {
    "ingest": (["nbsteps", "papermill", "ipykernel", "nbconvert", "yaml", "urllib.request"],
               ["pandas", "sklearn", "numpy", "matplotlib", "scipy", "pyarrow"]),
    "preprocess": (["nbsteps", "papermill", "pandas", "pyarrow"],
                   ["sklearn", "matplotlib", "scipy"]),
    # fastparquet reads the table: pyarrow would add 163 MB to the image.
    "model": (["nbsteps", "papermill", "pandas", "fastparquet", "numpy", "scipy", "sklearn",
               "matplotlib"], ["pyarrow"]),
}
IMPORT_CHECK = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        found[name] = True
    except ImportError:
        found[name] = False
print(json.dumps(found))
"""


def in_image(image: str, *command: str, user: str | None = None, check: bool = True):
    options = ["--user", user] if user else []
    return run(["docker", "run", "--rm", "--network", "none", *options, "--entrypoint",
                command[0], image, *command[1:]], timeout=300, check=check)


def test_every_image_builds_from_nothing(images):
    for step in STEPS:
        config = json.loads(run(["docker", "image", "inspect", images.names[step]]).stdout)[0]
        size_mb = config["Size"] / 1e6
        print(f"\n{images.names[step]}: {size_mb:.0f} MB")
        assert config["Config"]["Entrypoint"] == ["nbsteps", "run", step]
        assert config["Config"]["WorkingDir"] == "/app"


@pytest.mark.parametrize("step", STEPS)
def test_image_imports_only_what_its_notebook_needs(images, step):
    wanted, forbidden = IMPORTS[step]
    result = in_image(images.names[step], "python3", "-c", IMPORT_CHECK, *wanted, *forbidden)
    found = json.loads(result.stdout)
    assert [m for m in wanted if not found[m]] == [], f"{step} lacks modules it needs"
    assert [m for m in forbidden if found[m]] == [], f"{step} can import what it must not"


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


def test_step_shows_its_usage_error_exit_code(images):
    """ENTRYPOINT `nbsteps run <step>` takes the extra arguments: a bad one exits 2."""
    result = in_image(images.names["model"], "nbsteps", "run", "model", "-p", "k=oops",
                      check=False)
    assert result.returncode == 2, describe(result)


def test_editing_a_notebook_rebuilds_from_cached_dependencies(docker, base_image, images,
                                                              build_dir, tmp_path):
    """Only the layers after the notebook's COPY are rebuilt: the pip layers come from cache."""
    context = shutil.copytree(build_dir, tmp_path / "repo", symlinks=True)
    notebook = context / "notebooks" / "3.model.ipynb"
    document = json.loads(notebook.read_text())
    document["cells"].append({"cell_type": "markdown", "id": "rebuild-marker", "metadata": {},
                              "source": ["rebuild marker"]})
    notebook.write_text(json.dumps(document, indent=1) + "\n")
    rebuilt_tag = f"{images.tag}-rebuilt"
    compose = Compose(docker, context, f"nbsteps-rebuild-{images.tag}",
                      compose_env(base_image, rebuilt_tag))
    started = time.monotonic()
    try:
        result = compose("build", "model", timeout=1200)
        rebuild_s = time.monotonic() - started
        print(f"\nmodel image rebuilt after a notebook edit in {rebuild_s:.1f} s")
        assert result.returncode == 0, describe(result)
        output = result.stdout + result.stderr
        # The dependency layer. (The runner's layer after it is usually cached too, but
        # another build of the same pins on a shared engine can make the builder pick a
        # parent whose next layer differs, so it is not asserted.)
        assert layer_cached(output, "pip install --no-cache-dir --only-binary"), output[-3000:]
        assert not layer_cached(output, "COPY notebooks/"), "the edited notebook was not copied"
        assert rebuild_s < 60, f"rebuild took {rebuild_s:.0f} s"
        image = f"nbsteps-model:{rebuilt_tag}"
        assert "rebuild marker" in in_image(image, "cat", "/app/notebooks/3.model.ipynb").stdout
    finally:
        remove_images([f"nbsteps-{s}:{rebuilt_tag}" for s in STEPS])


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
