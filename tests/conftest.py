"""Shared fixtures: a workspace of fresh data/outputs/logs folders, and the real corpus."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.corpus_factory import write_corpus
from tests.corpus_server import CorpusServer

REPO = Path(__file__).resolve().parents[1]


def example_steps() -> list[str]:
    """The repository pipeline's steps in run order, read from its pipeline.yaml, so a test
    that goes over every step still does when a step is added."""
    from nbsteps.project import load_project

    return list(load_project(REPO).steps)
REAL_CORPUS = REPO.parent / "shared" / "data" / "qanon" / "posts.json"
PROJECT_FILES = ("pipeline.yaml", "notebooks", "params")
CHROMIUM = Path(os.environ.get("NBSTEPS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@dataclass
class Workspace:
    """A project root plus its own data/outputs/logs folders; `run` calls the real CLI."""

    root: Path
    base: Path

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def outputs(self) -> Path:
        return self.base / "outputs"

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    def env(self) -> dict[str, str]:
        return os.environ | {
            "NBSTEPS_PROJECT": str(self.root),
            "NBSTEPS_DATA_DIR": str(self.data),
            "NBSTEPS_OUTPUTS_DIR": str(self.outputs),
            "NBSTEPS_LOGS_DIR": str(self.logs),
        }

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "nbsteps", *args],
            env=self.env(), capture_output=True, text=True, timeout=timeout, cwd=self.base,
        )

    def files(self) -> dict[str, bytes]:
        """Every file under data/, by relative path, to compare before and after."""
        return {
            str(p.relative_to(self.data)): p.read_bytes()
            for p in sorted(self.data.rglob("*"))
            if p.is_file()
        }


def copy_project(target: Path) -> Path:
    """A copy of the project's own files (pipeline, notebooks, params) to change freely."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    """The repository's own project, with data, outputs and logs in a temporary folder."""
    return Workspace(root=REPO, base=tmp_path)


@pytest.fixture
def project_copy(tmp_path) -> Workspace:
    """A copy of the project (notebooks and params can be edited), folders in tmp."""
    return Workspace(root=copy_project(tmp_path / "project"), base=tmp_path)


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """A workspace where the whole pipeline ran once, successfully, on the fixture corpus
    (once per test module that asks)."""
    base = tmp_path_factory.mktemp("good")
    corpus = write_corpus(base / "corpus" / "posts.json")
    space = Workspace(root=REPO, base=base)
    result = space.run("run", "all", "-p", f"ingest.source={corpus}", "-p", "model.k=20")
    return space, result


@pytest.fixture
def space(good_run, tmp_path) -> Workspace:
    """A private copy of the good run's folders, to break things in."""
    source, _ = good_run
    for name in ("data", "outputs", "logs", "corpus"):
        shutil.copytree(source.base / name, tmp_path / name, symlinks=True)
    return Workspace(root=REPO, base=tmp_path)


@pytest.fixture(scope="session")
def fixture_corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "posts.json")


SHARED_FIXTURES = {"real_corpus", "strict_schema"}  # fixtures that read ../shared


def pytest_collection_modifyitems(items):
    """Every test that reads ../shared (the real corpus, the Argo schema), directly or through
    another fixture, is marked `shared`: `make test-fast` leaves them out, so it runs on a
    machine without ../shared."""
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared)


@pytest.fixture(scope="session")
def real_corpus() -> Path:
    if not REAL_CORPUS.is_file():
        pytest.fail(f"the real corpus is not at {REAL_CORPUS}; it comes with ../shared/")
    return REAL_CORPUS


@pytest.fixture
def corpus_server(tmp_path):
    """A loopback HTTP server whose root is a fresh folder; put files in `server.root`."""
    root = tmp_path / "served"
    root.mkdir()
    with CorpusServer(root) as server:
        yield server


# One Playwright for the whole session: the sync API cannot run two at once in a thread.
@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (or set "
                    "NBSTEPS_CHROMIUM); the browser tests need a real browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: `pip install playwright` (never "
                    "`playwright install`; the tests use the system Chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
