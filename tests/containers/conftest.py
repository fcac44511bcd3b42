"""Fixtures of the container tests: a real Docker engine, the step images built once per
session from the local base image, and throw-away compose projects with fresh folders.

Nothing here skips: without a Docker engine every test fails and says how to start one
(CI runs scripts/start-docker.sh and scripts/build-base-image.sh first).

Environment:
  BASE_IMAGE       base of the step images (default: made or reused by
                   scripts/build-base-image.sh, trusting the host's CA bundle)
  NBSTEPS_COMPOSE  compose command, e.g. "docker-compose" (default: `docker compose` when
                   the v2 plugin is there, else docker-compose)
  NBSTEPS_TEST_BUILD_CACHE=1  let the session build use the layer cache (default: build
                   every image from nothing with --no-cache)
"""

import json
import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "data" / "qanon" / "posts.json"
CORPUS_OVERRIDE = Path(__file__).resolve().parent / "compose.corpus.yml"
PARTS_OVERRIDE = Path(__file__).resolve().parent / "compose.parts.yml"
PIPELINE_FILE = REPO / "pipeline.yaml"
# The repository's steps, read from its pipeline.yaml: no generic test names them.
STEPS = tuple(yaml.safe_load(PIPELINE_FILE.read_text())["steps"])
FOLDERS = ("data", "outputs", "logs")
# Neither root nor the usual first user (1000), so an ownership check means something.
TEST_UID = TEST_GID = 1234
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Top-level entries of the repository that no image or compose project needs.
NOT_COPIED = {".git", "data", "outputs", "logs", ".venv", "venv", "artifacts", "build", "dist",
              ".pytest_cache", ".ruff_cache", ".mypy_cache"}


def run(args: list[str], *, env: dict | None = None, cwd: Path | None = None,
        timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command, output captured; with check, a failure shows its output."""
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(describe(result))
    return result


def describe(result: subprocess.CompletedProcess) -> str:
    return (f"`{shlex.join(result.args)}` exited {result.returncode}\n"
            f"--- stdout (end)\n{result.stdout[-4000:]}\n--- stderr (end)\n{result.stderr[-4000:]}")


def inspect(container: str, template: str) -> str:
    """A field of `docker inspect`, e.g. "{{.State.ExitCode}}"."""
    return run(["docker", "inspect", "--format", template, container], timeout=60).stdout.strip()


def find_compose_command() -> list[str] | None:
    """NBSTEPS_COMPOSE, else `docker compose` where the v2 plugin is, else docker-compose."""
    if os.environ.get("NBSTEPS_COMPOSE"):
        return shlex.split(os.environ["NBSTEPS_COMPOSE"])
    if run(["docker", "compose", "version"], check=False, timeout=60).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def make_base_image() -> str:
    """BASE_IMAGE, else the local base image made or reused by scripts/build-base-image.sh,
    trusting the host's certificates (a proxy CA, where there is one, is in that bundle)."""
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    args = [str(REPO / "scripts" / "build-base-image.sh")]
    if HOST_CA_BUNDLE.is_file():
        args += ["--ca-bundle", str(HOST_CA_BUNDLE)]
    return run(args, timeout=900).stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def docker() -> list[str]:
    """The compose command, once a Docker engine answers; fails (never skips) otherwise."""
    if shutil.which("docker") is None:
        pytest.fail("no `docker` command: run scripts/start-docker.sh (installs and starts "
                    "the engine) before the container tests", pytrace=False)
    info = run(["docker", "info"], check=False, timeout=60)
    if info.returncode != 0:
        pytest.fail("no Docker engine answers `docker info`: run scripts/start-docker.sh "
                    f"first\n{info.stderr[-1000:]}", pytrace=False)
    command = find_compose_command()
    if command is None:
        pytest.fail("neither `docker compose` nor docker-compose: run scripts/start-docker.sh",
                    pytrace=False)
    return command


@pytest.fixture(scope="session")
def base_image(docker) -> str:
    return make_base_image()


@pytest.fixture(scope="session")
def tag() -> str:
    """Image tag of this session: the user's own `latest` images are never touched."""
    return f"test-{uuid.uuid4().hex[:8]}"


def copy_repository(target: Path) -> Path:
    """The repository's files (not its data, runs or .git) in a folder of their own."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        ignored = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        if Path(folder) == REPO:
            ignored |= NOT_COPIED & set(names)
        return ignored

    shutil.copytree(REPO, target, ignore=ignore, symlinks=True)
    return target


@dataclass
class Compose:
    """A compose project in its own folder and name: `compose("run", "--rm", "model")`."""

    command: list[str]
    folder: Path
    name: str
    env: dict[str, str]
    files: list[Path] = field(default_factory=list)

    def __call__(self, *args: str, timeout: float = 900, check: bool = False):
        return run(self.argv(*args), env=self.env, cwd=self.folder, timeout=timeout,
                   check=check)

    def argv(self, *args: str) -> list[str]:
        options = ["-p", self.name, "--project-directory", str(self.folder)]
        for file in self.files:
            options += ["-f", str(file)]
        return [*self.command, *options, *args]

    def path(self, container_path: str) -> Path:
        """Host path of /data/..., /outputs/... or /logs/... as seen in a container."""
        folder, _, rest = container_path.lstrip("/").partition("/")
        assert folder in FOLDERS, container_path
        return self.folder / folder / rest

    def record(self, step: str, run_id: str | None = None) -> dict:
        name = f"{run_id}.json" if run_id else "latest.json"
        return json.loads((self.folder / "outputs" / step / name).read_text())

    def records(self, step: str) -> list[dict]:
        folder = self.folder / "outputs" / step
        if not folder.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))
                if p.name != "latest.json"]


def compose_env(base_image: str, tag: str) -> dict[str, str]:
    return os.environ | {
        "BASE_IMAGE": base_image,
        "NBSTEPS_TAG": tag,
        "UID": str(TEST_UID),
        "GID": str(TEST_GID),
        "NBSTEPS_CORPUS_FILE": str(CORPUS),
        "NBSTEPS_CORPUS_SERVER": str(REPO / "tests" / "corpus_server.py"),
        "BUILDKIT_PROGRESS": "plain",  # BuildKit, where used, prints CACHED line by line
    }


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    """The build context: a copy of the repository, so tests may edit it."""
    return copy_repository(tmp_path_factory.mktemp("context") / "repo")


@dataclass
class Images:
    tag: str
    names: dict[str, str]
    build_s: float
    output: str


@pytest.fixture(scope="session")
def images(docker, base_image, tag, build_dir) -> Iterator[Images]:
    """Every step image, built once per session with compose from the local base image."""
    compose = Compose(docker, build_dir, f"nbsteps-build-{tag}", compose_env(base_image, tag))
    cache = [] if os.environ.get("NBSTEPS_TEST_BUILD_CACHE") == "1" else ["--no-cache"]
    started = time.monotonic()
    # Every service compose builds (the steps, and any other image tests use).
    services = yaml.safe_load((build_dir / "docker-compose.yml").read_text())["services"]
    built_services = [name for name, service in services.items() if "build" in service]
    result = compose("build", *cache, timeout=3000, check=True)
    built = Images(tag, {s: f"nbsteps-{s}:{tag}" for s in built_services},
                   time.monotonic() - started, result.stdout + result.stderr)
    print(f"\nbuilt {len(built_services)} images in {built.build_s:.0f} s "
          f"({'cache allowed' if cache == [] else '--no-cache'})")
    yield built
    remove_images(built.names.values())


def remove_images(names) -> None:
    run(["docker", "image", "rm", "--force", *names], check=False, timeout=300)


def prepare_folders(root: Path) -> None:
    """data/, outputs/ and logs/ in `root`, owned by the test user the containers run as."""
    for name in FOLDERS:
        (root / name).mkdir(exist_ok=True)
        os.chown(root / name, TEST_UID, TEST_GID)


@pytest.fixture(scope="session")
def new_project(docker, base_image, tag, images,
                tmp_path_factory) -> Iterator[Callable[..., Compose]]:
    """Factory of compose projects: docker-compose.yml and params/ copied from the repository,
    empty data/, outputs/ and logs/ owned by the test user, a corpus server override on
    (by default the one serving the real corpus whole)."""
    made: list[Compose] = []

    def make(override: Path = CORPUS_OVERRIDE) -> Compose:
        folder = tmp_path_factory.mktemp("project")
        shutil.copy2(REPO / "docker-compose.yml", folder)
        shutil.copytree(REPO / "params", folder / "params")
        prepare_folders(folder)
        compose = Compose(docker, folder, f"nbsteps-test-{uuid.uuid4().hex[:8]}",
                          compose_env(base_image, tag),
                          [folder / "docker-compose.yml", override])
        made.append(compose)
        return compose

    yield make
    for compose in made:
        compose("down", "--remove-orphans", "--volumes", "--timeout", "5", timeout=300)


@pytest.fixture
def project_compose(docker, base_image, tag) -> Iterator[Callable[[Path, list[str]], Compose]]:
    """Factory of compose projects for a folder that is not the repository's (a project of
    its own, with its own images, named in `images` and removed afterwards)."""
    made: list[tuple[Compose, list[str]]] = []

    def make(root: Path, images: list[str]) -> Compose:
        compose = Compose(docker, root, f"nbsteps-user-{uuid.uuid4().hex[:8]}",
                          compose_env(base_image, tag))
        made.append((compose, images))
        return compose

    yield make
    for compose, images in made:
        compose("down", "--remove-orphans", "--timeout", "5", timeout=300)
        remove_images(images)


def in_image(image: str, *command: str, user: str | None = None, check: bool = True):
    """`command` in a throw-away container of `image`, without network."""
    options = ["--user", user] if user else []
    return run(["docker", "run", "--rm", "--network", "none", *options, "--entrypoint",
                command[0], image, *command[1:]], timeout=300, check=check)


# Scripts for `in_image(image, "python3", "-c", SCRIPT, *names)`: which modules import,
# and which distributions are installed at which version, as JSON.
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
VERSIONS_CHECK = """
import importlib.metadata, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        found[name] = None
print(json.dumps(found))
"""


@pytest.fixture(scope="session")
def corpus_file() -> Path:
    if not CORPUS.is_file():
        pytest.fail(f"the real corpus is not at {CORPUS} (shared/ beside the repository)",
                    pytrace=False)
    return CORPUS
